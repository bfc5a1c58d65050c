"""A wait's one record (pytest_maia.report.timeline): through a test's properties into
the terminal summary table (pytest_maia.report.summary) and the JUnit view."""

from __future__ import annotations

from pytest_maia.report.summary import format_summary
from pytest_maia.report.timeline import (
    PROPERTY,
    Execution,
    executions_from_properties,
    junit_properties,
    to_property,
)


def record(
    execution_id: str,
    outcome: str,
    elapsed: float,
    polls: int,
    run_start: float | None = None,
    run_end: float | None = None,
) -> tuple[str, object]:
    execution = Execution(
        "", execution_id, outcome, 0.0, elapsed, polls, run_start=run_start, run_end=run_end
    )
    return (PROPERTY, to_property(execution))


def test_run_times_travel_in_the_record_and_show_in_the_summary() -> None:
    props = [
        record("id-1", "SUCCESS", 30.0, 4, run_start=100.0, run_end=130.0),
        record("id-2", "FAILED", 5.0, 2, run_start=110.0),
        record("id-3", "SUCCESS", 1.0, 1),
    ]
    rows = executions_from_properties("t::x", props)
    assert [(r.run_start, r.run_end) for r in rows] == [(100.0, 130.0), (110.0, None), (None, None)]
    assert {r.nodeid for r in rows} == {"t::x"}  # the report's test, not the record's
    lines = format_summary(rows)
    assert lines[0].split()[-2:] == ["start", "end"]
    assert lines[1].split()[-2:] == ["+0.0s", "+30.0s"]
    assert lines[2].split()[-2:] == ["+10.0s", "-"]
    assert "start" not in format_summary(rows[2:])[0]


def test_a_timeout_row_keeps_its_text_and_a_garbled_record_breaks_nothing() -> None:
    props = [record("id-4", "TIMEOUT (RUNNING)", 1800.0, 70), ("other", "x")]
    (row,) = executions_from_properties("t::y", props)
    assert (row.execution_id, row.outcome, row.elapsed, row.polls) == (
        "id-4",
        "TIMEOUT (RUNNING)",
        1800.0,
        70,
    )
    garbled = [
        (PROPERTY, str(props[0][1]).replace('"n":70', '"n":"?"')),
        (PROPERTY, "not json"),
        (PROPERTY, '{"id": 1}'),
        *props,
    ]
    assert [r.execution_id for r in executions_from_properties("t::y", garbled)] == ["id-4"]


def test_the_junit_view_is_derived_from_the_record() -> None:
    (name, value) = record("id-5", "FAILED", 125.9384, 8, run_start=12.0, run_end=137.9384)
    (execution,) = executions_from_properties("t::z", [(name, value)])
    assert junit_properties(execution) == [
        ("maia_execution_id", "id-5"),
        ("maia_started_s", 12.0),
        ("maia_ended_s", 137.938),
        ("maia_status", "FAILED"),
        ("maia_polls", 8),
        ("maia_elapsed_s", 125.938),
    ]
    bare = Execution("t", "id-6", "ERROR (HTTP 404)", 0.0, 0.0, 0)
    assert [n for n, _ in junit_properties(bare)] == [
        "maia_execution_id",
        "maia_status",
        "maia_polls",
        "maia_elapsed_s",
    ]
