"""The start-ahead queue (pytest_maia.runs.startahead): the cap, groups, claims, on the fake's
virtual clock. The pytest side (markers, xdist, Ctrl-C) is in test_plugin_runs.py."""

from __future__ import annotations

import pytest

from pytest_maia import FakeMaia, MaiaTimeoutError
from pytest_maia.client.budget import RequestBudget
from pytest_maia.client.waiting import WaitPolicy
from pytest_maia.core.clock import VirtualClock
from pytest_maia.core.shared_state import SharedStateError
from pytest_maia.fake import ExecutionRecord
from pytest_maia.runs.pipelines import RunSpec
from pytest_maia.runs.startahead import StartAhead

PROJECT = "p"


def most_at_once(records: list[ExecutionRecord]) -> int:
    """The most executions running at the same time, from the fake's records."""
    edges = sorted(
        [(r.started_at, 1) for r in records]
        + [(r.finished_at if r.finished_at is not None else float("inf"), -1) for r in records],
        key=lambda edge: (edge[0], edge[1]),
    )
    best = going = 0
    for _, step in edges:
        going += step
        best = max(best, going)
    return best


def queue_for(fake: FakeMaia, limit: int, budget: RequestBudget | None = None) -> StartAhead:
    client = fake.client(budget=budget)

    def start(key: str, spec: RunSpec) -> str:
        return client.execute_pipeline(PROJECT, spec.pipeline, "env")

    return StartAhead(
        start,
        lambda i, within: client.get_status(PROJECT, i, within=within),
        max_concurrent=limit,
        clock=fake.clock,
        policy=WaitPolicy.checked(timeout=3600, interval=5, max_interval=30),
    )


def drain(queue: StartAhead, fake: FakeMaia) -> None:
    """Let the poller run until nothing is queued or going."""
    for _ in range(10_000):
        counts = queue.counts()
        if not counts.get("queued") and not counts.get("active"):
            return
        due = queue.sweep()
        fake.clock.sleep(max(0.0, (due or fake.clock.now() + 5) - fake.clock.now()))
    raise AssertionError(f"the queue never drained: {queue.counts()}")


def test_the_cap_holds_and_the_rest_queue() -> None:
    with FakeMaia() as fake:
        for i in range(10):
            fake.script_pipeline(f"p{i}", ["RUNNING", "SUCCESS"], every=10 + 7 * i)
        queue = queue_for(fake, 3)
        queue.plan([(f"t{i}", RunSpec(f"p{i}")) for i in range(10)])
        assert queue.pump() == ["t0", "t1", "t2"]
        assert queue.counts() == {"active": 3, "queued": 7}
        drain(queue, fake)
        records = fake.executions()
    assert [r.pipeline_name for r in records] == [f"p{i}" for i in range(10)]  # plan order
    assert all(r.status.value == "SUCCESS" for r in records)
    assert most_at_once(records) == 3


def test_a_group_runs_one_after_another() -> None:
    with FakeMaia() as fake:
        fake.script_pipeline("shared-table", ["RUNNING", "SUCCESS"], every=60)
        fake.script_pipeline("other", ["RUNNING", "SUCCESS"], every=60)
        queue = queue_for(fake, 10)
        plan = [(f"g{i}", RunSpec("shared-table", group="orders")) for i in range(3)]
        queue.plan([*plan, ("free", RunSpec("other"))])
        assert queue.pump() == ["g0", "free"]
        drain(queue, fake)
        records = fake.executions()
    grouped = [r for r in records if r.pipeline_name == "shared-table"]
    assert len(grouped) == 3
    assert most_at_once(grouped) == 1
    assert most_at_once(records) == 2


def test_a_claim_starts_a_queued_run_at_once_and_release_frees_its_slot() -> None:
    with FakeMaia() as fake:
        fake.script_pipeline("long", ["RUNNING"])
        queue = queue_for(fake, 1)
        queue.plan([("first", RunSpec("long")), ("second", RunSpec("long"))])
        queue.pump()
        claim = queue.claim("second", timeout=60)  # its test runs first: started now
        assert claim.execution_id is not None
        assert queue.counts() == {"active": 2}
        queue.release("second")
        assert [left.key for left in queue.leftovers()] == ["first"]


def test_a_group_claim_waits_for_the_run_before_it() -> None:
    with FakeMaia() as fake:
        fake.script_pipeline("load", ["RUNNING", "SUCCESS"], every=40)
        queue = queue_for(fake, 4)
        queue.plan([("a", RunSpec("load", group="g")), ("b", RunSpec("load", group="g"))])
        queue.pump()
        claim = queue.claim("b", timeout=600)
        records = fake.executions()
    assert claim.started is not None and claim.started >= 40
    assert most_at_once(records) == 1


def test_a_claim_that_cannot_start_in_time_raises() -> None:
    with FakeMaia() as fake:
        fake.script_pipeline("stuck", ["RUNNING"])
        queue = queue_for(fake, 4)
        queue.plan([("a", RunSpec("stuck", group="g")), ("b", RunSpec("stuck", group="g"))])
        queue.pump()
        with pytest.raises(MaiaTimeoutError):
            queue.claim("b", timeout=120)


