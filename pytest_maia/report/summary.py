"""The terminal summary table: one line per wait, read from the waits' records.

Plain Python (no pytest): the plugin gives it the session's :class:`Execution` records,
the same ones the HTML, JSON and GitHub reports read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_maia.core.text import api_text, safe
from pytest_maia.report.svg import cut

if TYPE_CHECKING:
    from pytest_maia.report.timeline import Execution

__all__ = ["format_summary"]


def format_summary(
    rows: Sequence[Execution], *, virtual: bool = False, width: int | None = None
) -> list[str]:
    """The summary table's lines, one per wait: test, pipeline, execution id, the
    summary cell (final status, or ``TIMEOUT (...)``/``ERROR (...)``), elapsed, polls,
    and when runs carry times, their start and end relative to the earliest start.

    ``virtual``: the waits ran on the fake's virtual clock, and the table says so.
    ``width``: the terminal's columns; no line is longer. To fit, the execution ids are
    cut to their first 8 characters (like a short git hash), the pipeline names and
    then the test ids are cut (a test id keeps its end, the test's name), and on a
    narrow terminal the start and end columns go.
    """
    elapsed = "elapsed (virtual)" if virtual else "elapsed"
    headers: list[str] = ["test", "pipeline", "execution id", "status", elapsed, "polls"]
    # Ids, names and statuses may come from the API: escaped, so no cell moves the cursor.
    table: list[list[str]] = [
        [
            safe(r.nodeid),
            safe(r.pipeline or "-"),
            safe(r.execution_id),
            api_text(r.outcome, 100),
            f"{r.elapsed:.1f}s",
            str(r.polls),
        ]
        for r in rows
    ]
    starts = [r.run_start for r in rows if r.run_start is not None]
    if starts:
        zero = min(starts)

        def at(value: float | None) -> str:
            return "-" if value is None else f"+{value - zero:.1f}s"

        headers += ["start", "end"]
        table = [
            [*cells, at(r.run_start), at(r.run_end)] for cells, r in zip(table, rows, strict=True)
        ]
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
