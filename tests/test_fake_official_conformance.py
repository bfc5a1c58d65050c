"""Every answer of every endpoint the fake serves conforms to tests/spec/official-api.openapi.yaml
(written from official-api.md, the vendor's reference), over both adapters.

Each answer is validated with openapi-core as the real API's answer to the same request
would be, as it arrives; the fake's own call log then proves that no answer went
unchecked, and the spec's operations that were answered prove that none went untried.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import pytest
import requests
import yaml
from fake_target import Target
from openapi_spec import OFFICIAL_SPEC, validate_response, validate_schema

from pytest_maia import FakeMaia
from pytest_maia.client.token_endpoint import TOKEN_URL

TOKEN = "official-token-7a1c"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SPEC_BASE = "https://eu1.api.matillion.com/dpc"
START = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone.utc)
SPEC = yaml.safe_load(OFFICIAL_SPEC.read_text(encoding="utf-8"))
PROBLEM = SPEC["components"]["schemas"]["ProblemDetail"]
METHODS = {"get", "post", "put", "patch", "delete"}
# (method, path template, a regex of the template) for each operation of the spec.
OPERATIONS = [
    (method.upper(), path, re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path) + r"\Z"))
    for path, item in SPEC["paths"].items()
    for method in item
    if method in METHODS
]


def operation_of(method: str, path: str) -> str | None:
    """``"METHOD /template"`` of the spec's operation for a request, or None."""
    for op_method, template, pattern in OPERATIONS:
        if op_method == method and pattern.match(path):
            return f"{method} {template}"
    return None


