"""Constants and option checks shared by the strategies."""

from __future__ import annotations

from typing import Literal, get_args

from hypothesis.errors import InvalidArgument

from pytest_maia.core.models import ExecutionStatus

#: The error codes the spec documents for the status endpoint, plus 429 (rate limit).
DOCUMENTED_ERROR_CODES: tuple[int, ...] = (400, 401, 403, 404, 429, 500, 504)
#: Errors a waiter should ride out; 0 is a dropped connection (no response at all).
TRANSIENT_ERROR_CODES: tuple[int, ...] = (429, 500, 502, 503, 504, 0)

InvalidReason = Literal[
    "not-object", "missing-status", "status-not-string", "unknown-status", "not-json"
]
#: Every kind of invalid 200 body, simplest first (see :class:`InvalidPayload`).
INVALID_REASONS: tuple[InvalidReason, ...] = get_args(InvalidReason)

_INT32 = (-(2**31), 2**31 - 1)
_KNOWN = tuple(ExecutionStatus)  # spec order: RUNNING first, SUCCESS first of the terminal
_EXTRA_KEYS = ("pipelineExecutionId", "message", "startedAt", "finishedAt", "trigger")
_NOVEL_STATUSES = ("PAUSED", "QUEUED", "PENDING", "TIMED_OUT", "running", "Success")


def _bool_option(name: str, value: object, *, optional: bool = True) -> None:
    if not isinstance(value, bool) and not (optional and value is None):
        allowed = "None, True or False" if optional else "True or False"
        raise InvalidArgument(f"{name} must be {allowed}, got {value!r}")


def _known_status(name: str, value: object) -> ExecutionStatus:
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be an ExecutionStatus, got {value!r}")
    status = ExecutionStatus(value)
    if not status.is_known:
        raise InvalidArgument(f"{name}={value!r} is not one of the spec's statuses")
    return status
