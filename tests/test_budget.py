"""The request budget: a token bucket on an injected clock, shared by threads and processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pytest_maia import BudgetExhaustedError, FakeMaia, MaiaValidationError, RateLimitedError
from pytest_maia.client.budget import RequestBudget, default_burst
from pytest_maia.core.clock import SystemClock, VirtualClock
from pytest_maia.core.shared_state import FileState, MemoryState


def most_in_any_window(times: list[float], per: float) -> int:
    """The most grant times in any half-open window [t, t + per)."""
    times = sorted(times)
    best = 0
    for i, start in enumerate(times):
        best = max(best, sum(1 for t in times[i:] if t < start + per - 1e-9))
    return best


def test_never_more_than_the_limit_in_any_minute_of_the_virtual_clock() -> None:
    clock = VirtualClock()
    budget = RequestBudget(60, clock=clock)
    times = [budget.acquire() for _ in range(500)]
    assert most_in_any_window(times, 60.0) <= 60
    # The first burst is free; the rest come at (limit - burst) a minute.
    assert budget.burst == default_burst(60) == 30
    assert times[:30] == [0.0] * 30 and times[30] > 0
    assert clock.now() == pytest.approx((500 - 30) / budget.rate, rel=1e-6)


def test_threads_share_one_bucket() -> None:
    clock = VirtualClock()
    budget = RequestBudget(30, clock=clock)
    times: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(40):
            granted = budget.acquire()
            with lock:
                times.append(granted)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(times) == 160
    assert budget.granted == 160
    assert most_in_any_window(times, 60.0) <= 30


def test_a_pause_holds_every_holder_of_the_store() -> None:
    clock = VirtualClock()
    state = MemoryState()
    first = RequestBudget(600, clock=clock, state=state)
    second = RequestBudget(600, clock=clock, state=state)
    first.acquire()
    first.pause(7.0)
    assert second.paused_until() == 7.0
    assert second.acquire() >= 7.0
    first.pause(None)  # no Retry-After: the default pause
    assert first.paused_until() is not None


def test_acquire_within_a_deadline_raises_at_once_when_no_request_comes_in_time() -> None:
    clock = VirtualClock()
    budget = RequestBudget(4, per=60.0, clock=clock)  # a burst of 2, then one every 30 s
    assert [budget.acquire(within=0), budget.acquire(within=0)] == [0.0, 0.0]
    with pytest.raises(BudgetExhaustedError) as info:
        budget.acquire(within=10)
    assert clock.now() == 0.0  # it did not sleep at all
    assert info.value.retry_after == pytest.approx(30)
    assert str(info.value) == (
        "the request budget (4 requests per 60s) has no free request before the deadline, "
        "10s away; the next one is free in 30s"
    )
    assert budget.acquire(within=31) == pytest.approx(30)  # in time: it waits for it
    budget.pause(600)
    with pytest.raises(BudgetExhaustedError, match=r"free in 600s \(held after a 429"):
        budget.acquire(within=599)
    assert clock.now() == pytest.approx(30)
    assert budget.granted == 3
    assert budget.acquire() == pytest.approx(630)  # no deadline: it waits, as before


def test_a_call_does_not_wait_for_the_budget_past_its_retry_budget() -> None:
    with FakeMaia(clock=VirtualClock()) as fake:
        budget = RequestBudget(600, clock=fake.clock)
        run = fake.add_execution("p", ["RUNNING"])
        budget.pause(600)  # another client met a 429 asking for ten minutes
        with pytest.raises(BudgetExhaustedError, match=r"free in 600s"):
            fake.client(budget=budget).get_status("p", run)  # retry_budget 120 s
        assert fake.clock.now() == 0.0 and fake.calls == []
        with pytest.raises(BudgetExhaustedError, match="deadline, 5s away"):
            fake.client(budget=budget).get_status("p", run, within=5)
        with pytest.raises(MaiaValidationError, match="within"):
            fake.client(budget=budget).get_status("p", run, within=float("nan"))
        # A call whose retry budget holds the pause waits it out, as before.
        patient = fake.client(budget=budget, retry_budget=900)
        assert patient.get_status("p", run).value == "RUNNING"
        assert fake.clock.now() == pytest.approx(600)


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 1}, {"limit": True}, {"limit": 10, "per": 0}, {"limit": 10, "burst": 10}],
)
def test_bad_budgets_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(MaiaValidationError):
        RequestBudget(clock=VirtualClock(), **kwargs)  # type: ignore[arg-type]


def test_a_429_from_the_api_pauses_the_whole_budget() -> None:
    with FakeMaia() as fake:
        budget = RequestBudget(600, clock=fake.clock)
        client = fake.client(budget=budget)
        run = fake.add_execution("p", ["RUNNING", "SUCCESS"])
        fake.fail_next(429, retry_after=20)
        client.get_status("p", run)  # retried after the Retry-After
        assert budget.granted == 2
        calls = fake.calls
        assert [c.status_code for c in calls] == [429, 200]
        assert calls[1].time - calls[0].time >= 20
        # A client that does not retry meets a 429: another client on the same budget
        # waits out the Retry-After before its next request.
        impatient = fake.client(budget=budget, max_retries=0)
        fake.fail_next(429, retry_after=30)
        with pytest.raises(RateLimitedError):
            impatient.get_status("p", run)
        refused_at = fake.calls[-1].time
        fake.client(budget=budget).get_status("p", run)
        assert fake.calls[-1].time - refused_at >= 30


WORKER = """
import json, sys, time
from pathlib import Path
from pytest_maia.client.budget import RequestBudget
from pytest_maia.core.clock import SystemClock
from pytest_maia.core.shared_state import FileState

directory, name = Path(sys.argv[1]), sys.argv[2]
budget = RequestBudget(20, per=0.25, clock=SystemClock(), state=FileState(directory))
(directory / name).touch()
go = directory / "go"
while not go.exists():
    time.sleep(0.005)
print(json.dumps([budget.acquire() for _ in range(15)]))
"""


@pytest.mark.e2e
def test_two_processes_share_one_budget_through_a_lock_dir(tmp_path: Path) -> None:
    # 20 requests a quarter second between them: each alone (15) would stay under it,
    # both together would not, unless they share the bucket.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), name], stdout=subprocess.PIPE, text=True
        )
        for name in ("ready-a", "ready-b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / name).exists() for name in ("ready-a", "ready-b")):
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.005)
    (tmp_path / "go").touch()
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    times = [t for out in outputs for t in json.loads(out)]
    assert len(times) == 30
    # time.monotonic is machine-wide, so the two processes' grant times compare.
    assert most_in_any_window(times, 0.25) <= 20


def test_real_clock_budget_is_shared_by_two_objects_on_one_file(tmp_path: Path) -> None:
    clock = SystemClock()
    budgets = [RequestBudget(20, per=1.0, clock=clock, state=FileState(tmp_path)) for _ in "ab"]
    started = clock.now()  # before the pause: it holds the budget 0.1 s from its own now
    budgets[0].pause(0.1)
    assert budgets[1].acquire() >= started + 0.1 - 1e-6
