"""The typed errors of pytest-maia. Messages name the HTTP status and the problem,
never a secret."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pytest_maia.core.text import api_text

if TYPE_CHECKING:  # the models load with the client, not with the plugin's settings
    from pytest_maia.core.models import ProblemDetail, WaitResult

# The public errors are exported from pytest_maia (its __all__ is the one list of them).

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class MaiaError(Exception):
    """Base of every error pytest-maia raises.

    ``status_code`` is the HTTP status of the answer behind it, or None when no answer
    came (a refused or dropped connection, a timeout, a spent request budget), so that
    ``[e.status_code for e in result.errors]`` works on any error a wait rode out.
    """

    # Set by a wait that ends on this error: what it saw before.
    wait_result: WaitResult | None = None
    status_code: int | None = None


class MaiaValidationError(MaiaError, ValueError):
    """An argument was rejected before any request was sent."""


class MaiaConfigError(MaiaError):
    """The configuration (options, environment, ini) is incomplete or contradictory."""


class MaiaConnectionError(MaiaError):
    """The API could not be reached (connection refused or dropped, read timeout).

    ``is_transient`` is False for failures a retry cannot mend (TLS verification, an
    invalid URL or port): those are not retried. ``refused`` is True when nothing
    listened at the address (the connection was refused, not dropped or timed out).
    ``status_code`` is always None: no HTTP answer came.
    """

    def __init__(self, message: str, *, transient: bool = True, refused: bool = False) -> None:
        super().__init__(message)
        self.is_transient = transient
        self.refused = refused


class MaiaResponseError(MaiaError):
    """The API answered with something the spec does not allow."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class MaiaApiError(MaiaError):
    """The API answered with an HTTP error; ``problem`` is its parsed ProblemDetail."""

    status_code: int

    def __init__(
        self,
        status_code: int,
        problem: ProblemDetail | None = None,
        *,
        method: str = "GET",
        path: str = "",
        retry_after: float | None = None,
        note: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.problem = problem
        self.method = method
        self.path = path
        self.retry_after = retry_after
        reason = _REASONS.get(status_code, "")
        head = f"HTTP {status_code}{' ' + reason if reason else ''}"
        if path:
            head += f" from {method} {path}"
        # The problem's text is the server's: escaped and cut before any output shows it.
        summary = api_text(_summary(problem, reason)) if problem is not None else ""
        message = f"{head}: {summary}" if summary else head
        if note:
            message += f" [{note}]"
        super().__init__(message)

    @property
    def is_transient(self) -> bool:
        """True when the same request may succeed later (429 and 5xx)."""
        return self.status_code == 429 or self.status_code >= 500


def _summary(problem: ProblemDetail, reason: str) -> str:
    # The title says nothing new when it is the reason phrase already in the message,
    # or the start of the detail: never "Unauthorized: Unauthorized: ...".
    title = problem.title
    if title and (
        title.strip().lower() == reason.lower()
        or (problem.detail or "").lower().startswith(title.strip().lower())
    ):
        problem = dataclasses.replace(problem, title=None)
    return problem.summary()


class BadRequestError(MaiaApiError):
    """400: wrong request parameters."""


class UnauthorizedError(MaiaApiError):
    """401: missing, expired or invalid credentials."""


class ForbiddenError(MaiaApiError):
    """403: the credentials may not see this project or execution."""


class NotFoundError(MaiaApiError):
    """404: no such project or pipeline execution."""


class ConflictError(MaiaApiError):
    """409: an execution with the same tag is already running."""


class GoneError(MaiaApiError):
    """410: the pipeline is disabled."""


class RateLimitedError(MaiaApiError):
    """429: over the rate limit; ``retry_after`` holds the server's advice in seconds."""


class ServerError(MaiaApiError):
    """5xx: the API failed; usually worth retrying."""


class GatewayTimeoutError(ServerError):
    """504: the API's gateway timed out."""


_BY_STATUS: dict[int, type[MaiaApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    429: RateLimitedError,
    504: GatewayTimeoutError,
}


def error_for_status(status_code: int) -> type[MaiaApiError]:
    """The error class for an HTTP error status."""
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return ServerError
    return MaiaApiError


class BudgetExhaustedError(MaiaError):
    """The request budget has no free request before the deadline of the call or wait.

    Raised at once, instead of sleeping past the deadline; no request was sent.
    ``retry_after``: seconds until the next request is free; ``left``: seconds that were
    left before the deadline. A wait it ends raises ``MaiaTimeoutError`` from it.
    """

    def __init__(
        self, limit: int, per: float, *, left: float, retry_after: float, paused: bool
    ) -> None:
        self.limit = limit
        self.per = per
        self.left = left
        self.retry_after = retry_after
        self.paused = paused
        super().__init__(self.reason("the deadline"))

    def reason(self, deadline: str) -> str:
        """What happened, naming the deadline (``"the wait's deadline"``)."""
        held = " (held after a 429 until then)" if self.paused else ""
        return (
            f"the request budget ({self.limit} requests per {self.per:g}s) has no free "
            f"request before {deadline}, {_seconds(self.left)}s away; the next one is free "
            f"in {_seconds(self.retry_after)}s{held}"
        )


def _seconds(value: float) -> str:
    return f"{round(max(value, 0.0), 1):g}"


class MaiaTimeoutError(MaiaError):
    """A wait ran out of time before a terminal status; ``result`` holds what it saw.

    ``reason`` says why it ended before its timeout was spent, when it did (the request
    budget had no free request before the deadline).
    """

    def __init__(self, result: WaitResult, timeout: float, *, reason: str | None = None) -> None:
        self.result = result
        self.wait_result = result
        self.timeout = timeout
        self.history = result.history
        from pytest_maia.core.models import STATUS_LIMIT

        last = api_text(result.status.value, STATUS_LIMIT) if result.history else "no status read"
        if reason is None:
            head = f"timed out after {timeout:g}s waiting for execution {result.execution_id} "
            head += f"(last status: {last}, {result.polls} poll(s))"
        else:
            head = f"timed out waiting for execution {result.execution_id} (timeout {timeout:g}s, "
            head += f"last status: {last}, {result.polls} poll(s)): {reason}"
        super().__init__(f"{head}\n{result.describe()}")
