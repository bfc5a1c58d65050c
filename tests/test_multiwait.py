"""wait_many (pytest_maia.runs.multiwait) and run_many / wait_all on it, on the fake's virtual
clock."""

from __future__ import annotations

import pytest

from pytest_maia import FakeMaia, MaiaTimeoutError
from pytest_maia.client.budget import RequestBudget
from pytest_maia.client.waiting import WaitPolicy
from pytest_maia.core.clock import VirtualClock
from pytest_maia.runs.multiwait import wait_many
from pytest_maia.runs.pipelines import PipelineRunner, RunSpec
from pytest_maia.runs.status_checker import StatusChecker

PROJECT = "p"


def runner_for(fake: FakeMaia, budget: RequestBudget | None = None) -> PipelineRunner:
    client = fake.client(budget=budget)
    checker = StatusChecker(client, PROJECT, timeout=3600, backend="fake")
    return PipelineRunner(client, checker, PROJECT, default_environment="env")


def test_wait_all_waits_for_many_with_one_poller() -> None:
    with FakeMaia() as fake:
        for name, end in (("a", 60), ("b", 300), ("c", 900)):
            fake.script_pipeline(name, ["RUNNING", "SUCCESS"], every=end)
        runner = runner_for(fake)
        runs = runner.run_many(["a", "b", RunSpec("c", variables={"k": "v"})])
        results = runner.wait_all(runs)
    assert [r.status.value for r in results] == ["SUCCESS"] * 3
    assert all(run.finished and run.ended_at is not None for run in runs)
    # One request per execution per due poll: the short ones stopped being polled.
    assert results[0].polls < results[1].polls < results[2].polls
    assert results[2].elapsed == pytest.approx(900, abs=30)
    assert len(runner.checker.results) == 3


def test_one_failing_run_does_not_stop_the_others() -> None:
    with FakeMaia() as fake:
        fake.script_pipeline("bad", ["RUNNING", "FAILED"], every=30)
        fake.script_pipeline("good", ["RUNNING", "SUCCESS"], every=120)
        fake.script_pipeline("forever", ["RUNNING"])
        runner = runner_for(fake)
        runs = runner.run_many(["good", "bad", "good", "forever"])
        fake.fail_next(404)  # the first poll (of the first run) hits an error that sticks
        results = runner.wait_all(runs, timeout=600)
    first, bad, good, forever = results
    assert first.errors and "404" in str(first.errors[-1])
    assert bad.status.value == "FAILED"
    assert good.status.value == "SUCCESS"
    assert forever.status.value == "RUNNING"  # out of time, last status kept
    notes = {r.execution_id: r for r in runner.checker.results}
    assert set(notes) == {run.id for run in runs}


def test_wait_all_ends_at_its_deadline_when_the_request_budget_is_paused() -> None:
    with FakeMaia(clock=VirtualClock()) as fake:
        fake.script_pipeline("forever", ["RUNNING"])
        budget = RequestBudget(600, clock=fake.clock)
        client = fake.client(budget=budget)
        notes: list[str] = []
        checker = StatusChecker(
            client, PROJECT, timeout=3600, backend="fake", record=lambda e: notes.append(e.outcome)
        )
        runner = PipelineRunner(client, checker, PROJECT, default_environment="env")
        runs = runner.run_many(["forever", "forever"])
        budget.pause(100)  # within the calls' retry budget, beyond the wait's timeout
        results = runner.wait_all(runs, timeout=30)
        assert fake.clock.now() <= 30  # not 100: the polls did not wait for the budget
        assert [c.method for c in fake.calls] == ["POST", "POST"]  # no poll was sent
    assert [r.polls for r in results] == [0, 0]
    assert notes == ["TIMEOUT (no status)"] * 2


def test_wait_all_rides_out_a_budget_pause_longer_than_a_call_may_wait() -> None:
    with FakeMaia(clock=VirtualClock()) as fake:
        fake.script_pipeline("short", ["RUNNING", "SUCCESS"], every=60)
        budget = RequestBudget(600, clock=fake.clock)
        runner = runner_for(fake, budget)
        runs = runner.run_many(["short", "short"])
        budget.pause(600)  # beyond a call's 120 s retry budget, within the wait's timeout
        results = runner.wait_all(runs, timeout=3600)
    assert [r.status.value for r in results] == ["SUCCESS", "SUCCESS"]
    assert all(r.history[0][0] >= 600 for r in results)


def test_wait_many_reports_a_timeout_per_execution() -> None:
    with FakeMaia() as fake:
        client = fake.client()
        slow = fake.add_execution(PROJECT, ["RUNNING"])
        quick = fake.add_execution(PROJECT, ["RUNNING", "SUCCESS"])
        policy = WaitPolicy.checked(timeout=100, interval=5, max_interval=30)
        outcomes = wait_many(
            lambda i: client.get_status(PROJECT, i), [slow, quick], policy=policy, clock=fake.clock
        )
    assert isinstance(outcomes[0].error, MaiaTimeoutError)
    assert outcomes[1].error is None and outcomes[1].result.status.value == "SUCCESS"
    # The same schedule as wait_for: a poll at once, then 5, 7.5, 11.25 ... seconds.
    times = [t for t, _ in outcomes[0].result.history]
    assert times[:4] == pytest.approx([0, 5, 12.5, 23.75])
