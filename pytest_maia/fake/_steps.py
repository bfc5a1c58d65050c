"""Scripted steps of fake executions, and the ``/steps`` endpoint with its page envelope.

No I/O. A script's ``steps`` is a list of ``{"name", "status", "message"?, "child"?}``;
``child`` is itself a scripted execution (``statuses``, ``message``, ``steps``,
``pipeline``), registered in the same project when its parent is. A child has finished
by the time its parent has: when the parent's steps are read, each child settles on its
last scripted status.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from pytest_maia.errors import MaiaValidationError
from pytest_maia.fake._http import JSON_HEADERS, Request, Response, problem
from pytest_maia.fake._lifecycle import Execution, ScriptedStep, script
from pytest_maia.models import ExecutionStatus
from pytest_maia.validation import check_status

if TYPE_CHECKING:
    from pytest_maia.fake.backend import FakeBackend

__all__ = [
    "ChildScript",
    "StepScript",
    "check_message",
    "parse_steps",
    "spawn_children",
    "steps",
]

# Nesting deeper than this in a script is a mistake (the API itself has no limit).
MAX_SCRIPT_DEPTH = 8
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class ChildScript:
    """The execution a step starts: its lifecycle, message, steps and pipeline name."""

    statuses: tuple[ScriptedStep, ...]
    message: str | None
    steps: tuple[StepScript, ...] | None
    pipeline_name: str


@dataclass(frozen=True)
class StepScript:
    """One scripted step: a component's name, final status, message, child execution."""

    name: str
    status: ExecutionStatus
    message: str | None = None
    child: ChildScript | None = None


def check_message(message: object, where: str = "message") -> str | None:
    """``message`` when it is a string or None, else MaiaValidationError."""
    if message is not None and not isinstance(message, str):
        raise MaiaValidationError(f"{where} must be a string or None, got {type(message).__name__}")
    return message


def _child(
    raw: object, default_status: ExecutionStatus, name: str, where: str, depth: int
) -> ChildScript:
    if not isinstance(raw, Mapping):
        raise MaiaValidationError(
            f"{where}: a child is a scripted execution, a mapping with 'statuses' and "
            f"optional 'message', 'steps', 'pipeline', got {type(raw).__name__}"
        )
    unknown = set(raw) - {"statuses", "message", "steps", "pipeline"}
    if unknown:
        raise MaiaValidationError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    pipeline = raw.get("pipeline", name)
    if not isinstance(pipeline, str) or not pipeline:
        raise MaiaValidationError(f"{where}.pipeline must be a non-empty string")
    statuses = raw.get("statuses", [default_status])
    return ChildScript(
        script(statuses),
        check_message(raw.get("message"), f"{where}.message"),
        _steps(raw.get("steps"), f"{where}.steps", depth + 1),
        pipeline,
    )


def _step(raw: object, where: str, depth: int) -> StepScript:
    if not isinstance(raw, Mapping):
        raise MaiaValidationError(
            f"{where}: a step is a mapping {{'name', 'status', 'message'?, 'child'?}}, "
            f"got {type(raw).__name__}"
        )
    unknown = set(raw) - {"name", "status", "message", "child"}
    if unknown:
        raise MaiaValidationError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
            "(a step has 'name', 'status', 'message' and 'child')"
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise MaiaValidationError(f"{where}.name must be a non-empty string")
    if "status" not in raw:
        raise MaiaValidationError(f"{where}: a step needs a 'status'")
    status = check_status(raw["status"], f"{where}.status")
    child = raw.get("child")
    return StepScript(
        name,
        status,
        check_message(raw.get("message"), f"{where}.message"),
        None if child is None else _child(child, status, name, f"{where}.child", depth),
    )


def _steps(raw: object, where: str, depth: int) -> tuple[StepScript, ...] | None:
    if raw is None:
        return None
    if depth > MAX_SCRIPT_DEPTH:
        raise MaiaValidationError(f"{where}: children nest more than {MAX_SCRIPT_DEPTH} deep")
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
        raise MaiaValidationError(f"{where} must be a list of steps, got {type(raw).__name__}")
    return tuple(_step(item, f"{where}[{i}]", depth) for i, item in enumerate(raw))


