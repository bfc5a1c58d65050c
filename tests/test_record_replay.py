"""Issue 14 end to end: a live run (a loopback FakeMaia plays the real API, client
credentials) records cassettes; a replay run of the same tests, with no network and no
credentials, gives the same outcomes; the cassettes hold no secret; drift is reported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_maia import ExecutionStatus
from pytest_maia.cassette import SCHEMA_PATH, read
from pytest_maia.fake import FakeMaia, Response
from pytest_maia.fake._http import Request
from pytest_maia.fake.server import FakeServer

CLIENT_ID = "client-id-REC-31f0"
CLIENT_SECRET = "cs-REC-SEKRIT-77a1c9"
PROJECT = "rec-project"
SCRUB_VALUE = "apikey-SCRUB-ME-91"
OK = "dddddddd-0000-4000-8000-000000000001"
BAD = "dddddddd-0000-4000-8000-000000000002"
FLAKY = "dddddddd-0000-4000-8000-000000000003"
NEW = "dddddddd-0000-4000-8000-000000000004"
STUCK = "dddddddd-0000-4000-8000-000000000005"

INNER = f"""
import pytest
from pytest_maia.core.errors import GoneError, MaiaTimeoutError

FAST = dict(interval=0.05, max_interval=0.05)


def waited(record_property, client, project, execution_id, **kwargs):
    result = client.wait_for(project, execution_id, **FAST, **kwargs)
    record_property("outcome", f"{{result.status.value}} {{result.polls}}")
    return result


def test_existing_success(maia_client, maia_project_id, record_property):
    assert waited(record_property, maia_client, maia_project_id, "{OK}").status == "SUCCESS"


def test_existing_failed(maia_client, maia_project_id, record_property):
    assert waited(record_property, maia_client, maia_project_id, "{BAD}").status == "SUCCESS"


def test_transient_error_ridden_out(maia_client, maia_project_id, record_property):
    result = waited(record_property, maia_client, maia_project_id, "{FLAKY}")
    assert result.status == "SUCCESS" and len(result.errors) == 1


def test_new_status(maia_client, maia_project_id, record_property):
    result = waited(record_property, maia_client, maia_project_id, "{NEW}")
    assert [s.value for _, s in result.history] == ["RUNNING", "PAUSED", "SUCCESS"]


def test_timeout(maia_client, maia_project_id, record_property):
    with pytest.raises(MaiaTimeoutError) as info:
        maia_client.wait_for(maia_project_id, "{STUCK}", timeout=0.15, **FAST)
    record_property("outcome", f"TIMEOUT {{info.value.result.status.value}}")


def test_pipeline_run(maia_pipeline, maia_client, maia_project_id, record_property):
    run = maia_pipeline.run(
        "load-sales", environment="prod", variables={{"region": "eu", "api_key": "{SCRUB_VALUE}"}}
    )
    assert waited(record_property, maia_client, maia_project_id, run.id).status == "SUCCESS"
    assert run.details().message == "loaded 42 rows"


def test_pipeline_fails(maia_pipeline, maia_client, maia_project_id, record_property):
    run = maia_pipeline.run("load-broken", environment="prod")
    assert waited(record_property, maia_client, maia_project_id, run.id).status == "SUCCESS"


def test_pipeline_left_running(maia_pipeline):
    maia_pipeline.run("never-ends", environment="prod")


def test_disabled_pipeline(maia_pipeline):
    with pytest.raises(GoneError):
        maia_pipeline.run("retired", environment="prod")
