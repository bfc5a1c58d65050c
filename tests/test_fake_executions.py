"""FakeMaia's execute, details and cancel endpoints (pytest_maia.fake._execution and the
routes to it), in-process and over the loopback server, raw and through MaiaClient."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
import requests
from fake_target import AUTH, FORM, SECRET, Target

from pytest_maia import (
    ConflictError,
    ExecutionStatus,
    GoneError,
    MaiaValidationError,
    NotFoundError,
)
from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.fake import FakeMaia

# Clock second 0 of these tests' fakes: their dates are fixed.
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    return FakeMaia(token_lifetime=600, start=START)


# -- execute and details -------------------------------------------------------------------


def test_default_lifecycle_is_running_then_success_one_step_per_poll(target: Target) -> None:
    run = target.execute()
    assert uuid.UUID(run)
    assert target.status(run) == "RUNNING"
    assert target.details(run)["status"] == "SUCCESS"  # a details GET is a poll too
    assert target.status(run) == "SUCCESS"
    assert target.fake.polls(run) == 3


def test_details_describe_the_execution_on_the_virtual_clock(target: Target) -> None:
    target.fake.script_pipeline("nightly", ["RUNNING", "RUNNING", "FAILED"], every=60)
    target.fake.clock.sleep(30)
    run = target.execute(pipelineName="nightly", environmentName="prod")
    first = target.details(run)
    assert first == {
        "pipelineExecutionId": run,
        "pipelineName": "nightly",
        "pipelineType": "ORCHESTRATION",
        "projectId": "proj",
        "environmentName": "prod",
        "status": "RUNNING",
        "startedAt": "2026-01-01T00:00:30.000Z",
        "trigger": "API",  # no "user": no person started it, and no "scheduleId"
    }
    target.fake.clock.sleep(1000)
    last = target.details(run)
    assert last["status"] == "FAILED"
    assert last["finishedAt"] == "2026-01-01T00:02:30.000Z"  # started + 2 steps of 60 s
    assert "message" not in last


def test_script_pipeline_message_is_served_once_finished(target: Target) -> None:
    target.fake.script_pipeline("broken", ["RUNNING", "FAILED"], message="Table not found")
    run = target.execute(pipelineName="broken")
    assert "message" not in target.details(run)
    assert target.details(run)["message"] == "Table not found"


def test_client_reads_the_fakes_details(target: Target) -> None:
    client = target.client()
    target.fake.script_pipeline("etl", ["RUNNING", "SUCCESS"], every=90)
    run = client.execute_pipeline("proj", "etl", "dev", scalar_variables={"day": "mon"})
    result = client.wait_for("proj", run, interval=30, max_interval=30)
    assert result.status is ExecutionStatus.SUCCESS
    details = client.get_execution("proj", run)
    assert (details.pipeline_name, details.environment_name, details.trigger) == (
        "etl",
        "dev",
        "API",
    )
    assert details.duration is not None and details.duration.total_seconds() == 90


def test_details_of_a_scripted_execution(target: Target) -> None:
    run = target.fake.add_execution("proj", ["RUNNING", "SKIPPED"])
    assert target.details(run)["status"] == "RUNNING"
    body = target.details(run)
    assert body["status"] == "SKIPPED" and body["trigger"] == "UNKNOWN"
    assert body["finishedAt"] == "2026-01-01T00:00:00.000Z"
    assert target.fake.executions() == []  # only executions started through the API


def test_details_serve_scripted_error_steps(target: Target) -> None:
    target.fake.script_pipeline("flaky", ["RUNNING", FakeMaia.error(503), "SUCCESS"])
    client = target.client()
    run = client.execute_pipeline("proj", "flaky", "dev")
    assert client.get_execution("proj", run).status is ExecutionStatus.RUNNING
    assert client.get_execution("proj", run).status is ExecutionStatus.SUCCESS  # 503 retried
    assert [c.status_code for c in target.fake.calls][-3:] == [200, 503, 200]


@pytest.mark.parametrize(
    ("rel", "code"),
    [
        ("/v1/projects/proj/pipeline-executions/not-a-uuid", 400),
        (f"/v1/projects/nope/pipeline-executions/{uuid.UUID(int=1)}", 404),
        (f"/v1/projects/proj/pipeline-executions/{uuid.UUID(int=2)}", 404),
    ],
)
def test_details_and_cancel_of_unknown_executions(target: Target, rel: str, code: int) -> None:
    target.execute()
    for method, body in (("GET", None), ("PATCH", {"status": "CANCELLED"})):
        response = target.send(method, rel, body)
        assert response.status_code == code
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == code


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_on_an_execution_get_405(target: Target, method: str) -> None:
    run = target.execute()
    response = target.send(method, f"/v1/projects/proj/pipeline-executions/{run}", {})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, PATCH"


def test_executions_record_what_was_asked(target: Target) -> None:
    grid = {"tables": [["a", "b"], ["c", "d"]]}
    first = target.execute(
        "p1",
        scalarVariables={"day": "mon"},
        gridVariables=grid,
        agentId="agent-1",
        executionTag="t1",
        versionName="v2",
    )
    second = target.execute("p2", pipelineName="other")
    records = target.fake.executions()
    assert [r.execution_id for r in records] == [first, second]
    one = records[0]
    assert (one.project_id, one.pipeline_name, one.environment_name) == ("p1", "load", "dev")
    assert one.scalar_variables == {"day": "mon"} and one.grid_variables == grid
    assert (one.agent_id, one.execution_tag, one.version_name) == ("agent-1", "t1", "v2")
    assert one.status is ExecutionStatus.RUNNING and one.finished_at is None
    assert one.cancel_force is None and one.started_at == 0.0
    assert [r.execution_id for r in target.fake.executions("p2")] == [second]
    assert target.fake.executions("nope") == []


@pytest.mark.parametrize(
    ("body", "violation"),
    [
        ({"environmentName": "dev"}, "pipelineName: must not be null"),
        ({"pipelineName": "", "environmentName": "dev"}, "pipelineName: must not be empty"),
        ({"pipelineName": 5, "environmentName": "dev"}, "pipelineName: must be a string"),
        ({"pipelineName": "p"}, "environmentName: must not be null"),
        ({"pipelineName": "p", "environmentName": "e" * 256}, "environmentName: size"),
        (
            {"pipelineName": "p", "environmentName": "e", "scalarVariables": {"a": 1}},
            "scalarVariables",
        ),
        (
            {"pipelineName": "p", "environmentName": "e", "scalarVariables": ["a"]},
            "scalarVariables",
        ),
        (
            {"pipelineName": "p", "environmentName": "e", "gridVariables": {"g": ["a"]}},
            "gridVariables",
        ),
        (
            {"pipelineName": "p", "environmentName": "e", "gridVariables": {"g": [[1]]}},
            "gridVariables",
        ),
        (
            {"pipelineName": "p", "environmentName": "e", "scalarVariables": None},
            "scalarVariables: must not be null",
        ),
        (
            {"pipelineName": "p", "environmentName": "e", "gridVariables": None},
            "gridVariables: must not be null",
        ),
        ({"pipelineName": "p", "environmentName": "e", "agentId": 3}, "agentId"),
        ({"pipelineName": "p", "environmentName": "e", "executionTag": []}, "executionTag"),
        ({"pipelineName": "p", "environmentName": "e", "versionName": 1.5}, "versionName"),
        (["p", "e"], "body: must be a JSON object"),
    ],
)
def test_execute_validates_the_body(target: Target, body: object, violation: str) -> None:
    response = target.send("POST", "/v1/projects/proj/pipeline-executions", body)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert any(v.startswith(violation) for v in response.json()["violations"]), response.json()
    assert target.fake.executions() == []


def test_execute_with_a_non_json_body_is_400(target: Target) -> None:
    response = requests.post(
        target.base + "/v1/projects/proj/pipeline-executions",
        data=b"pipelineName=x",
        headers=AUTH,
        timeout=10,
    )
    assert response.status_code == 400


def test_execute_needs_a_token(target: Target) -> None:
    rel = "/v1/projects/proj/pipeline-executions"
    response = target.send("POST", rel, {"pipelineName": "p", "environmentName": "e"}, headers={})
    assert response.status_code == 401


def test_a_running_execution_tag_conflicts_in_its_environment(target: Target) -> None:
    client = target.client()
    target.fake.script_pipeline("tagged", ["RUNNING", "SUCCESS"])
    run = client.execute_pipeline("proj", "tagged", "dev", execution_tag="nightly")
    with pytest.raises(ConflictError, match="nightly") as info:
        client.execute_pipeline("proj", "tagged", "dev", execution_tag="nightly")
    assert info.value.status_code == 409
    client.execute_pipeline("proj", "tagged", "prod", execution_tag="nightly")  # other env
    client.execute_pipeline("other", "tagged", "dev", execution_tag="nightly")  # other project
    client.execute_pipeline("proj", "tagged", "dev", execution_tag="weekly")
    client.execute_pipeline("proj", "tagged", "dev")  # no tag
    assert client.wait_for("proj", run, interval=1).status is ExecutionStatus.SUCCESS
    client.execute_pipeline("proj", "tagged", "dev", execution_tag="nightly")  # finished
    assert len(target.fake.executions()) == 6


def test_a_disabled_pipeline_is_gone(target: Target) -> None:
    client = target.client()
    target.fake.disable_pipeline("retired")
    with pytest.raises(GoneError, match="retired") as info:
        client.execute_pipeline("proj", "retired", "dev")
    assert info.value.problem is not None and info.value.problem.status == 410
    assert target.fake.executions() == []
    target.fake.disable_pipeline("retired", disabled=False)
    client.execute_pipeline("proj", "retired", "dev")


# -- cancel --------------------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_cancel_goes_through_cancelling_to_cancelled(target: Target, force: bool) -> None:
    target.fake.script_pipeline("long", ["RUNNING"] * 100 + ["SUCCESS"])
    run = target.execute(pipelineName="long")
    assert target.status(run) == "RUNNING"
    response = target.cancel(run, {"status": "CANCELLED", "forceUpdate": force})
    assert response.status_code == 200
    assert response.json() == {"pipelineExecutionId": run}
    (record,) = target.fake.executions()
    assert record.cancel_force is force and record.status is ExecutionStatus.RUNNING
    assert target.status(run) == "CANCELLING"
    assert target.details(run)["status"] == "CANCELLED"
    assert "finishedAt" in target.details(run)
    patch = [c for c in target.fake.calls if c.method == "PATCH"]
    assert [(c.path.endswith(run), c.status_code) for c in patch] == [(True, 200)]


def test_cancel_while_cancelling_changes_nothing_but_a_finished_one_is_409(
    target: Target,
) -> None:
    run = target.execute()
    assert target.cancel(run).status_code == 200
    assert target.status(run) == "CANCELLING"
    again = target.cancel(run, {"status": "CANCELLED", "forceUpdate": True})
    assert again.status_code == 200
    assert target.status(run) == "CANCELLED"  # not restarted
    assert target.fake.executions()[0].cancel_force is True
    finished = target.cancel(run)
    assert finished.status_code == 409
    assert "already finished (CANCELLED)" in finished.json()["detail"]


def test_cancel_a_timed_execution_that_has_finished_is_409(target: Target) -> None:
    target.fake.script_pipeline("quick", ["RUNNING", "SUCCESS"], every=10)
    client = target.client()
    run = client.execute_pipeline("proj", "quick", "dev")
    target.fake.clock.sleep(10)  # finished on the clock, though nobody polled
    with pytest.raises(ConflictError, match="SUCCESS"):
        client.cancel_execution("proj", run)
    assert target.fake.executions()[0].finished_at == 10.0


@pytest.mark.parametrize(
    ("body", "violation"),
    [
        ({"status": "RUNNING"}, "status: must be CANCELLED"),
        ({}, "status: must not be null"),
        ({"status": "CANCELLED"}, "forceUpdate: must not be null"),
        ({"forceUpdate": True}, "status: must not be null"),
        ({"status": None, "forceUpdate": False}, "status: must not be null"),
        ({"status": "CANCELLED", "forceUpdate": None}, "forceUpdate: must not be null"),
        ({"status": "CANCELLED", "forceUpdate": "yes"}, "forceUpdate: must be a boolean"),
        ("CANCELLED", "body: must be a JSON object"),
    ],
)
def test_cancel_validates_the_body(target: Target, body: object, violation: str) -> None:
    run = target.execute()
    response = target.cancel(run, body)
    assert response.status_code == 400
    assert violation in response.json()["violations"]
    assert target.fake.executions()[0].cancel_force is None


def test_client_cancels_and_waits(target: Target) -> None:
    client = target.client()
    target.fake.script_pipeline("long", ["RUNNING"], every=60)
    run = client.execute_pipeline("proj", "long", "dev")
    client.cancel_execution("proj", run, force=True)
    result = client.wait_for("proj", run, interval=5, max_interval=5)
    assert [s.value for _, s in result.timeline()] == ["CANCELLING", "CANCELLED"]
    with pytest.raises(NotFoundError):
        client.cancel_execution("proj", str(uuid.UUID(int=9)))


# -- validation, reset, the log, problem answers ----------------------------------------


def test_scripting_arguments_are_checked() -> None:
    fake = FakeMaia()
    with pytest.raises(MaiaValidationError, match="pipeline_name"):
        fake.script_pipeline("", ["RUNNING"])
    with pytest.raises(MaiaValidationError, match="at least one step"):
        fake.script_pipeline("p", [])
    with pytest.raises(MaiaValidationError, match="every"):
        fake.script_pipeline("p", ["RUNNING"], every=0)
    with pytest.raises(MaiaValidationError, match="message"):
        fake.script_pipeline("p", ["RUNNING"], message=5)  # type: ignore[arg-type]
    with pytest.raises(MaiaValidationError, match="pipeline_name"):
        fake.disable_pipeline(None)  # type: ignore[arg-type]
    with pytest.raises(MaiaValidationError, match="client_id"):
        fake.add_credentials("", "s")
    with pytest.raises(MaiaValidationError, match="client_secret"):
        fake.add_credentials("id", "")


def test_reset_forgets_scripts_and_executions_but_keeps_credentials() -> None:
    with FakeMaia() as fake:
        fake.add_credentials("ci-bot", SECRET)
        fake.script_pipeline("p", ["FAILED"])
        fake.disable_pipeline("gone")
        client = fake.client()
        client.execute_pipeline("proj", "p", "dev")
        fake.reset()
        assert fake.executions() == [] and fake.calls == []
        run = client.execute_pipeline("proj", "p", "dev")
        assert client.get_status("proj", run) is ExecutionStatus.RUNNING  # default again
        client.execute_pipeline("proj", "gone", "dev")
        bad = {**FORM, "client_secret": "nope"}
        assert requests.post(TOKEN_URL, data=bad, timeout=10).status_code == 401


def test_the_request_body_is_never_logged() -> None:
    with FakeMaia() as fake:
        fake.client().execute_pipeline("p", "load", "dev", scalar_variables={"pw": "hunter2"})
    assert "hunter2" not in repr(fake.calls)
    assert json.dumps(fake.executions()[0].scalar_variables) == '{"pw": "hunter2"}'


def test_error_answers_of_the_new_endpoints_are_spec_problem_details(target: Target) -> None:
    from pathlib import Path

    import yaml
    from openapi_schema_validator import OAS31Validator

    spec = Path(__file__).parent / "spec" / "pipeline-execution-status.openapi.yaml"
    schema = yaml.safe_load(spec.read_text())["components"]["schemas"]["ProblemDetail"]
    target.fake.disable_pipeline("off")
    run = target.execute(executionTag="t")
    rel = "/v1/projects/proj/pipeline-executions"
    answers = [
        target.send("POST", rel, {"pipelineName": ""}),
        target.send("POST", rel, {"pipelineName": "off", "environmentName": "e"}),
        target.send(
            "POST", rel, {"pipelineName": "p", "environmentName": "dev", "executionTag": "t"}
        ),
        target.send("GET", f"{rel}/{uuid.UUID(int=3)}"),
        target.send("PATCH", f"{rel}/{run}", {"status": "RUNNING"}),
        target.send("PUT", f"{rel}/{run}"),
    ]
    assert [a.status_code for a in answers] == [400, 410, 409, 404, 400, 405]
    for answer in answers:
        assert answer.headers["Content-Type"] == "application/problem+json"
        body = answer.json()
        OAS31Validator(schema).validate(body)
        assert body["status"] == answer.status_code and body["title"] and body["detail"]
        assert body["instance"] == answer.request.path_url.split("?")[0]