def test_a_paused_request_budget_holds_starts_back_without_failing_them() -> None:
    with FakeMaia(clock=VirtualClock()) as fake:
        fake.script_pipeline("load", ["RUNNING", "SUCCESS"], every=60)
        budget = RequestBudget(600, clock=fake.clock)
        queue = queue_for(fake, 4, budget)
        queue.plan([("a", RunSpec("load")), ("b", RunSpec("load")), ("c", RunSpec("load"))])
        budget.pause(600)  # another worker met a 429 asking for ten minutes
        assert queue.pump() == []  # a start may not wait that long: they stay queued
        assert queue.counts() == {"queued": 3}
        # A claim that cannot start its run before its deadline times out at it.
        with pytest.raises(MaiaTimeoutError):
            queue.claim("c", timeout=30)
        assert fake.clock.now() == pytest.approx(30)
        assert fake.calls == []
        fake.clock.sleep(570)
        assert queue.pump() == ["a", "b", "c"]
        budget.pause(600)
        assert queue.sweep() is not None  # the polls wait for the budget, on the backoff
        assert queue.counts() == {"active": 3}
        drain(queue, fake)
        assert fake.clock.now() >= 1200  # the next polls came after the pause
        claims = [queue.claim(key, timeout=1) for key in "abc"]
    assert [c.error for c in claims] == [None] * 3  # ridden out, not "poll failed"


def test_a_claim_waiting_for_its_group_polls_within_its_deadline() -> None:
    with FakeMaia(clock=VirtualClock()) as fake:
        fake.script_pipeline("load", ["RUNNING", "SUCCESS"], every=20)
        budget = RequestBudget(600, clock=fake.clock)
        queue = queue_for(fake, 4, budget)
        queue.plan([("a", RunSpec("load", group="g")), ("b", RunSpec("load", group="g"))])
        assert queue.pump() == ["a"]
        budget.pause(100)  # within a call's retry budget, beyond the claim's timeout
        with pytest.raises(MaiaTimeoutError):
            queue.claim("b", timeout=30)
        assert fake.clock.now() == pytest.approx(30)  # not 100: no poll waited for it
        assert [c.method for c in fake.calls] == ["POST"]


def test_a_run_claimed_late_goes_on_with_the_backoff_it_reached() -> None:
    from pytest_maia.core.wait_policy import delay_after

    policy = WaitPolicy.checked(timeout=3600, interval=5, max_interval=30)
    # Polls are due at 5, 12.5, 23.75, 40.6 ... seconds after the start.
    assert delay_after(policy, 0) == 5
    assert delay_after(policy, 5) == 5
    assert delay_after(policy, 6) == 7.5
    assert delay_after(policy, 20) == 11.25
    assert delay_after(policy, 3600) == 30


def dead_pid() -> int:
    """A pid no process has: above the largest pid Linux hands out (2**22)."""
    return 2**22 + 1


@pytest.mark.parametrize("held", ["starting", "claimed"])
def test_a_claim_never_waits_on_a_run_held_by_a_dead_process(held: str) -> None:
    with FakeMaia() as fake:
        fake.script_pipeline("load", ["RUNNING"])
        queue = queue_for(fake, 4)
        queue.plan([("a", RunSpec("load", group="g")), ("b", RunSpec("load", group="g"))])
        queue.pump()  # "a" starts; "b" waits for its group
        with queue.state.transaction() as data:
            entry = data["runs"]["a"]
            if held == "starting":  # its worker died during the start request
                entry.update(state="starting", id=None)
            else:  # its test's worker died holding it
                entry["claimed"] = True
            entry["pid"] = dead_pid()
        before = fake.clock.now()
        claim = queue.claim("b", timeout=600)
        assert claim.execution_id is not None
        assert fake.clock.now() - before < 600  # not the whole timeout
        (left,) = queue.leftovers()
        assert left.key == "a" and left.why.startswith("its worker process died")
        assert (left.execution_id is None) == (held == "starting")
        assert queue.leftovers() == []  # each is handed over once


def test_after_stop_nothing_starts_and_a_queued_claim_is_told_so() -> None:
    with FakeMaia() as fake:
        queue = queue_for(fake, 1)
        queue.plan([(k, RunSpec("load")) for k in "abc"])
        queue.pump()
        queue.stop()
        queue.release("a")  # frees the slot: nothing starts in it
        assert queue.pump() == []
        claim = queue.claim("b", timeout=60)
        assert claim.execution_id is None and "stopping" in str(claim.error)
        assert len(fake.executions()) == 1


def test_a_store_that_lost_its_plan_is_a_clear_error() -> None:
    with FakeMaia() as fake:
        queue = queue_for(fake, 1)
        queue.plan([("a", RunSpec("load"))])
        with queue.state.transaction() as data:
            data.clear()
        with pytest.raises(SharedStateError, match="has no plan of start-ahead runs"):
            queue.claim("a", timeout=60)
