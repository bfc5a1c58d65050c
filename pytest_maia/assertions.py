"""The ``maia_status`` helper: get, wait and assert an execution's outcome.

Plain Python: failures are ``AssertionError``s that explain themselves (execution id,
expected and final status, the timeline, polls, the last problem).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pytest_maia.errors import (
    MaiaApiError,
    MaiaTimeoutError,
    MaiaValidationError,
    NotFoundError,
)
from pytest_maia.models import ExecutionStatus, WaitResult
from pytest_maia.waiting import DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL

if TYPE_CHECKING:
    from pytest_maia.client import MaiaClient

__all__ = ["StatusChecker", "WaitRecord"]

FAKE_HINT = (
    "the fake backend does not know execution {execution_id} in project {project_id!r}: "
    "script it first with maia_fake.add_execution({project_id!r}, ['RUNNING', 'SUCCESS'], "
    "execution_id={execution_id!r}), or run against the real API with "
    "--maia-backend=live (MAIA_BACKEND=live)"
)

# (execution id, final status text, elapsed seconds, polls) of one finished wait.
WaitRecord = tuple[str, str, float, int]


def _statuses(expected: object) -> list[str]:
    items = [expected] if isinstance(expected, str) else expected
    if not isinstance(items, Iterable) or not (items := list(items)):
        raise MaiaValidationError(
            f"expected must be a status or a non-empty list of statuses, got {expected!r}"
        )
    for item in items:
        if not isinstance(item, str) or not item:
            raise MaiaValidationError(f"expected statuses must be strings, got {item!r}")
    return [ExecutionStatus(item).value for item in items]


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
        interval: float = DEFAULT_INTERVAL,
        max_interval: float = DEFAULT_MAX_INTERVAL,
    ) -> None:
        self.client = client
        self.project_id = project_id
        self.timeout = timeout
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self.backend = backend
        self._record = record
        self.results: list[WaitResult] = []

    def __repr__(self) -> str:
        return f"StatusChecker(project_id={self.project_id!r}, backend={self.backend!r})"

    def _explain_not_found(self, exc: NotFoundError, execution_id: str) -> NotFoundError:
        if self.backend != "fake":
            return exc
        hint = FAKE_HINT.format(execution_id=execution_id, project_id=self.project_id)
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
            result = self.client.wait_for(
                self.project_id,
                execution_id,
                timeout=limit,
                interval=self.interval,
                max_interval=self.max_interval,
            )
        except MaiaTimeoutError as exc:
            last = exc.result.status.value if exc.result.history else "no status"
            self.note(exc.result, f"TIMEOUT ({last})")
            raise
        except MaiaApiError as exc:
            if exc.wait_result is not None:
                self.note(exc.wait_result, f"ERROR (HTTP {exc.status_code})")
            if isinstance(exc, NotFoundError):
                raise self._explain_not_found(exc, execution_id) from None
            raise
        self.note(result, result.status.value)
        return result

    def note(self, result: WaitResult, outcome: str) -> None:
        """Keep a finished wait (``outcome``: its summary cell) and record it."""
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
            raise AssertionError(explain(result, wanted))
        return result

    def assert_success(self, execution_id: str, *, timeout: float | None = None) -> WaitResult:
        """Wait, then assert the execution ended SUCCESS."""
        __tracebackhide__ = True
        return self.assert_final(execution_id, ExecutionStatus.SUCCESS, timeout=timeout)


def explain(result: WaitResult, wanted: list[str]) -> str:
    """The failure text: expected vs final status, then the wait's own account
    (timeline, polls, and the last error with its ProblemDetail)."""
    expected = wanted[0] if len(wanted) == 1 else " or ".join(wanted)
    return (
        f"pipeline execution {result.execution_id} ended {result.status.value}, "
        f"expected {expected}\n{result.describe()}"
    )
