"""The ``maia_status`` helper: get, wait and assert an execution's outcome.

Plain Python: failures are ``AssertionError``s that explain themselves (execution id,
expected and final status, the timeline, polls, the last problem).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from pytest_maia.client.waiting import DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL
from pytest_maia.core.backend import Backend
from pytest_maia.core.errors import (
    MaiaApiError,
    MaiaTimeoutError,
    MaiaValidationError,
    NotFoundError,
)
from pytest_maia.core.models import (
    PATH_SEPARATOR,
    RENDERED_STEPS,
    STATUS_LIMIT,
    ExecutionStatus,
    FailureExplanation,
    WaitResult,
)
from pytest_maia.core.text import api_text
from pytest_maia.core.validation import check_status
from pytest_maia.report.timeline import Execution
from pytest_maia.runs.explain import explain_failure

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient

__all__ = ["StatusChecker", "expected_statuses", "match_pattern"]

FAKE_HINT = (
    "the fake backend does not know execution {execution_id} in project {project_id!r}: "
    "script it first with maia_fake.add_execution({project_id!r}, ['RUNNING', 'SUCCESS'], "
    "execution_id={execution_id!r}), or run against the real API with "
    "--maia-backend=live (MAIA_BACKEND=live)"
)
FAKE_OTHER_PROJECT_HINT = (
    "execution {execution_id} is scripted in project {owner!r}, but maia_status checks "
    "the configured project {project_id!r} (--maia-project / MAIA_PROJECT_ID; the "
    "maia_project_id fixture): script it with maia_fake.add_execution(maia_project_id, "
    "...), or read it with a client: maia_client.get_status({owner!r}, ...)"
)


class WaitObserver(Protocol):
    """Told about each poll of a wait and its end (the live progress line)."""

    def poll(self, pipeline: str | None, result: WaitResult) -> None: ...

    def done(self, execution_id: str) -> None: ...


def expected_statuses(expected: object) -> list[str]:
    """The status values ``expected`` names (one status or several), each checked."""
    items = [expected] if isinstance(expected, str) else expected
    if not isinstance(items, Iterable) or not (items := list(items)):
        raise MaiaValidationError(
            f"expected must be a status or a non-empty list of statuses, got {expected!r}"
        )
    return [check_status(item, "expected").value for item in items]


class StatusChecker:
    """Bound to one client and project: what the ``maia_status`` fixture gives a test.

    ``record``, when given, receives each finished wait's one record, an
    ``Execution`` (the plugin writes it into the
    test's user_properties, where every report reads it).
    """

    def __init__(
        self,
        client: MaiaClient,
        project_id: str,
        *,
        timeout: float,
        backend: Backend | str = Backend.LIVE,
        record: Callable[[Execution], None] | None = None,
        observer: WaitObserver | None = None,
        on_explained: Callable[[FailureExplanation], None] | None = None,
        owner_of: Callable[[str], str | None] | None = None,
        interval: float = DEFAULT_INTERVAL,
        max_interval: float = DEFAULT_MAX_INTERVAL,
    ) -> None:
        self.client = client
        self.project_id = project_id
        self.timeout = timeout
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self.backend = Backend(backend)
        self._record = record
        self._observer = observer
        self._on_explained = on_explained
        # Under the fake: which project an execution is scripted in (for 404 hints).
        self._owner_of = owner_of
        self.results: list[WaitResult] = []
        # Pipeline names of the executions started through maia_pipeline, for reports.
        self.pipeline_names: dict[str, str] = {}
        # When those runs were started, on the client's clock, for reports.
        self.run_started: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"StatusChecker(project_id={self.project_id!r}, backend={self.backend.value!r})"

    def _explain_not_found(self, exc: NotFoundError, execution_id: str) -> NotFoundError:
        if not self.backend.scripted_by_test:
            return exc
        owner = self._owner_of(execution_id) if self._owner_of is not None else None
        template = (
            FAKE_HINT if owner is None or owner == self.project_id else FAKE_OTHER_PROJECT_HINT
        )
        hint = template.format(execution_id=execution_id, project_id=self.project_id, owner=owner)
        better = NotFoundError(
            exc.status_code, exc.problem, method=exc.method, path=exc.path, note=hint
        )
        better.wait_result = exc.wait_result
        return better

    def get(self, execution_id: str) -> ExecutionStatus:
        """The execution's current status."""
        __tracebackhide__ = True
        try:
            return self.client.get_status(self.project_id, execution_id)
        except NotFoundError as exc:
            raise self._explain_not_found(exc, execution_id) from None

    def wait(self, execution_id: str, *, timeout: float | None = None) -> WaitResult:
        """Wait until the execution is terminal; the wait is recorded for reports."""
        __tracebackhide__ = True
        limit = self.timeout if timeout is None else timeout
        observer, pipeline = self._observer, self.pipeline_names.get(execution_id)
        try:
            result = self.client.wait_for(
                self.project_id,
                execution_id,
                timeout=limit,
                interval=self.interval,
                max_interval=self.max_interval,
                on_poll=None if observer is None else lambda r: observer.poll(pipeline, r),
            )
        except MaiaTimeoutError as exc:
            last = exc.result.status.value if exc.result.history else "no status"
            self.note(exc.result, f"TIMEOUT ({last})", exc)
            raise
        except MaiaApiError as exc:
            if exc.wait_result is not None:
                self.note(exc.wait_result, f"ERROR (HTTP {exc.status_code})", exc)
            if isinstance(exc, NotFoundError):
                raise self._explain_not_found(exc, execution_id) from None
            raise
        finally:
            if observer is not None:
                observer.done(execution_id)
        self.note(result, result.status.value)
        return result

    def report_explanation(
        self, result: WaitResult, error: Exception | None
    ) -> tuple[str | None, list[str]]:
        """The reports' failure message and failing steps (one text line each) for a
        wait that ended as ``result`` (``error`` when it ended by raising).

        A run that ended other than SUCCESS is explained (its details' message and
        failing steps, read once and kept for the assertion); a wait that ended by
        raising shows the error's ProblemDetail or text.
        """
        if error is None and result.status.is_terminal and not result.status.is_success:
            why = self.explain(result)
            steps = [
                f"{PATH_SEPARATOR.join(path)}: {status}" + (f": {message}" if message else "")
                for path, status, message in why.failing_steps
            ]
            if why.error:
                steps.append(f"could not read why it failed: {why.error}")
            if why.message or steps:
                return why.message, steps
        if isinstance(error, MaiaApiError) and error.problem is not None:
            problem = error.problem
            text = ": ".join(p for p in (problem.title, problem.detail) if p)
            return text or str(error).splitlines()[0], []
        if error is not None:
            return str(error).splitlines()[0], []
        if not result.status.is_success and result.errors:
            return f"last error while polling: {str(result.errors[-1]).splitlines()[0]}", []
        return None, []

    def note(self, result: WaitResult, outcome: str, error: Exception | None = None) -> None:
        """Keep a finished wait (``outcome``: its summary cell) and hand its one record,
        an ``Execution``, to ``record``. What the reports get is escaped and cut:
        a status outside the spec is the server's text."""
        self.results.append(result)
        if self._record is None:
            return
        outcome = api_text(outcome, STATUS_LIMIT)
        clock_now = self.client.clock.now()
        # The reports' axis: the fake's virtual clock, else epoch seconds.
        now = clock_now if self.backend.virtual_time else time.time()
        message, steps = self.report_explanation(result, error)
        # Reports show one line per text, escaped and cut (the API wrote them).
        message = None if message is None else api_text(message)
        kept = [api_text(step) for step in steps[:RENDERED_STEPS]]
        if len(steps) > RENDERED_STEPS:
            kept.append(f"... and {len(steps) - RENDERED_STEPS} more failing steps")
        started = self.run_started.get(result.execution_id)
        run_start = run_end = None
        if started is not None:
            run_start = now - (clock_now - started)
            if not outcome.startswith(("TIMEOUT", "ERROR")):
                run_end = now
        self._record(
            Execution(
                "",  # the test's node id: its report's reader knows it
                result.execution_id,
                outcome,
                now - result.elapsed,
                result.elapsed,
                result.polls,
                [(t, api_text(s.value, STATUS_LIMIT)) for t, s in result.timeline()],
                pipeline=self.pipeline_names.get(result.execution_id),
                message=message,
                failing_steps=kept,
                run_start=run_start,
                run_end=run_end,
            )
        )

    def assert_final(
        self,
        execution_id: str,
        expected: ExecutionStatus | str | Iterable[ExecutionStatus | str],
        *,
        timeout: float | None = None,
    ) -> WaitResult:
        """Wait, then assert the final status is ``expected`` (one status or several)."""
        __tracebackhide__ = True
        expected_statuses(expected)  # a misspelt status fails before the wait
        return self.check_final(self.wait(execution_id, timeout=timeout), expected)

    def check_final(
        self, result: WaitResult, expected: ExecutionStatus | str | Iterable[ExecutionStatus | str]
    ) -> WaitResult:
        """Assert a finished wait's final status is ``expected``; returns ``result``."""
        __tracebackhide__ = True
        wanted = expected_statuses(expected)
        if result.status.value not in wanted:
            why = self.explain(result)
            raise AssertionError(f"{explain(result, wanted)}\n{why.render()}".rstrip())
        return result

    def assert_failed(
        self,
        execution_id: str,
        *,
        match: str | re.Pattern[str] | None = None,
        timeout: float | None = None,
    ) -> WaitResult:
        """Wait, then assert the execution ended FAILED and, with ``match`` (a regex,
        ``re.search``), that the details' message or a failing step's message matches."""
        __tracebackhide__ = True
        match_pattern(match)  # a bad pattern fails before the wait
        return self.check_failed(self.wait(execution_id, timeout=timeout), match=match)

    def check_failed(
        self, result: WaitResult, *, match: str | re.Pattern[str] | None = None
    ) -> WaitResult:
        """Assert a finished wait ended FAILED (and ``match``, as ``assert_failed``)."""
        __tracebackhide__ = True
        pattern = match_pattern(match)
        self.check_final(result, ExecutionStatus.FAILED)
        if pattern is None:
            return result
        why = self.explain(result)
        if why.matches(pattern):
            return result
        seen = [
            f"  {api_text(where)}: {api_text(message, newlines=True)}"
            for where, message in why.messages()
        ]
        if len(seen) > RENDERED_STEPS:
            seen[RENDERED_STEPS:] = [f"  ... and {len(seen) - RENDERED_STEPS} more"]
        if not seen:
            seen = ["  (none)"]
        if why.error:
            seen.append(f"could not read why it failed: {api_text(why.error)}")
        raise AssertionError(
            "\n".join(
                [
                    f"pipeline execution {result.execution_id} ended FAILED, but no message "
                    f"matches {pattern.pattern!r}",
                    "messages searched:",
                    *seen,
                    result.describe(),
                ]
            )
        )

    def explain(self, result: WaitResult) -> FailureExplanation:
        """Why ``result``'s execution ended as it did (details and failing steps), read
        once and kept on ``result.explanation``; best effort, never raises a MaiaError."""
        if result.explanation is None:
            result.explanation = explain_failure(self.client, self.project_id, result.execution_id)
            if self._on_explained is not None:
                self._on_explained(result.explanation)
        return result.explanation

    def assert_success(self, execution_id: str, *, timeout: float | None = None) -> WaitResult:
        """Wait, then assert the execution ended SUCCESS."""
        __tracebackhide__ = True
        return self.assert_final(execution_id, ExecutionStatus.SUCCESS, timeout=timeout)


def match_pattern(match: object) -> re.Pattern[str] | None:
    """``match`` (a regex string or compiled pattern, or None) compiled and checked."""
    if match is None or isinstance(match, re.Pattern):
        return match
    if not isinstance(match, str):
        raise MaiaValidationError(f"match must be a regex string, got {type(match).__name__}")
    try:
        return re.compile(match)
    except re.error as exc:
        raise MaiaValidationError(f"match {match!r} is not a valid regex: {exc}") from None


def explain(result: WaitResult, wanted: list[str]) -> str:
    """The failure text: expected vs final status, then the wait's own account
    (timeline, polls, and the last error with its ProblemDetail)."""
    expected = wanted[0] if len(wanted) == 1 else " or ".join(wanted)
    return (
        f"pipeline execution {result.execution_id} ended "
        f"{api_text(result.status.value, STATUS_LIMIT)}, "
        f"expected {expected}\n{result.describe()}"
    )
