"""Run every benchmark and print one table: name, measured, budget, ok.

Each measured value is a ratio against a baseline timed in the same run (interleaved
rounds, the median of the per-round ratios), or a count on the virtual clock, so the
verdicts hold on a noisy machine where absolute times do not. Run from the repository
root: ``python bench/run.py`` (``--quick`` for fewer rounds, ``--update-docs`` to
rewrite the table in docs/performance.md). Exits 1 when a row is over its budget.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import logging
import math
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the sibling bench_*.py modules

import requests  # noqa: E402

from pytest_maia import ExecutionStatus  # noqa: E402
from pytest_maia.client.waiting import DEFAULT_MAX_INTERVAL  # noqa: E402
from pytest_maia.fake import FakeMaia  # noqa: E402

DOCS = HERE.parent / "docs" / "performance.md"
TABLE_START = "<!-- bench-table:start -->"
TABLE_END = "<!-- bench-table:end -->"
PROJECT = "bench-project"
BODY = b'{"status":"RUNNING"}'
# Long enough never to end a benchmark wait: the virtual clock makes it free.
NO_TIMEOUT = 1e9


@dataclass(frozen=True)
class Row:
    """One line of the table. ``budget`` None means informational (no verdict)."""

    name: str
    measured: float
    shown: str
    budget: float | None = None
    op: str = "<="

    @property
    def ok(self) -> bool | None:
        if self.budget is None:
            return None
        # A tiny tolerance: counts and delays on the virtual clock are float sums.
        if self.op == "<=":
            return self.measured <= self.budget + 1e-9
        return self.measured >= self.budget - 1e-9

    @property
    def budget_text(self) -> str:
        return "-" if self.budget is None else f"{self.op} {self.budget:g}"

    @property
    def ok_text(self) -> str:
        return {None: "info", True: "ok", False: "OVER"}[self.ok]


def _median_ratio(pairs: list[tuple[float, float]]) -> float:
    return statistics.median(a / b for a, b in pairs)


# -- 1. in-process fake per poll --------------------------------------------------


def bench_inprocess(quick: bool = False) -> list[Row]:
    """bench_fake: the fake's per-poll cost over a bare `responses` callback."""
    import bench_fake

    result = bench_fake.measure(polls=50 if quick else 100, repeats=5 if quick else 41)
    ratio = result["ratio"]
    return [
        Row(
            "in-process fake per poll / bare responses callback",
            ratio,
            f"{ratio:.2f}x ({result['fake_us']:.0f} vs {result['bare_us']:.0f} us)",
            bench_fake.BUDGET,
        )
    ]


# -- 2. waiting on the virtual clock -----------------------------------------------


def bench_waiting(quick: bool = False, steps: int = 1000) -> list[Row]:
    """A ``steps``-step lifecycle through ``wait_for`` against ``steps`` bare
    ``get_status`` calls, same fake, same client, interleaved rounds."""
    rounds = 1 if quick else 11
    fake = FakeMaia()
    client = fake.client()
    lifecycle = ["RUNNING"] * (steps - 1) + ["SUCCESS"]
    pairs: list[tuple[float, float]] = []
    with fake:
        for index in range(rounds + 1):
            order = ("wait", "bare") if index % 2 else ("bare", "wait")
            seconds: dict[str, float] = {}
            for side in order:
                fake.reset()  # the same call-log size for both sides
                run = fake.add_execution(PROJECT, lifecycle)
                started = time.perf_counter()
                if side == "wait":
                    result = client.wait_for(
                        PROJECT, run, timeout=NO_TIMEOUT, interval=1, max_interval=1
                    )
                    if result.polls != steps or result.status is not ExecutionStatus.SUCCESS:
                        raise AssertionError(f"wait_for saw {result.polls} polls, not {steps}")
                else:
                    for _ in range(steps):
                        client.get_status(PROJECT, run)
                seconds[side] = time.perf_counter() - started
            if index:  # the first round only warms up
                pairs.append((seconds["wait"], seconds["bare"]))
    ratio = _median_ratio(pairs)
    wait_ms = statistics.median(w for w, _ in pairs) * 1e3
    bare_ms = statistics.median(b for _, b in pairs) * 1e3
    return [
        Row(
            f"wait_for {steps}-step lifecycle / {steps} bare get_status",
            ratio,
            f"{ratio:.2f}x ({wait_ms:.0f} vs {bare_ms:.0f} ms)",
            1.2,
        )
    ]


