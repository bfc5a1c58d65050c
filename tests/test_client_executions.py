"""MaiaClient's execute, details and cancel (pytest_maia.client.maia_client, with the bodies and
parsing of pytest_maia.client.bodies and answers) against `responses` registrations."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import requests
import responses

from conftest import BASE, EXECUTION, PROJECT
from pytest_maia import (
    BadRequestError,
    ConflictError,
    ExecutionDetails,
    ExecutionStatus,
    GoneError,
    MaiaClient,
    MaiaConnectionError,
    MaiaResponseError,
    MaiaValidationError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    VirtualClock,
)
from pytest_maia.client.token_endpoint import TOKEN_URL

EXECUTE_URL = f"{BASE}/v1/projects/{PROJECT}/pipeline-executions"
DETAILS_URL = f"{EXECUTE_URL}/{EXECUTION}"
TOKEN = "tok-SEKRIT-7f3a9c"
UTC = dt.timezone.utc


@pytest.fixture
def client(clock: VirtualClock) -> MaiaClient:
    return MaiaClient(token=TOKEN, clock=clock, max_retries=3)


def problem(status: int, detail: str, **extra: object) -> dict[str, object]:
    return {"type": "about:blank", "title": "Oops", "status": status, "detail": detail, **extra}


def sent(mock: responses.RequestsMock, index: int = -1) -> Any:
    body = mock.calls[index].request.body
    assert body is not None
    return json.loads(body)


# -- execute_pipeline ---------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 201, 202])
def test_execute_posts_the_body_and_returns_the_id(
    api: responses.RequestsMock, client: MaiaClient, code: int
) -> None:
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION.upper()}, status=code)
    assert client.execute_pipeline(PROJECT, "daily load", "prod") == EXECUTION
    (call,) = api.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent(api) == {"pipelineName": "daily load", "environmentName": "prod"}


def test_execute_sends_every_optional_field_when_given(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION}, status=201)
    client.execute_pipeline(
        PROJECT,
        "load",
        "prod",
        scalar_variables={"run_date": "2026-01-01", "empty": ""},
        grid_variables={"tables": [["a", "b"], ("c", "d")], "none": []},
        agent_id="agent-7",
        execution_tag="nightly",
        version_name="v1.2",
    )
    assert sent(api) == {
        "pipelineName": "load",
        "environmentName": "prod",
        "scalarVariables": {"run_date": "2026-01-01", "empty": ""},
        "gridVariables": {"tables": [["a", "b"], ["c", "d"]], "none": []},
        "agentId": "agent-7",
        "executionTag": "nightly",
        "versionName": "v1.2",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pipeline_name": ""}, "pipelineName"),
        ({"pipeline_name": "   "}, "pipelineName"),
        ({"pipeline_name": 7}, "pipelineName"),
        ({"environment_name": ""}, "environmentName"),
        ({"environment_name": "e" * 256}, "environmentName"),
        ({"environment_name": None}, "environmentName"),
        ({"scalar_variables": {"a": 1}}, "scalarVariables"),
        ({"scalar_variables": {"a": None}}, "scalarVariables"),
        ({"scalar_variables": {1: "a"}}, "scalarVariables"),
        ({"scalar_variables": {"": "a"}}, "scalarVariables"),
        ({"scalar_variables": ["a"]}, "scalarVariables"),
        ({"grid_variables": {"g": "abc"}}, "gridVariables"),
        ({"grid_variables": {"g": ["abc"]}}, "gridVariables"),
        ({"grid_variables": {"g": [[1]]}}, "gridVariables"),
        ({"grid_variables": {"g": [["a", None]]}}, "gridVariables"),
        ({"grid_variables": [["a"]]}, "gridVariables"),
        ({"grid_variables": {3: [["a"]]}}, "gridVariables"),
        ({"agent_id": ""}, "agentId"),
        ({"execution_tag": 5}, "executionTag"),
        ({"version_name": ""}, "versionName"),
        ({"project_id": "a/b"}, "project id"),
        ({"project_id": ""}, "project id"),
    ],
)
def test_execute_validates_before_sending(
    api: responses.RequestsMock, client: MaiaClient, kwargs: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"project_id": PROJECT, "pipeline_name": "p", "environment_name": "e"}
    args.update(kwargs)
    with pytest.raises(MaiaValidationError, match=field):
        client.execute_pipeline(**args)
    assert len(api.calls) == 0


def test_environment_name_of_255_characters_is_fine(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION}, status=201)
    assert client.execute_pipeline(PROJECT, "p", "e" * 255) == EXECUTION


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"pipelineExecutionId": None},
        {"pipelineExecutionId": "run-42"},
        {"pipelineExecutionId": 42},
        {"id": EXECUTION},
        [EXECUTION],
        "just text",
    ],
)
def test_execute_without_a_uuid_in_the_answer_is_a_response_error(
    api: responses.RequestsMock, client: MaiaClient, body: object
) -> None:
    api.post(EXECUTE_URL, json=body, status=201)
    with pytest.raises(MaiaResponseError, match="pipelineExecutionId") as info:
        client.execute_pipeline(PROJECT, "p", "e")
    assert info.value.status_code == 201
    assert len(api.calls) == 1


@pytest.mark.parametrize("body", [b"", b"<html>oops</html>"])
def test_execute_with_a_non_json_answer_is_a_response_error(
    api: responses.RequestsMock, client: MaiaClient, body: bytes
) -> None:
    api.post(EXECUTE_URL, body=body, status=201, content_type="text/html")
    with pytest.raises(MaiaResponseError, match="POST /v1/projects/proj-1/pipeline-executions"):
        client.execute_pipeline(PROJECT, "p", "e")


@pytest.mark.parametrize(
    ("code", "error"),
    [(400, BadRequestError), (404, NotFoundError), (409, ConflictError), (410, GoneError)],
)
def test_execute_errors_are_typed_and_not_retried(
    api: responses.RequestsMock, client: MaiaClient, code: int, error: type[Exception]
) -> None:
    api.post(EXECUTE_URL, json=problem(code, f"said {code}", violations=["x: bad"]), status=code)
    with pytest.raises(error, match=f"said {code}"):
        client.execute_pipeline(PROJECT, "p", "e")
    assert len(api.calls) == 1


def test_execute_retries_429_only(
    api: responses.RequestsMock, client: MaiaClient, clock: VirtualClock
) -> None:
    api.post(EXECUTE_URL, json=problem(429, "slow down"), status=429, headers={"Retry-After": "7"})
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION}, status=201)
    assert client.execute_pipeline(PROJECT, "p", "e") == EXECUTION
    assert len(api.calls) == 2
    assert clock.now() == 7


def test_execute_gives_up_after_max_retries_of_429(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.post(EXECUTE_URL, json=problem(429, "slow down"), status=429)
    with pytest.raises(RateLimitedError):
        client.execute_pipeline(PROJECT, "p", "e")
    assert len(api.calls) == 4  # max_retries=3


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_execute_does_not_retry_server_errors(
    api: responses.RequestsMock, client: MaiaClient, code: int
) -> None:
    """A 5xx may come after the run started: sending the POST again could start two."""
    api.post(EXECUTE_URL, json=problem(code, "hm"), status=code)
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION}, status=201)
    with pytest.raises(ServerError):
        client.execute_pipeline(PROJECT, "p", "e")
    assert len(api.calls) == 1


def test_execute_does_not_retry_a_lost_connection(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.post(EXECUTE_URL, body=requests.ConnectionError("reset"))
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION}, status=201)
    with pytest.raises(MaiaConnectionError):
        client.execute_pipeline(PROJECT, "p", "e")
    assert len(api.calls) == 1


def test_execute_retries_the_token_fetch_but_posts_once(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    client = MaiaClient(client_id="ci", client_secret="cs-SEKRIT", clock=clock, max_retries=3)
    api.post(TOKEN_URL, status=503)
    api.post(TOKEN_URL, json={"access_token": "fresh", "expires_in": 1800})
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION}, status=201)
    assert client.execute_pipeline(PROJECT, "p", "e") == EXECUTION
    urls = [call.request.url for call in api.calls]
    assert urls == [TOKEN_URL, TOKEN_URL, EXECUTE_URL]


def test_execute_refreshes_the_token_once_on_401(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    client = MaiaClient(client_id="ci", client_secret="cs-SEKRIT", clock=clock)
    api.post(TOKEN_URL, json={"access_token": "old", "expires_in": 1800})
    api.post(EXECUTE_URL, json=problem(401, "expired"), status=401)
    api.post(TOKEN_URL, json={"access_token": "new", "expires_in": 1800})
    api.post(EXECUTE_URL, json={"pipelineExecutionId": EXECUTION}, status=201)
    assert client.execute_pipeline(PROJECT, "p", "e") == EXECUTION
    assert api.calls[3].request.headers["Authorization"] == "Bearer new"


# -- get_execution ------------------------------------------------------------------------

FLAT = {
    "pipelineExecutionId": EXECUTION,
    "pipelineName": "daily load",
    "pipelineType": "ORCHESTRATION",
    "projectId": PROJECT,
    "environmentName": "prod",
    "scheduleId": "sched-1",
    "status": "FAILED",
    "startedAt": "2026-01-01T00:00:00Z",
    "finishedAt": "2026-01-01T00:30:15.250Z",
    "message": "Table not found",
    "trigger": "API",
    "user": "ci-bot",
}


def test_get_execution_reads_the_flat_shape(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(DETAILS_URL, json=FLAT)
    details = client.get_execution(PROJECT, EXECUTION)
    assert details == ExecutionDetails(
        status=ExecutionStatus.FAILED,
        pipeline_execution_id=EXECUTION,
        pipeline_name="daily load",
        pipeline_type="ORCHESTRATION",
        project_id=PROJECT,
        environment_name="prod",
        schedule_id="sched-1",
        started_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
        finished_at=dt.datetime(2026, 1, 1, 0, 30, 15, 250000, tzinfo=UTC),
        message="Table not found",
        trigger="API",
        user="ci-bot",
    )
    assert details.duration == dt.timedelta(minutes=30, seconds=15.25)
    assert api.calls[0].request.method == "GET"


def test_get_execution_reads_status_and_message_nested_in_result(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    body = {k: v for k, v in FLAT.items() if k not in ("status", "message")}
    body["result"] = {"status": "SUCCESS", "message": "All good"}
    api.get(DETAILS_URL, json=body)
    details = client.get_execution(PROJECT, EXECUTION)
    assert details.status is ExecutionStatus.SUCCESS
    assert details.message == "All good"
    assert details.pipeline_name == "daily load"


def test_get_execution_drops_wrong_typed_fields(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    body = {**FLAT, "pipelineName": 5, "startedAt": "yesterday", "finishedAt": 17, "user": {}}
    api.get(DETAILS_URL, json=body)
    details = client.get_execution(PROJECT, EXECUTION)
    assert details.status is ExecutionStatus.FAILED
    assert (details.pipeline_name, details.started_at, details.finished_at) == (None, None, None)
    assert details.user is None and details.duration is None


def test_get_execution_keeps_an_unknown_status(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(DETAILS_URL, json={"status": "PAUSED"})
    details = client.get_execution(PROJECT, EXECUTION)
    assert details.status.value == "PAUSED" and not details.status.is_known


@pytest.mark.parametrize(
    "body",
    [[], "RUNNING", {}, {"status": ""}, {"status": 3}, {"result": "SUCCESS"}, {"result": {}}],
)
def test_get_execution_without_a_usable_status_is_a_response_error(
    api: responses.RequestsMock, client: MaiaClient, body: object
) -> None:
    api.get(DETAILS_URL, json=body)
    with pytest.raises(MaiaResponseError, match="GET /v1/projects/proj-1/pipeline-executions/"):
        client.get_execution(PROJECT, EXECUTION)
    assert len(api.calls) == 1


def test_get_execution_with_html_is_a_response_error(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(DETAILS_URL, body="<html>", content_type="text/html")
    with pytest.raises(MaiaResponseError, match="not JSON"):
        client.get_execution(PROJECT, EXECUTION)


def test_get_execution_retries_transient_failures(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(DETAILS_URL, json=problem(503, "busy"), status=503)
    api.get(DETAILS_URL, body=requests.ConnectionError("reset"))
    api.get(DETAILS_URL, json=FLAT)
    assert client.get_execution(PROJECT, EXECUTION).status is ExecutionStatus.FAILED
    assert len(api.calls) == 3


@pytest.mark.parametrize(("code", "error"), [(400, BadRequestError), (404, NotFoundError)])
def test_get_execution_errors(
    api: responses.RequestsMock, client: MaiaClient, code: int, error: type[Exception]
) -> None:
    api.get(DETAILS_URL, json=problem(code, "nope"), status=code)
    with pytest.raises(error, match="nope"):
        client.get_execution(PROJECT, EXECUTION)
    assert len(api.calls) == 1


@pytest.mark.parametrize("execution_id", ["run-42", "", "3fa85f64"])
def test_get_execution_and_cancel_validate_the_id(
    api: responses.RequestsMock, client: MaiaClient, execution_id: str
) -> None:
    with pytest.raises(MaiaValidationError, match="UUID"):
        client.get_execution(PROJECT, execution_id)
    with pytest.raises(MaiaValidationError, match="UUID"):
        client.cancel_execution(PROJECT, execution_id)
    assert len(api.calls) == 0


# -- cancel_execution ---------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_cancel_patches_the_execution(
    api: responses.RequestsMock, client: MaiaClient, force: bool
) -> None:
    api.patch(DETAILS_URL, json={"pipelineExecutionId": EXECUTION})
    assert client.cancel_execution(PROJECT, EXECUTION, force=force) is None
    (call,) = api.calls
    assert call.request.method == "PATCH"
    assert sent(api) == {"status": "CANCELLED", "forceUpdate": force}


def test_cancel_accepts_an_empty_answer(api: responses.RequestsMock, client: MaiaClient) -> None:
    api.patch(DETAILS_URL, status=204)
    client.cancel_execution(PROJECT, EXECUTION)


def test_cancel_is_retried_like_a_read(api: responses.RequestsMock, client: MaiaClient) -> None:
    api.patch(DETAILS_URL, json=problem(502, "bad gateway"), status=502)
    api.patch(DETAILS_URL, body=requests.ConnectionError("reset"))
    api.patch(DETAILS_URL, json={"pipelineExecutionId": EXECUTION})
    client.cancel_execution(PROJECT, EXECUTION)
    assert len(api.calls) == 3


@pytest.mark.parametrize(("code", "error"), [(404, NotFoundError), (409, ConflictError)])
def test_cancel_errors(
    api: responses.RequestsMock, client: MaiaClient, code: int, error: type[Exception]
) -> None:
    api.patch(DETAILS_URL, json=problem(code, "cannot"), status=code)
    with pytest.raises(error, match="cannot"):
        client.cancel_execution(PROJECT, EXECUTION)


@pytest.mark.parametrize("force", [1, "yes", None])
def test_cancel_force_must_be_a_bool(
    api: responses.RequestsMock, client: MaiaClient, force: Any
) -> None:
    with pytest.raises(MaiaValidationError, match="force"):
        client.cancel_execution(PROJECT, EXECUTION, force=force)
    assert len(api.calls) == 0


def test_a_redirect_with_an_undecodable_location_is_a_response_error(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(DETAILS_URL, status=302, headers={"Location": "\xe9\xff"})
    with pytest.raises(MaiaResponseError, match="headers could not be decoded"):
        client.get_execution(PROJECT, EXECUTION)
