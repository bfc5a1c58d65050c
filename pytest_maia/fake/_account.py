"""The fake Maia account: state and domain operations. Never sees HTTP.

The account composes its catalogue (:mod:`._catalog`), its executions
(:mod:`._ledger`) and its tokens (:mod:`._tokens`), keeps the pipeline scripts and the
queued faults, and holds the rules that span them. One lock (re-entrant) guards
everything; the HTTP layer holds it around a whole request so that a request sees one
moment. Operations raise the domain errors of :mod:`._errors` (NotFound, Conflict, ...)
or :class:`Scripted` for a scripted fault.
"""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_maia.client.token_endpoint import AUDIENCE
from pytest_maia.core.clock import Clock, is_real
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.models import ErrorStep, ExecutionStatus, Step, parse_timestamp
from pytest_maia.core.validation import check_execution_id, check_project_id
from pytest_maia.fake._catalog import Catalog
from pytest_maia.fake._errors import (
    Conflict,
    Gone,
    Invalid,
    NotFound,
    NotRecorded,
    Refused,
    Scripted,
)
from pytest_maia.fake._execution import (
    DEFAULT_ENVIRONMENT,
    Execution,
    RunInfo,
    StepView,
    instant,
    step_views,
)
from pytest_maia.fake._ledger import Ledger
from pytest_maia.fake._operations import OfficialOperations
from pytest_maia.fake._script import (
    ScriptedStep,
    StepScript,
    check_every,
    check_message,
    parse_steps,
    script,
)
from pytest_maia.fake._tokens import Tokens, Verdict

# What can start an execution (the details' ``trigger``), as the reference lists them.
TRIGGERS = ("DESIGNER", "API", "SCHEDULE", "SCHEDULE_RUN_NOW", "UNKNOWN")

# A pipeline script: lifecycle, seconds per step (None: per poll), message, steps.
PipelineScript = tuple[
    tuple[ScriptedStep, ...], float | None, str | None, tuple[StepScript, ...] | None
]
DEFAULT_PIPELINE_SCRIPT: PipelineScript = (
    script([ExecutionStatus.RUNNING, ExecutionStatus.SUCCESS]),
    None,
    None,
    None,
)


def check_instant(value: object, where: str = "start") -> _dt.datetime:
    """An aware datetime, or an ISO 8601 date-time string with an offset, as UTC."""
    when = parse_timestamp(value) if isinstance(value, str) else value
    if isinstance(value, str) and ("T" not in value.upper() or when is None):
        when = None
    if not isinstance(when, _dt.datetime) or when.tzinfo is None:
        raise MaiaValidationError(
            f"{where} must be a timezone-aware datetime or an ISO 8601 date-time such as "
            f"'2026-01-01T00:00:00Z', got {value!r:.80}"
        )
    return when.astimezone(_dt.timezone.utc)


@dataclass(frozen=True)
class ExecutionFilter:
    """What the executions list asks for; None: any. ``pipeline_name`` matches a part,
    ignoring case; the times (the instants shown as ``startedAt``) are inclusive."""

    project_id: str | None = None
    pipeline_name: str | None = None
    environment: str | None = None
    started_after: _dt.datetime | None = None
    started_before: _dt.datetime | None = None
    statuses: frozenset[str] | None = None
    schedule_id: str | None = None


# Bounds on queued faults: a control-API document of a few bytes must not cost memory.
MAX_FAULT_TIMES = 1_000_000
MAX_QUEUED_FAULTS = 10_000


