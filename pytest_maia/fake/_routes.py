"""The fake's routes: a path pattern and a handler per method. No I/O.

A new endpoint (execute, details, cancel, the OAuth token) is one more Route here:
a handler gets the backend (under its lock), the request, the path match and the time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from pytest_maia.fake._http import JSON_HEADERS, Request, Response, problem

if TYPE_CHECKING:
    from pytest_maia.fake.backend import FakeBackend

__all__ = ["ROUTES", "STATUS_ROUTE", "UUID_PATTERN", "Handler", "Route"]

UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")

Handler = Callable[["FakeBackend", Request, "re.Match[str]", float], Response]


@dataclass(frozen=True)
class Route:
    """One path of the API: a pattern (relative to the base path) and its handlers."""

    name: str
    pattern: re.Pattern[str]
    handlers: Mapping[str, Handler]
    # True when a GET here is a status poll of the execution named in the path.
    counts_polls: bool = False

    @property
    def allow(self) -> str:
        """The ``Allow`` header value: the methods this path answers."""
        return ", ".join(sorted(self.handlers))


def _get_status(
    backend: FakeBackend, request: Request, match: re.Match[str], now: float
) -> Response:
    execution_id = match["execution_id"]
    if not UUID_PATTERN.match(execution_id):
        return problem(
            400,
            request.path,
            f"pipelineExecutionId {unquote(execution_id)!r} is not a UUID",
            violations=("pipelineExecutionId: must be a valid UUID",),
        )
    project_id = match["project_id"]
    if "%" in project_id:
        project_id = unquote(project_id)
    known, execution = backend.lookup(project_id, execution_id.lower())
    if not known:
        return problem(404, request.path, f"Project {project_id!r} not found")
    if execution is None:
        return problem(
            404,
            request.path,
            f"Pipeline execution {execution_id} not found in project {project_id!r}",
        )
    step = execution.next_step(now)
    if step.error is not None:
        return backend.error_response(step.error, request.path)
    return Response(200, JSON_HEADERS, step.body)


STATUS_ROUTE = Route(
    "status",
    re.compile(
        r"/v1/projects/(?P<project_id>[^/]+)/pipeline-executions/"
        r"(?P<execution_id>[^/]+)/status\Z"
    ),
    {"GET": _get_status},
    counts_polls=True,
)

ROUTES: tuple[Route, ...] = (STATUS_ROUTE,)
