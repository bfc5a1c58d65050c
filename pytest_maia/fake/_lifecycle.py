"""Scripted lifecycles of fake executions: step validation and step selection.

Pure Python, no I/O: the backend asks an :class:`Execution` which step answers a poll
at a given clock time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_maia.errors import MaiaValidationError
from pytest_maia.models import ErrorStep, ExecutionStatus, Step
from pytest_maia.validation import check_status

if TYPE_CHECKING:
    from pytest_maia.fake._pipelines import RunInfo
    from pytest_maia.fake._steps import StepScript

__all__ = ["Execution", "ScriptedStep", "check_error_step", "make_error_step", "script"]

# Added to a step index computed from float time so that 0.3 / 0.1 lands on step 3, not 2.
_EPSILON = 1e-9


def make_error_step(
    code: object, *, detail: object = None, retry_after: object = None
) -> ErrorStep:
    """A validated :class:`ErrorStep`: code 0 (dropped connection) or 400..599."""
    return check_error_step(ErrorStep(code, detail, retry_after))  # type: ignore[arg-type]


def check_error_step(step: ErrorStep, *, where: str = "error step") -> ErrorStep:
    """``step`` itself when its fields are valid, else MaiaValidationError naming the field."""
    code = step.code
    if isinstance(code, bool) or not isinstance(code, int) or not (code == 0 or 400 <= code <= 599):
        raise MaiaValidationError(
            f"{where}: code must be an HTTP error status 400..599, or 0 for a dropped "
            f"connection, got {code!r}"
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
    """One step, ready to serve: a status with its encoded body, or an error."""

    status: ExecutionStatus | None
    body: bytes
    error: ErrorStep | None


def _status_step(status: ExecutionStatus) -> ScriptedStep:
    # Encoded once here so that a poll costs no JSON encoding.
    body = json.dumps({"status": status.value}, separators=(",", ":")).encode()
    return ScriptedStep(status, body, None)


def _one_step(raw: object, index: int) -> ScriptedStep:
    where = f"statuses[{index}]"
    if isinstance(raw, ErrorStep):
        return ScriptedStep(None, b"", check_error_step(raw, where=where))
    if isinstance(raw, ExecutionStatus):
        return _status_step(raw)
    if isinstance(raw, str):
        # One of the eight exactly; ExecutionStatus.unrecognised(...) for any other.
        return _status_step(check_status(raw, where))
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


def check_every(every: object) -> float | None:
    """``every`` as seconds per step, or None (one step per poll)."""
    if every is None:
        return None
    if isinstance(every, bool) or not isinstance(every, (int, float)):
        raise MaiaValidationError(
            f"every must be a number of seconds > 0 or None, got {type(every).__name__}"
        )
    if not math.isfinite(every) or every <= 0:
        raise MaiaValidationError(f"every must be a finite number of seconds > 0, got {every!r}")
    return float(every)


_CANCEL_STEPS = (ExecutionStatus.CANCELLING, ExecutionStatus.CANCELLED)


class Execution:
    """A scripted execution: which step answers the next poll. Not thread-safe alone.

    ``status`` is the status seen last (the first scripted one before any poll), and
    ``finished`` the clock time it became terminal; ``info`` is what the execute
    request said (None for :meth:`FakeBackend.add_execution` scripts).
    """

    __slots__ = (
        "_last",
        "_served",
        "cancel_force",
        "every",
        "execution_id",
        "finished",
        "info",
        "message",
        "name",
        "project_id",
        "started",
        "status",
        "step_plan",
        "steps",
    )

    def __init__(
        self,
        project_id: str,
        execution_id: str,
        steps: tuple[ScriptedStep, ...],
        every: float | None,
        started: float,
        info: RunInfo | None = None,
        *,
        name: str | None = None,
        message: str | None = None,
    ) -> None:
        self.project_id = project_id
        # The pipeline name of a child execution; API runs take theirs from ``info``.
        self.name = name
        # Served in the details (and the default step) once the execution has finished.
        self.message = message
        # Scripted steps with the child execution each one started; None: the default.
        self.step_plan: tuple[tuple[StepScript, Execution | None], ...] | None = None
        self.execution_id = execution_id
        self.steps = steps
        self.every = every
        self.started = started
        self.info = info
        self._last = len(steps) - 1
        self._served = 0
        first = next((step.status for step in steps if step.status is not None), None)
        self.status: ExecutionStatus = first or ExecutionStatus.UNKNOWN
        # A lifecycle that starts terminal (["FAILED"]) finished when it started.
        self.finished: float | None = started if self.status.is_terminal else None
        # None until a cancel is requested; then whether any request forced it.
        self.cancel_force: bool | None = None

    def _index(self, now: float) -> int:
        if self.every is None:
            return self._served
        return max(0, int((now - self.started) / self.every + _EPSILON))

    def next_step(self, now: float) -> ScriptedStep:
        """The step answering a poll at ``now``; in per-poll mode this consumes it."""
        index = self._index(now)
        step = self.steps[index if index < self._last else self._last]
        if self.every is not None:
            self.current(now)
        else:
            self._served += 1
            if step.status is not None and step.status != self.status:
                self._seen(step.status, now)
        return step

    def _seen(self, status: ExecutionStatus, when: float) -> None:
        if status.is_terminal and not self.status.is_terminal:
            self.finished = when
        elif not status.is_terminal:
            self.finished = None
        self.status = status

    def current(self, now: float) -> ExecutionStatus:
        """The status now, without consuming a step (timed scripts follow the clock)."""
        if self.every is None:
            return self.status
        steps = self.steps
        back = min(self._index(now), self._last)
        while back > 0 and steps[back].status is None:
            back -= 1
        status = steps[back].status
        if status is not None and status != self.status:
            # A status holds from the start of its run of steps, not from the poll.
            first = back
            for earlier in range(back - 1, -1, -1):
                if steps[earlier].status not in (status, None):
                    break
                if steps[earlier].status is not None:
                    first = earlier
            self._seen(status, self.started + first * self.every)
        return self.status

    def settle(self, now: float) -> None:
        """Jump to the last scripted status (a child finishes with its parent)."""
        final = next((s.status for s in reversed(self.steps) if s.status is not None), None)
        if final is None or self.current(now).is_terminal or self.cancel_force is not None:
            return
        self.steps = (_status_step(final),)
        self.every = None
        self._last = 0
        self._served = 0
        self._seen(final, now)

    def cancel(self, force: bool) -> None:
        """Go through CANCELLING (next poll) to CANCELLED (the poll after), per poll."""
        if self.cancel_force is None:
            self.steps = script(_CANCEL_STEPS)
            self.every = None
            self._last = len(self.steps) - 1
            self._served = 0
        self.cancel_force = bool(self.cancel_force) or force

    def __repr__(self) -> str:
        mode = "per poll" if self.every is None else f"every {self.every:g}s"
        return f"Execution({self.execution_id}, {len(self.steps)} step(s), {mode})"
