"""Scripts of fake executions, checked: lifecycles of steps, error steps, scripted steps.

Pure Python, no HTTP and no state: what a user writes (``["RUNNING", "FAILED"]``,
``FakeMaia.error(503)``, ``steps=[{"name": ..., "status": ...}]``) becomes frozen values
here, or a :class:`~pytest_maia.core.errors.MaiaValidationError` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.models import ErrorStep, ExecutionStatus, Step
from pytest_maia.core.validation import check_status


def make_error_step(
    code: object, *, detail: object = None, retry_after: object = None
) -> ErrorStep:
    """A validated :class:`ErrorStep` answering with HTTP ``code`` (400..599)."""
    if code == 0 and not isinstance(code, bool):
        raise MaiaValidationError(
            "code 0 is not an HTTP status: script a dropped connection with "
            "FakeMaia.dropped_connection()"
        )
    return check_error_step(ErrorStep(code, detail, retry_after))  # type: ignore[arg-type]


DROP = ErrorStep(0)  # the one dropped connection: FakeMaia.dropped_connection()


def fault_step(
    code: int | ErrorStep, *, detail: object = None, retry_after: object = None
) -> ErrorStep:
    """The validated step ``FakeMaia.fail_next`` queues: an error step of HTTP ``code``,
    or ``code`` itself when it is a step (``detail``/``retry_after`` then replace its own)."""
    if isinstance(code, ErrorStep):
        step = (
            code
            if code == DROP
            else make_error_step(code.code, detail=code.detail, retry_after=code.retry_after)
        )
        if detail is not None or retry_after is not None:
            step = make_error_step(step.code, detail=detail, retry_after=retry_after)
        return step
    return make_error_step(code, detail=detail, retry_after=retry_after)


def check_error_step(step: ErrorStep, *, where: str = "error step") -> ErrorStep:
    """``step`` itself when its fields are valid, else MaiaValidationError naming the field."""
    code = step.code
    if isinstance(code, bool) or not isinstance(code, int) or not (code == 0 or 400 <= code <= 599):
        raise MaiaValidationError(
            f"{where}: code must be an HTTP error status 400..599 (FakeMaia.error(code)), "
            f"or FakeMaia.dropped_connection() for no response, got {code!r}"
        )
    if step.detail is not None and not isinstance(step.detail, str):
        raise MaiaValidationError(
            f"{where}: detail must be a string or None, got {type(step.detail).__name__}"
        )
    retry_after = step.retry_after
    if retry_after is not None and (
        isinstance(retry_after, bool)
        or not isinstance(retry_after, (int, float))
        or not math.isfinite(retry_after)
        or retry_after < 0
    ):
        raise MaiaValidationError(
            f"{where}: retry_after must be a finite number of seconds >= 0, got {retry_after!r}"
        )
    if code == 0 and (step.detail is not None or retry_after is not None):
        raise MaiaValidationError(
            f"{where}: a dropped connection (code 0) sends no response, so it takes "
            "no detail or retry_after"
        )
    return step


@dataclass(frozen=True)
class ScriptedStep:
    """One step of a lifecycle: a status, or an error answered instead of one."""

    status: ExecutionStatus | None
    error: ErrorStep | None


def status_step(status: ExecutionStatus) -> ScriptedStep:
    """The step that reports ``status``."""
    return ScriptedStep(status, None)


def _one_step(raw: object, index: int) -> ScriptedStep:
    where = f"statuses[{index}]"
    if isinstance(raw, ErrorStep):
        return ScriptedStep(None, check_error_step(raw, where=where))
    if isinstance(raw, ExecutionStatus):
        return status_step(raw)
    if isinstance(raw, str):
        # One of the eight exactly; ExecutionStatus.unrecognised(...) for any other.
        return status_step(check_status(raw, where))
    raise MaiaValidationError(
        f"{where}: a step must be an ExecutionStatus, a status string or "
        f"FakeMaia.error(...), got {type(raw).__name__} {raw!r}"
    )


def script(statuses: Step | Iterable[Step]) -> tuple[ScriptedStep, ...]:
    """The validated steps of a lifecycle; a single step is a one-step lifecycle."""
    if isinstance(statuses, (str, ErrorStep)):
        items: list[object] = [statuses]
    else:
        try:
            items = list(statuses)
        except TypeError:
            raise MaiaValidationError(
                f"statuses must be a step or a sequence of steps, got {type(statuses).__name__}"
            ) from None
    if not items:
        raise MaiaValidationError("statuses must hold at least one step, got none")
    return tuple(_one_step(raw, index) for index, raw in enumerate(items))


# The shortest step interval: one step per millisecond is faster than any test needs, and
# a subnormal interval such as 5e-324 would make a step count overflow.
MIN_EVERY = 0.001


def check_every(every: object) -> float | None:
    """``every`` as seconds per step, or None (one step per poll)."""
    if every is None:
        return None
    if isinstance(every, bool) or not isinstance(every, (int, float)):
        raise MaiaValidationError(
            f"every must be a number of seconds > 0 or None, got {type(every).__name__}"
        )
    if not math.isfinite(every) or every < MIN_EVERY:
        raise MaiaValidationError(
            f"every must be a finite number of seconds >= {MIN_EVERY:g}, got {every!r}"
        )
    return float(every)


# Nesting deeper than this in a script is a mistake (the API itself has no limit).
MAX_SCRIPT_DEPTH = 8


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


def _mapping(raw: object, where: str, keys: set[str], shape: str) -> Mapping[str, Any]:
    """``raw`` when it is a mapping with no key but ``keys``; else MaiaValidationError
    naming ``shape``, what a well-formed one looks like."""
    if not isinstance(raw, Mapping):
        raise MaiaValidationError(f"{where}: {shape}, got {type(raw).__name__}")
    unknown = set(raw) - keys
    if unknown:
        listed = ", ".join(sorted(map(str, unknown)))
        raise MaiaValidationError(f"{where}: unknown key(s) {listed} ({shape})")
    return raw


def _child(
    raw: object, default_status: ExecutionStatus, name: str, where: str, depth: int
) -> ChildScript:
    raw = _mapping(
        raw,
        where,
        {"statuses", "message", "steps", "pipeline"},
        "a child is a scripted execution, a mapping with 'statuses' and optional "
        "'message', 'steps', 'pipeline'",
    )
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
    raw = _mapping(
        raw,
        where,
        {"name", "status", "message", "child"},
        "a step is a mapping {'name', 'status', 'message'?, 'child'?}",
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
