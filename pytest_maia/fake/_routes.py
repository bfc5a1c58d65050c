"""The fake's routes: a path pattern and a handler per method. No I/O.

Each endpoint (status, execute, details, cancel, the OAuth token) is one Route here:
a handler gets the backend (under its lock), the request, the path match and the time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_maia.fake._http import JSON_HEADERS, Request, Response
from pytest_maia.fake._pipelines import UUID_PATTERN, cancel, details, execute, poll_execution
from pytest_maia.fake._steps import steps
from pytest_maia.fake._token import TOKEN_PATH, issue_token

if TYPE_CHECKING:
    from pytest_maia.fake.backend import FakeBackend

__all__ = [
    "EXECUTE_ROUTE",
    "EXECUTION_ROUTE",
    "ROUTES",
    "STATUS_ROUTE",
    "STEPS_ROUTE",
    "TOKEN_ROUTE",
    "UUID_PATTERN",
    "Handler",
    "Route",
]

Handler = Callable[["FakeBackend", Request, "re.Match[str]", float], Response]


@dataclass(frozen=True)
class Route:
    """One path of the API: a pattern (relative to the base path) and its handlers."""

    name: str
    pattern: re.Pattern[str]
    handlers: Mapping[str, Handler]
    # True when a GET here is a poll of the execution named in the path.
    counts_polls: bool = False
    # True when no bearer token is needed (the token endpoint).
    public: bool = False

    @property
    def allow(self) -> str:
        """The ``Allow`` header value: the methods this path answers."""
        return ", ".join(sorted(self.handlers))


def _get_status(
    backend: FakeBackend, request: Request, match: re.Match[str], now: float
) -> Response:
    polled = poll_execution(backend, request, match, now)
    if isinstance(polled, Response):
        return polled
    return Response(200, JSON_HEADERS, polled[1].body)


_EXECUTIONS = r"/v1/projects/(?P<project_id>[^/]+)/pipeline-executions"

STATUS_ROUTE = Route(
    "status",
    re.compile(_EXECUTIONS + r"/(?P<execution_id>[^/]+)/status\Z"),
    {"GET": _get_status},
    counts_polls=True,
)
STEPS_ROUTE = Route(
    "steps", re.compile(_EXECUTIONS + r"/(?P<execution_id>[^/]+)/steps\Z"), {"GET": steps}
)
EXECUTE_ROUTE = Route("execute", re.compile(_EXECUTIONS + r"\Z"), {"POST": execute})
EXECUTION_ROUTE = Route(
    "execution",
    re.compile(_EXECUTIONS + r"/(?P<execution_id>[^/]+)\Z"),
    {"GET": details, "PATCH": cancel},
    counts_polls=True,
)
TOKEN_ROUTE = Route(
    "token", re.compile(re.escape(TOKEN_PATH) + r"\Z"), {"POST": issue_token}, public=True
)

ROUTES: tuple[Route, ...] = (
    STATUS_ROUTE,
    STEPS_ROUTE,
    EXECUTION_ROUTE,
    EXECUTE_ROUTE,
    TOKEN_ROUTE,
)
