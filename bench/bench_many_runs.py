"""Many pipelines at once: a start-ahead suite against a real-clock loopback fake.

``pipelines`` pipelines that each take ``seconds`` of real time are run by a pytest suite
in a fresh interpreter (``--maia-backend=live`` pointed at the loopback fake), each test
marked ``maia_start`` and awaiting its run through ``maia_run``. Measured, per mode
(serial, and ``-n WORKERS`` with xdist):

- the suite's span on the API (first request to last, from the fake's call log) over
  the longest pipeline: budget 1.5 (one at a time it would be ``pipelines``);
- the whole process's wall time over the longest pipeline (interpreter and xdist
  start-up included; informational);
- the most requests in any 60 s window of the call log, against the budget.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_maia.core.clock import SystemClock
from pytest_maia.fake import FakeMaia

SPAN_BUDGET = 1.5
TOKEN = "bench-token"
CONFTEST = """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.maia_start(f"pipeline-{item.callspec.params['i']}"))
"""
SUITE = """
import pytest

@pytest.mark.parametrize("i", range({pipelines}))
def test_pipeline(i, maia_run):
    maia_run.assert_success()
"""


def most_in_a_minute(times: list[float]) -> int:
    """The most times in any half-open 60 s window."""
    times = sorted(times)
    return max(
        (sum(1 for t in times[i:] if t < start + 60.0) for i, start in enumerate(times)),
        default=0,
    )


def measure(
    pipelines: int = 20,
    seconds: float = 3.0,
    *,
    workers: int = 0,
    budget: int = 600,
    poll_interval: float | None = None,
) -> dict[str, float]:
    """Run the suite once; ratios over the longest pipeline, and the busiest minute.

    The poll interval defaults to a twelfth of a pipeline (0.25 s for 3 s), as a user
    would set it: the end of a run is seen within one poll delay of it.
    """
    if poll_interval is None:
        poll_interval = seconds / 12
    fake = FakeMaia(clock=SystemClock(), token=TOKEN)
    for i in range(pipelines):
        fake.script_pipeline(f"pipeline-{i}", ["RUNNING", "SUCCESS"], every=seconds)
    with tempfile.TemporaryDirectory() as tmp, fake.serve() as server:
        suite = Path(tmp)
        suite.joinpath("conftest.py").write_text(CONFTEST)
        suite.joinpath("test_many.py").write_text(SUITE.format(pipelines=pipelines))
        xdist = ["-p", "xdist", "-n", str(workers)] if workers else []
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # HTTP mocks of the test extra: pytest-responses would refuse every poll
            *("-p", "no:pytest-responses", "-p", "no:requests_mock"),
            *xdist,
            "--maia-backend=live",
            f"--maia-base-url={server.url}",
            "--maia-project=bench",
            "--maia-environment=bench",
            f"--maia-max-concurrent={pipelines}",
            f"--maia-max-requests-per-minute={budget}",
            f"--maia-poll-interval={poll_interval}",
        ]
        env = dict(os.environ, MAIA_TOKEN=TOKEN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the bench suite failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    records = fake.executions()
    if len(records) != pipelines or any(r.finished_at is None for r in records):
        raise RuntimeError(f"expected {pipelines} finished runs, the fake saw {len(records)}")
    longest = max(r.finished_at - r.started_at for r in records if r.finished_at is not None)
    times = [call.time for call in fake.calls]
    return {
        "span_ratio": (max(times) - min(times)) / longest,
        "wall_ratio": wall / longest,
        "longest_s": longest,
        "requests": float(len(times)),
        "busiest_minute": float(most_in_a_minute(times)),
        "budget": float(budget),
    }


def main() -> int:
    ok = True
    for workers in (0, 4):
        result = measure(workers=workers)
        mode = f"-n {workers}" if workers else "serial"
        print(
            f"{mode}: API span {result['span_ratio']:.2f}x, wall {result['wall_ratio']:.2f}x "
            f"the longest pipeline ({result['longest_s']:.1f} s); busiest minute "
            f"{result['busiest_minute']:.0f} requests (budget {result['budget']:.0f})"
        )
        ok = ok and result["span_ratio"] <= SPAN_BUDGET
        ok = ok and result["busiest_minute"] <= result["budget"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