# -- 3. loopback server throughput --------------------------------------------------


@contextlib.contextmanager
def _quiet_werkzeug() -> Iterator[None]:
    # werkzeug logs every request at INFO; a logging baseline would flatter the fake.
    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def requests_per_second(url: str, *, threads: int = 4, per_thread: int = 100) -> float:
    """Requests per second from ``threads`` threads, one ``requests.Session`` each, all
    GETs of ``url`` answered 200."""
    sessions = [requests.Session() for _ in range(threads)]
    for session in sessions:
        session.headers["Authorization"] = "Bearer bench-token"
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(session: requests.Session) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(per_thread):
                response = session.get(url, timeout=30)
                if response.status_code != 200 or response.content != BODY:
                    raise AssertionError(f"HTTP {response.status_code}: {response.content!r}")
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(s,), daemon=True) for s in sessions]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=30)
    started = time.perf_counter()
    for worker in workers:
        worker.join(timeout=120)
    elapsed = time.perf_counter() - started
    for session in sessions:
        session.close()
    if errors:
        raise errors[0]
    if any(worker.is_alive() for worker in workers):
        raise TimeoutError("a benchmark client thread did not finish in 120 s")
    return threads * per_thread / elapsed


def bench_loopback(quick: bool = False) -> list[Row]:
    """The fake's loopback server against pytest-httpserver serving the same JSON."""
    from pytest_httpserver import HTTPServer

    rounds, per_thread = (2, 25) if quick else (9, 100)
    fake = FakeMaia()
    run = fake.add_execution(PROJECT, "RUNNING")
    path = urlsplit(fake.status_url(PROJECT, run)).path
    baseline = HTTPServer(threaded=True)  # one thread per request, like the fake's
    baseline.expect_request(path).respond_with_data(BODY, content_type="application/json")
    pairs: list[tuple[float, float]] = []
    with _quiet_werkzeug(), fake.serve() as server:
        baseline.start()
        try:
            fake_url = server.url + path[len(urlsplit(fake.base_url).path) :]
            base_url = baseline.url_for(path)
            for index in range(rounds + 1):
                order = ("fake", "base") if index % 2 else ("base", "fake")
                rps: dict[str, float] = {}
                for side in order:
                    url = fake_url if side == "fake" else base_url
                    rps[side] = requests_per_second(url, per_thread=per_thread)
                    fake.reset()
                    fake.add_execution(PROJECT, "RUNNING", execution_id=run)
                if index:
                    pairs.append((rps["fake"], rps["base"]))
        finally:
            baseline.clear()
            baseline.stop()
    ratio = _median_ratio(pairs)
    fake_rps = statistics.median(f for f, _ in pairs)
    base_rps = statistics.median(b for _, b in pairs)
    return [
        Row(
            "loopback server req/s (4 threads) / pytest-httpserver",
            ratio,
            f"{ratio:.2f}x ({fake_rps:.0f} vs {base_rps:.0f} req/s)",
            1.0,
            ">=",
        )
    ]


# -- 4. plugin start-up --------------------------------------------------------------


def bench_startup(quick: bool = False) -> list[Row]:
    """bench_startup: a suite without Maia, installed over the package hidden."""
    import bench_startup

    result = bench_startup.measure(rounds=1 if quick else 21)
    ratio = result["ratio"]
    return [
        Row(
            "pytest start-up, suite without Maia: installed / package hidden",
            ratio,
            f"{ratio:.3f}x (+{result['added_ms']:.1f} ms on {result['hidden_s'] * 1e3:.0f}; "
            f"{result['modules']:.0f} modules)",
            round(result["budget"], 3),
        )
    ]


