"""MaiaClient's list calls against `responses` servers that really paginate."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from conftest import BASE
from pytest_maia import (
    Environment,
    ExecutionStatus,
    MaiaClient,
    MaiaResponseError,
    MaiaValidationError,
    Project,
    PublishedPipeline,
    ServerError,
    VirtualClock,
)
from pytest_maia.client.listing import PAGE_SIZE

TOKEN = "tok-list-5e1f"
Body = dict[str, Any]


@pytest.fixture
def client(clock: VirtualClock) -> MaiaClient:
    return MaiaClient(token=TOKEN, clock=clock, max_retries=2)


def query(request: requests.PreparedRequest) -> dict[str, str]:
    assert request.url is not None
    return {key: values[-1] for key, values in parse_qs(urlsplit(request.url).query).items()}


def numbered(items: list[Body], *, size: int = 2) -> Any:
    """A callback serving ``items`` in the page envelope, ``size`` a page, whatever is asked."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        page = int(query(request).get("page", "0"))
        chunk = items[page * size : (page + 1) * size]
        body = {"page": page, "results": chunk, "size": size, "total": len(items)}
        return 200, {}, json.dumps(body)

    return answer


def test_list_projects_reads_every_page(api: responses.RequestsMock, client: MaiaClient) -> None:
    projects = [{"id": f"p{n}", "name": f"Project {n}", "description": None} for n in range(5)]
    api.add_callback(responses.GET, f"{BASE}/v1/projects", callback=numbered(projects))
    assert client.list_projects() == [Project(f"p{n}", f"Project {n}") for n in range(5)]
    asked = [query(call.request) for call in api.calls]
    assert [q["page"] for q in asked] == ["0", "1", "2"]
    assert all(q["size"] == str(PAGE_SIZE) for q in asked)
    assert all(call.request.headers["Authorization"] == f"Bearer {TOKEN}" for call in api.calls)


def test_an_empty_list_is_one_request(api: responses.RequestsMock, client: MaiaClient) -> None:
    api.add_callback(responses.GET, f"{BASE}/v1/projects", callback=numbered([]))
    assert client.list_projects() == []
    assert len(api.calls) == 1


