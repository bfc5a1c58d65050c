"""Execution steps (pytest_maia.core.steps): get_steps against `responses`
registrations and against the fake's scripted steps."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from conftest import BASE, EXECUTION
from pytest_maia import (
    ExecutionStatus,
    ExecutionStep,
    MaiaClient,
    MaiaResponseError,
    MaiaValidationError,
    VirtualClock,
)
from pytest_maia.fake import FakeMaia

STEPS_URL = re.compile(
    re.escape(f"{BASE}/v1/projects/p/pipeline-executions/{EXECUTION}/steps") + r".*"
)

CHILD_FAILURE: list[dict[str, Any]] = [
    {"name": "Start", "status": "SUCCESS"},
    {
        "name": "Run load_orders",
        "status": "FAILED",
        "message": "Child pipeline load_orders failed",
        "child": {
            "pipeline": "load_orders",
            "statuses": ["RUNNING", "FAILED"],
            "message": "Task 'Write orders' failed",
            "steps": [
                {"name": "Write orders", "status": "FAILED", "message": "table ORDERS is gone"}
            ],
        },
    },
]


@pytest.fixture
def client(clock: VirtualClock) -> MaiaClient:
    return MaiaClient(token="t", clock=clock, max_retries=1)


def step(n: int, **extra: object) -> dict[str, object]:
    return {"id": str(n), "name": f"step {n}", "result": {"status": "SUCCESS"}, **extra}


def test_get_steps_reads_every_page(api: responses.RequestsMock, client: MaiaClient) -> None:
    pages = [list(range(0, 100)), list(range(100, 130))]

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        page = int(re.search(r"page=(\d+)", request.url).group(1))
        body = {"page": page, "results": [step(n) for n in pages[page]], "size": 100, "total": 130}
        return 200, {}, json.dumps(body)

    api.add_callback("GET", STEPS_URL, callback=answer)
    steps = client.get_steps("p", EXECUTION)
    assert [s.name for s in steps] == [f"step {n}" for n in range(130)]
    assert len(api.calls) == 2


def test_get_steps_parses_leniently(api: responses.RequestsMock, client: MaiaClient) -> None:
    results = [
        {
            "id": 7,
            "name": "Run child",
            "type": "RUN_ORCHESTRATION",
            "result": {
                "status": "FAILED",
                "message": "boom",
                "startedAt": "2026-01-01T00:00:00Z",
                "finishedAt": "not a date",
            },
            "childPipeline": {"id": EXECUTION, "name": "child"},
        },
        {"name": 5, "status": "PAUSED"},
        {},
    ]
    api.get(STEPS_URL, json={"page": 0, "results": results, "size": 100, "total": 3})
    first, second, third = client.get_steps("p", EXECUTION)
    assert first == ExecutionStep(
        id="7",
        name="Run child",
        type="RUN_ORCHESTRATION",
        status=ExecutionStatus.FAILED,
        message="boom",
        started_at=first.started_at,
        finished_at=None,
        child_execution_id=EXECUTION,
        child_pipeline_name="child",
    )
    assert first.started_at is not None
    assert second.name is None and second.status.value == "PAUSED"
    assert third.status is ExecutionStatus.UNKNOWN


def test_get_steps_stops_on_an_empty_page(api: responses.RequestsMock, client: MaiaClient) -> None:
    api.get(STEPS_URL, json={"results": []})
    assert client.get_steps("p", EXECUTION) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "expected a JSON object with 'results'"),
        ({"page": 0}, "'results' must be a list"),
        ({"results": {}}, "'results' must be a list"),
        ({"results": [{"name": "ok"}, "not a step"]}, r"results\[1\] is not a usable item"),
    ],
)
def test_get_steps_refuses_a_body_of_the_wrong_shape(
    api: responses.RequestsMock, client: MaiaClient, body: object, reason: str
) -> None:
    api.get(STEPS_URL, json=body)
    with pytest.raises(MaiaResponseError, match=reason):
        client.get_steps("p", EXECUTION)


def test_the_fake_lists_no_steps_until_finished_then_the_default_step() -> None:
    with FakeMaia() as fake:
        client = fake.client()
        eid = fake.add_execution("p", ["RUNNING", "FAILED"], message="it broke")
        assert client.get_steps("p", eid) == []
        client.wait_for("p", eid, timeout=60)
        (only,) = client.get_steps("p", eid)
    assert (only.name, only.status, only.message) == ("scripted-execution", "FAILED", "it broke")


def test_the_fake_serves_scripted_steps_and_child_executions() -> None:
    with FakeMaia() as fake:
        client = fake.client()
        eid = fake.add_execution("p", ["RUNNING", "FAILED"], steps=CHILD_FAILURE)
        client.wait_for("p", eid, timeout=60)
        start, run = client.get_steps("p", eid)
        assert (start.name, start.status, start.child_execution_id) == ("Start", "SUCCESS", None)
        assert run.child_pipeline_name == "load_orders" and run.child_execution_id
        child = client.get_execution("p", run.child_execution_id)
        (write,) = client.get_steps("p", run.child_execution_id)
    assert (child.status, child.message) == ("FAILED", "Task 'Write orders' failed")
    assert (write.name, write.message) == ("Write orders", "table ORDERS is gone")


def test_the_fake_pages_steps() -> None:
    many = [{"name": f"s{n}", "status": "SUCCESS"} for n in range(60)]
    with FakeMaia() as fake:
        eid = fake.add_execution("p", "SUCCESS", steps=many)
        client = fake.client()
        client.get_status("p", eid)
        assert [s.name for s in client.get_steps("p", eid)] == [f"s{n}" for n in range(60)]
        session = client._session
        page = session.get(
            f"{fake.base_url}/v1/projects/p/pipeline-executions/{eid}/steps?page=2&size=25",
            headers={"Authorization": "Bearer t"},
        ).json()
        bad = session.get(
            f"{fake.base_url}/v1/projects/p/pipeline-executions/{eid}/steps?size=0",
            headers={"Authorization": "Bearer t"},
        )
    assert (page["page"], page["size"], page["total"], len(page["results"])) == (2, 25, 60, 10)
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        ([{"name": "x", "status": "FAILD"}], "did you mean 'FAILED'"),
        ([{"name": "x"}], "needs a 'status'"),
        ([{"status": "FAILED"}], "name must be a non-empty string"),
        ([{"name": "x", "status": "FAILED", "msg": "typo"}], "unknown key"),
        ([{"name": "x", "status": "FAILED", "child": {"statuses": ["sucess"]}}], "'SUCCESS'"),
        ("FAILED", "must be a list of steps"),
    ],
)
def test_scripted_steps_are_checked(steps: Any, error: str) -> None:
    with pytest.raises(MaiaValidationError, match=error):
        FakeMaia().add_execution("p", "FAILED", steps=steps)
    with pytest.raises(MaiaValidationError, match=error):
        FakeMaia().script_pipeline("nightly", "FAILED", steps=steps)
