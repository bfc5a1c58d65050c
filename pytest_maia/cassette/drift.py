"""Drift: how a response differs from the shapes the fake serves. Pure checks, no I/O.

The expected shapes are the seed spec (``getExecutionStatusOnly``) and
``related-endpoints.md``: a flat details object, the execute answer, step objects,
ProblemDetail errors, and the codes each endpoint is known to send.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pytest_maia.cassette.drift_lists import check_list, list_endpoint
from pytest_maia.cassette.model import Finding
from pytest_maia.client.exchange import Exchange

__all__ = ["KNOWN_STATUSES", "Route", "check", "route_of"]

KNOWN_STATUSES = frozenset(
    {"RUNNING", "SUCCESS", "FAILED", "CANCELLING", "CANCELLED", "FORBIDDEN", "SKIPPED", "UNKNOWN"}
)
DETAILS_FIELDS = frozenset(
    {
        "pipelineExecutionId",
        "pipelineName",
        "pipelineType",
        "projectId",
        "environmentName",
        "scheduleId",
        "status",
        "startedAt",
        "finishedAt",
        "message",
        "trigger",
        "user",
    }
)
STEP_FIELDS = frozenset({"id", "name", "type", "result", "childPipeline"})
STEP_RESULT_FIELDS = frozenset({"status", "message", "startedAt", "finishedAt"})
# Codes every endpoint may send (auth, throttling, server trouble), then each one's own.
_COMMON_CODES = frozenset({400, 401, 403, 404, 429, 500, 502, 503, 504})
_CODES = {
    "status": frozenset({200}),
    "details": frozenset({200}),
    "cancel": frozenset({200, 409}),
    "execute": frozenset({200, 201, 202, 409, 410}),
    "steps": frozenset({200}),
}

_EXECUTIONS = r"/v1/projects/(?P<project>[^/]+)/pipeline-executions"
_PATTERNS = (
    ("status", "GET", re.compile(_EXECUTIONS + r"/(?P<execution>[^/]+)/status\Z")),
    ("steps", "GET", re.compile(_EXECUTIONS + r"/(?P<execution>[^/]+)/steps\Z")),
    ("details", "GET", re.compile(_EXECUTIONS + r"/(?P<execution>[^/]+)\Z")),
    ("cancel", "PATCH", re.compile(_EXECUTIONS + r"/(?P<execution>[^/]+)\Z")),
    ("execute", "POST", re.compile(_EXECUTIONS + r"\Z")),
)
_TEMPLATES = {
    "status": "/pipeline-executions/{pipelineExecutionId}/status",
    "steps": "/pipeline-executions/{pipelineExecutionId}/steps",
    "details": "/pipeline-executions/{pipelineExecutionId}",
    "cancel": "/pipeline-executions/{pipelineExecutionId}",
    "execute": "/pipeline-executions",
}


@dataclass(frozen=True)
class Route:
    """Which endpoint a request was: ``kind`` (status, details, ...) and the ids in it."""

    kind: str
    endpoint: str
    project_id: str | None = None
    execution_id: str | None = None


def route_of(method: str, path: str) -> Route:
    """The endpoint ``method path`` called; kind "other" for any other API call."""
    bare = urlsplit(path).path
    for kind, verb, pattern in _PATTERNS:
        match = pattern.match(bare)
        if match is not None and verb == method:
            execution = match.groupdict().get("execution")
            endpoint = f"{method} /v1/projects/{{projectId}}{_TEMPLATES[kind]}"
            return Route(
                kind,
                endpoint,
                unquote(match["project"]),
                unquote(execution).lower() if execution else None,
            )
    return Route("other", f"{method} {bare}")


def _decode(body: bytes) -> object:
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOT_JSON


_NOT_JSON = object()


def _fields(
    found: list[Finding],
    endpoint: str,
    obj: dict[str, object],
    known: frozenset[str],
    required: tuple[str, ...],
    what: str,
) -> None:
    for name in required:
        if name not in obj:
            found.append(Finding(endpoint, "missing-field", f"{what} has no {name!r}"))
    for name in sorted(set(obj) - known):
        found.append(
            Finding(endpoint, "extra-field", f"{what} has a field {name!r} the fake does not serve")
        )


def _status(found: list[Finding], endpoint: str, value: object, what: str) -> None:
    if isinstance(value, str) and value not in KNOWN_STATUSES:
        found.append(
            Finding(
                endpoint, "unexpected-status", f"{what} status {value!r} is not in the spec's enum"
            )
        )
    elif value is not None and not isinstance(value, str):
        found.append(
            Finding(
                endpoint, "wrong-type", f"{what} status is {type(value).__name__}, not a string"
            )
        )


def _details(found: list[Finding], endpoint: str, body: dict[str, object]) -> None:
    result = body.get("result")
    if isinstance(result, dict) and ("status" in result or "message" in result):
        found.append(
            Finding(
                endpoint,
                "nested-result",
                "status/message are nested in 'result'; the fake serves them flat",
            )
        )
        _status(found, endpoint, result.get("status"), "details result")
        body = {k: v for k, v in body.items() if k != "result"}
        _fields(found, endpoint, body, DETAILS_FIELDS, ("pipelineExecutionId",), "details")
        return
    _fields(found, endpoint, body, DETAILS_FIELDS, ("pipelineExecutionId", "status"), "details")
    _status(found, endpoint, body.get("status"), "details")


def _steps(found: list[Finding], endpoint: str, body: object) -> None:
    items = body.get("results") if isinstance(body, dict) else body
    if not isinstance(items, list):
        found.append(
            Finding(endpoint, "wrong-shape", "steps are not a list (nor a page of results)")
        )
        return
    for index, step in enumerate(items):
        what = f"step [{index}]"
        if not isinstance(step, dict):
            found.append(Finding(endpoint, "wrong-shape", f"{what} is not an object"))
            continue
        _fields(found, endpoint, step, STEP_FIELDS, ("id", "name", "result"), what)
        result = step.get("result")
        if isinstance(result, dict):
            _fields(found, endpoint, result, STEP_RESULT_FIELDS, ("status",), f"{what} result")
            _status(found, endpoint, result.get("status"), what)


def check(exchange: Exchange) -> list[Finding]:
    """What in ``exchange``'s answer differs from the shapes the fake serves."""
    route = route_of(exchange.method, exchange.path)
    if route.kind == "other":
        listed = list_endpoint(exchange.method, exchange.path)
        if listed is None:
            return []
        return check_list(listed, exchange.status_code, _decode(exchange.body), KNOWN_STATUSES)
    endpoint, code = route.endpoint, exchange.status_code
    found: list[Finding] = []
    if (
        code not in _CODES[route.kind]
        and code not in _COMMON_CODES
        and not (route.kind == "execute" and 200 <= code < 300)
    ):
        found.append(
            Finding(
                endpoint,
                "unexpected-code",
                f"HTTP {code} is not a code this endpoint is known to send",
            )
        )
    body = _decode(exchange.body)
    if code >= 400:
        if body is not None and not isinstance(body, dict):
            found.append(
                Finding(
                    endpoint, "wrong-shape", f"the HTTP {code} body is not a ProblemDetail object"
                )
            )
        return found
    if body is _NOT_JSON or (route.kind != "cancel" and not isinstance(body, (dict, list))):
        found.append(Finding(endpoint, "wrong-shape", f"the HTTP {code} body is not a JSON object"))
        return found
    if route.kind == "status" and isinstance(body, dict):
        _fields(found, endpoint, body, frozenset({"status"}), ("status",), "status body")
        _status(found, endpoint, body.get("status"), "status body")
    elif route.kind == "details" and isinstance(body, dict):
        _details(found, endpoint, body)
    elif route.kind == "execute" and isinstance(body, dict):
        _fields(
            found,
            endpoint,
            body,
            frozenset({"pipelineExecutionId"}),
            ("pipelineExecutionId",),
            "execute answer",
        )
    elif route.kind == "steps":
        _steps(found, endpoint, body)
    return found
