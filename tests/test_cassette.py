"""The cassette package without pytest: recording from exchanges, stable JSON, drift
checks, and replay on the virtual clock (FakeMaia.load_cassette)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_maia import MaiaClient
from pytest_maia.cassette import Cassette, Exchange, dumps, loads, read
from pytest_maia.cassette.drift import check, route_of
from pytest_maia.cassette.record import Recorder
from pytest_maia.cassette.replay import script_of
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.fake import FakeMaia

PROJECT = "p-1"
RUN = "eeeeeeee-0000-4000-8000-000000000001"
STATUS = f"/v1/projects/{PROJECT}/pipeline-executions/{RUN}/status"
DETAILS = f"/v1/projects/{PROJECT}/pipeline-executions/{RUN}"
JSON = {"Content-Type": "application/json"}


def ex(method: str, path: str, code: int, body: object, **kw: object) -> Exchange:
    headers = dict(JSON)
    headers.update({k.replace("_", "-").title(): str(v) for k, v in kw.items()})
    return Exchange.of(method, path, None, code, headers, json.dumps(body).encode())


def recorded() -> Recorder:
    ticks = iter([0.0, 0.1, 5.1, 6.0, 8.0, 9.0, 9.5, 10.0])
    recorder = Recorder("tests/test_x.py::test_y", scrub=["secret_var"], now=lambda: next(ticks))
    start = Exchange.of(
        "POST",
        f"/v1/projects/{PROJECT}/pipeline-executions",
        {
            "pipelineName": "load",
            "environmentName": "prod",
            "scalarVariables": {"secret_var": "hunter2", "day": "mon"},
        },
        201,
        JSON,
        json.dumps({"pipelineExecutionId": RUN}).encode(),
    )
    recorder.observe(start)
    recorder.observe(ex("GET", STATUS, 200, {"status": "RUNNING"}))
    problem = {"status": 429, "title": "Too Many Requests"}
    recorder.observe(ex("GET", STATUS, 429, problem, retry_after=2))
    recorder.observe(ex("GET", STATUS, 401, {"title": "Unauthorized"}))  # token refresh
    recorder.observe(ex("GET", STATUS, 200, {"status": "SUCCESS"}))
    details = {"pipelineExecutionId": RUN, "status": "SUCCESS", "message": "42 rows"}
    recorder.observe(ex("GET", DETAILS, 200, details))
    return recorder


def test_recorder_builds_the_timeline_and_scrubs_variables() -> None:
    cassette = recorded().cassette
    (tape,) = cassette.executions
    assert (tape.pipeline, tape.environment, tape.started_at) == ("load", "prod", 0.1)
    assert tape.variables == {"day": "mon", "secret_var": "<scrubbed>"}
    assert [(e.at, e.status, e.error and e.error.code) for e in tape.timeline] == [
        (5.1, "RUNNING", None),
        (6.0, None, 429),
        (9.0, "SUCCESS", None),
        (9.5, "SUCCESS", None),
    ]
    assert tape.timeline[1].error is not None and tape.timeline[1].error.retry_after == 2.0
    assert tape.details is not None and tape.details["message"] == "42 rows"
    assert cassette.drift == []


def test_cassette_json_is_stable_and_round_trips(tmp_path: Path) -> None:
    recorder = recorded()
    text = recorder.text()
    assert text.endswith("}\n") and text.startswith('{\n  "drift": []')
    assert text == recorded().text()  # the same run gives the same bytes
    data = json.loads(text)
    assert json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text
    assert dumps(loads(text)) == text
    assert data["version"] == 1
    assert "hunter2" not in text


def test_a_scrubbed_value_echoed_by_the_api_is_scrubbed_too() -> None:
    recorder = recorded()
    problem = {"status": 400, "detail": "secret_var 'hunter2' is not allowed"}
    recorder.observe(ex("GET", STATUS, 400, problem))
    text = recorder.text()
    assert "hunter2" not in text
    assert "secret_var '<scrubbed>' is not allowed" in text


def test_secret_values_are_redacted_wherever_they_appear() -> None:
    recorder = Recorder("t", secrets=["client-7"], now=lambda: 0.0)
    body = {"pipelineExecutionId": RUN, "status": "RUNNING", "user": "client-7"}
    recorder.observe(ex("GET", DETAILS, 200, body))
    assert "client-7" not in recorder.text() and "<redacted>" in recorder.text()


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(MaiaValidationError, match="cassette version 99 is not supported"):
        loads(json.dumps({"version": 99, "test": "t"}))


def test_replay_serves_the_same_answers_on_the_virtual_clock(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    recorded().write(path)
    assert script_of(read(path).executions[0])[0] == "RUNNING"
    with FakeMaia() as fake:
        fake.load_cassette(path, project_id="other")
        client = fake.client()
        run = client.execute_pipeline("other", "load", "prod")
        result = client.wait_for("other", run, interval=1, max_interval=1)
        assert [s.value for _, s in result.history] == ["RUNNING", "SUCCESS"]
        assert [e.status_code for e in result.errors] == [429]
        assert result.elapsed == 3.0  # a 1 s interval, then the recorded Retry-After of 2 s
        assert client.get_execution("other", run).message == "42 rows"


def test_runs_of_one_pipeline_replay_in_order() -> None:
    with FakeMaia() as fake:
        fake.script_pipeline("p", ["FAILED"], once=True)
        fake.script_pipeline("p", ["RUNNING", "SUCCESS"], once=True)
        client: MaiaClient = fake.client()
        first, second, third = (client.execute_pipeline(PROJECT, "p", "e") for _ in range(3))
        assert client.wait_for(PROJECT, first).status == "FAILED"
        assert client.wait_for(PROJECT, second).polls == 2
        assert client.wait_for(PROJECT, third).status == "SUCCESS"  # the default script


def test_an_execution_only_looked_at_replays_under_its_id() -> None:
    cassette = recorded().cassette
    tape = cassette.executions[0]
    tape.started_at, tape.pipeline = None, None
    with FakeMaia() as fake:
        from pytest_maia.cassette.replay import load_into

        load_into(fake, cassette)
        assert fake.client().get_status(PROJECT, RUN) == "RUNNING"


@pytest.mark.parametrize(
    ("exchange", "kinds"),
    [
        (ex("GET", STATUS, 200, {"status": "RUNNING"}), []),
        (ex("GET", STATUS, 200, {"status": "PAUSED"}), ["unexpected-status"]),
        (ex("GET", STATUS, 200, {"status": "RUNNING", "eta": 3}), ["extra-field"]),
        (ex("GET", STATUS, 200, {}), ["missing-field"]),
        (ex("GET", STATUS, 418, {"title": "teapot"}), ["unexpected-code"]),
        (ex("GET", STATUS, 500, ["not", "a", "problem"]), ["wrong-shape"]),
        (ex("GET", DETAILS, 200, {"pipelineExecutionId": RUN, "status": "SUCCESS"}), []),
        (
            ex("GET", DETAILS, 200, {"pipelineExecutionId": RUN, "result": {"status": "FAILED"}}),
            ["nested-result"],
        ),
        (ex("PATCH", DETAILS, 409, {"title": "Conflict"}), []),
        (
            ex("GET", DETAILS + "/steps", 200, [{"id": "1", "name": "x", "result": {}}]),
            ["missing-field"],
        ),
        (
            ex(
                "GET",
                "/v1/projects?page=0",
                200,
                {"page": 0, "results": [], "size": 25, "total": 0},
            ),
            [],
        ),
        (ex("GET", "/v1/projects", 200, {"results": [{"id": "1"}]}), ["missing-field"] * 4),
        (
            ex(
                "GET",
                "/v1/pipeline-executions?projectId=p",
                200,
                {"results": [{"pipelineExecutionId": RUN, "status": "QUEUED"}]},
            ),
            ["unexpected-status"],
        ),
        (ex("GET", "/v1/projects/p/environments", 200, [1]), ["wrong-shape"]),
    ],
)
def test_drift_checks(exchange: Exchange, kinds: list[str]) -> None:
    assert [finding.kind for finding in check(exchange)] == kinds


def test_routes_name_the_endpoint_not_the_ids() -> None:
    route = route_of("GET", STATUS)
    assert route.kind == "status" and route.execution_id == RUN and route.project_id == PROJECT
    assert route.endpoint == (
        "GET /v1/projects/{projectId}/pipeline-executions/{pipelineExecutionId}/status"
    )


def test_cassette_from_python_matches_the_format() -> None:
    cassette = Cassette("t")
    assert json.loads(dumps(cassette)) == {
        "drift": [],
        "errors": [],
        "executions": [],
        "test": "t",
        "version": 1,
    }


def test_the_schema_ships_in_the_package_and_describes_a_recording() -> None:
    import jsonschema

    from pytest_maia.cassette import SCHEMA_PATH

    assert SCHEMA_PATH.parent.name == "cassette" and SCHEMA_PATH.parent.parent.name == "pytest_maia"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(recorded().text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 2, "test": "t"}, schema)


# -- issue 25: names, drift cost and secrets ---------------------------------------------


@pytest.mark.parametrize("ids", [["a/b", "a_b", "a b", "a:b", "a::b", "a.b"]])
def test_cassette_names_are_unique_per_test_id(ids: list[str]) -> None:
    from pytest_maia.plugin.cassettes import cassette_name

    names = [cassette_name(f"test_x[{param}]") for param in ids]
    assert len(set(names)) == len(names), names
    assert cassette_name("test_x[a_b]") == "test_x[a_b].json"  # a plain id keeps its name
    assert cassette_name("TestX::test_y") == "TestX.test_y.json"


def test_a_300_character_test_id_gets_a_short_unique_cassette_name(tmp_path: Path) -> None:
    from pytest_maia.plugin.cassettes import MAX_NAME, cassette_name

    long_a, long_b = "test_x[" + "a" * 300 + "]", "test_x[" + "a" * 299 + "b]"
    name_a, name_b = cassette_name(long_a), cassette_name(long_b)
    assert name_a != name_b
    assert len(name_a) <= MAX_NAME + len(".json")
    (tmp_path / name_a).write_text("{}", encoding="utf-8")  # no "File name too long"


def test_recording_drift_is_linear_in_the_fields_of_an_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 16,000 unknown fields took 12 s: each finding was looked up in a list of all the
    # earlier ones. Count the comparisons instead of timing them.
    from pytest_maia.cassette.model import Finding

    compared = 0
    original = Finding.__eq__

    def counting(self: Finding, other: object) -> bool:
        nonlocal compared
        compared += 1
        return original(self, other)

    monkeypatch.setattr(Finding, "__eq__", counting)
    body: dict[str, object] = {"pipelineExecutionId": RUN, "status": "RUNNING"}
    body.update({f"extra{i}": i for i in range(16_000)})
    recorder = Recorder("tests/test_x.py::test_y")
    recorder.observe(ex("GET", DETAILS, 200, body))
    recorder.observe(ex("GET", DETAILS, 200, body))  # the same drift again: not repeated
    assert len(recorder.cassette.drift) == 16_000
    assert compared <= 4 * 16_000


NON_ASCII_SECRET = "sécret-ü-%2F"


def test_a_cassette_keeps_no_form_of_a_secret_or_an_issued_token() -> None:
    from urllib.parse import quote, quote_plus

    from pytest_maia.core.redact import Secret

    token = "issued-TOKEN-5f2c9e"
    echoes = [
        NON_ASCII_SECRET,
        "sécret-ü-/",  # percent-decoded
        quote(NON_ASCII_SECRET, safe=""),
        quote_plus(NON_ASCII_SECRET).lower(),
        json.dumps(NON_ASCII_SECRET),  # ASCII-escaped, as JSON text in a message
        token,
        quote(token),
    ]
    recorder = Recorder("tests/test_x.py::test_y", secrets=[NON_ASCII_SECRET])
    for index, echo in enumerate(echoes):
        details = {"pipelineExecutionId": RUN, "status": "FAILED", "message": f"{index}: {echo}"}
        recorder.observe(Exchange.of("GET", DETAILS, None, 200, JSON, json.dumps(details).encode()))
    recorder.observe(
        Exchange.of("GET", STATUS, None, 200, JSON, b'{"status": "FAILED"}', (Secret(token),))
    )
    text = recorder.text()
    for echo in [*echoes, "s\\u00e9cret", "%C3%A9", "%c3%a9", "sécret"]:
        assert echo not in text, echo
    assert recorder.cassette.executions[0].details is not None
    assert loads(text).executions[0].details == {
        "pipelineExecutionId": RUN,
        "status": "FAILED",
        "message": "6: <redacted>",
    }


def test_a_secret_decoding_to_short_text_does_not_mangle_paths() -> None:
    from pytest_maia.cassette.record import forms_of

    forms = forms_of(["%2F%2F"])
    assert "%2F%2F" in forms and "//" not in forms  # "//" would hit every URL


def test_a_short_secret_is_scrubbed_from_a_cassette_only_as_a_whole_token() -> None:
    # The project's redaction rule (core.redact.scrub): under 8 characters, whole tokens
    # only, so client_secret="s" never turns "status" into "<redacted>tatu<redacted>".
    recorder = Recorder("tests/test_x.py::test_y", secrets=["s"])
    details = {"pipelineExecutionId": RUN, "status": "FAILED", "message": "sales said: s"}
    recorder.observe(Exchange.of("GET", DETAILS, None, 200, JSON, json.dumps(details).encode()))
    text = recorder.text()
    assert '"message": "sales said: <redacted>"' in text
    assert '"status": "FAILED"' in text and '"test": "tests/test_x.py::test_y"' in text
    assert loads(text).executions[0].details == {
        "pipelineExecutionId": RUN,
        "status": "FAILED",
        "message": "sales said: <redacted>",
    }
