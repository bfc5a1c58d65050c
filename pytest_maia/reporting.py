"""Report data: waits recorded as test properties, and the terminal summary table.

Waits travel as ``user_properties`` (``maia_execution_id``, ``maia_status``,
``maia_polls``, ``maia_elapsed_s``), so JUnit XML gets them and xdist carries them
from workers to the controller inside the reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PROPERTY_NAMES", "WaitRow", "format_summary", "rows_from_properties", "to_properties"]

PROPERTY_NAMES = ("maia_execution_id", "maia_status", "maia_polls", "maia_elapsed_s")


@dataclass(frozen=True)
class WaitRow:
    """One execution waited on, for the summary."""

    nodeid: str
    execution_id: str
    status: str
    elapsed: float
    polls: int


def to_properties(
    execution_id: str, status: str, elapsed: float, polls: int
) -> list[tuple[str, object]]:
    return [
        ("maia_execution_id", execution_id),
        ("maia_status", status),
        ("maia_polls", polls),
        ("maia_elapsed_s", round(elapsed, 3)),
    ]


def rows_from_properties(nodeid: str, properties: Iterable[tuple[str, object]]) -> list[WaitRow]:
    """The waits recorded in a report's user_properties, in order."""
    rows: list[WaitRow] = []
    current: dict[str, object] = {}
    for name, value in properties:
        if name not in PROPERTY_NAMES:
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
                )
            )
            current = {}
    return rows


def format_summary(rows: list[WaitRow], *, virtual: bool = False) -> list[str]:
    """The summary table's lines: test, execution id, final status, elapsed, polls.

    ``virtual``: the waits ran on the fake's virtual clock, and the header says so.
    """
    elapsed = "elapsed (virtual)" if virtual else "elapsed"
    headers = ("test", "execution id", "status", elapsed, "polls")
    table = [(r.nodeid, r.execution_id, r.status, f"{r.elapsed:.1f}s", str(r.polls)) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if i >= 3 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), *(line(row) for row in table)]
