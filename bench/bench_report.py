"""Writing the reports (HTML with its SVG, and JSON) for N executions, divided by the
time the example suite's machinery takes to run and wait on those N executions.

The waits are the example suite's lifecycles (examples/conftest.py: a 40-minute nightly
load and a transform that fails after three minutes) through the ``maia_status`` helper
on the in-process fake, recording the same user_properties the plugin records (one
record per wait). The
report side parses those properties, then writes the HTML and JSON files, as the
controller does at the end of a session. Budget: at most 5 %.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from pytest_maia.fake import FakeMaia
from pytest_maia.report.outputs import write_files
from pytest_maia.report.timeline import (
    PROPERTY,
    Timeline,
    executions_from_properties,
    to_property,
)
from pytest_maia.runs.status_checker import StatusChecker

BUDGET = 0.05
PROJECT = "bench-project"
LIFECYCLES = (
    (["RUNNING"] * 40 + ["SUCCESS"], 60.0),  # nightly_load
    (["RUNNING", "RUNNING", "FAILED"], 90.0),  # broken_transform
)


def run_waits(count: int) -> tuple[float, list[tuple[str, list[tuple[str, object]]]]]:
    """Seconds to wait on ``count`` executions, and each one's user_properties."""
    tests: list[tuple[str, list[tuple[str, object]]]] = []
    started = time.perf_counter()
    for index in range(count):
        properties: list[tuple[str, object]] = []
        statuses, every = LIFECYCLES[index % 2]
        with FakeMaia() as fake:  # one fake per test, as the maia_fake fixture gives
            client = fake.client()
            checker = StatusChecker(
                client,
                PROJECT,
                timeout=3600,
                backend="fake",
                record=lambda e, p=properties: p.append((PROPERTY, to_property(e))),
            )
            run = fake.add_execution(PROJECT, statuses, every=every)
            checker.wait(run)
        tests.append((f"examples/test_bench.py::test_{index}", properties))
    return time.perf_counter() - started, tests


def write_reports(tests: list[tuple[str, list[tuple[str, object]]]], directory: Path) -> float:
    """Seconds to turn the properties into a timeline and write both reports."""
    started = time.perf_counter()
    timeline = Timeline()
    for nodeid, properties in tests:
        timeline.executions += executions_from_properties(nodeid, properties)
    write_files(timeline, html=str(directory / "r.html"), json=str(directory / "r.json"))
    return time.perf_counter() - started


def measure(executions: int = 1000, rounds: int = 1) -> dict[str, float]:
    """Median of the per-round ratios write time / run time, and the medians of each."""
    runs: list[float] = []
    writes: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            run_s, tests = run_waits(executions)
            write_s = write_reports(tests, Path(tmp))
            runs.append(run_s)
            writes.append(write_s)
    return {
        "ratio": statistics.median(w / r for w, r in zip(writes, runs, strict=True)),
        "run_s": statistics.median(runs),
        "write_s": statistics.median(writes),
        "executions": float(executions),
    }


if __name__ == "__main__":
    result = measure()
    print(
        f"write/run: {result['ratio']:.2%} ({result['write_s'] * 1e3:.0f} ms vs "
        f"{result['run_s']:.1f} s for {result['executions']:.0f} executions); "
        f"budget {BUDGET:.0%}"
    )
