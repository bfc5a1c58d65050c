"""Scripting a fake from a cassette: the same statuses at the same (virtual) times.

No I/O besides reading the file. The fake's lifecycle moves one step per ``every``
clock seconds; a recorded timeline is turned into such a script on a fine grid, where
each new status (or error) takes over just after the last poll that still saw the
previous one. A replayed client, polling on the virtual clock with the same policy as
the recorded one, polls at (or slightly before) the recorded times, so it sees the same
sequence; live network latency makes the difference at most one poll.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_maia.cassette.model import Cassette, Event, ExecutionTape, read
from pytest_maia.models import ErrorStep, Step

if TYPE_CHECKING:
    from pytest_maia.fake import FakeMaia

__all__ = ["MAX_STEPS", "SWITCH_FRACTION", "load_into", "message_of", "script_of"]

# Where between two polls a change is placed: this fraction of the gap after the first.
SWITCH_FRACTION = 0.1
# Longest derived script; a longer timeline gets a coarser grid.
MAX_STEPS = 20_000
_MIN_GRID = 0.001


def _key(event: Event) -> object:
    if event.error is not None:
        return ("error", event.error.code, event.error.retry_after)
    return ("status", event.status)


def _step(event: Event) -> Step:
    if event.error is None:
        return str(event.status)
    problem = event.error.problem or {}
    detail = problem.get("detail")
    retry_after = event.error.retry_after
    return ErrorStep(
        event.error.code,
        detail if isinstance(detail, str) else None,
        retry_after if retry_after is None else max(0.0, float(retry_after)),
    )


def _replayable(event: Event) -> bool:
    if event.error is not None:
        return 400 <= event.error.code <= 599 and event.error.code != 401
    return event.status is not None


def script_of(tape: ExecutionTape) -> tuple[list[Step], float]:
    """The steps and ``every`` seconds replaying ``tape``'s timeline, from its start.

    Events after a cancel request are left out: the fake plays its own cancel.
    """
    base = tape.started_at or 0.0
    events: list[Event] = []
    for event in tape.timeline:
        if event.cancel is not None:
            break
        if _replayable(event):
            events.append(event)
    if not events:
        status = _details_status(tape) or "RUNNING"
        return [status], 1.0
    switches: list[tuple[float, Step]] = [(0.0, _step(events[0]))]
    gaps: list[float] = []
    for before, after in itertools.pairwise(events):
        if _key(before) == _key(after):
            continue
        gap = max(0.0, after.at - before.at)
        gaps.append(gap)
        switches.append((max(0.0, before.at - base) + SWITCH_FRACTION * gap, _step(after)))
    if len(switches) == 1:
        return [switches[0][1]], 1.0
    last = switches[-1][0]
    grid = max(min(gaps) * SWITCH_FRACTION / 2, last / MAX_STEPS, _MIN_GRID)
    cells: list[Step] = []
    for when, step in switches:
        cell = max(0, math.ceil(when / grid - 1e-9))
        if cells:
            cells.extend([cells[-1]] * (cell - len(cells)))
            if cell < len(cells):  # two changes in one cell: the later one wins
                cells[cell:] = []
        cells.append(step)
    return cells, grid


def _details_status(tape: ExecutionTape) -> str | None:
    details = tape.details or {}
    result = details.get("result")
    status = details.get("status")
    if status is None and isinstance(result, dict):
        status = result.get("status")
    return status if isinstance(status, str) else None


def message_of(tape: ExecutionTape) -> str | None:
    """The execution's message in its recorded details (flat or nested)."""
    details: dict[str, Any] = tape.details or {}
    message = details.get("message")
    result = details.get("result")
    if message is None and isinstance(result, dict):
        message = result.get("message")
    return message if isinstance(message, str) else None


def steps_of(tape: ExecutionTape) -> Sequence[object] | None:
    """The recorded step objects (``related-endpoints.md`` shape), for ``steps=``
    scripting once the fake serves steps (issue 11); not replayed until then."""
    return tape.steps


def load_into(
    fake: FakeMaia, source: str | Path | Cassette, *, project_id: str | None = None
) -> Cassette:
    """Script ``fake`` from a cassette (a path or a loaded one); returns the cassette.

    Executions the test started are queued per pipeline, in order; executions it only
    looked at are added under their recorded id, in ``project_id`` (default: the
    recorded project). An execute request the API refused with 410 disables the pipeline.
    """
    cassette = source if isinstance(source, Cassette) else read(source)
    for tape in cassette.executions:
        steps, every = script_of(tape)
        if tape.started_at is not None and tape.pipeline:
            fake.queue_pipeline(tape.pipeline, steps, every=every, message=message_of(tape))
        else:
            fake.add_execution(
                project_id or tape.project_id, steps, execution_id=tape.execution_id, every=every
            )
    for error in cassette.errors:
        if error.get("code") == 410 and isinstance(error.get("pipeline"), str):
            fake.disable_pipeline(error["pipeline"])
    return cassette