"""


@pytest.fixture
def real_api() -> Iterator[tuple[FakeMaia, FakeServer]]:
    fake = FakeMaia()
    fake.add_credentials(CLIENT_ID, CLIENT_SECRET)
    fake.add_execution(PROJECT, ["RUNNING", "RUNNING", "SUCCESS"], execution_id=OK)
    fake.add_execution(PROJECT, ["RUNNING", "FAILED"], execution_id=BAD)
    flaky = ["RUNNING", FakeMaia.error(503, detail="try later"), "RUNNING", "SUCCESS"]
    fake.add_execution(PROJECT, flaky, execution_id=FLAKY)
    fake.add_execution(
        PROJECT, ["RUNNING", ExecutionStatus.unrecognised("PAUSED"), "SUCCESS"], execution_id=NEW
    )
    fake.add_execution(PROJECT, ["RUNNING"], execution_id=STUCK)
    fake.script_pipeline("load-sales", ["RUNNING", "RUNNING", "SUCCESS"], message="loaded 42 rows")
    fake.script_pipeline("load-broken", ["RUNNING", "FAILED"], message="warehouse said no")
    fake.script_pipeline("never-ends", ["RUNNING"])
    fake.disable_pipeline("retired")
    with fake.serve() as server:
        yield fake, server


def live_env(monkeypatch: pytest.MonkeyPatch, server: FakeServer) -> None:
    monkeypatch.delenv("MAIA_TOKEN", raising=False)
    monkeypatch.delenv("MAIA_BACKEND", raising=False)
    monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    monkeypatch.setenv("MAIA_ENVIRONMENT", "prod")
    monkeypatch.setenv("MAIA_TOKEN_URL", server.token_url)
    monkeypatch.setenv("MAIA_BASE_URL", server.url)


def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "MAIA_TOKEN",
        "MAIA_CLIENT_ID",
        "MAIA_CLIENT_SECRET",
        "MAIA_PROJECT_ID",
        "MAIA_TOKEN_URL",
        "MAIA_BASE_URL",
        "MAIA_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)


NO_NETWORK = """
import socket

def _refuse(*args, **kwargs):
    raise OSError("the replay run must not touch the network")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
