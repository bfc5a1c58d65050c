"""Report data: waits recorded as test properties, and the terminal summary table.

Waits travel as ``user_properties`` (``maia_execution_id``, ``maia_status``,
``maia_polls``, ``maia_elapsed_s``, and for pipeline runs ``maia_started_s`` and
``maia_ended_s``: clock seconds when the run started and when its end was seen), so
JUnit XML gets them and xdist carries them from workers to the controller inside the
reports. On the live backend the clock is the machine's monotonic clock, the same in
every xdist worker, so the runs' times line up; under the fake each test has its own
virtual clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_maia.core.text import api_text, safe
from pytest_maia.report.svg import cut

if TYPE_CHECKING:
    from pytest_maia.core.models import WaitResult

__all__ = ["PROPERTY_NAMES", "WaitRow", "format_summary", "rows_from_properties", "to_properties"]

PROPERTY_NAMES = ("maia_execution_id", "maia_status", "maia_polls", "maia_elapsed_s")
TIME_NAMES = ("maia_started_s", "maia_ended_s")


@dataclass(frozen=True)
class WaitRow:
    """One execution waited on, for the summary."""

    nodeid: str
    execution_id: str
    status: str
    elapsed: float
    polls: int
    started: float | None = None
    ended: float | None = None


def to_properties(
    result: WaitResult, status: str, *, started: float | None = None, ended: float | None = None
) -> list[tuple[str, object]]:
    """A finished wait as user_properties; ``status`` is its summary cell (the status,
    or ``TIMEOUT (...)``/``ERROR (...)``), ``started``/``ended`` a pipeline run's times."""
    times = [
        (name, round(value, 3))
        for name, value in zip(TIME_NAMES, (started, ended), strict=True)
        if value is not None
    ]
    return [
        ("maia_execution_id", result.execution_id),
        *times,
        ("maia_status", status),
        ("maia_polls", result.polls),
        ("maia_elapsed_s", round(result.elapsed, 3)),
    ]


def _seconds(value: object) -> float | None:
    try:
        return None if value is None else float(str(value))
    except ValueError:
        return None


def rows_from_properties(nodeid: str, properties: Iterable[tuple[str, object]]) -> list[WaitRow]:
    """The waits recorded in a report's user_properties, in order."""
    rows: list[WaitRow] = []
    current: dict[str, object] = {}
    for name, value in properties:
        if name not in PROPERTY_NAMES and name not in TIME_NAMES:
            continue
        if name == "maia_execution_id" and current:
            current = {}
        current[name] = value
        if all(key in current for key in PROPERTY_NAMES):
            try:
                elapsed = float(str(current["maia_elapsed_s"]))
                polls = int(str(current["maia_polls"]))
            except ValueError:
                elapsed, polls = 0.0, 0
            rows.append(
                WaitRow(
                    nodeid,
                    str(current["maia_execution_id"]),
                    str(current["maia_status"]),
                    elapsed,
                    polls,
                    _seconds(current.get("maia_started_s")),
                    _seconds(current.get("maia_ended_s")),
                )
            )
            current = {}
    return rows


def format_summary(
    rows: list[WaitRow],
    *,
    virtual: bool = False,
    width: int | None = None,
    pipelines: Mapping[str, str] | None = None,
) -> list[str]:
    """The summary table's lines: test, pipeline, execution id, final status, elapsed,
    polls, and when runs carry times, their start and end relative to the earliest start.

    ``virtual``: the waits ran on the fake's virtual clock, and the table says so.
    ``width``: the terminal's columns; no line is longer. To fit, the execution ids are
    cut to their first 8 characters (like a short git hash), the pipeline names and
    then the test ids are cut (a test id keeps its end, the test's name), and on a
    narrow terminal the start and end columns go. ``pipelines``: each execution id's
    pipeline name.
    """
    names = pipelines or {}
    elapsed = "elapsed (virtual)" if virtual else "elapsed"
    headers: list[str] = ["test", "pipeline", "execution id", "status", elapsed, "polls"]
    # Ids, names and statuses may come from the API: escaped, so no cell moves the cursor.
    table: list[list[str]] = [
        [
            safe(r.nodeid),
            safe(names.get(r.execution_id, "-")),
            safe(r.execution_id),
            api_text(r.status, 100),
            f"{r.elapsed:.1f}s",
            str(r.polls),
        ]
        for r in rows
    ]
    starts = [r.started for r in rows if r.started is not None]
    if starts:
        zero = min(starts)

        def at(value: float | None) -> str:
            return "-" if value is None else f"+{value - zero:.1f}s"

        headers += ["start", "end"]
        table = [[*cells, at(r.started), at(r.ended)] for cells, r in zip(table, rows, strict=True)]
    footer: list[str] = []

    def total() -> int:
        widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
        return sum(widths) + 2 * (len(widths) - 1)

    def shrink(column: int, limit: int, *, keep_end: bool = False) -> None:
        for row in table:
            text = row[column]
            row[column] = _cut_start(text, limit) if keep_end else cut(text, limit)

    if width is not None and total() > width:
        headers[2] = "execution"
        for row in table:
            row[2] = row[2][:8]  # enough to find it, like a short git hash
        if virtual:
            headers[4] = "elapsed"
            note = "elapsed (virtual): seconds on each test's fake clock, not the wall clock"
            footer = [cut(note, width)]
        all_headers, original = headers, [row[:] for row in table]
        for pipeline_limit, test_limit, drop in ((16, 24, False), (12, 20, True), (10, 12, True)):
            # Each try starts again from the whole cells: only its own cuts apply.
            headers = all_headers[:6] if drop else all_headers
            table = [row[: len(headers)] for row in original]
            shrink(1, pipeline_limit)
            others = total() - max(len(headers[0]), *(len(row[0]) for row in table))
            shrink(0, max(width - others, test_limit), keep_end=True)
            if total() <= width:
                break
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        text = "  ".join(
            cell.rjust(w) if i >= 4 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()
        return text if width is None else text[:width]

    return [line(headers), *(line(row) for row in table), *footer]


def _cut_start(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters keeping its end (a test id's name), cut
    after a ``/`` or ``::`` when one is near."""
    if len(text) <= limit:
        return text
    tail = text[len(text) - limit + 1 :]
    for mark in ("/", "::"):
        index = tail.find(mark)
        if 0 <= index < len(tail) // 2:
            tail = tail[index + len(mark) :]
            break
    return "\u2026" + tail
