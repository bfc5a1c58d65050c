"""The test steps' budgets, in CPU seconds (steady on a shared machine) and wall seconds.

Runs each step of ``.ci/run`` the way CI does, in this checkout's environment, and prints
one line per step: wall seconds, CPU seconds (this process's children: pytest, its xdist
workers and every process they start) and the budget. ``--ci-run`` also times the whole
``bash .ci/run`` (a fresh virtual environment: minutes). Budgets hold on an idle two-core
machine; a loaded one shows it in the wall column first. Exits 1 when a step is over.

    python bench/ci_steps.py            # main, e2e, docs and bench steps
    python bench/ci_steps.py --ci-run   # and the whole .ci/run
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "xdist", "-n", "3")
MAIN = "not docs and not bench and not e2e and not thorough"


@dataclass(frozen=True)
class Step:
    name: str
    command: tuple[str, ...]
    cpu_budget: float | None  # CPU seconds, None: informational
    wall_budget: float | None


STEPS = (
    Step("main", (*PYTEST[:-1], "2", "-m", MAIN), 25.0, 20.0),
    Step("e2e", (*PYTEST, "-m", "(e2e or thorough) and not slow"), None, None),
    Step("docs and bench", (*PYTEST, "-m", "docs or bench"), None, None),
)
WHOLE = Step("bash .ci/run", ("bash", ".ci/run"), None, 300.0)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(step: Step) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit code) of one run of ``step``."""
    env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as .ci/run
    cpu, begun = children_cpu(), time.perf_counter()
    done = subprocess.run(step.command, cwd=ROOT, env=env, capture_output=True, check=False)
    return time.perf_counter() - begun, children_cpu() - cpu, done.returncode


def verdict(value: float, budget: float | None) -> str:
    if budget is None:
        return "info"
    return "ok" if value <= budget else "OVER"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ci-run", action="store_true", help="also time the whole .ci/run")
    args = parser.parse_args(argv)
    steps = [*STEPS, WHOLE] if args.ci_run else list(STEPS)
    print(f"{'step':<16} {'wall s':>8} {'budget':>7} {'CPU s':>8} {'budget':>7}  verdict")
    failed = False
    for step in steps:
        wall, cpu, code = measure(step)
        verdicts = {verdict(wall, step.wall_budget), verdict(cpu, step.cpu_budget)}
        over = "OVER" in verdicts
        failed |= over or code != 0
        shown = "failed" if code else ("OVER" if over else ("ok" if "ok" in verdicts else "info"))
        wall_budget = "-" if step.wall_budget is None else f"{step.wall_budget:g}"
        cpu_budget = "-" if step.cpu_budget is None else f"{step.cpu_budget:g}"
        print(f"{step.name:<16} {wall:8.1f} {wall_budget:>7} {cpu:8.1f} {cpu_budget:>7}  {shown}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
