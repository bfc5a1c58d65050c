"""pytest start-up with the plugin divided by start-up with ``-p no:maia``.

Both runs collect and run the same trivial suite in fresh interpreters, interleaved,
so machine noise hits both sides alike. Budget: at most 1.05.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET = 1.05


def _run(suite: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, str(suite)],
        check=True,
        capture_output=True,
        cwd=suite,
    )
    return time.perf_counter() - start


def measure(rounds: int = 15) -> dict[str, float]:
    """Median wall time of both variants and the median of the per-round ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp)
        suite.joinpath("test_trivial.py").write_text(
            "".join(f"def test_{i}():\n    assert {i} == {i}\n" for i in range(20))
        )
        _run(suite)  # warm the file-system caches
        with_plugin: list[float] = []
        without: list[float] = []
        for index in range(rounds):
            # Alternate which side goes first, so drift in the machine hits both alike.
            if index % 2:
                without.append(_run(suite, "-p", "no:maia"))
                with_plugin.append(_run(suite))
            else:
                with_plugin.append(_run(suite))
                without.append(_run(suite, "-p", "no:maia"))
    plugin_s = statistics.median(with_plugin)
    bare_s = statistics.median(without)
    # Each round's two runs were back to back: the median of their ratios cancels drift.
    ratio = statistics.median(p / b for p, b in zip(with_plugin, without, strict=True))
    return {"with_plugin_s": plugin_s, "without_plugin_s": bare_s, "ratio": ratio}


def main() -> int:
    result = measure()
    print(
        f"pytest start-up: with plugin {result['with_plugin_s'] * 1000:.0f} ms, "
        f"-p no:maia {result['without_plugin_s'] * 1000:.0f} ms, "
        f"ratio {result['ratio']:.3f} (budget <= {BUDGET})"
    )
    return 0 if result["ratio"] <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
