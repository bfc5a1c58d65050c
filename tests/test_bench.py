"""bench/run.py: every benchmark runs once in quick mode and reports well-formed rows.

Timing ratios are not asserted here (CI machines are too noisy for that); the polling
economy is, because it is counted on the virtual clock and so is exact.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"


def load_run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_run", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = load_run()


@pytest.mark.e2e
@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", sorted(bench.BENCHMARKS))
def test_each_benchmark_reports_finite_positive_rows(name: str) -> None:
    rows, notes = bench.run([name], quick=True)
    if name in bench.OPTIONAL and notes:
        assert rows == []
        assert notes[0].startswith(f"{name}: left out")
        return
    assert notes == []
    assert rows
    for row in rows:
        assert isinstance(row, bench.Row)
        assert row.name and row.shown
        assert math.isfinite(row.measured) and row.measured > 0, row
        assert row.ok in (True, False, None)
        if row.budget is not None:
            assert row.budget > 0
            assert row.op in ("<=", ">=")


def test_the_default_waiter_keeps_its_polling_budget() -> None:
    rows = bench.bench_polling(quick=True)
    assert [r.ok for r in rows if r.budget is not None] == [True, True]
    counts = {r.name: r.measured for r in rows if r.budget is None}
    one_minute, ten_minutes, one_hour = counts.values()
    assert one_minute < ten_minutes < one_hour
    # About 2 polls a minute once backed off: 1 h is 120 polls plus the first minute's.
    assert 120 <= one_hour <= 130


def test_polling_economy_sees_the_end_within_max_interval() -> None:
    economy = bench.polling_economy(600.0, phases=10)
    assert economy.polls <= economy.worst_polls
    assert economy.max_per_minute == 2
    assert 0 < economy.worst_delay <= bench.DEFAULT_MAX_INTERVAL


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([0, 5, 12.5, 23.75], 0),  # nothing after the first minute
        ([60, 90, 120, 150], 2),
        ([61, 70, 80, 200], 3),
        ([65.9, 95.9, 125.9], 2),
    ],
)
def test_polls_in_worst_minute(times: list[float], expected: int) -> None:
    assert bench.polls_in_worst_minute(times) == expected


def test_row_verdicts() -> None:
    assert bench.Row("a", 1.2, "1.2", 1.3).ok is True
    assert bench.Row("a", 1.4, "1.4", 1.3).ok is False
    assert bench.Row("a", 0.9, "0.9", 1.0, ">=").ok is False
    assert bench.Row("a", 1.1, "1.1", 1.0, ">=").ok_text == "ok"
    assert bench.Row("a", 5.0, "5").ok_text == "info"


def test_table_and_docs_update(tmp_path: Path) -> None:
    rows = [bench.Row("first", 1.0, "1.00x", 1.3), bench.Row("second", 2.0, "2", 1.0)]
    text = bench.table(rows)
    lines = text.splitlines()
    assert lines[0].startswith("| benchmark") and "ok?" in lines[0]
    assert len(lines) == 2 + len(rows)
    assert "| ok " in lines[2] and "| OVER " in lines[3]
    page = tmp_path / "performance.md"
    page.write_text(f"# P\n\n{bench.TABLE_START}\nold\n{bench.TABLE_END}\n\ntail\n")
    bench.update_docs(text, page)
    updated = page.read_text()
    assert "old" not in updated and text in updated and updated.endswith("tail\n")


def test_docs_page_has_the_table_markers() -> None:
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert bench.TABLE_START in page and bench.TABLE_END in page
    assert "python bench/run.py" in page


def test_main_prints_one_table_and_exits_0_within_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert bench.main(["--quick", "--only", "polling"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| benchmark")
    assert out.count("| polls") >= 3
    assert "quick run" in out


def test_the_step_budget_script_judges_each_step_against_its_budget() -> None:
    spec = importlib.util.spec_from_file_location("ci_steps", ROOT / "bench" / "ci_steps.py")
    assert spec is not None and spec.loader is not None
    steps = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ci_steps", steps)  # dataclasses look their module up
    spec.loader.exec_module(steps)
    assert (steps.verdict(24.9, 25.0), steps.verdict(25.1, 25.0)) == ("ok", "OVER")
    assert steps.verdict(1e6, None) == "info"
    (main,) = [s for s in steps.STEPS if s.name == "main"]
    assert (main.cpu_budget, main.wall_budget) == (25.0, 20.0)
    # The main step is what .ci/run runs: the same markers.
    assert main.command[-1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