"""


def outcomes(xml_path: Path) -> dict[str, tuple[str, str | None]]:
    """test name -> (passed/failed/error/skipped, the 'outcome' property)."""
    out: dict[str, tuple[str, str | None]] = {}
    for case in ET.parse(xml_path).iter("testcase"):
        kind = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                kind = {"failure": "failed"}.get(tag, tag)
        prop = case.find("properties/property[@name='outcome']")
        out[case.attrib["name"]] = (kind, None if prop is None else prop.attrib["value"])
    return out


def same_within_one_poll(live: str | None, replay: str | None) -> bool:
    if live is None or replay is None or live.startswith("TIMEOUT"):
        return live == replay
    (live_status, live_polls), (status, polls) = live.split(), replay.split()
    return live_status == status and abs(int(live_polls) - int(polls)) <= 1


@pytest.mark.e2e
def test_record_live_then_replay_offline(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    real_api: tuple[FakeMaia, FakeServer],
) -> None:
    fake, server = real_api
    tapes = pytester.path / "cassettes"
    pytester.makepyfile(test_flow=INNER)
    live_env(monkeypatch, server)
    live_xml = pytester.path / "live.xml"
    live = pytester.runpytest(
        "--maia-backend=live",
        f"--maia-cassettes={tapes}",
        "--maia-record-scrub=api_key",
        "--maia-poll-interval=0.05",  # real time: the teardown cancel polls at this pace
        f"--junitxml={live_xml}",
        "-o",
        "junit_family=xunit1",
        "-p",
        "no:cacheprovider",
    )
    live.assert_outcomes(passed=7, failed=2)
    live_out = live.stdout.str()
    # drift: the "real" API sent a status the spec does not list
    assert "maia API drift" in live_out
    assert "unexpected-status" in live_out and "'PAUSED'" in live_out
    assert live.ret == pytest.ExitCode.TESTS_FAILED

    files = sorted(tapes.rglob("*.json"))
    assert [f.name for f in files] == sorted(
        f"test_{name}.json"
        for name in (
            "existing_success",
            "existing_failed",
            "transient_error_ridden_out",
            "new_status",
            "timeout",
            "pipeline_run",
            "pipeline_fails",
            "pipeline_left_running",
            "disabled_pipeline",
        )
    )
    assert all(f.parent == tapes / "test_flow" for f in files)
    # the secrets sweep over the cassettes: no credential, token or scrubbed value
    from jsonschema import validate  # here, not at collection: only this test uses it

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    issued = list(fake._account.tokens._issued)  # what it issued: must stay hidden
    assert issued
    for path in files:
        text = path.read_text(encoding="utf-8")
        validate(json.loads(text), schema)
        assert text.endswith("}\n") and '\n  "version": 1\n' in text
        for secret in (CLIENT_ID, CLIENT_SECRET, SCRUB_VALUE, *issued):
            assert secret not in text, path.name
        assert "Authorization" not in text and "Bearer" not in text
    run = read(tapes / "test_flow" / "test_pipeline_run.json").executions[0]
    assert run.variables == {"api_key": "<scrubbed>", "region": "eu"}
    assert run.statuses == ["RUNNING", "RUNNING", "SUCCESS", "SUCCESS"]  # wait, then details()
    assert run.details is not None and run.details["message"] == "loaded 42 rows"
    new = read(tapes / "test_flow" / "test_new_status.json")
    assert any(f.kind == "unexpected-status" and "PAUSED" in f.detail for f in new.drift)
    flaky = read(tapes / "test_flow" / "test_transient_error_ridden_out.json").executions[0]
    assert [e.error.code for e in flaky.timeline if e.error] == [503]

    # replay: no credentials, no project, no network
    offline_env(monkeypatch)
    pytester.makeconftest(NO_NETWORK)
    replay_xml = pytester.path / "replay.xml"
    began = time.perf_counter()
    replay = pytester.runpytest_subprocess(
        "--maia-backend=replay",
        f"--maia-cassettes={tapes}",
        f"--junitxml={replay_xml}",
        "-o",
        "junit_family=xunit1",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    wall = time.perf_counter() - began
    replay.assert_outcomes(passed=7, failed=2)
    print(f"live run {live.duration:.2f}s, replay run {replay.duration:.2f}s ({wall:.2f}s wall)")
    assert "backend=replay" in replay.stdout.str()
    live_cases, replay_cases = outcomes(live_xml), outcomes(replay_xml)
    assert live_cases.keys() == replay_cases.keys()
    for name, (kind, outcome) in live_cases.items():
        assert replay_cases[name][0] == kind, name
        assert same_within_one_poll(outcome, replay_cases[name][1]), (name, outcome)
    assert "maia pipeline runs cancelled at teardown: 1" in replay.stdout.str()


class NestingFake(FakeMaia):
    """A "real API" that nests status and message in ``result`` in its details."""

    def handle(self, request: Request, *, control: bool = False) -> Response:
        response = super().handle(request, control=control)
        if (
            request.method == "GET"
            and response.status == 200
            and "/pipeline-executions/" in (request.path)
            and not request.path.endswith(("/status", "/steps"))
        ):
            body = json.loads(response.body)
            body["result"] = {"status": body.pop("status"), "message": body.pop("message", None)}
            return Response(200, response.headers, json.dumps(body).encode())
        return response


STRICT_INNER = f"""
def test_details(maia_client, maia_project_id):
    assert maia_client.get_execution(maia_project_id, "{OK}").status == "SUCCESS"