# -- 5. polling economy ----------------------------------------------------------------


@dataclass(frozen=True)
class PollingEconomy:
    """What the default waiter does for an execution that ends after ``duration`` s."""

    duration: float
    polls: int  # at the nominal duration
    worst_polls: int  # over the phase sweep
    max_per_minute: int  # most polls in any 60 s window after the first minute
    worst_delay: float  # most seconds from the terminal status appearing to a poll seeing it


def polls_in_worst_minute(times: list[float], after: float = 60.0) -> int:
    """The most poll times in any half-open 60 s window starting after ``after``."""
    late = [t for t in times if t >= after - 1e-9]
    best = 0
    for i, start in enumerate(late):
        count = sum(1 for t in late[i:] if t < start + 60.0 - 1e-9)
        best = max(best, count)
    return best


def polling_economy(duration: float, *, phases: int = 30) -> PollingEconomy:
    """Run the default waiter against ``every=`` lifecycles on the virtual clock that
    end at ``duration``, ``duration + 1`` ... ``duration + phases - 1`` seconds (so
    every alignment of the end against the poll schedule is tried)."""
    polls: list[int] = []
    per_minute = 0
    worst_delay = 0.0
    fake = FakeMaia()
    client = fake.client()
    with fake:
        for phase in range(phases):
            ends = duration + phase * DEFAULT_MAX_INTERVAL / phases
            fake.reset()
            run = fake.add_execution(PROJECT, ["RUNNING", "SUCCESS"], every=ends)
            result = client.wait_for(PROJECT, run, timeout=NO_TIMEOUT)  # default intervals
            if result.status is not ExecutionStatus.SUCCESS:
                raise AssertionError(f"the waiter ended on {result.status}")
            times = [elapsed for elapsed, _ in result.history]
            polls.append(result.polls)
            per_minute = max(per_minute, polls_in_worst_minute(times))
            worst_delay = max(worst_delay, times[-1] - ends)
    return PollingEconomy(duration, polls[0], max(polls), per_minute, worst_delay)


def bench_polling(quick: bool = False) -> list[Row]:
    """Polls and lateness of the default waiter for 1 min, 10 min and 1 h executions."""
    phases = 6 if quick else 30
    results = [polling_economy(d, phases=phases) for d in (60.0, 600.0, 3600.0)]
    rows = [
        Row(
            f"polls, default waiter, {label} execution",
            float(r.polls),
            f"{r.polls} (worst {r.worst_polls})",
        )
        for label, r in zip(("1 min", "10 min", "1 h"), results, strict=True)
    ]
    per_minute = max(r.max_per_minute for r in results)
    delay = max(r.worst_delay for r in results)
    rows += [
        Row("polls in any minute after the first", float(per_minute), str(per_minute), 2.0),
        Row(
            "worst delay, terminal status -> seen (s)",
            delay,
            f"{delay:.1f}",
            DEFAULT_MAX_INTERVAL,
        ),
    ]
    return rows


# -- 6. many pipelines at once ---------------------------------------------------------


def bench_many(quick: bool = False) -> list[Row]:
    """bench_many_runs: a start-ahead suite of real-time pipelines, serial and -n 4."""
    import bench_many_runs

    pipelines, seconds, workers = (8, 1.5, 2) if quick else (20, 3.0, 4)
    rows: list[Row] = []
    for n in (0, workers):
        result = bench_many_runs.measure(pipelines, seconds, workers=n)
        mode = f"-n {n}" if n else "serial"
        what = f"{pipelines} x {seconds:g} s pipelines, start-ahead, {mode}"
        rows += [
            Row(
                f"{what}: API span / longest pipeline",
                result["span_ratio"],
                f"{result['span_ratio']:.2f}x",
                bench_many_runs.SPAN_BUDGET,
            ),
            Row(
                f"{what}: process wall / longest pipeline",
                result["wall_ratio"],
                f"{result['wall_ratio']:.2f}x (start-up included)",
            ),
            Row(
                f"{what}: most requests in any minute",
                result["busiest_minute"],
                f"{result['busiest_minute']:.0f} of {result['requests']:.0f}",
                result["budget"],
            ),
        ]
    return rows