def parse_steps(raw: object, where: str = "steps") -> tuple[StepScript, ...] | None:
    """The validated scripted steps, or None (one step named after the pipeline)."""
    return _steps(raw, where, 0)


def spawn_children(
    backend: FakeBackend, execution: Execution, plan: tuple[StepScript, ...] | None, now: float
) -> None:
    """Register the child executions of ``plan`` (recursively) and attach the plan to
    ``execution``; the caller holds the backend's lock."""
    if plan is None:
        execution.step_plan = None
        return
    attached: list[tuple[StepScript, Execution | None]] = []
    for step in plan:
        child_execution = None
        if step.child is not None:
            child = step.child
            child_execution = Execution(
                execution.project_id,
                str(uuid.uuid4()),
                child.statuses,
                None,
                now,
                name=child.pipeline_name,
                message=child.message,
            )
            backend.register(child_execution)
            spawn_children(backend, child_execution, child.steps, now)
        attached.append((step, child_execution))
    execution.step_plan = tuple(attached)


# -- the endpoint ----------------------------------------------------------------------


def _times(started: float, finished: float | None) -> dict[str, object]:
    from pytest_maia.fake._pipelines import timestamp

    out: dict[str, object] = {"startedAt": timestamp(started)}
    if finished is not None:
        out["finishedAt"] = timestamp(finished)
    return out


def step_items(execution: Execution, pipeline_name: str, now: float) -> list[dict[str, object]]:
    """The steps of ``execution`` as the API lists them: none until it has finished."""
    status = execution.current(now)
    if not status.is_terminal:
        return []
    finished = execution.finished if execution.finished is not None else now
    if execution.step_plan is None:
        result = {"status": status.value, **_times(execution.started, finished)}
        if execution.message is not None:
            result["message"] = execution.message
        return [{"id": "1", "name": pipeline_name, "type": "ORCHESTRATION", "result": result}]
    items: list[dict[str, object]] = []
    for index, (step, child) in enumerate(execution.step_plan, start=1):
        result = {"status": step.status.value, **_times(execution.started, finished)}
        if step.message is not None:
            result["message"] = step.message
        item: dict[str, object] = {
            "id": str(index),
            "name": step.name,
            "type": "RUN_ORCHESTRATION" if child is not None else "COMPONENT",
            "result": result,
        }
        if child is not None:
            child.settle(now)
            item["childPipeline"] = {"id": child.execution_id, "name": child.name}
        items.append(item)
    return items


_NUMBER = re.compile(r"\d{1,9}\Z")


def _page_args(request: Request) -> tuple[int, int] | Response:
    query = parse_qs(request.query, keep_blank_values=True)
    values = []
    for name, default, low, high in (
        ("page", 0, 0, 10**9),
        ("size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    ):
        raw = query.get(name, [str(default)])[-1]
        if not _NUMBER.match(raw) or not low <= int(raw) <= high:
            return problem(
                400,
                request.path,
                "Wrong request parameters used",
                violations=(f"{name}: must be an integer from {low} to {high}",),
            )
        values.append(int(raw))
    return values[0], values[1]


def steps(backend: FakeBackend, request: Request, match: re.Match[str], now: float) -> Response:
    """GET .../pipeline-executions/{id}/steps: one page of the steps (page envelope)."""
    from pytest_maia.fake._pipelines import find_execution, pipeline_name_of

    args = _page_args(request)
    if isinstance(args, Response):
        return args
    found = find_execution(backend, request, match)
    if isinstance(found, Response):
        return found
    page, size = args
    items = step_items(found, pipeline_name_of(found), now)
    body = {
        "page": page,
        "results": items[page * size : (page + 1) * size],
        "size": size,
        "total": len(items),
    }
    return Response(200, JSON_HEADERS, json.dumps(body, separators=(",", ":")).encode())
