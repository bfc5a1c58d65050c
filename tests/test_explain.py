"""Why an execution failed (pytest_maia.runs.explain), read from the fake. The assertions'
use of it is in test_assertions.py."""

from __future__ import annotations

import uuid
from typing import Any

from pytest_maia import ExecutionStatus, FakeMaia, VirtualClock
from pytest_maia.core.models import ExecutionDetails
from pytest_maia.core.steps import ExecutionStep
from pytest_maia.runs.explain import EXPLAIN_DEADLINE, MAX_EXPLAIN_READS, explain_failure


def test_an_explanation_stops_at_the_child_depth_limit() -> None:
    def nested(depth: int) -> dict[str, Any]:
        step: dict[str, Any] = {"name": f"level {depth}", "status": "FAILED"}
        if depth < 7:
            step["child"] = {"statuses": ["FAILED"], "steps": [nested(depth + 1)]}
        return step

    with FakeMaia() as fake:
        eid = fake.add_execution("p", "FAILED", steps=[nested(0)])
        client = fake.client()
        why = explain_failure(client, "p", eid)
        shallow = explain_failure(client, "p", eid, max_depth=0)
    assert [len(path) for path, _, _ in why.failing_steps] == [1, 2, 3, 4, 5, 6]
    assert [len(path) for path, _, _ in shallow.failing_steps] == [1]
    assert why.render().splitlines()[-1].startswith("            level 0 > level 1 > ")


class _Wide:
    """A hostile account: every execution has 100 failing steps, each starting a child
    that fails the same way, five levels deep (10^10 steps to read in full)."""

    def __init__(self, clock: VirtualClock, seconds_per_read: float = 0.0) -> None:
        self.clock = clock
        self.seconds_per_read = seconds_per_read
        self.steps_reads = 0

    def get_execution(self, project_id: str, execution_id: str) -> ExecutionDetails:
        return ExecutionDetails(ExecutionStatus.FAILED, pipeline_name="fan-out")

    def get_steps(self, project_id: str, execution_id: str) -> list[ExecutionStep]:
        self.steps_reads += 1
        self.clock.advance(self.seconds_per_read)
        return [
            ExecutionStep(
                id=f"{execution_id}.{n}",
                name=f"step {n}",
                type="run-orchestration",
                status=ExecutionStatus.FAILED,
                message="child failed",
                child_execution_id=str(uuid.uuid4()),
            )
            for n in range(100)
        ]


def test_an_explanation_of_a_huge_failing_tree_stops_at_its_read_budget() -> None:
    reader = _Wide(VirtualClock())
    why = explain_failure(reader, "p", "root")
    assert len(why.failing_steps) <= MAX_EXPLAIN_READS
    assert reader.steps_reads <= MAX_EXPLAIN_READS
    assert why.cut is not None
    last = why.render().splitlines()[-1]
    assert last.startswith("explanation cut after 200 steps and child executions read")
    assert why.render().count("explanation cut") == 1


def test_an_explanation_stops_at_its_deadline_on_the_readers_clock() -> None:
    clock = VirtualClock()
    reader = _Wide(clock, seconds_per_read=7.0)  # a slow API: 7 s a page of steps
    why = explain_failure(reader, "p", "root", max_reads=1_000_000)
    assert reader.steps_reads == 5  # 35 s > 30 s: the fifth read is the last
    assert clock.now() <= EXPLAIN_DEADLINE + 7.0
    assert why.render().splitlines()[-1].startswith("explanation cut after 30s of reading")


def test_a_small_explanation_is_read_whole_and_says_nothing_of_a_budget() -> None:
    with FakeMaia() as fake:
        eid = fake.add_execution(
            "p", "FAILED", steps=[{"name": "load", "status": "FAILED", "message": "disk"}]
        )
        why = explain_failure(fake.client(), "p", eid)
        cut = explain_failure(fake.client(), "p", eid, max_reads=0)
    assert why.cut is None and "explanation cut" not in why.render()
    assert why.failing_steps == ((("load",), "FAILED", "disk"),)
    assert cut.failing_steps == () and cut.cut is not None
