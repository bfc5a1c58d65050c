"""Report data (pytest_maia.plugin.wait_records): waits as test properties, the summary table."""

from __future__ import annotations

from pytest_maia import ExecutionStatus, WaitResult
from pytest_maia.plugin.wait_records import format_summary, rows_from_properties, to_properties


def test_run_times_travel_in_the_properties_and_show_in_the_summary() -> None:
    def waited(execution_id: str, elapsed: float, polls: int) -> WaitResult:
        return WaitResult(execution_id, ExecutionStatus.RUNNING, elapsed=elapsed, polls=polls)

    props = [
        *to_properties(waited("id-1", 30.0, 4), "SUCCESS", started=100.0, ended=130.0),
        *to_properties(waited("id-2", 5.0, 2), "FAILED", started=110.0, ended=None),
        *to_properties(waited("id-3", 1.0, 1), "SUCCESS"),
    ]
    rows = rows_from_properties("t::x", props)
    assert [(r.started, r.ended) for r in rows] == [(100.0, 130.0), (110.0, None), (None, None)]
    lines = format_summary(rows)
    assert lines[0].split()[-2:] == ["start", "end"]
    assert lines[1].split()[-2:] == ["+0.0s", "+30.0s"]
    assert lines[2].split()[-2:] == ["+10.0s", "-"]
    assert "start" not in format_summary(rows[2:])[0]


def test_a_timeout_or_an_error_row_keeps_its_text_and_bad_numbers_do_not_break_it() -> None:
    timed_out = WaitResult("id-4", ExecutionStatus.RUNNING, elapsed=1800.0, polls=70)
    props = [*to_properties(timed_out, "TIMEOUT (RUNNING)"), ("other", "x")]
    (row,) = rows_from_properties("t::y", props)
    assert (row.execution_id, row.status, row.elapsed, row.polls) == (
        "id-4",
        "TIMEOUT (RUNNING)",
        1800.0,
        70,
    )
    garbled = [(n, "?" if n in ("maia_polls", "maia_elapsed_s") else v) for n, v in props]
    (row,) = rows_from_properties("t::y", garbled)
    assert (row.elapsed, row.polls) == (0.0, 0)
