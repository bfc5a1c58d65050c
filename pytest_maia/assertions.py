"""The ``maia_status`` helper: get, wait and assert an execution's outcome.

Plain Python: failures are ``AssertionError``s that explain themselves (execution id,
expected and final status, the timeline, polls, the last problem).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pytest_maia.errors import (
    MaiaApiError,
    MaiaTimeoutError,
    MaiaValidationError,
    NotFoundError,
)
from pytest_maia.explain import FailureExplanation, explain_failure
from pytest_maia.models import ExecutionStatus, WaitResult
from pytest_maia.validation import check_status

if TYPE_CHECKING:
    from pytest_maia.client import MaiaClient

__all__ = ["StatusChecker", "WaitRecord"]

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

# (execution id, final status text, elapsed seconds, polls) of one finished wait.
WaitRecord = tuple[str, str, float, int]


def _statuses(expected: object) -> list[str]:
    items = [expected] if isinstance(expected, str) else expected
    if not isinstance(items, Iterable) or not (items := list(items)):
        raise MaiaValidationError(
            f"expected must be a status or a non-empty list of statuses, got {expected!r}"
        )
    return [check_status(item, "expected").value for item in items]


class StatusChecker:
    """Bound to one client and project: what the ``maia_status`` fixture gives a test."""

    def __init__(
        self,
        client: MaiaClient,
        project_id: str,
        *,
        timeout: float,
        backend: str = "live",
        record: Callable[[WaitRecord], None] | None = None,
        on_explained: Callable[[FailureExplanation], None] | None = None,
        owner_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.client = client
        self.project_id = project_id
        self.timeout = timeout
        self.backend = backend
        self._record = record
        self._on_explained = on_explained
        # Under the fake: which project an execution is scripted in (for 404 hints).
        self._owner_of = owner_of
        self.results: list[WaitResult] = []

    def __repr__(self) -> str:
        return f"StatusChecker(project_id={self.project_id!r}, backend={self.backend!r})"

    def _explain_not_found(self, exc: NotFoundError, execution_id: str) -> NotFoundError:
        if self.backend != "fake":
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
        try:
            result = self.client.wait_for(self.project_id, execution_id, timeout=limit)
        except MaiaTimeoutError as exc:
            last = exc.result.status.value if exc.result.history else "no status"
            self._note(exc.result, f"TIMEOUT ({last})")
            raise
        except MaiaApiError as exc:
            if exc.wait_result is not None:
                self._note(exc.wait_result, f"ERROR (HTTP {exc.status_code})")
            if isinstance(exc, NotFoundError):
                raise self._explain_not_found(exc, execution_id) from None
            raise
        self._note(result, result.status.value)
        return result

    def _note(self, result: WaitResult, outcome: str) -> None:
        self.results.append(result)
        if self._record is not None:
            self._record((result.execution_id, outcome, result.elapsed, result.polls))

    def assert_final(
        self,
        execution_id: str,
        expected: ExecutionStatus | str | Iterable[ExecutionStatus | str],
        *,
        timeout: float | None = None,
    ) -> WaitResult:
        """Wait, then assert the final status is ``expected`` (one status or several)."""
        __tracebackhide__ = True
        wanted = _statuses(expected)
        result = self.wait(execution_id, timeout=timeout)
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
        pattern = _pattern(match)
        result = self.assert_final(execution_id, ExecutionStatus.FAILED, timeout=timeout)
        if pattern is None:
            return result
        why = self.explain(result)
        if why.matches(pattern):
            return result
        seen = [f"  {where}: {message}" for where, message in why.messages()]
        if not seen:
            seen = ["  (none)"]
        if why.error:
            seen.append(f"could not read why it failed: {why.error}")
        raise AssertionError(
            "\n".join(
                [
                    f"pipeline execution {execution_id} ended FAILED, but no message "
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


def _pattern(match: object) -> re.Pattern[str] | None:
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
        f"pipeline execution {result.execution_id} ended {result.status.value}, "
        f"expected {expected}\n{result.describe()}"
    )
