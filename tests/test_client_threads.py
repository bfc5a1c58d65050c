"""MaiaClient across threads: 16 share one client and one fake, each sees only its own run.

Every thread waits on a different scripted execution (different lengths, final
statuses and transient faults); each thread's history must equal its own script, and
the fake must have counted exactly that many polls per execution.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from pytest_maia import MaiaClient
from pytest_maia.core.errors import MaiaConnectionError, RateLimitedError, ServerError
from pytest_maia.core.models import ErrorStep, ExecutionStatus, Step, WaitResult
from pytest_maia.fake import FakeMaia

THREADS = 16
TOKEN = "tok-CONCURRENT-SEKRIT"
FINALS = [
    ExecutionStatus.SUCCESS,
    ExecutionStatus.FAILED,
    ExecutionStatus.CANCELLED,
    ExecutionStatus.SKIPPED,
]

ERROR_TYPES: dict[int, type[Exception]] = {
    0: MaiaConnectionError,
    429: RateLimitedError,
    503: ServerError,
}


def script_for(n: int) -> list[Step]:
    """Thread ``n``'s lifecycle: its own length, final status and faults."""
    steps: list[Step] = []
    for i in range(3 + n):
        if n % 3 == 1 and i == 1:
            steps.append(FakeMaia.error(503))
        if n % 4 == 2 and i == 2:
            steps.append(FakeMaia.error(429, retry_after=2))
        if n % 5 == 3 and i == 0:
            steps.append(FakeMaia.dropped_connection())
        steps.append("CANCELLING" if n % 4 == 2 and i == 2 + n else "RUNNING")
    steps.append(FINALS[n % len(FINALS)])
    return steps


def statuses_of(script: list[Step]) -> list[ExecutionStatus]:
    return [ExecutionStatus(step) for step in script if not isinstance(step, ErrorStep)]


@contextmanager
def in_process(fake: FakeMaia) -> Iterator[MaiaClient]:
    with fake:
        yield fake.client()


@contextmanager
def loopback(fake: FakeMaia) -> Iterator[MaiaClient]:
    with fake.serve() as server:
        yield server.client()


ADAPTERS: dict[str, Callable[[FakeMaia], AbstractContextManager[MaiaClient]]] = {
    "in-process": in_process,
    "loopback": loopback,
}


def run_in_threads(worker: Callable[[int], None]) -> None:
    """Run ``worker(n)`` for n in range(THREADS) at once; fail if any thread hangs."""
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=50)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_sixteen_threads_one_client_each_sees_its_own_lifecycle(adapter: str) -> None:
    fake = FakeMaia(token=TOKEN)
    scripts = {n: script_for(n) for n in range(THREADS)}
    runs = {n: fake.add_execution(f"project-{n % 4}", scripts[n]) for n in range(THREADS)}
    results: dict[int, WaitResult] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    with ADAPTERS[adapter](fake) as client:

        def worker(n: int) -> None:
            try:
                barrier.wait(timeout=20)
                # The virtual clock is shared: 16 waiters move it, so no real timeout.
                results[n] = client.wait_for(
                    f"project-{n % 4}", runs[n], timeout=10**7, interval=1, max_interval=3
                )
            except BaseException as exc:  # re-raised in the main thread below
                errors.append(exc)

        run_in_threads(worker)

    assert errors == []
    for n in range(THREADS):
        result, script = results[n], scripts[n]
        assert result.execution_id == runs[n]
        assert [status for _, status in result.history] == statuses_of(script), n
        assert result.status is FINALS[n % len(FINALS)]
        faults = [step for step in script if isinstance(step, ErrorStep)]
        expected = [ERROR_TYPES[step.code] for step in faults]
        assert len(result.errors) == len(expected), n
        assert all(isinstance(e, t) for e, t in zip(result.errors, expected, strict=True)), n
        assert result.polls == len(script) == fake.polls(runs[n])
    assert len(fake.calls) == sum(len(s) for s in scripts.values())
    assert all(TOKEN not in str(call.headers) for call in fake.calls)


@pytest.mark.timeout(60)
def test_status_reads_and_waits_interleave_without_crosstalk() -> None:
    """Half the threads poll with get_status, half wait; per-poll lifecycles advance
    only on their own execution's polls."""
    fake = FakeMaia(token=TOKEN)
    length = 12
    runs = {
        n: fake.add_execution(
            "shared-project",
            [ExecutionStatus.unrecognised(f"RUNNING_{n}_{i}") for i in range(length)] + ["SUCCESS"],
        )
        for n in range(THREADS)
    }
    seen: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    with fake.serve() as server:
        client = server.client()

        def worker(n: int) -> None:
            try:
                barrier.wait(timeout=20)
                if n % 2:
                    seen[n] = [
                        client.get_status("shared-project", runs[n]).value
                        for _ in range(length + 1)
                    ]
                else:
                    result = client.wait_for(
                        "shared-project",
                        runs[n],
                        timeout=10**7,
                        interval=1,
                        max_interval=1,
                        unknown_is_terminal=False,
                    )
                    seen[n] = [status.value for _, status in result.history]
            except BaseException as exc:  # re-raised in the main thread below
                errors.append(exc)

        run_in_threads(worker)

    assert errors == []
    for n in range(THREADS):
        assert seen[n] == [f"RUNNING_{n}_{i}" for i in range(length)] + ["SUCCESS"], n
        assert fake.polls(runs[n]) == length + 1
