"""Pipeline runs started by a test, and the clean-up that cancels what is still going.

Plain Python behind the ``maia_pipeline`` fixture: the fixture wires it, teardown
calls :meth:`PipelineRunner.cleanup`, so no test leaves a run behind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_maia.core.errors import (
    ConflictError,
    MaiaConfigError,
    MaiaError,
    MaiaTimeoutError,
    MaiaValidationError,
)
from pytest_maia.core.models import STATUS_LIMIT, ExecutionStatus, WaitResult
from pytest_maia.core.text import api_text
from pytest_maia.runs.status_checker import expected_statuses, match_pattern

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.core.models import ExecutionDetails
    from pytest_maia.runs.multiwait import Outcome
    from pytest_maia.runs.status_checker import StatusChecker

__all__ = ["CANCEL_WAIT_SECONDS", "PipelineRun", "PipelineRunner", "RunSpec"]

log = logging.getLogger("pytest_maia")
# How long teardown waits for a cancelled run to reach a terminal status.
CANCEL_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class RunSpec:
    """A run to start: what ``run_many`` and ``@pytest.mark.maia_start`` take.

    Runs of the same ``group`` never overlap (see ``pytest_maia.runs.startahead``).
    """

    pipeline: str
    environment: str | None = None
    variables: Mapping[str, str] | None = None
    tag: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pipeline, str) or not self.pipeline:
            raise MaiaValidationError(f"pipeline must be a non-empty string, got {self.pipeline!r}")
        if self.group is not None and (not isinstance(self.group, str) or not self.group):
            raise MaiaValidationError(f"group must be a non-empty string, got {self.group!r}")


@dataclass
class PipelineRun:
    """A pipeline execution a test started: wait for it, assert it, inspect it.

    ``started_at`` and ``ended_at`` are times on the client's clock: when the run was
    started, and when a terminal status was first seen (None until then).
    """

    id: str
    pipeline_name: str
    environment: str
    _runner: PipelineRunner = field(repr=False)
    last_status: ExecutionStatus | None = None
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def finished(self) -> bool:
        """True once a terminal status has been seen."""
        return self.last_status is not None and self.last_status.is_terminal

    def _saw(self, status: ExecutionStatus) -> None:
        self.last_status = status
        if status.is_terminal and self.ended_at is None:
            self.ended_at = self._runner.client.clock.now()

    def _seen(self, result: WaitResult) -> WaitResult:
        if result.history:
            self._saw(result.status)
        return result

    def status(self) -> ExecutionStatus:
        """The run's current status."""
        __tracebackhide__ = True
        self._saw(self._runner.checker.get(self.id))
        assert self.last_status is not None
        return self.last_status

    def wait(self, *, timeout: float | None = None) -> WaitResult:
        """Wait until the run is terminal (see ``StatusChecker.wait``)."""
        __tracebackhide__ = True
        try:
            return self._seen(self._runner.checker.wait(self.id, timeout=timeout))
        except MaiaTimeoutError as exc:
            self._seen(exc.result)
            raise

    def assert_final(
        self,
        expected: ExecutionStatus | str | Iterable[ExecutionStatus | str],
        *,
        timeout: float | None = None,
    ) -> WaitResult:
        """Wait, then assert the final status is ``expected``."""
        __tracebackhide__ = True
        expected_statuses(expected)  # a misspelt status fails before the wait
        return self._runner.checker.check_final(self.wait(timeout=timeout), expected)

    def assert_success(self, *, timeout: float | None = None) -> WaitResult:
        """Wait, then assert the run ended SUCCESS."""
        __tracebackhide__ = True
        return self.assert_final(ExecutionStatus.SUCCESS, timeout=timeout)

    def assert_failed(
        self, *, match: str | re.Pattern[str] | None = None, timeout: float | None = None
    ) -> WaitResult:
        """Wait, then assert the run ended FAILED and, with ``match`` (a regex), that
        its message or a failing step's message matches (see ``StatusChecker``)."""
        __tracebackhide__ = True
        match_pattern(match)  # a bad pattern fails before the wait
        return self._runner.checker.check_failed(self.wait(timeout=timeout), match=match)

    def details(self) -> ExecutionDetails:
        """The execution's details (pipeline, environment, times, message)."""
        details = self._runner.client.get_execution(self._runner.project_id, self.id)
        self._saw(details.status)
        return details

    def cancel(self, *, force: bool = False) -> None:
        """Ask the API to cancel the run (``force`` for a hard cancel)."""
        self._runner.client.cancel_execution(self._runner.project_id, self.id, force=force)