"""


def test_nested_result_is_drift_strict_contract_fails_and_deprecated_record_still_records(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = NestingFake()
    fake.add_credentials(CLIENT_ID, CLIENT_SECRET)
    fake.add_execution(PROJECT, ["SUCCESS"], execution_id=OK)
    tapes, old = pytester.path / "tapes", pytester.path / "old"
    pytester.makepyfile(test_strict=STRICT_INNER)
    with fake.serve() as server:
        live_env(monkeypatch, server)
        lenient = pytester.runpytest(
            "--maia-backend=live", f"--maia-cassettes={tapes}", "-p", "no:cacheprovider"
        )
        legacy = pytester.runpytest(
            "--maia-backend=live", f"--maia-record={old}", "-p", "no:cacheprovider"
        )
        strict = pytester.runpytest(
            "--maia-backend=live",
            f"--maia-cassettes={tapes}",
            "--maia-strict-contract",
            "-p",
            "no:cacheprovider",
        )
    lenient.assert_outcomes(passed=1, warnings=0)
    assert lenient.ret == pytest.ExitCode.OK
    assert "maia API drift" in lenient.stdout.str()
    assert "nested-result" in lenient.stdout.str()
    assert "PytestDeprecationWarning" not in lenient.stdout.str()
    # --maia-record=DIR, deprecated: the same live recording, and one warning naming the
    # new spelling
    legacy.assert_outcomes(passed=1, warnings=1)
    assert legacy.stdout.str().count("PytestDeprecationWarning: --maia-record=DIR is") == 1
    assert "use --maia-cassettes=DIR" in legacy.stdout.str()
    recorded = read(old / "test_strict" / "test_details.json")
    assert [f.kind for f in recorded.drift] == ["nested-result"]
    assert [run.execution_id for run in recorded.executions] == [OK]
    strict.assert_outcomes(passed=1)
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    assert "--maia-strict-contract: the run fails" in strict.stdout.str()
    cassette = read(tapes / "test_strict" / "test_details.json")
    assert [f.kind for f in cassette.drift] == ["nested-result"]


def test_missing_cassette_is_an_error_naming_the_record_command(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline_env(monkeypatch)
    pytester.makepyfile(
        test_new="def test_unrecorded(maia_client):\n    pass\n\n\n"
        "def test_scripts_the_fake(maia_fake):\n    pass\n"
    )
    (pytester.path / "c").mkdir()
    result = pytester.runpytest("--maia-backend=replay", f"--maia-cassettes={pytester.path}/c")
    result.assert_outcomes(failed=1, skipped=1)  # the maia_fake test was skipped live too
    result.stdout.fnmatch_lines(
        [
            "*no cassette for test_new.py::test_unrecorded (looked for *c/test_new/test_unrecorded"
            ".json); record it against the live API with: pytest --maia-backend=live"
            " --maia-cassettes=*/c test_new.py::test_unrecorded"
        ]
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--maia-record=x"], "--maia-record records the live API"),
        (["--maia-backend=replay"], "--maia-backend=replay needs --maia-cassettes=DIR"),
        (["--maia-cassettes=x"], "--maia-cassettes is for --maia-backend=live"),
        (["--maia-record-scrub=a"], "--maia-record-scrub needs a run that records"),
        (
            ["--maia-backend=replay", "--maia-cassettes=.", "--maia-record-scrub=a"],
            "--maia-record-scrub needs a run that records",
        ),
    ],
)
def test_option_mistakes_are_usage_errors(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    offline_env(monkeypatch)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert needle in result.stderr.str()


def test_deprecated_record_option_under_filterwarnings_error_is_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline_env(monkeypatch)
    monkeypatch.setenv("MAIA_TOKEN", "a-token-for-the-start-up-checks")
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = pytester.runpytest(
        "--maia-backend=live", "--maia-base-url=http://127.0.0.1:9", "--maia-record=x"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert errors.count("--maia-record=DIR is deprecated: use --maia-cassettes=DIR") == 1
    assert "INTERNALERROR" not in errors + result.stdout.str()


@pytest.mark.e2e
def test_cli_cassette_show(tmp_path: Path) -> None:
    from pytest_maia.cassette import Cassette, Event, ExecutionTape, HttpError, write

    tape = ExecutionTape(OK, PROJECT, 0.01, "load", "prod", {"region": "eu"})
    tape.timeline = [
        Event(0.02, status="RUNNING"),
        Event(0.5, status="RUNNING"),
        Event(1.0, error=HttpError(429, 2.0, {"title": "Too Many Requests"})),
        Event(3.1, status="SUCCESS"),
    ]
    path = write(tmp_path / "c.json", Cassette("tests/test_x.py::test_y", [tape]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest_maia", "cassette", "show", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "cassette of tests/test_x.py::test_y (format version 1)",
        f"execution {OK} in project {PROJECT!r}: pipeline 'load' in 'prod', started at 0.010s",
        "  variables: region='eu'",
        "      0.020s  RUNNING  (seen 2 times, until 0.500s)",
        "      1.000s  HTTP 429 (Retry-After 2s): Too Many Requests",
        "      3.100s  SUCCESS",
    ]
    missing = subprocess.run(
        [sys.executable, "-m", "pytest_maia", "cassette", "show", str(tmp_path / "none.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "cannot read cassette" in missing.stderr
