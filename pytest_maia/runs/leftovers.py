"""Start-ahead runs left over at the end of a session, and the journal that finds them.

Every process notes each run it starts in a journal beside the shared state
(:func:`note_started`): if that state is damaged, :func:`journaled_leftovers` still finds every run
to cancel. :func:`shared_reader` opens the shared state for a process that starts nothing (the
xdist controller); :func:`cancel_leftover` cancels one leftover and says how it went. Knows nothing
of pytest: the plugin decides when, and where the lines go.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_maia.core.errors import MaiaError

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.runs.pipelines import RunSpec
    from pytest_maia.runs.startahead import Leftover, StartAhead

__all__ = [
    "JOURNAL",
    "NEVER_RAN",
    "cancel_leftover",
    "journaled_leftovers",
    "note_started",
    "shared_reader",
    "unknown_runs",
]

NEVER_RAN = "its test never ran"  # pytest_maia.runs.startahead's word for a leftover
JOURNAL = "maia-started.jsonl"  # every run a process started, for a damaged shared state


def note_started(directory: Path, key: str, spec: RunSpec, execution_id: str) -> None:
    """Note a run this process started, beside the shared state: if that file is
    damaged, the controller still finds every run to cancel."""
    line = json.dumps({"key": key, "pipeline": spec.pipeline, "id": execution_id})
    path = directory / JOURNAL
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def cancel_leftover(
    client: MaiaClient,
    left: Leftover,
    journaled: bool,
    queue: StartAhead,
    *,
    project_id: str,
    environment: str | None,
    target_of: Callable[[str], MaiaClient],
) -> str | None:
    """Cancel one leftover; the line that lists it (None: nothing to list).
    ``target_of`` picks the client that cancels a run with an execution id."""
    from pytest_maia.core.errors import ConflictError

    spec, execution_id = left.spec, left.execution_id
    if execution_id is None:
        outcome = "no execution id to cancel" + unknown_runs(
            client, spec, queue.known_ids(), project_id=project_id, environment=environment
        )
    else:
        target = target_of(execution_id)
        try:
            target.cancel_execution(project_id, execution_id)
            outcome = "cancel requested"
        except ConflictError:
            if journaled:
                return None  # its test saw it to the end
            outcome = "had already finished"
        except MaiaError as exc:
            outcome = f"could not cancel: {exc}"
    why = "" if left.why == NEVER_RAN else f"{left.why}, "
    return f"{execution_id or '(unknown)'} ({spec.pipeline}): {why}{outcome}"


def unknown_runs(
    client: MaiaClient,
    spec: RunSpec,
    known: set[str],
    *,
    project_id: str,
    environment: str | None,
) -> str:
    """For a run whose start request its worker never saw answered: the executions
    of its pipeline still going that the suite did not start knowingly. They are
    named, not cancelled: nothing says they are the suite's, not a colleague's."""
    try:
        found = client.list_executions(project_id, pipeline_name=spec.pipeline, limit=20)
    except MaiaError as exc:
        return f" (the API may have started it; listing {spec.pipeline!r} failed: {exc})"
    environment = spec.environment or environment
    going = [
        d.pipeline_execution_id
        for d in found
        if d.pipeline_execution_id
        and d.pipeline_execution_id not in known
        and not d.status.is_terminal
        and (environment is None or d.environment_name in (None, environment))
    ]
    if not going:
        return f" (the API may have started it: no run of {spec.pipeline!r} is going now)"
    return (
        f" (the API may have started it; runs of {spec.pipeline!r} going now that the "
        f"suite did not record, not cancelled: {', '.join(going)})"
    )


def journaled_leftovers(queue: StartAhead, directory: Path) -> list[Leftover]:
    """The shared state is damaged: every run a process noted starting (the journal
    beside it, and this process's own), each to cancel (a finished one says so)."""
    from pytest_maia.runs.pipelines import RunSpec
    from pytest_maia.runs.startahead import Leftover

    found: dict[str, Leftover] = {}
    why = "listed in the start-ahead journal (the shared state was damaged)"
    for key, execution_id in queue.started.items():
        found[execution_id] = Leftover(key, RunSpec("?"), execution_id, why)
    path = directory / JOURNAL
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            item = json.loads(line)
            left = Leftover(str(item["key"]), RunSpec(str(item["pipeline"])), item["id"], why)
        except (ValueError, KeyError, TypeError, MaiaError):
            continue  # a torn line: the others still count
        if isinstance(left.execution_id, str):
            found[left.execution_id] = left
    return list(found.values())


def shared_reader(directory: Path) -> StartAhead | None:
    """The shared state in ``directory``, for a process that starts and polls nothing
    (None: no process wrote any)."""
    from pytest_maia.client.waiting import WaitPolicy
    from pytest_maia.core.shared_state import FileState
    from pytest_maia.runs.startahead import StartAhead

    if not any((directory / name).exists() for name in ("maia-shared.json", JOURNAL)):
        return None

    def never(*_: Any) -> Any:
        raise AssertionError("the controller starts and polls nothing")

    from pytest_maia.core.clock import SystemClock

    return StartAhead(
        never,
        never,
        max_concurrent=0,
        clock=SystemClock(),
        policy=WaitPolicy(),
        state=FileState(directory),
    )
