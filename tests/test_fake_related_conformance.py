"""Every response of the fake's wider flow conforms to tests/spec/related-endpoints.openapi.yaml
(written from related-endpoints.md), validated with openapi-core over both adapters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from openapi_spec import RELATED_SPEC, validate_response

from pytest_maia.fake import FakeMaia

SPEC_BASE = "https://eu1.api.matillion.com/dpc"
TOKEN = "conf-token-51d2"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Target:
    fake: FakeMaia
    base: str

    def check(self, method: str, rel: str, body: object = None) -> requests.Response:
        """Send, then validate the answer as if the real API had given it."""
        response = requests.request(method, self.base + rel, json=body, headers=AUTH, timeout=10)
        spec_request = requests.Request(method, SPEC_BASE + rel, json=body, headers=AUTH)
        validate_response(RELATED_SPEC, spec_request.prepare(), response)
        return response


@pytest.fixture(params=["in_process", "server"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    fake = FakeMaia(token=TOKEN)
    fake.add_project("sales", name="Sales", description="warehouse")
    fake.add_project("empty")
    fake.add_environment("sales", "prod", default_agent_id="a1", default_agent_name="agent 1")
    fake.add_environment("sales", "dev")
    fake.publish_pipeline("sales", "prod", "nightly")
    fake.publish_pipeline("sales", "prod", "broken")
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
    if request.param == "in_process":
        with fake:
            yield Target(fake, fake.base_url)
    else:
        with fake.serve() as server:
            yield Target(fake, server.url)


def test_lists_conform(target: Target) -> None:
    assert target.check("GET", "/v1/projects").status_code == 200
    assert target.check("GET", "/v1/projects?page=1&size=1").json()["results"][0]["id"] == "empty"
    assert target.check("GET", "/v1/projects/sales/environments").status_code == 200
    published = "/v1/projects/sales/published-pipelines?environmentName=prod"
    assert len(target.check("GET", published).json()["results"]) == 2
    assert target.check("GET", "/v1/projects/sales/published-pipelines?environmentName=dev").ok


def test_the_run_and_its_steps_conform(target: Target) -> None:
    started = target.check(
        "POST",
        "/v1/projects/sales/pipeline-executions",
        {"pipelineName": "broken", "environmentName": "prod", "scalarVariables": {"a": "b"}},
    )
    run = started.json()["pipelineExecutionId"]
    rel = f"/v1/projects/sales/pipeline-executions/{run}"
    assert target.check("GET", rel + "/steps").json()["results"] == []  # not finished yet
    assert target.check("GET", rel).json()["status"] == "RUNNING"
    details = target.check("GET", rel).json()
    assert details["status"] == "FAILED" and details["message"] == "Task 'load' failed"
    steps = target.check("GET", rel + "/steps").json()["results"]
    child = steps[1]["childPipeline"]["id"]
    assert target.check("GET", f"/v1/projects/sales/pipeline-executions/{child}/steps").ok
    listed = target.check("GET", "/v1/pipeline-executions?projectId=sales&limit=1").json()
    assert listed["results"][0]["pipelineExecutionId"] in (run, child)
    assert target.check("GET", "/v1/pipeline-executions?projectId=sales&pipelineName=broken").ok


def test_cancel_conforms(target: Target) -> None:
    body = {"pipelineName": "nightly", "environmentName": "prod"}
    run = target.check("POST", "/v1/projects/sales/pipeline-executions", body).json()
    rel = f"/v1/projects/sales/pipeline-executions/{run['pipelineExecutionId']}"
    cancelled = target.check("PATCH", rel, {"status": "CANCELLED", "forceUpdate": False})
    assert cancelled.status_code == 200


@pytest.mark.parametrize(
    ("method", "rel", "body", "code"),
    [
        ("GET", "/v1/projects/nope/environments", None, 404),
        ("GET", "/v1/projects/sales/published-pipelines", None, 400),
        ("GET", "/v1/projects/sales/published-pipelines?environmentName=qa", None, 404),
        ("GET", "/v1/projects?size=0", None, 400),
        ("GET", "/v1/pipeline-executions?projectId=nope", None, 404),
        ("GET", "/v1/pipeline-executions?projectId=sales&limit=0", None, 400),
        (
            "POST",
            "/v1/projects/sales/pipeline-executions",
            {"pipelineName": "other", "environmentName": "prod"},
            404,
        ),
        (
            "POST",
            "/v1/projects/nope/pipeline-executions",
            {"pipelineName": "nightly", "environmentName": "prod"},
            404,
        ),
    ],
)
def test_errors_conform(target: Target, method: str, rel: str, body: object, code: int) -> None:
    response = requests.request(method, target.base + rel, json=body, headers=AUTH, timeout=10)
    assert response.status_code == code
    spec_request = requests.Request(method, SPEC_BASE + rel, json=body, headers=AUTH)
    validate_response(RELATED_SPEC, spec_request.prepare(), response)
