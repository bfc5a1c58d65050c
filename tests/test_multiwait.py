"""wait_many (pytest_maia.multiwait) and run_many / wait_all on it, on the fake's virtual
clock."""

from __future__ import annotations

import pytest

from pytest_maia import FakeMaia, MaiaTimeoutError
from pytest_maia.assertions import StatusChecker
from pytest_maia.multiwait import wait_many
from pytest_maia.pipelines import PipelineRunner, RunSpec
from pytest_maia.waiting import WaitPolicy

PROJECT = "p"


def runner_for(fake: FakeMaia) -> PipelineRunner:
    client = fake.client()
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
