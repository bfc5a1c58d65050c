"""HTTP in, domain call, HTTP out: the one place the fake maps requests to the account.

Order of an answer: queued faults, then authentication (401; the token endpoint needs
none), then routing (404 unknown path, 405 other method; HEAD wherever GET is), then the
operation, whose domain errors become ProblemDetail answers (400, 404, 409, 410) and
whose scripted faults become error answers or dropped connections. Control requests
(``/_fake/...`` on the loopback server) go to :mod:`._control` and are not logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pytest_maia.core.models import ErrorStep
from pytest_maia.fake import _control
from pytest_maia.fake._account import Account
from pytest_maia.fake._errors import (
    Conflict,
    DomainError,
    Gone,
    Invalid,
    NotFound,
    NotRecorded,
    Scripted,
)
from pytest_maia.fake._http import (
    DROPPED,
    CallLog,
    Request,
    Response,
    canonical_headers,
    problem,
)
from pytest_maia.fake._oauth import TOKEN_PATH, bearer_credential, token_endpoint, unauthorized
from pytest_maia.fake._routes import ROUTES, Route, execution_of, project_of
from pytest_maia.fake._routes_official import ROUTES as OFFICIAL_ROUTES
from pytest_maia.fake._tokens import Verdict

# Every path the API answers: the executions and catalogue, then the newer families.
ALL_ROUTES: tuple[Route, ...] = ROUTES + OFFICIAL_ROUTES
# The HTTP status of each domain error. Undocumented choices: 409 to cancel a finished
# execution, 404 for an unpublished pipeline or an unknown environment.
CODES: dict[type[DomainError], int] = {Invalid: 400, NotFound: 404, Conflict: 409, Gone: 410}
# A request strict replay has no recorded answer for: never retried by a client.
NOT_RECORDED_CODE = 404


def error_response(step: ErrorStep, path: str) -> Response:
    """The answer to an error step: a ProblemDetail, or a dropped connection."""
    if step.code == 0:
        return DROPPED
    return problem(step.code, path, step.detail, retry_after=step.retry_after)


class HttpApi:
    """The fake API over an :class:`Account`: ``handle`` answers one request."""

    def __init__(self, account: Account, base_path: str) -> None:
        self.account = account
        self.base_path = base_path
        self.calls = CallLog()

    def handle(self, request: Request, *, control: bool = False) -> Response:
        """Answer one request and log it (``control``: the control API is reachable)."""
        if control and request.path.startswith(_control.PREFIX):
            return _control.handle(self.account, self.calls, request)
        headers = canonical_headers(request.headers)
        account = self.account
        with account.lock:
            now = account.clock.now()
            account.fire_due(now)  # schedules the clock has reached run first
            response = self._answer(request, headers, now)
            self.calls.record(request.method, request.path, response.status, headers, now)
        return response

    def _answer(self, request: Request, headers: Mapping[str, str], now: float) -> Response:
        path = request.path
        if path == TOKEN_PATH or path == self.base_path + TOKEN_PATH:
            fault = self.account.next_fault()
            if fault is not None:
                return error_response(fault, path)
            return token_endpoint(self.account, request, headers, now)
        route, match = self._route(path)
        method = request.method
        if match is not None and route.counts_polls and method in ("GET", "HEAD"):
            self._count_poll(match)
        fault = self.account.next_fault()
        if fault is not None:
            return error_response(fault, path)
        credential = bearer_credential(headers.get("Authorization"))
        verdict = self.account.authorize(credential, now)
        if verdict is not Verdict.OK:
            return unauthorized(verdict, path)
        if match is None:
            return problem(404, path, f"No API endpoint at {path}")
        handler = route.handlers.get("GET" if method == "HEAD" else method)
        if handler is not None and self.account.replay_hint is not None and not route.recorded:
            return self._not_recorded(request, "cassettes do not record this endpoint")
        if handler is None:
            return problem(
                405,
                path,
                f"{method} is not allowed here; allowed: {route.allow}",
                headers=(("Allow", route.allow),),
            )
        try:
            response = handler(self.account, request, match, now)
        except Scripted as scripted:
            return error_response(scripted.step, path)
        except NotRecorded as missing:
            return self._not_recorded(request, missing.detail)
        except DomainError as error:
            code = CODES.get(type(error), 400)
            return problem(code, path, error.detail, violations=error.violations)
        if method == "HEAD":
            length = ("Content-Length", str(len(response.body)))
            return Response(response.status, (*response.headers, length), b"")
        return response

    def _not_recorded(self, request: Request, why: str) -> Response:
        """Strict replay: the cassette has no answer to ``request``. The miss is kept
        (the plugin fails the test with it) and answered 404 with the same words."""
        what = f"{request.method} {request.path}"
        if request.query:
            what += f"?{request.query}"
        detail = (
            f"not recorded: {what}: {why}; replay serves only what the cassette holds. "
            f"Re-record the test with: {self.account.replay_hint}"
        )
        self.account.replay_misses.append(detail)
        return problem(NOT_RECORDED_CODE, request.path, detail)

    def _route(self, path: str) -> tuple[Route, re.Match[str] | None]:
        base = self.base_path
        if path.startswith(base) and path[len(base) : len(base) + 1] == "/":
            rest = path[len(base) :]
            for route in ALL_ROUTES:
                match = route.pattern.match(rest)
                if match is not None:
                    return route, match
        return ROUTES[0], None

    def _count_poll(self, match: re.Match[str]) -> None:
        try:
            execution_id = execution_of(match)
        except DomainError:
            return
        self.account.ledger.count_poll(project_of(match), execution_id)

    def reset(self) -> None:
        """Forget the call log."""
        with self.account.lock:
            self.calls.clear()
