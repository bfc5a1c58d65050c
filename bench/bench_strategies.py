"""Cost of drawing values from pytest_maia.strategies, against ``st.integers()``.

Each strategy is drawn from inside a real ``@given`` test (generate phase only, no
database, no shrinking): 10 draws per example through ``st.data()``, 100 examples, so
1,000 draws per round, the way a user's test pays for them. The baseline,
``st.integers()``, goes through the same harness in the same run, a round just
before each measured round, so the ratio (the median of paired ratios) is stable where
absolute times are not. Run: ``python bench/bench_strategies.py [--draws N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pytest_maia import ExecutionStatus
from pytest_maia import strategies as ms

PER_EXAMPLE = 10
BASELINE = "integers"

STRATEGIES: dict[str, Callable[[], st.SearchStrategy[object]]] = {
    BASELINE: st.integers,
    "sampled_from(8)": lambda: st.sampled_from(list(ExecutionStatus)),
    "statuses": ms.statuses,
    "status_payloads": ms.status_payloads,
    "invalid_status_payloads": ms.invalid_status_payloads,
    "problem_details": ms.problem_details,
    "error_responses": ms.error_responses,
    "status_sequences": ms.status_sequences,
    "execution_ids": ms.execution_ids,
    "project_ids": ms.project_ids,
}


def _round(strategy: st.SearchStrategy[object], draws: int) -> float:
    """Seconds per draw over one round of about ``draws`` draws."""
    count = 0

    @settings(
        max_examples=max(1, draws // PER_EXAMPLE),
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        nonlocal count
        for _ in range(PER_EXAMPLE):
            data.draw(strategy)
            count += 1

    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) / max(count, 1)


def measure(draws: int = 1000, repeats: int = 3) -> dict[str, float]:
    """Microseconds per draw of each strategy (``<name>_us``, median of ``repeats``
    rounds of ``draws`` draws) and its ratio to ``st.integers()`` (``<name>_ratio``).

    Every round of a strategy is paired with a baseline round run just before it,
    and the ratio is the median of the paired ratios, so that load from other
    processes, which shifts absolute times, mostly cancels out. One warm-up round
    per strategy is not measured.
    """
    built = {name: make() for name, make in STRATEGIES.items()}
    baseline = built[BASELINE]
    for strategy in built.values():
        _round(strategy, draws // 10)
    times: dict[str, list[float]] = {name: [] for name in built}
    ratios: dict[str, list[float]] = {name: [] for name in built}
    for _ in range(repeats):
        for name, strategy in built.items():
            base = _round(baseline, draws)
            seconds = base if name == BASELINE else _round(strategy, draws)
            times[name].append(seconds)
            ratios[name].append(seconds / base)
    result: dict[str, float] = {"draws": float(draws), "repeats": float(repeats)}
    for name in built:
        result[f"{name}_us"] = statistics.median(times[name]) * 1e6
        result[f"{name}_ratio"] = statistics.median(ratios[name])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws per round")
    parser.add_argument("--repeats", type=int, default=3, help="measured rounds")
    args = parser.parse_args(argv)
    result = measure(args.draws, args.repeats)
    print(f"{args.draws} draws per round, median of {args.repeats} rounds")
    print(f"{'strategy':<26}{'us per draw':>12}{'x integers':>12}")
    for name in STRATEGIES:
        us = result[f"{name}_us"]
        print(f"{name:<26}{us:>12.1f}{result[f'{name}_ratio']:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