class Account(OfficialOperations):
    """Projects, environments, pipelines, executions, tokens and queued faults; the
    artifacts, schedules, audit events and test executions are :class:`OfficialOperations`'.

    ``epoch`` is the instant of clock second 0: under a real clock the wall clock's, so
    that times are real; under a virtual one ``start`` (default: the wall clock now) is
    the instant of the clock's time when the account is made.
    """

    def __init__(self, clock: Clock, tokens: Tokens, start: object = None) -> None:
        super().__init__()
        self.clock = clock
        self.tokens = tokens
        self.lock = threading.RLock()
        self.epoch = _dt.datetime.now(_dt.timezone.utc)
        self.set_start(start)
        self.catalog = Catalog()
        self.ledger = Ledger()
        self._scripts: dict[str, PipelineScript] = {}
        self._once: dict[str, deque[PipelineScript]] = {}  # next executions only, in order
        self._disabled: set[str] = set()
        self._faults: deque[list[Any]] = deque()  # [step, times left], oldest first
        # What was scripted, for the "every scripted run was used" check: executions
        # scripted or started from a script (id -> how it was scripted), and how often
        # each standing pipeline script has been started since it was set.
        self._scripted: dict[str, str] = {}
        self._starts: dict[str, int] = {}
        # Strict replay (``FakeMaia.load_cassette``): how to re-record the test; None off.
        self.replay_hint: str | None = None
        self.replay_misses: list[str] = []  # the requests the cassette had no answer for
        self._started: dict[str, int] = {}  # pipeline -> executions started, for the misses

    # -- scripting ------------------------------------------------------------------

    def set_start(self, start: object, where: str = "start") -> None:
        """Make the clock's time now read as ``start`` (None: the wall clock now). Under
        a real clock only None is allowed: its times are the wall clock's."""
        if start is not None and is_real(self.clock):
            raise MaiaValidationError(
                f"{where}: the fake runs on a real clock, whose times are the wall clock's; "
                "a start instant is for a virtual clock"
            )
        when = _dt.datetime.now(_dt.timezone.utc) if start is None else check_instant(start, where)
        with self.lock:
            self.epoch = when - _dt.timedelta(seconds=self.clock.now())
            self.schedules.epoch = self.epoch  # schedules read cron calendars with it

    def add_execution(
        self,
        project_id: str,
        statuses: Step | Iterable[Step],
        *,
        execution_id: str | None = None,
        every: float | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
        pipeline_name: str | None = None,
        environment: str | None = None,
        trigger: str | None = None,
        user: str | None = None,
        schedule_id: str | None = None,
    ) -> str:
        """Script an execution (see ``FakeMaia.add_execution``); its id."""
        check_project_id(project_id)
        lifecycle, seconds = script(statuses), check_every(every)
        text, plan = check_message(message), parse_steps(steps)
        for name, value in (
            ("pipeline_name", pipeline_name),
            ("environment", environment),
            ("user", user),
            ("schedule_id", schedule_id),
        ):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise MaiaValidationError(f"{name} must be a non-empty string or None")
        if trigger is None:
            trigger = "SCHEDULE" if schedule_id is not None else "UNKNOWN"
        if trigger not in TRIGGERS:
            raise MaiaValidationError(
                f"trigger must be one of {', '.join(TRIGGERS)} or None, got {trigger!r:.40}"
            )
        canonical = str(uuid.uuid4()) if execution_id is None else check_execution_id(execution_id)
        with self.lock:
            self.catalog.project(project_id, scripting=True)
            old = self.ledger.get(canonical)
            if old is not None:
                raise MaiaValidationError(
                    f"execution {canonical} is already scripted (in project {old.project_id!r})"
                )
            now = self.clock.now()
            execution = Execution(
                project_id,
                canonical,
                lifecycle,
                seconds,
                now,
                message=text,
                name=pipeline_name,
                trigger=trigger,
                user=user,
                schedule_id=schedule_id,
                environment=environment,
            )
            self.ledger.add(execution, plan, now)
            self._scripted[canonical] = f"add_execution({project_id!r}, ...)"
        return canonical

    def add_project(
        self, project_id: str, name: str | None = None, description: str | None = None
    ) -> None:
        """Add a project (the first one closes the account: see :mod:`._catalog`)."""
        with self.lock:
            self.catalog.add_project(project_id, name, description)

    def add_environment(
        self,
        project_id: str,
        name: str,
        *,
        default_agent_id: str | None = None,
        default_agent_name: str | None = None,
    ) -> None:
        """Add an environment to a project (the first closes the project)."""
        with self.lock:
            self.catalog.add_environment(project_id, name, default_agent_id, default_agent_name)

    def publish_pipeline(
        self, project_id: str, environment: str, name: str, *, published_at: float | None = None
    ) -> None:
        """Publish a pipeline in an environment (the first closes the environment)."""
        if published_at is not None and (
            isinstance(published_at, bool) or not isinstance(published_at, (int, float))
        ):
            raise MaiaValidationError("published_at must be clock seconds or None")
        with self.lock:
            when = self.clock.now() if published_at is None else float(published_at)
            self.catalog.publish(project_id, environment, name, when)

    def script_pipeline(
        self,
        pipeline_name: str,
        statuses: Step | Iterable[Step],
        *,
        every: float | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
        once: bool = False,
    ) -> None:
        """What executing ``pipeline_name`` does from now on (in any project), or with
        ``once`` what its next execution does (queued in call order)."""
        if not isinstance(pipeline_name, str) or not pipeline_name:
            raise MaiaValidationError("pipeline_name must be a non-empty string")
        entry = (script(statuses), check_every(every), check_message(message), parse_steps(steps))
        with self.lock:
            if once:
                self._once.setdefault(pipeline_name, deque()).append(entry)
            else:
                self._scripts[pipeline_name] = entry
                self._starts.setdefault(pipeline_name, 0)

    def disable_pipeline(self, pipeline_name: str, disabled: bool = True) -> None:
        """Executing ``pipeline_name`` is refused as disabled (or no longer)."""
        if not isinstance(pipeline_name, str) or not pipeline_name:
            raise MaiaValidationError("pipeline_name must be a non-empty string")
        with self.lock:
            (self._disabled.add if disabled else self._disabled.discard)(pipeline_name)

    def add_client(self, client_id: object, client_secret: object) -> None:
        """Register an OAuth client for the token endpoint (see :mod:`._tokens`)."""
        with self.lock:
            self.tokens.add_client(client_id, client_secret)

    def fail_next(self, step: ErrorStep, times: int) -> None:
        """Queue ``step`` for the next ``times`` requests (kept as one entry and a count,
        so ``times`` costs no memory; at most :data:`MAX_FAULT_TIMES`, and
        :data:`MAX_QUEUED_FAULTS` entries queued)."""
        if (
            isinstance(times, bool)
            or not isinstance(times, int)
            or not 1 <= times <= MAX_FAULT_TIMES
        ):
            raise MaiaValidationError(
                f"times must be an integer 1..{MAX_FAULT_TIMES}, got {times!r}"
            )
        with self.lock:
            if len(self._faults) >= MAX_QUEUED_FAULTS:
                raise MaiaValidationError(
                    f"{MAX_QUEUED_FAULTS} faults are queued already: use times= for repeats, "
                    "or reset"
                )
            self._faults.append([step, times])

    def reset(self) -> None:
        """Forget everything scripted or started; the clock and OAuth clients stay."""
        with self.lock:
            self.catalog.reset()
            self.ledger.reset()
            self._scripts.clear()
            self._once.clear()
            self._disabled.clear()
            self._faults.clear()
            self._scripted.clear()
            self._starts.clear()
            self._started.clear()
            self.replay_misses.clear()
            self.tokens.reset()
            self.reset_official()

    def unused(self) -> list[str]:
        """What was scripted and never used, one line each: a pipeline script no
        execution was started from, an execution scripted or started from a script
        whose status or details were never read."""
        with self.lock:
            lines = [
                f"script_pipeline({name!r}, ..., once=True): no execution of it was started"
                for name, queued in self._once.items()
                for _ in queued
            ]
            lines += [
                f"script_pipeline({name!r}, ...): no execution of it was started"
                for name in self._scripts
                if not self._starts.get(name)
            ]
            lines += [
                f"{how}: execution {execution_id} was never polled"
                for execution_id, how in self._scripted.items()
                if not self.ledger.polls(execution_id)
            ]
            return lines

    # -- operations (the caller holds the lock) ------------------------------------

    def next_fault(self) -> ErrorStep | None:
        """The queued fault answering this request instead, if any."""
        if not self._faults:
            return None
        entry = self._faults[0]
        entry[1] -= 1
        if entry[1] <= 0:
            self._faults.popleft()
        step: ErrorStep = entry[0]
        return step

    def authorize(self, credential: str | None, now: float) -> Verdict | None:
        """The verdict on a bearer credential; None when there is none."""
        return None if credential is None else self.tokens.verdict(credential, now)

    def issue_token(
        self, client_id: str, client_secret: str, audience: str | None, now: float
    ) -> str:
        """A token for a known client (Invalid for a wrong audience, else Refused)."""
        if audience is not None and audience != AUDIENCE:
            raise Invalid(f"the audience must be {AUDIENCE}")
        if not self.tokens.valid_client(client_id, client_secret):
            raise Refused("unknown client or wrong client secret")
        return self.tokens.issue(now)

    def start_execution(self, project_id: str, info: RunInfo, now: float) -> str:
        """Start ``info.pipeline_name`` in a project's environment; the new id.

        ``info.trigger`` says what started it (the execute endpoint: API; a schedule:
        SCHEDULE with its ``info.schedule_id``): the details show both.
        """
        name, environment = info.pipeline_name, info.environment_name
        versioned = self.version_for(project_id, info)
        if versioned is None:
            self.catalog.check_published(project_id, environment, name)
        else:
            info = versioned
        if name in self._disabled:
            raise Gone(f"Pipeline {name!r} is disabled")
        tag = info.execution_tag
        other = self.ledger.running_with_tag(project_id, environment, tag, now)
        if other is not None:
            raise Conflict(
                f"An execution tagged {tag!r} is already running in environment "
                f"{environment!r}: {other.execution_id}"
            )
        queued = self._once.get(name)
        if self.replay_hint is not None and not queued and name not in self._scripts:
            used = self._started.get(name, 0)
            if used:
                raise NotRecorded(
                    f"the cassette holds {used} execution(s) of pipeline {name!r} and "
                    "this would be one more"
                )
            raise NotRecorded(f"the cassette holds no execution of pipeline {name!r}")
        self._started[name] = self._started.get(name, 0) + 1
        standing = self._scripts.get(name)
        if queued:
            how: str | None = f"script_pipeline({name!r}, ..., once=True)"
            steps, every, message, plan = queued.popleft()
            if not queued:
                del self._once[name]
        elif standing is not None:
            how = f"script_pipeline({name!r}, ...)"
            steps, every, message, plan = standing
            self._starts[name] = self._starts.get(name, 0) + 1
        else:
            how = None
            steps, every, message, plan = DEFAULT_PIPELINE_SCRIPT
        execution_id = str(uuid.uuid4())
        execution = Execution(
            project_id,
            execution_id,
            steps,
            every,
            now,
            info,
            message=message,
        )
        self.ledger.add(execution, plan, now)
        extra = {"environmentName": environment, "trigger": info.trigger}
        if info.version_name is not None:
            extra["versionName"] = info.version_name
        if info.schedule_id is not None:
            extra["scheduleId"] = info.schedule_id
        self.events.record(
            now,
            "PIPELINE_EXECUTION_STARTED",
            "PIPELINE_EXECUTION",
            f"Pipeline {name!r} started in environment {environment!r}",
            source="SCHEDULER" if info.schedule_id is not None else "API",
            project_id=project_id,
            subject_id=execution_id,
            subject_name=name,
            subject_type="PIPELINE_EXECUTION",
            additional_info=extra,
        )
        if how is not None:
            self._scripted[execution_id] = how
        return execution_id

    def find(self, project_id: str, execution_id: str) -> Execution:
        """The execution ``execution_id`` (canonical) in ``project_id``, else NotFound."""
        if not self.catalog.known(project_id):
            raise NotFound(f"Project {project_id!r} not found")
        execution = self.ledger.get(execution_id)
        if self.replay_hint is not None and (
            execution is None or execution.project_id != project_id
        ):
            raise NotRecorded(
                f"the cassette holds no execution {execution_id} in project {project_id!r}"
            )
        if execution is None or execution.project_id != project_id:
            raise NotFound(f"Pipeline execution {execution_id} not found in project {project_id!r}")
        return execution

    def poll(self, project_id: str, execution_id: str, now: float) -> Execution:
        """Read an execution: its lifecycle moves one step (Scripted for an error step)."""
        execution = self.find(project_id, execution_id)
        step = execution.next_step(now)
        if step.error is not None:
            raise Scripted(step.error)
        return execution

    def cancel(self, project_id: str, execution_id: str, force: bool, now: float) -> None:
        """Cancel a running execution (Conflict once it has finished)."""
        execution = self.find(project_id, execution_id)
        status = execution.current(now)
        if status.is_terminal:
            raise Conflict(
                f"Pipeline execution {execution_id} has already finished ({status.value})"
            )
        execution.cancel(force)
        self.events.record(
            now,
            "PIPELINE_EXECUTION_CANCELLED",
            "PIPELINE_EXECUTION",
            f"Cancel of pipeline {execution.pipeline_name!r} requested",
            project_id=project_id,
            subject_id=execution_id,
            subject_name=execution.pipeline_name,
            subject_type="PIPELINE_EXECUTION",
            additional_info={"forceUpdate": force},
        )

    def steps(self, project_id: str, execution_id: str, now: float) -> list[StepView]:
        """The steps of an execution: none until it has finished."""
        return step_views(self.find(project_id, execution_id), now)

    def list_executions(self, wanted: ExecutionFilter, now: float) -> list[Execution]:
        """The account's executions that match ``wanted``, most recent first, each
        brought up to ``now`` (NotFound for a project the account does not have)."""
        if wanted.project_id is not None and not self.catalog.known(wanted.project_id):
            raise NotFound(f"Project {wanted.project_id!r} not found")
        part = None if wanted.pipeline_name is None else wanted.pipeline_name.casefold()
        after, before, epoch = wanted.started_after, wanted.started_before, self.epoch
        found = []
        for execution in self.ledger.newest_first():
            if (
                (wanted.project_id is not None and execution.project_id != wanted.project_id)
                or (part is not None and part not in execution.pipeline_name.casefold())
                or (
                    wanted.environment is not None
                    and (execution.environment_name or DEFAULT_ENVIRONMENT) != wanted.environment
                )
                or (wanted.schedule_id is not None and execution.schedule_id != wanted.schedule_id)
            ):
                continue
            if after is not None or before is not None:
                started = instant(epoch, execution.started)
                if (after is not None and started < after) or (
                    before is not None and started > before
                ):
                    continue
            if wanted.statuses is not None and execution.current(now).value not in wanted.statuses:
                continue
            found.append(execution)
        return found

    def published(self, project_id: str, environment: str) -> list[tuple[str, float]]:
        """Published pipelines (name, clock time) of an environment; an open one lists
        the scripted pipelines too."""
        env = self.catalog.environment(project_id, environment, keep=False)
        items = dict(env.pipelines)
        items.update(self.published_versions(project_id, environment))
        if not env.closed:
            for name in self._scripts:
                items.setdefault(name, 0.0)
        return list(items.items())
