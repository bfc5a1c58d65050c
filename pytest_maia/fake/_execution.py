"""Fake executions: which scripted step answers each read, and what a run was asked for.

Pure Python, no HTTP. Not thread-safe alone: the account (:mod:`._account`) holds
the lock around every call.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_maia.core.models import ExecutionStatus
from pytest_maia.fake._script import ScriptedStep, StepScript, script, status_step

# Added to a step index computed from float time so that 0.3 / 0.1 lands on step 3, not 2.
_EPSILON = 1e-9
# The pipeline name of an execution scripted with add_execution.
SCRIPTED_PIPELINE_NAME = "scripted-execution"
# The environment of an execution scripted with add_execution without one.
DEFAULT_ENVIRONMENT = "default"


def instant(epoch: _dt.datetime, seconds: float) -> _dt.datetime:
    """The instant of clock time ``seconds`` (``epoch``: clock second 0's), to the
    millisecond the API shows: what ``startedAt`` says, and what list filters compare."""
    when = epoch + _dt.timedelta(seconds=seconds)
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class RunInfo:
    """What an execute request asked for."""

    pipeline_name: str
    environment_name: str
    scalar_variables: dict[str, str] = field(default_factory=dict)
    grid_variables: dict[str, list[list[str]]] = field(default_factory=dict)
    agent_id: str | None = None
    execution_tag: str | None = None
    version_name: str | None = None
    message: str | None = None
    trigger: str = "API"  # SCHEDULE for a run a schedule started
    schedule_id: str | None = None


def _scalars(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _grids(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(rows, list)
        and all(isinstance(row, list) and all(isinstance(c, str) for c in row) for row in rows)
        for rows in value.values()
    )


_VARIABLES: dict[str, tuple[Callable[[object], bool], str]] = {
    "scalarVariables": (_scalars, "an object of string values"),
    "gridVariables": (_grids, "an object of arrays of arrays of strings"),
}


def variables_violations(body: Mapping[str, Any], *, null: bool) -> list[str]:
    """What is wrong with a body's ``scalarVariables`` and ``gridVariables`` (each
    optional), in the API's words (the execute request's and a schedule's). ``null``:
    a null one is ``must not be null`` (listed first), else it has the wrong shape."""
    given = {name: body[name] for name in _VARIABLES if name in body}
    out: list[str] = []
    if null:
        out = [f"{name}: must not be null" for name, value in given.items() if value is None]
        given = {name: value for name, value in given.items() if value is not None}
    for name, value in given.items():
        fits, shape = _VARIABLES[name]
        if not fits(value):
            out.append(f"{name}: must be {shape}")
    return out


@dataclass(frozen=True)
class ExecutionRecord:
    """One execution started through the execute endpoint, as the fake sees it now.

    ``started_at``/``finished_at`` are clock seconds; ``cancel_force`` is None until a
    cancel is requested, then whether any cancel request was forced. ``version_name`` is
    the artifact version that ran (asked for, or the latest in the environment; None
    without artifacts); ``trigger`` is API or SCHEDULE (then ``schedule_id`` says which).
    """

    execution_id: str
    project_id: str
    pipeline_name: str
    environment_name: str
    status: ExecutionStatus
    scalar_variables: dict[str, str]
    grid_variables: dict[str, list[list[str]]]
    agent_id: str | None
    execution_tag: str | None
    version_name: str | None
    started_at: float
    finished_at: float | None
    cancel_force: bool | None
    trigger: str = "API"
    schedule_id: str | None = None

    @classmethod
    def of(cls, execution: Execution, info: RunInfo, now: float) -> ExecutionRecord:
        """A snapshot of ``execution`` at ``now``."""
        status = execution.current(now)
        return cls(
            execution.execution_id,
            execution.project_id,
            info.pipeline_name,
            info.environment_name,
            status,
            json.loads(json.dumps(info.scalar_variables)),  # deep copies
            json.loads(json.dumps(info.grid_variables)),
            info.agent_id,
            info.execution_tag,
            info.version_name,
            execution.started,
            execution.finished,
            execution.cancel_force,
            info.trigger,
            info.schedule_id,
        )


_CANCEL_STEPS = (ExecutionStatus.CANCELLING, ExecutionStatus.CANCELLED)


class Execution:
    """A scripted execution: which step answers the next poll. Not thread-safe alone.

    ``status`` is the status seen last (the first scripted one before any poll), and
    ``finished`` the clock time it became terminal; ``info`` is what the execute
    request said (None for ``FakeMaia.add_execution`` scripts). ``trigger`` is what
    started it (API, SCHEDULE, ...), ``schedule_id`` the schedule that did, ``user`` the
    person who did (None when none did).
    """

    __slots__ = (
        "_environment",
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
        "schedule_id",
        "started",
        "status",
        "step_plan",
        "steps",
        "trigger",
        "user",
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
        trigger: str | None = None,
        schedule_id: str | None = None,
        user: str | None = None,
        environment: str | None = None,
    ) -> None:
        self.project_id = project_id
        # What started it: as given, else what the request said (API, SCHEDULE), else UNKNOWN.
        self.trigger = trigger or (info.trigger if info is not None else "UNKNOWN")
        self.schedule_id = schedule_id or (info.schedule_id if info is not None else None)
        self.user = user
        self._environment = environment  # an add_execution script's; API runs use info
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

    @property
    def pipeline_name(self) -> str:
        """The pipeline it runs: asked for at execute, scripted, or a stand-in."""
        if self.info is not None:
            return self.info.pipeline_name
        return self.name or SCRIPTED_PIPELINE_NAME

    @property
    def environment_name(self) -> str | None:
        """The environment it runs in (None for an ``add_execution`` script without one)."""
        return self.info.environment_name if self.info is not None else self._environment

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
        self.steps = (status_step(final),)
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


@dataclass(frozen=True)
class StepView:
    """One step of a finished execution, as the steps list reports it."""

    name: str
    status: ExecutionStatus
    message: str | None
    started: float
    finished: float
    child: Execution | None
    is_default: bool


def step_views(execution: Execution, now: float) -> list[StepView]:
    """The steps of ``execution`` as the steps list reports them: none until it has
    finished; a child execution settles on its last status when its parent's are read."""
    status = execution.current(now)
    if not status.is_terminal:
        return []
    started = execution.started
    finished = execution.finished if execution.finished is not None else now
    if execution.step_plan is None:
        name = execution.pipeline_name
        return [StepView(name, status, execution.message, started, finished, None, True)]
    out = []
    for step, child in execution.step_plan:
        if child is not None:
            child.settle(now)
        view = StepView(step.name, step.status, step.message, started, finished, child, False)
        out.append(view)
    return out
