"""The account's operations on the official API's newer families: artifacts and
versions, schedules, audit events, test executions. No HTTP.

:class:`OfficialOperations` is mixed into :class:`~._account.Account`: it uses the
account's catalogue, ledger and clock, and its stores :mod:`._artifacts`,
:mod:`._schedules`, :mod:`._events` and :mod:`._testruns`. Every state change it makes
is an audit event. The caller holds the account's lock.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_maia.core.models import ExecutionStatus
from pytest_maia.fake._artifacts import Artifacts, Version
from pytest_maia.fake._errors import DomainError, Invalid, NotFound
from pytest_maia.fake._events import EventLog
from pytest_maia.fake._execution import Execution, RunInfo
from pytest_maia.fake._schedules import Schedule, Schedules, attributes, schedule_fields
from pytest_maia.fake._script import script
from pytest_maia.fake._testruns import TestExecution, TestRuns

if TYPE_CHECKING:
    from pytest_maia.fake._catalog import Catalog, Environment
    from pytest_maia.fake._ledger import Ledger

SCHEDULE_TRIGGER = "SCHEDULE"
_SCHEDULE_DEFAULTS: dict[str, Any] = {"cronTimezone": "UTC"}


class OfficialOperations:
    """Artifacts, schedules, audit events and test executions of an account."""

    catalog: Catalog
    ledger: Ledger

    def __init__(self) -> None:
        self.artifacts = Artifacts()
        self.schedules = Schedules()
        self.events = EventLog()
        self.test_runs = TestRuns()

    def reset_official(self) -> None:
        self.artifacts.reset()
        self.schedules.reset()
        self.events.reset()
        self.test_runs.reset()

    def start_execution(self, project_id: str, info: RunInfo, now: float) -> str:
        """Start an execution: the account's own (``Account.start_execution``)."""
        raise NotImplementedError

    # -- artifacts --------------------------------------------------------------------

    def publish_artifact(
        self,
        project_id: str,
        environment: str,
        version_name: str,
        files: Mapping[str, bytes],
        now: float,
        *,
        branch: str | None = None,
        commit_hash: str | None = None,
        scripting: bool = False,
    ) -> tuple[Version, list[tuple[str, str]]]:
        """Publish a version to an environment (closing it to published pipelines)."""
        env = self.catalog.environment(project_id, environment, scripting=scripting)
        version, ignored = self.artifacts.publish(
            project_id,
            environment,
            version_name,
            files,
            now,
            branch=branch,
            commit_hash=commit_hash,
        )
        self._deployed(
            env,
            now,
            "ARTIFACT_PUBLISHED",
            f"Version {version_name!r} published to environment {environment!r}",
            project_id,
            version_name,
            {
                "environmentName": environment,
                "files": len(version.files),
                "ignoredResources": len(ignored),
            },
        )
        return version, ignored

    def promote_artifact(
        self,
        project_id: str,
        source: str,
        target: str,
        version_name: str,
        now: float,
        *,
        scripting: bool = False,
    ) -> Version:
        """Deploy a version from ``source`` to ``target``."""
        self.catalog.environment(project_id, source, scripting=scripting, keep=False)
        env = self.catalog.environment(project_id, target, scripting=scripting)
        version = self.artifacts.promote(project_id, source, target, version_name, now)
        self._deployed(
            env,
            now,
            "ARTIFACT_PROMOTED",
            f"Version {version_name!r} promoted from {source!r} to {target!r}",
            project_id,
            version_name,
            {"sourceEnvironmentName": source, "targetEnvironmentName": target},
        )
        return version

    def _deployed(
        self,
        env: Environment,
        now: float,
        name: str,
        description: str,
        project_id: str,
        version_name: str,
        info: Mapping[str, object],
    ) -> None:
        """A version was deployed to ``env``: from now on its pipelines are what runs
        there (the environment closes), and the audit log says so."""
        env.close()
        self.events.record(
            now,
            name,
            "ARTIFACT",
            description,
            project_id=project_id,
            subject_id=version_name,
            subject_name=version_name,
            subject_type="ARTIFACT",
            additional_info=info,
        )

    def version_for(self, project_id: str, info: RunInfo) -> RunInfo | None:
        """``info`` with the version that runs it, or None when no artifact holds the
        pipeline and no version was asked for, or the project has no artifact and the
        environment is open (then the published pipelines decide).
        NotFound for an unknown version, or one without that pipeline."""
        environment, pipeline = info.environment_name, info.pipeline_name
        if info.version_name is not None and not self.artifacts.any(project_id):
            env = self.catalog.environment(project_id, environment, keep=False)
            if not env.closed:
                return None  # zero-config: an open environment runs any version asked for
        if info.version_name is not None:
            version = self.artifacts.deployment(project_id, environment, info.version_name).version
        else:
            latest = self.artifacts.latest(project_id, environment)
            if latest is None or latest.version.holds(pipeline) is None:
                return None
            version = latest.version
        if version.holds(pipeline) is None:
            raise NotFound(
                f"Pipeline {pipeline!r} is not in version {version.name!r} "
                f"(it holds: {', '.join(version.pipelines) or 'no pipeline'})"
            )
        return dataclasses.replace(info, version_name=version.name)

    def published_versions(self, project_id: str, environment: str) -> list[tuple[str, float]]:
        """The pipelines of the latest version in an environment, with its deployment time."""
        latest = self.artifacts.latest(project_id, environment)
        if latest is None:
            return []
        return [(name, latest.deployed_at) for name in latest.version.pipelines]

    # -- schedules --------------------------------------------------------------------

    def add_schedule(
        self, project_id: str, body: Mapping[str, Any], now: float, *, scripting: bool = False
    ) -> Schedule:
        """Create a schedule from a flat body (the API's field names)."""
        self.catalog.project(project_id, scripting=scripting, keep=False)
        fields, problems = schedule_fields(
            {**_SCHEDULE_DEFAULTS, **body},
            now,
            required=("name", "pipelineName", "environmentName", "cronExpression"),
            epoch=self.schedules.epoch,
        )
        if problems:
            raise Invalid("Wrong request parameters used", tuple(problems))
        self.catalog.environment(project_id, fields["environmentName"], scripting=scripting)
        kwargs = attributes(fields)
        kwargs.setdefault("effective_from", now)
        kwargs.setdefault("cron_expression", None)
        schedule = self.schedules.add(now, project_id=project_id, **kwargs)
        self._schedule_event(now, schedule, "SCHEDULE_CREATED", "created")
        return schedule

    def update_schedule(
        self, project_id: str, schedule_id: str, body: Mapping[str, Any], now: float
    ) -> Schedule:
        """Change a schedule (``name`` and ``cronExpression`` required, as the API's)."""
        schedule = self.schedules.get(project_id, schedule_id)
        fields, problems = schedule_fields(
            body, now, required=("name", "cronExpression"), epoch=self.schedules.epoch
        )
        if problems:
            raise Invalid("Wrong request parameters used", tuple(problems))
        if "environmentName" in fields:
            self.catalog.environment(project_id, fields["environmentName"], keep=False)
        for key, value in attributes(fields).items():
            setattr(schedule, key, value)
        schedule.plan(now, self.schedules.epoch)
        self.schedules.refresh()
        self._schedule_event(now, schedule, "SCHEDULE_UPDATED", "changed")
        return schedule

    def delete_schedule(self, project_id: str, schedule_id: str, now: float) -> None:
        schedule = self.schedules.delete(project_id, schedule_id)
        self._schedule_event(now, schedule, "SCHEDULE_DELETED", "deleted")

    def _schedule_event(self, now: float, schedule: Schedule, name: str, verb: str) -> None:
        self.events.record(
            now,
            name,
            "SCHEDULE",
            f"Schedule {schedule.name!r} {verb}",
            project_id=schedule.project_id,
            subject_id=schedule.schedule_id,
            subject_name=schedule.name,
            subject_type="SCHEDULE",
            additional_info={
                "pipelineName": schedule.pipeline_name,
                "environmentName": schedule.environment_name,
            },
        )

    def run_schedule(self, schedule: Schedule, at: float, now: float) -> str:
        """Start the schedule's pipeline (at clock time ``at``), or record a SKIPPED run
        when concurrent runs are not allowed and its previous run is still going."""
        info = RunInfo(
            schedule.pipeline_name,
            schedule.environment_name,
            dict(schedule.scalar_variables),
            {k: [list(r) for r in v] for k, v in schedule.grid_variables.items()},
            version_name=schedule.version_name,
            trigger=SCHEDULE_TRIGGER,
            schedule_id=schedule.schedule_id,
        )
        previous = self.ledger.get(schedule.last_execution_id or "")
        schedule.last_run = at
        if (
            not schedule.allow_concurrent
            and previous is not None
            and not previous.current(now).is_terminal
        ):
            execution_id = str(uuid.uuid4())
            skipped = Execution(
                schedule.project_id,
                execution_id,
                script([ExecutionStatus.SKIPPED]),
                None,
                at,
                info,
                message=(
                    f"Skipped: the previous run {previous.execution_id} of schedule "
                    f"{schedule.name!r} is still running (allowConcurrentExecutions is false)"
                ),
            )
            self.ledger.add(skipped, None, at)
            self.events.record(
                at,
                "PIPELINE_EXECUTION_SKIPPED",
                "PIPELINE_EXECUTION",
                f"Scheduled run of {schedule.pipeline_name!r} skipped: the previous run is going",
                source="SCHEDULER",
                project_id=schedule.project_id,
                subject_id=execution_id,
                subject_name=schedule.pipeline_name,
                subject_type="PIPELINE_EXECUTION",
                additional_info={"scheduleId": schedule.schedule_id},
            )
            return execution_id
        execution_id = self.start_execution(schedule.project_id, info, at)
        schedule.last_execution_id = execution_id
        return execution_id

    def fire_due(self, now: float) -> None:
        """Run every enabled schedule whose next run the clock has reached: once each,
        however many firings a clock jump passed (Quartz's 'fire once now')."""
        if now < self.schedules.next_due:
            return
        for schedule in self.schedules.due(now):
            at = schedule.next_run if schedule.next_run is not None else now
            schedule.plan(
                at, self.schedules.epoch
            )  # the firing after that one: passed too, then once, now
            if schedule.next_run is not None and schedule.next_run <= now:
                at = now
            try:
                self.run_schedule(schedule, at, now)
            except DomainError as error:
                self.events.record(
                    now,
                    "SCHEDULE_RUN_FAILED",
                    "SCHEDULE",
                    f"Schedule {schedule.name!r} could not start: {error.detail}",
                    source="SCHEDULER",
                    project_id=schedule.project_id,
                    subject_id=schedule.schedule_id,
                    subject_name=schedule.name,
                    subject_type="SCHEDULE",
                )
            schedule.plan(now, self.schedules.epoch)
        self.schedules.refresh()

    # -- test executions --------------------------------------------------------------

    def start_test_execution(
        self, project_id: str, fields: Mapping[str, Any], now: float
    ) -> TestExecution:
        """Record a test execution (fields checked by the caller)."""
        self.catalog.environment(project_id, fields["environment_name"], keep=False)
        item = self.test_runs.start(now, project_id=project_id, **fields)
        self._test_event(
            now,
            item,
            "TEST_EXECUTION_STARTED",
            f"Test execution of scope {item.scope} started in {item.environment_name!r}",
        )
        return item

    def cancel_test_execution(
        self, project_id: str, test_execution_id: str, force: bool, now: float
    ) -> None:
        item = self.test_runs.cancel(project_id, test_execution_id, force)
        self._test_event(
            now,
            item,
            "TEST_EXECUTION_CANCELLED",
            f"Test execution {test_execution_id} cancelled",
            {"forceUpdate": force},
        )

    def _test_event(
        self,
        now: float,
        item: TestExecution,
        name: str,
        description: str,
        info: Mapping[str, object] | None = None,
    ) -> None:
        self.events.record(
            now,
            name,
            "TEST_EXECUTION",
            description,
            project_id=item.project_id,
            subject_id=item.test_execution_id,
            subject_name=item.scope,
            subject_type="TEST_EXECUTION",
            additional_info=info,
        )
