"""Drift in the list endpoints' answers (``related-endpoints.md``): the page envelopes
and the fields of their items. Pure checks, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from urllib.parse import urlsplit

from pytest_maia.cassette.model import Finding

__all__ = ["check_list", "list_endpoint"]

_NUMBERED = frozenset({"page", "results", "size", "total"})
# (endpoint template, path pattern, required item fields, known item fields)
_LISTS = (
    (
        "GET /v1/projects",
        re.compile(r"/v1/projects\Z"),
        ("id", "name"),
        frozenset({"id", "name", "description"}),
    ),
    (
        "GET /v1/projects/{projectId}/environments",
        re.compile(r"/v1/projects/[^/]+/environments\Z"),
        ("name",),
        frozenset({"name", "defaultAgentId", "defaultAgentName"}),
    ),
    (
        "GET /v1/projects/{projectId}/published-pipelines",
        re.compile(r"/v1/projects/[^/]+/published-pipelines\Z"),
        ("name",),
        frozenset({"name", "publishedTime"}),
    ),
    (
        "GET /v1/pipeline-executions",
        re.compile(r"/v1/pipeline-executions\Z"),
        ("pipelineExecutionId", "status"),
        frozenset(
            {
                "pipelineExecutionId",
                "pipelineName",
                "status",
                "startedAt",
                "finishedAt",
                "environmentName",
                "projectId",
                "pipelineType",
                "trigger",
                "message",
            }
        ),
    ),
)


def list_endpoint(method: str, path: str) -> str | None:
    """The list endpoint ``method path`` read, as a template; None for any other call."""
    bare = urlsplit(path).path
    if method != "GET":
        return None
    return next((name for name, pattern, _, _ in _LISTS if pattern.match(bare)), None)


def _fields(
    endpoint: str, what: str, body: dict[str, object], required: Iterable[str], known: Set[str]
) -> list[Finding]:
    """The required fields ``body`` lacks and the fields it has that are not ``known``."""
    found = [
        Finding(endpoint, "missing-field", f"{what} has no {n!r}")
        for n in required
        if n not in body
    ]
    return found + [
        Finding(endpoint, "extra-field", f"{what} has a field {n!r} the fake does not serve")
        for n in sorted(set(body) - known)
    ]


def _envelope(endpoint: str, body: dict[str, object]) -> list[Finding]:
    required: tuple[str, ...]
    if endpoint == "GET /v1/pipeline-executions":
        required, known = ("results",), frozenset({"results", "more"})
    else:
        required, known = tuple(sorted(_NUMBERED)), _NUMBERED
    return _fields(endpoint, "the page", body, required, known)


def check_list(endpoint: str, code: int, body: object, statuses: frozenset[str]) -> list[Finding]:
    """What in a 2xx list answer differs from the documented envelope and items."""
    if not 200 <= code < 300:
        return []
    if not isinstance(body, dict):
        return [Finding(endpoint, "wrong-shape", "the page is not a JSON object")]
    found = _envelope(endpoint, body)
    items = body.get("results")
    if not isinstance(items, list):
        return found
    _, _, required, known = next(entry for entry in _LISTS if entry[0] == endpoint)
    for index, item in enumerate(items[:50]):  # a page's worth is enough to see a drift
        what = f"results[{index}]"
        if not isinstance(item, dict):
            found.append(Finding(endpoint, "wrong-shape", f"{what} is not an object"))
            continue
        found += _fields(endpoint, what, item, required, known)
        status = item.get("status")
        if "status" in required and isinstance(status, str) and status not in statuses:
            found.append(
                Finding(
                    endpoint,
                    "unexpected-status",
                    f"{what} status {status!r} is not in the spec's enum",
                )
            )
    return found