# -- 7. strategies (informational) ----------------------------------------------------


def bench_strategies(quick: bool = False) -> list[Row]:
    """Draws per second per strategy of pytest_maia.strategies, if its bench exists."""
    import bench_strategies

    result = bench_strategies.measure(draws=200 if quick else 1000, repeats=1 if quick else 3)
    rows = []
    for name in bench_strategies.STRATEGIES:
        us = result[f"{name}_us"]
        ratio = result[f"{name}_ratio"]
        rows.append(
            Row(
                f"strategy {name}: draws/s",
                1e6 / us,
                f"{1e6 / us:,.0f} ({ratio:.1f}x the time of integers)",
            )
        )
    return rows


# -- 7. writing the reports --------------------------------------------------------------


def bench_report(quick: bool = False) -> list[Row]:
    """bench_report: writing the HTML and JSON reports over running the executions."""
    import bench_report

    count = 100 if quick else 1000
    # One round: the two sides are measured back to back, and the margin is wide.
    result = bench_report.measure(executions=count, rounds=1)
    ratio = result["ratio"]
    return [
        Row(
            f"write reports for {count} executions / run them (example lifecycles)",
            ratio,
            f"{ratio:.4f}x = {ratio:.2%} ({result['write_s'] * 1e3:.0f} ms vs "
            f"{result['run_s']:.1f} s)",
            bench_report.BUDGET,
        )
    ]


BENCHMARKS: dict[str, Callable[[bool], list[Row]]] = {
    "inprocess": bench_inprocess,
    "waiting": bench_waiting,
    "loopback": bench_loopback,
    "startup": bench_startup,
    "polling": bench_polling,
    "many": bench_many,
    "strategies": bench_strategies,
    "report": bench_report,
}
# Rows that may be left out (with a note) when their benchmark cannot run here.
OPTIONAL = {"strategies"}


def run(names: list[str], *, quick: bool = False) -> tuple[list[Row], list[str]]:
    """The rows of the chosen benchmarks, and notes about any optional one left out."""
    rows: list[Row] = []
    notes: list[str] = []
    for name in names:
        try:
            rows += BENCHMARKS[name](quick)
        except Exception as exc:
            if name not in OPTIONAL:
                raise
            notes.append(f"{name}: left out ({type(exc).__name__}: {exc})")
    return rows, notes


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    head = ["benchmark", "measured", "budget", "ok?"]
    body = [[r.name, r.shown, r.budget_text, r.ok_text] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(4)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(head), rule, *(line(cells) for cells in body)])


def machine() -> str:
    """One line about where the table was measured."""
    day = _dt.date.today().isoformat()
    return (
        f"{day}, Python {platform.python_version()}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPU(s)"
    )


def update_docs(text: str, path: Path = DOCS) -> None:
    """Replace the table between the markers in ``path`` with ``text``."""
    page = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(page):
        raise SystemExit(f"{path}: no {TABLE_START} ... {TABLE_END} markers")
    block = f"{TABLE_START}\n{text}\n{TABLE_END}"
    path.write_text(pattern.sub(lambda _: block, page, count=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHMARKS), help="run only these (repeatable)"
    )
    parser.add_argument(
        "--update-docs", action="store_true", help=f"write the table into {DOCS.name}"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows, notes = run(args.only or list(BENCHMARKS), quick=args.quick)
    mode = "quick" if args.quick else "full"
    text = table(rows)
    footer = f"\n\n{machine()}; {mode} run, {time.perf_counter() - started:.0f} s."
    for note in notes:
        footer += f"\n{note}."
    print(text + footer)
    if args.update_docs:
        update_docs(text + footer)
    bad = [r.name for r in rows if r.ok is False]
    if bad or any(not math.isfinite(r.measured) for r in rows):
        print(f"over budget: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