class PipelineRunner:
    """Starts pipeline runs in one project and remembers them for clean-up."""

    def __init__(
        self,
        client: MaiaClient,
        checker: StatusChecker,
        project_id: str,
        *,
        default_environment: str | None = None,
        default_version: str | None = None,
        before_run: Callable[[str], None] | None = None,
        after_run: Callable[[PipelineRun], object] | None = None,
    ) -> None:
        self.client = client
        self.checker = checker
        self.project_id = project_id
        self.default_environment = default_environment
        # The artifact version runs execute unless they name one (--maia-version).
        self.default_version = default_version
        self._before_run = before_run
        self._after_run = after_run
        self.runs: list[PipelineRun] = []

    def __repr__(self) -> str:
        return f"PipelineRunner(project_id={self.project_id!r}, runs={len(self.runs)})"

    def run(
        self,
        name: str,
        *,
        environment: str | None = None,
        variables: Mapping[str, str] | None = None,
        grid_variables: Mapping[str, Sequence[Sequence[str]]] | None = None,
        execution_tag: str | None = None,
        agent_id: str | None = None,
        version_name: str | None = None,
        version: str | None = None,
    ) -> PipelineRun:
        """Execute the published pipeline ``name`` and return a handle on the run.

        ``version`` (or ``version_name``) runs that artifact version; the default is
        ``--maia-version`` / ``MAIA_VERSION_NAME`` / ``maia_version``, and without one the
        latest version published to the environment runs."""
        __tracebackhide__ = True
        env = environment or self.default_environment
        if not env:
            raise MaiaConfigError(
                f"no environment to run pipeline {name!r} in: pass environment=, or set "
                "--maia-environment / MAIA_ENVIRONMENT / maia_environment"
            )
        if self._before_run is not None:
            self._before_run(name)
        execution_id = self.client.execute_pipeline(
            self.project_id,
            name,
            env,
            scalar_variables=dict(variables) if variables is not None else None,
            grid_variables=(
                {k: [list(row) for row in v] for k, v in grid_variables.items()}
                if grid_variables is not None
                else None
            ),
            agent_id=agent_id,
            execution_tag=execution_tag,
            version_name=version_name,
            version=version if version is not None or version_name else self.default_version,
        )
        started_at = self.client.clock.now()
        run = PipelineRun(execution_id, name, env, self, started_at=started_at)
        self.runs.append(run)
        self.checker.pipeline_names[execution_id] = name
        self.checker.run_started[execution_id] = started_at
        if self._after_run is not None:
            self._after_run(run)
        log.info("started pipeline %r in %r: execution %s", name, env, execution_id)
        return run

    def run_many(self, specs: Iterable[str | RunSpec]) -> list[PipelineRun]:
        """Start every run in ``specs`` (pipeline names or ``RunSpec``), in order.

        Runs of one ``group`` are not kept apart here: use ``wait_all`` between them,
        or ``@pytest.mark.maia_start(..., group=)``.
        """
        __tracebackhide__ = True
        items = [RunSpec(s) if isinstance(s, str) else s for s in specs]
        for item in items:
            if not isinstance(item, RunSpec):
                raise MaiaValidationError(f"run_many takes names or RunSpec, got {item!r}")
        return [
            self.run(
                item.pipeline,
                environment=item.environment,
                variables=item.variables,
                execution_tag=item.tag,
            )
            for item in items
        ]

    def wait_all(
        self, runs: Sequence[PipelineRun], *, timeout: float | None = None
    ) -> list[WaitResult]:
        """Wait for every run at once with one poller; one result per run, in order.

        Never raises for one run's trouble: a run that timed out keeps its last status,
        one that hit an API error has it last in ``errors``. Assert on each result.
        """
        from pytest_maia.client.waiting import WaitPolicy
        from pytest_maia.runs.multiwait import wait_many

        policy = WaitPolicy.checked(
            timeout=self.checker.timeout if timeout is None else timeout,
            interval=self.checker.interval,
            max_interval=self.checker.max_interval,
        )
        by_id = {run.id: run for run in runs}
        clock = self.client.clock
        deadline = clock.now() + policy.timeout

        def fetch(execution_id: str) -> ExecutionStatus:
            # A poll (its retries and its wait for the request budget) ends by the deadline.
            left = deadline - clock.now()
            return self.client.get_status(self.project_id, execution_id, within=left)

        def done(outcome: Outcome) -> None:
            run = by_id[outcome.result.execution_id]
            run._seen(outcome.result)
            self.checker.note(outcome.result, outcome_text(outcome))

        outcomes = wait_many(
            fetch, [run.id for run in runs], policy=policy, clock=clock, on_done=done
        )
        return [outcome.result for outcome in outcomes]

    def cleanup(
        self, *, wait_seconds: float = CANCEL_WAIT_SECONDS
    ) -> list[tuple[PipelineRun, str]]:
        """Cancel every run still going; returns ``(run, outcome)`` for each one cancelled.

        Never raises: a failure to cancel is logged and reported as the outcome.
        """
        cancelled: list[tuple[PipelineRun, str]] = []
        for run in self.runs:
            if run.finished:
                continue
            try:
                if run.status().is_terminal:
                    continue
                try:
                    run.cancel()
                except ConflictError:
                    # 409: it finished between the status check and the cancel.
                    if run.status().is_terminal:
                        continue
                    raise
                outcome = "cancel requested"
                try:
                    result = self.client.wait_for(
                        self.project_id,
                        run.id,
                        timeout=wait_seconds,
                        interval=self.checker.interval,  # the suite's poll interval
                        max_interval=self.checker.max_interval,
                    )
                    run.last_status = result.status
                    outcome = f"now {api_text(result.status.value, STATUS_LIMIT)}"
                except MaiaTimeoutError:
                    outcome = f"still not finished after {wait_seconds:g}s"
            except MaiaError as exc:
                outcome = f"could not cancel: {api_text(str(exc))}"
            log.warning(
                "cancelled pipeline run %s (%r) left running by the test: %s",
                run.id,
                run.pipeline_name,
                outcome,
            )
            cancelled.append((run, outcome))
        return cancelled


def outcome_text(outcome: Outcome) -> str:
    """The summary's status cell for a wait that ended as ``outcome`` did."""
    result, error = outcome.result, outcome.error
    if isinstance(error, MaiaTimeoutError):
        last = result.status.value if result.history else "no status"
        return f"TIMEOUT ({last})"
    if error is not None:
        code = getattr(error, "status_code", None)
        return f"ERROR (HTTP {code})"
    return result.status.value