class Checked:
    """Requests to one adapter whose every answer is validated against the spec."""

    def __init__(self, fake: FakeMaia, base: str, token_url: str) -> None:
        self.fake = fake
        self.base = base
        self.token_url = token_url
        self.answered: set[tuple[str, int]] = set()  # (operation, status)
        self.validated = 0

    def send(
        self, method: str, rel: str, body: object = None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        headers = AUTH if headers is None else headers
        response = requests.request(method, self.base + rel, json=body, headers=headers, timeout=10)
        self.check(method, rel, body, headers, response)
        return response

    def publish(self, project: str, headers: dict[str, str], files: dict[str, bytes]) -> Any:
        """POST a multipart artifact (one part per file), validated like any answer."""
        rel = f"/v1/projects/{project}/artifacts"
        parts = {name: (name, text) for name, text in files.items()}
        response = requests.post(
            self.base + rel, files=parts, headers={**AUTH, **headers}, timeout=10
        )
        self.check("POST", rel, None, {**AUTH, **headers}, response)
        return response

    def token(
        self, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> requests.Response:
        """POST the token endpoint (form-encoded), validated as the real one's answer."""
        headers = headers or {}
        response = requests.post(self.token_url, data=form, headers=headers, timeout=10)
        spec_request = requests.Request("POST", TOKEN_URL, data=form, headers=headers)
        validate_response(OFFICIAL_SPEC, spec_request.prepare(), response)
        self.answered.add(("POST /oauth/dpc/token", response.status_code))
        self.validated += 1
        return response

    def check(
        self,
        method: str,
        rel: str,
        body: object,
        headers: dict[str, str],
        response: requests.Response,
    ) -> None:
        status = response.status_code
        path = rel.partition("?")[0]
        operation = operation_of("GET" if method == "HEAD" else method, path)
        if status >= 400:
            assert response.headers["Content-Type"] == "application/problem+json", rel
        if method == "HEAD":
            assert response.content == b"" and int(response.headers["Content-Length"]) > 0
        elif operation is None:
            # A path or method the API does not have: a ProblemDetail, nothing more.
            assert status in (404, 405), (method, rel, status)
            validate_schema(PROBLEM, response.json())
        else:
            spec_request = requests.Request(method, SPEC_BASE + rel, json=body, headers=headers)
            validate_response(OFFICIAL_SPEC, spec_request.prepare(), response)
            self.answered.add((operation, status))
        self.validated += 1

    def execute(self, project: str = "sales", **body: Any) -> requests.Response:
        body = {"pipelineName": "nightly", "environmentName": "prod", **body}
        return self.send("POST", f"/v1/projects/{project}/pipeline-executions", body)


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    return FakeMaia(token=TOKEN, start=START)


@pytest.fixture
def checked(target: Target) -> Checked:
    return Checked(target.fake, target.base, target.token_url)


def script_account(fake: FakeMaia) -> None:
    fake.add_project("sales", name="Sales", description="the warehouse")
    fake.add_project("empty")
    fake.add_environment("sales", "prod", default_agent_id="a-1", default_agent_name="agent")
    fake.add_environment("sales", "dev")
    for name in ("nightly", "broken", "long", "retired"):
        fake.publish_pipeline("sales", "prod", name)
    fake.disable_pipeline("retired")
    fake.script_pipeline("long", ["RUNNING"], every=3600)
    fake.script_pipeline(
        "broken",
        ["RUNNING", "FAILED"],
        message="Task 'load' failed",
        steps=[
            {"name": "extract", "status": "SUCCESS"},
            {
                "name": "run child",
                "status": "FAILED",
                "message": "child failed",
                "child": {"statuses": ["FAILED"], "message": "disk full"},
            },
        ],
    )


def test_every_answer_of_every_endpoint_conforms(checked: Checked) -> None:
    fake = checked.fake
    script_account(fake)
    send = checked.send

    # -- the account ---------------------------------------------------------------
    for rel in ("/v1/projects", "/v1/projects?page=1&size=1", "/v1/projects?size=500"):
        assert send("GET", rel).status_code == 200
    assert send("GET", "/v1/projects?size=500").json()["size"] == 100
    assert send("GET", "/v1/projects/sales/environments?page=0&size=1").status_code == 200
    published = "/v1/projects/sales/published-pipelines?environmentName=prod"
    assert len(send("GET", published).json()["results"]) == 4
    for rel, code in [
        ("/v1/projects?size=0", 400),
        ("/v1/projects?page=-1", 400),
        ("/v1/projects/nope/environments", 404),
        ("/v1/projects/sales/published-pipelines", 400),
        ("/v1/projects/sales/published-pipelines?environmentName=qa", 404),
    ]:
        assert send("GET", rel).status_code == code, rel

    # -- execute --------------------------------------------------------------------
    variables = {"scalarVariables": {"day": "mon"}, "gridVariables": {"g": [["a", "b"]]}}
    run = checked.execute(**variables).json()["pipelineExecutionId"]
    broken = checked.execute(pipelineName="broken").json()["pipelineExecutionId"]
    long_run = checked.execute(pipelineName="long", executionTag="t").json()
    long_id = long_run["pipelineExecutionId"]
    assert checked.execute(pipelineName="long", executionTag="t").status_code == 409
    assert checked.execute(pipelineName="retired").status_code == 410
    assert checked.execute(pipelineName="unpublished").status_code == 404
    assert checked.execute("nope").status_code == 404
    for wrong in (
        {"executionTag": None},
        {"gridVariables": None},
        {"scalarVariables": {"n": 1}},
        {"environmentName": "e" * 256},
        {"pipelineName": ""},
    ):
        assert checked.execute(**wrong).status_code == 400, wrong
    assert (
        send("POST", "/v1/projects/sales/pipeline-executions", "not an object").status_code == 400
    )

    # -- reads: status, details, steps ------------------------------------------------
    rel = "/v1/projects/sales/pipeline-executions/{}"
    assert send("GET", rel.format(broken) + "/steps").json()["results"] == []
    assert send("GET", rel.format(broken) + "/status").json() == {"status": "RUNNING"}
    assert send("GET", rel.format(broken)).json()["status"] == "FAILED"
    steps = send("GET", rel.format(broken) + "/steps?size=500").json()["results"]
    child = steps[1]["childPipeline"]["id"]
    assert send("GET", rel.format(child) + "/steps").status_code == 200
    assert send("GET", rel.format(run)).json()["trigger"] == "API"
    for bad, code in [("not-a-uuid", 400), ("00000000-0000-4000-8000-000000000000", 404)]:
        for tail in ("", "/status", "/steps"):
            assert send("GET", rel.format(bad) + tail).status_code == code
    assert send("GET", rel.format(run) + "/steps?size=0").status_code == 400

    # -- cancel -----------------------------------------------------------------------
    assert send("PATCH", rel.format(long_id), {"forceUpdate": True, "status": "CANCELLED"}).ok
    finished = send("PATCH", rel.format(broken), {"forceUpdate": False, "status": "CANCELLED"})
    assert finished.status_code == 409
    for wrong in ({"status": "CANCELLED"}, {"forceUpdate": True}, {"forceUpdate": None}, []):
        assert send("PATCH", rel.format(run), wrong).status_code == 400, wrong
    unknown = rel.format("00000000-0000-4000-8000-000000000000")
    assert send("PATCH", unknown, {"forceUpdate": True, "status": "CANCELLED"}).status_code == 404

    # -- the executions list ------------------------------------------------------------
    fake.add_execution(
        "sales", "SUCCESS", pipeline_name="nightly", environment="prod", schedule_id="s-1"
    )
    fake.add_execution("sales", ["FAILED"], trigger="DESIGNER", user="jo@example.com")
    listed = send("GET", "/v1/pipeline-executions").json()
    assert {item["trigger"] for item in listed["results"]} >= {"API", "SCHEDULE", "DESIGNER"}
    for query in (
        "projectId=sales&limit=2",
        "pipelineName=NIGHT&environmentName=prod",
        "status=FAILED,CANCELLED&status=SUCCESS",
        "startedAfter=2026-03-01T09:30:00Z&startedBefore=2026-03-01T10:30:00.000%2B01:00",
        "scheduleId=s-1&timeFrame=anything",
        "limit=500",
    ):
        assert send("GET", f"/v1/pipeline-executions?{query}").status_code == 200, query
    more = send("GET", "/v1/pipeline-executions?limit=1").json()["more"]
    assert send("GET", f"/v1/pipeline-executions?paginationToken={more}").ok
    for query, code in [
        ("limit=0", 400),
        ("status=PAUSED", 400),
        ("startedAfter=today", 400),
        ("paginationToken=zz", 400),
        ("projectId=nope", 404),
    ]:
        assert send("GET", f"/v1/pipeline-executions?{query}").status_code == code, query

    # -- authentication, faults, HEAD, what the API does not have -------------------------
    for op_rel in ("/v1/projects", "/v1/pipeline-executions", rel.format(run)):
        assert send("GET", op_rel, headers={}).status_code == 401
        assert send("GET", op_rel, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert checked.send("POST", "/v1/projects/sales/pipeline-executions", {}, {}).status_code == 401
    for code in (403, 429, 500, 502, 503, 504):
        fake.fail_next(code, retry_after=2 if code == 429 else None)
        assert checked.execute().status_code == code
        fake.fail_next(code, retry_after=1 if code == 429 else None)
        assert send("GET", "/v1/pipeline-executions").status_code == code
    flaky = fake.add_execution("sales", ["RUNNING", FakeMaia.error(503), "SUCCESS"])
    assert [send("GET", rel.format(flaky)).status_code for _ in range(3)] == [200, 503, 200]
    for head in ("/v1/projects", "/v1/pipeline-executions", rel.format(run) + "/steps"):
        assert send("HEAD", head).status_code == 200
    assert send("DELETE", rel.format(run)).status_code == 405
    assert send("GET", "/v1/agents").status_code == 404

    # -- artifacts and versions --------------------------------------------------------
    files = {"load.orch.yaml": b"type: orchestration\n", "logo.png": b"\x89PNG\r\n\x1a\n\x00"}
    version = {"versionName": "1.0.0", "environmentName": "dev", "branch": "main"}
    published = checked.publish("sales", version, files)
    assert published.status_code == 200 and published.json()["ignoredResources"]
    assert checked.publish("sales", version, files).status_code == 409
    assert checked.publish("sales", {"versionName": "2.0.0"}, files).status_code == 400
    assert checked.publish("nope", {**version, "versionName": "3"}, files).status_code == 404
    artifacts = "/v1/projects/sales/artifacts"
    assert send("GET", f"{artifacts}?environmentName=dev&enabledOnly=true&size=500").ok
    assert send("GET", f"{artifacts}/details?environmentName=dev").json()["assets"]
    assert send("GET", f"{artifacts}/details?environmentName=dev&versionName=1.0.0").ok
    for wrong, code in [
        (artifacts, 400),
        (f"{artifacts}/details?environmentName=prod", 404),
        (f"{artifacts}/details?environmentName=dev&versionName=9", 404),
    ]:
        assert send("GET", wrong).status_code == code, wrong
    promotion = {"sourceEnvironmentName": "dev", "targetEnvironmentName": "prod"}
    promoted = send("POST", f"{artifacts}/promotions", {**promotion, "versionName": "1.0.0"})
    assert promoted.json() == {"environmentName": "prod", "versionName": "1.0.0"}
    assert (
        send("POST", f"{artifacts}/promotions", {**promotion, "versionName": "9"}).status_code
        == 404
    )
    assert send("POST", f"{artifacts}/promotions", promotion).status_code == 400
    by_version = checked.execute(pipelineName="load", versionName="1.0.0")
    assert by_version.status_code == 201
    assert checked.execute(pipelineName="load", versionName="9.9").status_code == 404

    # -- schedules ------------------------------------------------------------------------
    schedules = "/v1/projects/sales/schedules"
    create = {
        "pipeline": {"pipelineName": "nightly", "environmentName": "prod"},
        "schedule": {"name": "nightly at 2", "cronExpression": "0 0 2 ? * * *"},
    }
    schedule_id = send("POST", schedules, create).json()["scheduleId"]
    wrong_cron = {**create, "schedule": {"name": "x", "cronExpression": "every day"}}
    assert send("POST", schedules, wrong_cron).status_code == 400
    assert send("GET", f"{schedules}?size=500").json()["total"] == 1
    one = f"{schedules}/{schedule_id}"
    assert send("GET", one).json()["nextRunAt"]
    changed = send("PATCH", one, {"name": "at 3", "cronExpression": "0 0 3 ? * * *"})
    assert changed.json()["name"] == "at 3"
    assert send("PATCH", one, {"name": "no cron"}).status_code == 400
    ran = fake.run_schedule(schedule_id)
    assert send("GET", rel.format(ran)).json()["scheduleId"] == schedule_id
    assert send("GET", f"/v1/pipeline-executions?scheduleId={schedule_id}").ok
    assert send("DELETE", one).status_code == 204
    assert send("GET", one).status_code == 404
    assert send("DELETE", one).status_code == 404

    # -- audit events -----------------------------------------------------------------------
    window = "from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z"
    events = send("GET", f"/v1/events?{window}&page=0&size=100").json()
    assert events["total"] > 0
    for query in ("from=2026-03-01T00:00:00Z", f"{window}&size=101", f"{window}&page=-1"):
        assert send("GET", f"/v1/events?{query}").status_code == 400, query

    # -- test executions --------------------------------------------------------------------
    tests = "/v1/projects/sales/test-executions"
    started = send(
        "POST", tests, {"environmentName": "prod", "scope": "PIPELINE", "pipelines": ["nightly"]}
    )
    test_id = started.json()["testExecutionId"]
    assert send("POST", tests, {"environmentName": "prod", "scope": "ALL"}).status_code == 400
    cancel = {"forceUpdate": False, "status": "CANCELLED"}
    assert send("PATCH", f"{tests}/{test_id}", cancel).ok
    assert send("PATCH", f"{tests}/{test_id}", {"status": "CANCELLED"}).status_code == 400
    unknown_test = f"{tests}/00000000-0000-4000-8000-000000000000"
    assert send("PATCH", unknown_test, cancel).status_code == 404

    # -- the token endpoint -------------------------------------------------------------
    form = {"grant_type": "client_credentials", "client_id": "ci", "client_secret": "s3"}
    issued = checked.token({**form, "audience": "https://api.matillion.com"}).json()
    assert send(
        "GET", "/v1/projects", headers={"Authorization": "Bearer " + issued["access_token"]}
    ).ok
    basic = {"Authorization": "Basic " + base64.b64encode(b"ci:s3").decode()}
    assert checked.token({"grant_type": "client_credentials"}, basic).status_code == 200
    for wrong, code in [
        ({**form, "grant_type": "password"}, 400),
        ({**form, "audience": "https://example.com"}, 400),
        ({"grant_type": "client_credentials", "client_id": "ci"}, 400),
    ]:
        assert checked.token(wrong).status_code == code, wrong
    fake.add_credentials("ci", "s3")
    assert checked.token({**form, "client_secret": "guess"}).status_code == 401
    for code in (429, 503):
        fake.fail_next(code, retry_after=1)
        assert checked.token(form).status_code == code

    # Every answer was validated, and every operation of the spec answered 2xx.
    assert checked.validated == len(fake.calls)
    succeeded = {operation for operation, status in checked.answered if status < 300}
    assert succeeded == {f"{method} {template}" for method, template, _ in OPERATIONS}
