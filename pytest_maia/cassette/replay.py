"""Scripting a fake from a cassette: the same answers, poll for poll, on the virtual clock.

No I/O besides reading the file. A recorded timeline is the sequence of answers the
test's reads (status and details GETs) got; the fake's per-poll lifecycle serves them
in the same order, one per read, the last one repeating. The replayed test runs the
same code with the same polling policy on the virtual clock, so its reads come at the
recorded times less the network's latency, and each gets the answer it got live:
unlike a time-based script, latency that piled up over a long live wait cannot shift
an answer onto another poll. The recorded times stay in the cassette (``show``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from pytest_maia.cassette.model import Cassette, Event, ExecutionTape, read
from pytest_maia.core.models import ErrorStep, ExecutionStatus, Step
from pytest_maia.core.steps import ExecutionStep


class Scriptable(Protocol):
    """What replay needs of a fake (:class:`~pytest_maia.fake.FakeMaia` has it)."""

    def add_execution(
        self,
        project_id: str,
        statuses: Iterable[Step],
        *,
        execution_id: str | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
    ) -> str: ...

    def script_pipeline(
        self,
        pipeline_name: str,
        statuses: Iterable[Step],
        *,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
        once: bool = False,
    ) -> None: ...

    def disable_pipeline(self, pipeline_name: str, disabled: bool = True) -> None: ...

    def fail_next(
        self,
        code: int | ErrorStep,
        *,
        times: int = 1,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None: ...


__all__ = [
    "children_of",
    "load_into",
    "load_start_ahead",
    "message_of",
    "script_of",
    "steps_of",
]


def _status(raw: str) -> ExecutionStatus:
    # A recorded status outside the spec is replayed verbatim, on purpose.
    status = ExecutionStatus(raw)
    return status if status.is_known else ExecutionStatus.unrecognised(raw)


def _step(event: Event) -> Step:
    if event.error is None:
        return _status(str(event.status))
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


def script_of(tape: ExecutionTape) -> list[Step]:
    """The per-poll steps replaying ``tape``: each read's answer, in order.

    Answers after a cancel request are left out: the fake plays its own cancel
    (CANCELLING, then CANCELLED). A tape never read replays its details' status.
    """
    steps: list[Step] = []
    for event in tape.timeline:
        if event.cancel is not None:
            break
        if _replayable(event):
            steps.append(_step(event))
    return steps or [_status(_details_status(tape) or "RUNNING")]


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


def steps_of(
    tape: ExecutionTape, tapes: Mapping[str, ExecutionTape] | None = None, *, depth: int = 0
) -> list[dict[str, object]] | None:
    """The recorded steps as the fake scripts them (``name``, ``status``, ``message``,
    ``child``).

    A step that started a child execution recorded in ``tapes`` (by id) scripts that
    child from its own tape: its answers, message and steps, so what was read of a
    child pipeline live (a failing step's message) is served again.
    """
    if tape.steps is None:
        return None
    scripted: list[dict[str, object]] = []
    for raw in tape.steps:
        step = ExecutionStep.from_json(raw)
        if step is None or not step.name:
            continue
        item: dict[str, object] = {"name": step.name, "status": _status(step.status.value)}
        if step.message is not None:
            item["message"] = step.message
        child = (tapes or {}).get((step.child_execution_id or "").lower())
        if child is not None and child is not tape and depth < MAX_CHILD_DEPTH:
            item["child"] = {
                "statuses": script_of(child),
                "message": message_of(child),
                "steps": steps_of(child, tapes, depth=depth + 1),
                "pipeline": child.pipeline or step.child_pipeline_name or step.name,
            }
        scripted.append(item)
    return scripted


# The fake scripts children at most 8 deep (fake._script.MAX_SCRIPT_DEPTH).
MAX_CHILD_DEPTH = 7


def children_of(cassette: Cassette) -> set[str]:
    """The ids of recorded executions that a recorded step started (child pipelines)."""
    ids = {tape.execution_id for tape in cassette.executions}
    found: set[str] = set()
    for tape in cassette.executions:
        for raw in tape.steps or []:
            step = ExecutionStep.from_json(raw)
            child = (step.child_execution_id or "").lower() if step is not None else ""
            if child in ids and child != tape.execution_id:
                found.add(child)
    return found


def load_into(
    fake: Scriptable, source: str | Path | Cassette, *, project_id: str | None = None
) -> Cassette:
    """Script ``fake`` from a cassette (a path or a loaded one); returns the cassette.

    Executions the test started are queued per pipeline, in order; executions it only
    looked at are added under their recorded id, in ``project_id`` (default: the
    recorded project); child executions are scripted with the step that started them.
    Runs started ahead (``start_ahead``) are left to :func:`load_start_ahead`. An
    execute request the API refused with 410 disables the pipeline.
    """
    cassette = source if isinstance(source, Cassette) else read(source)
    tapes = {tape.execution_id: tape for tape in cassette.executions}
    children = children_of(cassette)
    for tape in cassette.executions:
        if tape.execution_id in children or tape.start_ahead:
            continue
        steps = script_of(tape)
        if tape.started_at is not None and tape.pipeline:
            fake.script_pipeline(
                tape.pipeline,
                steps,
                message=message_of(tape),
                steps=steps_of(tape, tapes),
                once=True,
            )
        else:
            fake.add_execution(
                project_id or tape.project_id,
                steps,
                execution_id=tape.execution_id,
                message=message_of(tape),
                steps=steps_of(tape, tapes),
            )
    for error in cassette.errors:
        if error.get("code") == 410 and isinstance(error.get("pipeline"), str):
            fake.disable_pipeline(error["pipeline"])
    return cassette


def load_start_ahead(fake: Scriptable, cassette: Cassette, pipeline: str) -> bool:
    """Script ``fake``'s next execute request of ``pipeline`` as the cassette's
    start-ahead run of it went: the run's answers, or the errors its start met (a 410
    disables the pipeline). False when the cassette holds neither (it was not recorded)."""
    tapes = {tape.execution_id: tape for tape in cassette.executions}
    fake.disable_pipeline(pipeline, False)  # a session fake: another test's 410 is not ours
    refused = [
        error
        for error in cassette.errors
        if error.get("pipeline") == pipeline
        and str(error.get("endpoint", "")).startswith("POST ")
        and isinstance(error.get("code"), int)
    ]
    for error in refused:
        if error["code"] == 410:
            fake.disable_pipeline(pipeline)
        else:
            problem = error.get("problem") if isinstance(error.get("problem"), dict) else {}
            detail = problem.get("detail") if problem else None
            retry_after = error.get("retry_after")
            fake.fail_next(
                int(error["code"]),
                detail=detail if isinstance(detail, str) else None,
                retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else None,
            )
    for tape in cassette.executions:
        if tape.start_ahead and tape.pipeline == pipeline:
            fake.script_pipeline(
                pipeline,
                script_of(tape),
                message=message_of(tape),
                steps=steps_of(tape, tapes),
                once=True,
            )
            return True
    return bool(refused)