def test_list_environments_parses_the_agent_fields(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    url = f"{BASE}/v1/projects/proj%201/environments"
    environments = [
        {"name": "prod", "defaultAgentId": "a-1", "defaultAgentName": "agent one", "x": 1},
        {"name": "dev"},
    ]
    api.add_callback(responses.GET, url, callback=numbered(environments, size=1))
    assert client.list_environments("proj 1") == [
        Environment("prod", "a-1", "agent one"),
        Environment("dev"),
    ]


def test_list_published_pipelines_names_the_environment(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    url = f"{BASE}/v1/projects/proj/published-pipelines"
    pipelines = [{"name": "daily load", "publishedTime": "2026-11-01T08:00:00Z"}]
    api.add_callback(responses.GET, url, callback=numbered(pipelines))
    (pipeline,) = client.list_published_pipelines("proj", "prod & test")
    assert pipeline == PublishedPipeline(
        "daily load", dt.datetime(2026, 11, 1, 8, tzinfo=dt.timezone.utc)
    )
    assert query(api.calls[0].request)["environmentName"] == "prod & test"


def test_list_executions_follows_more_tokens(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    runs = [
        {"pipelineExecutionId": f"00000000-0000-4000-8000-{n:012d}", "status": "SUCCESS"}
        for n in range(5)
    ]

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        asked = query(request)
        start = int(asked.get("paginationToken", "0"))
        chunk = runs[start : start + 2]
        body: Body = {"results": chunk}
        if start + 2 < len(runs):
            body["more"] = str(start + 2)
        return 200, {}, json.dumps(body)

    api.add_callback(responses.GET, f"{BASE}/v1/pipeline-executions", callback=answer)
    found = client.list_executions("proj", pipeline_name="daily load")
    assert [run.pipeline_execution_id for run in found] == [r["pipelineExecutionId"] for r in runs]
    assert {run.status for run in found} == {ExecutionStatus.SUCCESS}
    first, second, third = (query(call.request) for call in api.calls)
    assert first == {"projectId": "proj", "pipelineName": "daily load", "limit": str(PAGE_SIZE)}
    assert second["paginationToken"] == "2"
    assert third["paginationToken"] == "4"


def test_list_executions_limit_caps_the_result_and_the_page(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    runs = [{"status": "RUNNING"}] * 3
    api.get(f"{BASE}/v1/pipeline-executions", json={"results": runs, "more": "next"})
    assert len(client.list_executions("proj", limit=2)) == 2
    assert len(api.calls) == 1
    assert query(api.calls[0].request)["limit"] == "2"


def test_list_executions_needs_no_project_and_sends_every_filter(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(f"{BASE}/v1/pipeline-executions", json={"results": []})
    assert client.list_executions() == []
    assert query(api.calls[0].request) == {"limit": str(PAGE_SIZE)}
    cest = dt.timezone(dt.timedelta(hours=2))
    client.list_executions(
        "proj",
        pipeline_name="load",
        environment="prod",
        started_after=dt.datetime(2026, 6, 1, 2, 0, 0, 123456, tzinfo=cest),
        started_before=dt.datetime(2026, 6, 2, tzinfo=dt.timezone.utc),
        status=[ExecutionStatus.FAILED, "CANCELLED", "FAILED"],
        schedule_id="sched-1",
    )
    request = api.calls[1].request
    assert request.url is not None
    assert parse_qs(urlsplit(request.url).query) == {
        "projectId": ["proj"],
        "pipelineName": ["load"],
        "environmentName": ["prod"],
        "startedAfter": ["2026-06-01T00:00:00.123Z"],  # UTC, to the millisecond
        "startedBefore": ["2026-06-02T00:00:00.000Z"],
        "status": ["FAILED", "CANCELLED"],  # repeated, each once
        "scheduleId": ["sched-1"],
        "limit": [str(PAGE_SIZE)],
    }
    client.list_executions(status=ExecutionStatus.RUNNING)
    assert query(api.calls[2].request)["status"] == "RUNNING"


def test_a_page_is_retried_like_a_read(api: responses.RequestsMock, client: MaiaClient) -> None:
    api.get(f"{BASE}/v1/projects", status=503, json={"title": "Unavailable", "status": 503})
    api.get(f"{BASE}/v1/projects", json={"page": 0, "results": [{"id": "p"}], "size": 25})
    assert client.list_projects() == [Project("p")]


def test_a_page_that_keeps_failing_is_a_typed_error(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(f"{BASE}/v1/projects", status=503, json={"title": "Unavailable", "status": 503})
    with pytest.raises(ServerError, match="503"):
        client.list_projects()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "expected a JSON object with 'results', got list"),
        ({"results": {"id": "p"}}, "'results' must be a list, got dict"),
        ({"results": [{"name": "no id"}]}, r"results\[0\] is not a usable item \(keys: name\)"),
        ({"results": ["p"]}, r"results\[0\] is not a usable item \(str\)"),
    ],
)
def test_a_page_of_the_wrong_shape_is_a_response_error(
    api: responses.RequestsMock, client: MaiaClient, body: object, reason: str
) -> None:
    api.get(f"{BASE}/v1/projects", json=body)
    with pytest.raises(MaiaResponseError, match=reason):
        client.list_projects()


def test_a_list_that_never_ends_stops_with_a_response_error(
    api: responses.RequestsMock, client: MaiaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pytest_maia.client.listing.MAX_PAGES", 3)
    endless = {"page": 0, "results": [{"id": "p"}], "size": 1, "total": 10**9}
    api.get(f"{BASE}/v1/projects", json=endless)
    with pytest.raises(MaiaResponseError, match="did not end after 3 pages"):
        client.list_projects()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.list_environments(""), "project"),
        (lambda c: c.list_environments("a/b"), "project"),
        (lambda c: c.list_published_pipelines("proj", ""), "environment"),
        (lambda c: c.list_executions("proj", limit=0), "limit"),
        (lambda c: c.list_executions("proj", limit=True), "limit"),
        (lambda c: c.list_executions("proj", pipeline_name=""), "pipeline_name"),
        (lambda c: c.list_executions(""), "project"),
        (lambda c: c.list_executions("a/b"), "project"),
        (lambda c: c.list_executions(environment=" "), "environment"),
        (lambda c: c.list_executions(schedule_id=7), "schedule_id"),
        (lambda c: c.list_executions(started_after=dt.datetime(2026, 1, 1)), "started_after"),
        (lambda c: c.list_executions(started_before="2026-01-01T00:00:00Z"), "started_before"),
        (lambda c: c.list_executions(status="PAUSED"), "status"),
        (lambda c: c.list_executions(status="failed"), "status"),
        (lambda c: c.list_executions(status="FORBIDDEN"), "status"),
        (lambda c: c.list_executions(status=[]), "status"),
        (lambda c: c.list_executions(status=[None]), "status"),
        (lambda c: c.list_executions(status=5), "status"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    api: responses.RequestsMock, client: MaiaClient, call: Any, message: str
) -> None:
    with pytest.raises(MaiaValidationError, match=message):
        call(client)
    assert len(api.calls) == 0
