"""The fake's account and the whole flow public clients use, over both adapters:
lists with real pagination, a realistic account, HEAD, auth fidelity, terminal starts."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from pytest_maia import MaiaValidationError, NotFoundError
from pytest_maia.fake import FakeMaia

TOKEN = "acct-token-3f9a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FORM = {"grant_type": "client_credentials", "client_id": "ci", "client_secret": "s3cr3t-x"}
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)  # clock second 0: fixed dates


@dataclass
class Target:
    fake: FakeMaia
    base: str
    token_url: str

    def get(self, rel: str, **kwargs: object) -> requests.Response:
        kwargs.setdefault("headers", AUTH)
        return requests.get(self.base + rel, timeout=10, **kwargs)  # type: ignore[arg-type]

    def post(self, rel: str, body: object) -> requests.Response:
        return requests.post(self.base + rel, json=body, headers=AUTH, timeout=10)


@pytest.fixture(params=["in_process", "server"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    fake = FakeMaia(token=TOKEN, start=START)
    if request.param == "in_process":
        with fake:
            yield Target(fake, fake.base_url, fake.token_url)
    else:
        with fake.serve() as server:
            yield Target(fake, server.url, server.token_url)


def execute(target: Target, project: str, pipeline: str, env: str) -> requests.Response:
    body = {"pipelineName": pipeline, "environmentName": env}
    return target.post(f"/v1/projects/{project}/pipeline-executions", body)


# -- zero-config ------------------------------------------------------------------------


def test_zero_config_lists_a_default_project_and_environment(target: Target) -> None:
    projects = target.get("/v1/projects").json()
    assert projects["results"][0]["id"] == "fake-project"
    envs = target.get("/v1/projects/fake-project/environments").json()["results"]
    assert [e["name"] for e in envs] == ["fake-environment"]
    assert execute(target, "anything", "any-pipeline", "any-env").status_code == 201
    ids = [p["id"] for p in target.get("/v1/projects").json()["results"]]
    assert ids == ["fake-project", "anything"]


# -- a realistic account ----------------------------------------------------------------


def realistic(fake: FakeMaia) -> None:
    fake.add_project("sales", name="Sales", description="the sales warehouse")
    fake.add_environment("sales", "prod", default_agent_id="a-1", default_agent_name="agent")
    fake.publish_pipeline("sales", "prod", "nightly", published_at=60)


def test_a_realistic_account_refuses_what_it_does_not_have(target: Target) -> None:
    realistic(target.fake)
    assert [p["id"] for p in target.get("/v1/projects").json()["results"]] == ["sales"]
    env = target.get("/v1/projects/sales/environments").json()["results"]
    assert env == [{"name": "prod", "defaultAgentId": "a-1", "defaultAgentName": "agent"}]
    published = target.get("/v1/projects/sales/published-pipelines?environmentName=prod")
    assert published.json()["results"] == [
        {"name": "nightly", "publishedTime": "2026-01-01T00:01:00.000Z"}
    ]
    assert execute(target, "sales", "nightly", "prod").status_code == 201
    unpublished = execute(target, "sales", "other", "prod")
    assert unpublished.status_code == 404 and "other" in unpublished.json()["detail"]
    assert execute(target, "sales", "nightly", "dev").status_code == 404
    # An unknown project is a 404, to execute into as to read from.
    assert execute(target, "nope", "nightly", "prod").status_code == 404
    assert target.get("/v1/projects/nope/environments").status_code == 404
    read = target.get(f"/v1/projects/nope/pipeline-executions/{'0' * 8}-0000-4000-8000-{'0' * 12}")
    assert read.status_code == 404 and "nope" in read.json()["detail"]


def test_scripting_into_a_project_the_account_lacks_fails_loudly() -> None:
    fake = FakeMaia()
    fake.add_project("sales")
    with pytest.raises(MaiaValidationError, match="add_project"):
        fake.add_execution("elsewhere", "SUCCESS")
    fake.add_environment("sales", "prod")
    with pytest.raises(MaiaValidationError, match="add_environment"):
        fake.publish_pipeline("sales", "dev", "x")


def test_lists_paginate_for_real(target: Target) -> None:
    for index in range(5):
        target.fake.add_project(f"p{index}")
    pages = [target.get(f"/v1/projects?page={page}&size=2").json() for page in range(3)]
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    assert {p["total"] for p in pages} == {5} and pages[1]["page"] == 1
    assert target.get("/v1/projects?size=0").status_code == 400
    # The reference caps a page at 100: a larger size is served as 100, not refused.
    capped = target.get("/v1/projects?size=500").json()
    assert (capped["size"], len(capped["results"])) == (100, 5)


def test_executions_list_most_recent_first_with_filters_and_more(target: Target) -> None:
    fake = target.fake
    started = []
    for index in range(5):
        started.append(execute(target, "p", "a" if index % 2 else "b", "env").json())
        fake.clock.advance(10)  # type: ignore[attr-defined]
    ids = [s["pipelineExecutionId"] for s in started]
    first = target.get("/v1/pipeline-executions?projectId=p&limit=2").json()
    assert [r["pipelineExecutionId"] for r in first["results"]] == ids[::-1][:2]
    rest = target.get(f"/v1/pipeline-executions?projectId=p&paginationToken={first['more']}")
    assert [r["pipelineExecutionId"] for r in rest.json()["results"]] == ids[::-1][2:]
    assert "more" not in rest.json()
    only_a = target.get("/v1/pipeline-executions?projectId=p&pipelineName=a").json()
    assert {r["pipelineName"] for r in only_a["results"]} == {"a"}
    # Every parameter is optional: no projectId lists the whole account.
    everything = target.get("/v1/pipeline-executions").json()
    assert [r["pipelineExecutionId"] for r in everything["results"]] == ids[::-1]
    assert target.get("/v1/pipeline-executions?projectId=p&paginationToken=zz").status_code == 400


def test_the_client_iterates_every_page(target: Target) -> None:
    for index in range(130):
        target.fake.add_execution("p", "SUCCESS", pipeline_name=f"n{index}")
    with target.fake.client(base_url=target.base, token=TOKEN) as client:
        assert len(client.list_executions("p")) == 130
        target.fake.add_project("only")
        with pytest.raises(NotFoundError):
            client.list_environments("p")


# -- fidelity ---------------------------------------------------------------------------


def test_head_is_answered_on_every_get_route(target: Target) -> None:
    eid = target.fake.add_execution("p", ["RUNNING", "SUCCESS"])
    for rel in (
        "/v1/projects",
        "/v1/projects/p/environments",
        "/v1/projects/p/published-pipelines?environmentName=fake-environment",
        f"/v1/projects/p/pipeline-executions/{eid}",
        f"/v1/projects/p/pipeline-executions/{eid}/status",
        f"/v1/projects/p/pipeline-executions/{eid}/steps",
        "/v1/pipeline-executions?projectId=p",
    ):
        head = requests.head(target.base + rel, headers=AUTH, timeout=10)
        assert head.status_code == 200, rel
        assert head.content == b"" and int(head.headers["Content-Length"]) > 0, rel


def test_a_lifecycle_that_starts_terminal_has_finished_at_and_message_at_first_read(
    target: Target,
) -> None:
    eid = target.fake.add_execution("p", ["FAILED"], message="Table not found")
    details = target.get(f"/v1/projects/p/pipeline-executions/{eid}").json()
    assert details["finishedAt"] == details["startedAt"]
    assert details["message"] == "Table not found"
    target.fake.script_pipeline("broken", "FAILED", message="boom", every=30)
    run = execute(target, "p", "broken", "env").json()["pipelineExecutionId"]
    details = target.get(f"/v1/projects/p/pipeline-executions/{run}").json()
    assert (details["status"], details["message"]) == ("FAILED", "boom")
    assert "finishedAt" in details


@pytest.mark.parametrize("value", ["None", "null", "undefined", "", "a b", "tok\t", "NULL"])
def test_a_bearer_value_no_real_token_can_be_is_always_401(value: str) -> None:
    with FakeMaia() as fake:  # lenient: any token-shaped value passes
        response = requests.get(
            fake.base_url + "/v1/projects", headers={"Authorization": f"Bearer {value}"}, timeout=10
        )
        assert response.status_code == 401
        ok = requests.get(
            fake.base_url + "/v1/projects", headers={"Authorization": "Bearer x1"}, timeout=10
        )
        assert ok.status_code == 200


def test_strict_fake_takes_only_issued_tokens() -> None:
    with FakeMaia(strict=True) as fake:
        url = fake.base_url + "/v1/projects"
        assert (
            requests.get(url, headers={"Authorization": "Bearer guess"}, timeout=10).status_code
            == 401
        )
        token = requests.post(fake.token_url, data=FORM, timeout=10).json()["access_token"]
        good = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert good.status_code == 200
        assert fake.client().list_projects()  # the fake's own clients still pass


def test_token_endpoint_forms_and_basic(target: Target) -> None:
    target.fake.add_credentials("ci", "s3cr3t-x")
    url = target.token_url
    with_audience = {**FORM, "audience": "https://api.matillion.com"}
    assert requests.post(url, data=with_audience, timeout=10).status_code == 200
    assert requests.post(url, data=FORM, timeout=10).status_code == 200  # audience omitted
    wrong = requests.post(url, data={**FORM, "audience": "https://elsewhere"}, timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    basic = base64.b64encode(b"ci:s3cr3t-x").decode()
    form = {"grant_type": "client_credentials"}
    by_basic = requests.post(
        url, data=form, headers={"Authorization": f"Basic {basic}"}, timeout=10
    )
    assert by_basic.status_code == 200 and by_basic.json()["access_token"]
    assert requests.post(url, data=form, auth=("ci", "nope"), timeout=10).status_code == 401
    assert target.fake.tokens_issued == 3


def test_an_expired_token_gets_an_invalid_token_challenge(target: Target) -> None:
    token = requests.post(target.token_url, data=FORM, timeout=10).json()["access_token"]
    target.fake.clock.advance(1801)  # type: ignore[attr-defined]
    response = target.get("/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert "expired" in response.json()["detail"]
