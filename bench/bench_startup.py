"""What installing pytest-maia adds to the start of a suite that does not use it.

The baseline is the same environment without the package: each run starts pytest in a
fresh interpreter through the same small launcher, which, for the baseline, hides
pytest-maia's distribution from ``importlib.metadata``. pytest then loads no ``maia``
plugin and Hypothesis (a dependency, whose own pytest plugin imports it in every run)
finds no pytest-maia entry point: the run is what it would be had the package never
been installed. Both variants run the same trivial suite, interleaved, so machine noise
hits both alike, and each run is timed by its CPU time (user + system, from
``getrusage``), which other processes competing for the cores change far less than
they change wall time. Plugins of the test extra that a user's environment would not have
(schemathesis, pytest-html, xdist...) are turned off in both.

Budget: pytest-maia's own code adds at most 15 ms (the ratio's budget is the baseline's
median plus 15 ms, over the baseline's median, measured in the same run).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ADDED_MS_BUDGET = 15.0
# Installed with the test extra, not with pytest-maia: off in both variants.
OTHER_PLUGINS = (
    "schemathesis",
    "anyio",
    "pytest_httpserver",
    "html",
    "html_fixtures",
    "metadata",
    "xdist.plugin",
    "xdist.looponfail",
    "rerunfailures",
    "timeout",
    "requests_mock",
    "pytest-responses",
    "cacheprovider",
)
# As a user's machine (and CI) runs: with Python's bytecode cache.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
LAUNCHER = """
import importlib.metadata as md
import sys

# Both variants filter the distributions (reading each one's name costs the same in
# both); only "hide" names one that exists.
hidden = "pytest-maia" if sys.argv.pop(1) == "hide" else "(none)"
everything = md.distributions


def distributions(**kwargs):
    return (
        dist for dist in everything(**kwargs)
        if (dist.metadata["Name"] or "").lower() != hidden
    )


md.distributions = distributions

import pytest

sys.exit(pytest.main(sys.argv[1:]))
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(suite: Path, variant: str) -> float:
    """The CPU seconds (user + system) of one pytest run in a fresh interpreter."""
    disabled = [arg for name in OTHER_PLUGINS for arg in ("-p", f"no:{name}")]
    start = _cpu()
    subprocess.run(
        [sys.executable, "-c", LAUNCHER, variant, "-q", *disabled, str(suite)],
        check=True,
        capture_output=True,
        cwd=suite,
        env=ENV,
    )
    return _cpu() - start


def loaded_modules(suite: Path, variant: str) -> list[str]:
    """The pytest_maia modules a run of ``variant`` imports (none when hidden)."""
    probe = LAUNCHER.replace(
        "sys.exit(pytest.main(sys.argv[1:]))",
        "code = pytest.main(sys.argv[1:])\n"
        "print('MODULES', *sorted(m for m in sys.modules if m.startswith('pytest_maia')))\n"
        "sys.exit(code)",
    )
    disabled = [arg for name in OTHER_PLUGINS for arg in ("-p", f"no:{name}")]
    out = subprocess.run(
        [sys.executable, "-c", probe, variant, "-q", *disabled, str(suite)],
        check=True,
        capture_output=True,
        text=True,
        cwd=suite,
        env=ENV,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("MODULES"))
    return line.split()[1:]


def _suite(tmp: str) -> Path:
    suite = Path(tmp)
    suite.joinpath("test_trivial.py").write_text(
        "".join(f"def test_{i}():\n    assert {i} == {i}\n" for i in range(20))
    )
    return suite


def measure(rounds: int = 21) -> dict[str, float]:
    """Median wall times, the median per-round ratio, and its budget (same run)."""
    with tempfile.TemporaryDirectory() as tmp:
        suite = _suite(tmp)
        _run(suite, "show")  # warm the file-system and bytecode caches
        _run(suite, "hide")
        modules = len(loaded_modules(suite, "show"))
        installed: list[float] = []
        hidden: list[float] = []
        for index in range(rounds):
            # Alternate which side goes first, so drift in the machine hits both alike.
            if index % 2:
                hidden.append(_run(suite, "hide"))
                installed.append(_run(suite, "show"))
            else:
                installed.append(_run(suite, "show"))
                hidden.append(_run(suite, "hide"))
    installed_s = statistics.median(installed)
    hidden_s = statistics.median(hidden)
    # Each round's two runs were back to back: the median of their ratios cancels drift.
    ratio = statistics.median(i / h for i, h in zip(installed, hidden, strict=True))
    budget = (hidden_s + ADDED_MS_BUDGET / 1000) / hidden_s
    return {
        "installed_s": installed_s,
        "hidden_s": hidden_s,
        "ratio": ratio,
        "budget": budget,
        "added_ms": (ratio - 1) * hidden_s * 1000,
        "modules": modules,
    }


def main() -> int:
    result = measure()
    print(
        "pytest start-up of a suite without Maia (CPU time): installed "
        f"{result['installed_s'] * 1e3:.0f} ms, package hidden "
        f"{result['hidden_s'] * 1e3:.0f} ms: +{result['added_ms']:.1f} ms "
        f"(ratio {result['ratio']:.3f}, budget <= {result['budget']:.3f} = +"
        f"{ADDED_MS_BUDGET:g} ms); {result['modules']:.0f} pytest_maia modules loaded"
    )
    return 0 if result["ratio"] <= result["budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
