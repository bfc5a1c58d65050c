"""The API's routes: a path pattern and a handler per method, each a call into the account.

A handler turns a request into one domain operation and its result into a response;
domain errors propagate to :mod:`._api`, which maps them to ProblemDetail answers.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from pytest_maia.client.bodies import ENVIRONMENT_NAME_MAX
from pytest_maia.client.listing import LIST_STATUSES
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.models import parse_timestamp
from pytest_maia.core.validation import check_execution_id
from pytest_maia.fake import _views as views
from pytest_maia.fake._account import Account, ExecutionFilter
from pytest_maia.fake._errors import Invalid
from pytest_maia.fake._execution import RunInfo, variables_violations
from pytest_maia.fake._http import JSON_HEADERS, Request, Response

# Undocumented: 201 is what public client code expects from the execute endpoint.
EXECUTE_CODE = 201
DEFAULT_PAGE_SIZE = 25
# The reference caps page sizes at 100: a larger ``size`` or ``limit`` is served as 100,
# not refused (clients ask for 500).
MAX_PAGE_SIZE = 100
DEFAULT_LIMIT = 25  # executions list: items per page unless ``limit`` says
MAX_LIMIT = 100
_NUMBER = re.compile(r"\d{1,9}\Z")
_DIGITS = re.compile(r"\d+\Z")
# An RFC 3339 date-time, as the reference's ``format: date-time`` query parameters take.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})\Z"
)

Handler = Callable[[Account, Request, "re.Match[str]", float], Response]


@dataclass(frozen=True)
class Route:
    """One path of the API: a pattern (relative to the base path) and its handlers."""

    name: str
    pattern: re.Pattern[str]
    handlers: Mapping[str, Handler]
    counts_polls: bool = False  # a GET here is a poll of the execution in the path
    # A cassette holds its answers: strict replay serves it (and refuses any other route).
    recorded: bool = False

    @property
    def allow(self) -> str:
        """The ``Allow`` header value: the methods this path answers (HEAD with GET)."""
        methods = set(self.handlers) | ({"HEAD"} if "GET" in self.handlers else set())
        return ", ".join(sorted(methods))


def _ok(body: bytes, code: int = 200) -> Response:
    return Response(code, JSON_HEADERS, body)


def project_of(match: re.Match[str]) -> str:
    """The project id of a path (%-decoded)."""
    raw = match["project_id"]
    return unquote(raw) if "%" in raw else raw


_CHECKED_IDS: dict[str, str] = {}  # path segment -> canonical id; bounded below


def execution_of(match: re.Match[str]) -> str:
    """The execution id of a path, canonical; Invalid unless it is a 36-character UUID."""
    raw = match["execution_id"]
    canonical = _CHECKED_IDS.get(raw)
    if canonical is not None:  # a poll loop names one id again and again
        return canonical
    try:
        canonical = check_execution_id(unquote(raw))
    except MaiaValidationError:
        canonical = ""
    if canonical != raw.lower():
        raise Invalid(
            f"pipelineExecutionId {unquote(raw)!r} is not a UUID",
            ("pipelineExecutionId: must be a valid UUID",),
        )
    if len(_CHECKED_IDS) < 4096:
        _CHECKED_IDS[raw] = canonical
    return canonical


def _query(request: Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(request.query, keep_blank_values=True).items()}


def _number(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, str(default))
    if not _NUMBER.match(raw) or not low <= int(raw) <= high:
        raise Invalid(
            "Wrong request parameters used", (f"{name}: must be an integer from {low} to {high}",)
        )
    return int(raw)


def _capped(query: Mapping[str, str], name: str, default: int, cap: int) -> int:
    """A page size: an integer >= 1 (Invalid otherwise), served as ``cap`` above it."""
    raw = query.get(name)
    if raw is None:
        return default
    if not _DIGITS.match(raw) or int(raw) < 1:
        raise Invalid("Wrong request parameters used", (f"{name}: must be an integer >= 1",))
    return min(int(raw), cap)


def _page_number(query: Mapping[str, str]) -> int:
    """``page``: any whole number from 0 (past the last page, an empty one)."""
    raw = query.get("page", "0")
    if not _DIGITS.match(raw):
        raise Invalid("Wrong request parameters used", ("page: must be an integer >= 0",))
    return int(raw)


def _paged(request: Request, items: list[dict[str, object]]) -> Response:
    query = _query(request)
    page = _page_number(query)
    size = _capped(query, "size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    return _ok(views.numbered_page(items, page, size))


def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object", ("body: must be a JSON object",))
    return body


def _string_violation(body: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        # An optional field may be left out, but not sent as null (the reference: a string).
        return f"{name}: must not be null" if required or name in body else None
    if not isinstance(value, str):
        return f"{name}: must be a string"
    if required and not value:
        return f"{name}: must not be empty"
    if name == "environmentName" and len(value) > ENVIRONMENT_NAME_MAX:
        return f"{name}: size must be between 1 and {ENVIRONMENT_NAME_MAX}"
    return None


# -- handlers -----------------------------------------------------------------------------


def get_status(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """GET .../{id}/status: the status; one lifecycle step."""
    execution = account.poll(project_of(match), execution_of(match), now)
    return _ok(views.status_body(execution.status))


def get_details(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """GET .../{id}: the details; one lifecycle step, like a status poll."""
    execution = account.poll(project_of(match), execution_of(match), now)
    return _ok(views.encode(views.details(execution, account.epoch)))


def cancel(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """PATCH .../{id}: cancel (400, 404, 409 when finished, or 200)."""
    project_id, execution_id = project_of(match), execution_of(match)
    account.find(project_id, execution_id)
    body = _json_object(request)
    violations = []
    if body.get("status") is None:
        violations.append("status: must not be null")
    elif body["status"] != "CANCELLED":
        violations.append("status: must be CANCELLED")
    force = body.get("forceUpdate")
    if force is None:
        violations.append("forceUpdate: must not be null")
    elif not isinstance(force, bool):
        violations.append("forceUpdate: must be a boolean")
    if violations:
        raise Invalid("Wrong request parameters used", tuple(violations))
    account.cancel(project_id, execution_id, bool(force), now)
    return _ok(views.encode({"pipelineExecutionId": execution_id}))


def execute(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """POST .../pipeline-executions: start an execution (400, 404, 409, 410 or 201)."""
    body = _json_object(request)
    checks = [
        _string_violation(body, "pipelineName", required=True),
        _string_violation(body, "environmentName", required=True),
        *(
            _string_violation(body, k, required=False)
            for k in ("agentId", "executionTag", "versionName")
        ),
    ]
    violations = [v for v in checks if v is not None] + variables_violations(body, null=True)
    if violations:
        raise Invalid("Wrong request parameters used", tuple(violations))
    info = RunInfo(
        body["pipelineName"],
        body["environmentName"],
        dict(body.get("scalarVariables") or {}),
        dict(body.get("gridVariables") or {}),
        body.get("agentId"),
        body.get("executionTag"),
        body.get("versionName"),
    )
    execution_id = account.start_execution(project_of(match), info, now)
    return _ok(views.encode({"pipelineExecutionId": execution_id}), EXECUTE_CODE)


def get_steps(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """GET .../{id}/steps: one page of the steps."""
    project_id, execution_id = project_of(match), execution_of(match)
    items = account.steps(project_id, execution_id, now)
    epoch = account.epoch
    return _paged(
        request,
        [views.step(views.step_id(execution_id, i), v, epoch) for i, v in enumerate(items, 1)],
    )


def list_projects(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """GET /v1/projects."""
    return _paged(request, [views.project(p) for p in account.catalog.projects()])


def list_environments(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """GET /v1/projects/{id}/environments."""
    envs = account.catalog.environments(project_of(match))
    return _paged(request, [views.environment(e) for e in envs])


def list_published(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """GET /v1/projects/{id}/published-pipelines?environmentName=..."""
    environment = _query(request).get("environmentName") or ""
    if not environment:
        raise Invalid("Wrong request parameters used", ("environmentName: must not be empty",))
    items = account.published(project_of(match), environment)
    epoch = account.epoch
    return _paged(request, [views.published(name, when, epoch) for name, when in items])


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode() + b"==").decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("offset:") or not _NUMBER.match(text[7:]):
        raise Invalid(
            "Wrong request parameters used", ("paginationToken: not a token this API gave",)
        )
    return int(text[7:])


def _date_time(query: Mapping[str, str], name: str, violations: list[str]) -> _dt.datetime | None:
    raw = query.get(name)
    if raw is None:
        return None
    when = parse_timestamp(raw) if _DATE_TIME.match(raw) else None
    if when is None:
        violations.append(f"{name}: must be a date-time such as 2026-01-01T00:00:00Z")
        return None
    try:
        return when.astimezone(_dt.timezone.utc)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        edge = _dt.datetime.min if when.year == 1 else _dt.datetime.max
        return edge.replace(tzinfo=_dt.timezone.utc)


def _statuses(values: list[str], violations: list[str]) -> frozenset[str] | None:
    """The ``status`` filter: values repeated or comma-separated; None when not given."""
    if not values:
        return None
    wanted = {part.strip() for value in values for part in value.split(",")}
    if not wanted <= set(LIST_STATUSES):
        violations.append(f"status: must be one or more of {', '.join(LIST_STATUSES)}")
    return frozenset(wanted)


def _filter(request: Request) -> tuple[ExecutionFilter, int, int]:
    """The executions list's filter, page size and offset; Invalid names every wrong one.

    Every parameter is optional; an empty name or id is as if it were not sent (an
    empty date-time, status or limit is wrong). ``timeFrame`` is accepted and ignored
    (the reference documents no values), as are unknown parameters.
    """
    every = parse_qs(request.query, keep_blank_values=True)
    query = {k: v[-1] for k, v in every.items()}
    violations: list[str] = []
    after = _date_time(query, "startedAfter", violations)
    before = _date_time(query, "startedBefore", violations)
    statuses = _statuses(every.get("status", []), violations)
    try:
        limit = _capped(query, "limit", DEFAULT_LIMIT, MAX_LIMIT)
        token = query.get("paginationToken")
        start = _offset(token) if token else 0  # an empty token: the first page
    except Invalid as error:
        violations += error.violations
        limit = start = 0
    if violations:
        raise Invalid("Wrong request parameters used", tuple(violations))
    wanted = ExecutionFilter(
        project_id=query.get("projectId") or None,
        pipeline_name=query.get("pipelineName") or None,
        environment=query.get("environmentName") or None,
        started_after=after,
        started_before=before,
        statuses=statuses,
        schedule_id=query.get("scheduleId") or None,
    )
    return wanted, limit, start


def list_executions(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """GET /v1/pipeline-executions: the account's executions, filtered, most recent
    first, ``limit`` a page (25; at most 100), ``more`` to go on."""
    wanted, limit, start = _filter(request)
    found = account.list_executions(wanted, now)
    epoch = account.epoch
    page = found[start : start + limit]
    for execution in page:
        execution.current(now)
    body: dict[str, object] = {"results": [views.details(e, epoch) for e in page]}
    if start + limit < len(found):
        body["more"] = (
            base64.urlsafe_b64encode(f"offset:{start + limit}".encode()).decode().rstrip("=")
        )
    return _ok(views.encode(body))


_PROJECT = r"/v1/projects/(?P<project_id>[^/]+)"
_EXECUTIONS = _PROJECT + r"/pipeline-executions"

ROUTES: tuple[Route, ...] = (
    Route(
        "status",
        re.compile(_EXECUTIONS + r"/(?P<execution_id>[^/]+)/status\Z"),
        {"GET": get_status},
        counts_polls=True,
        recorded=True,
    ),
    Route(
        "steps",
        re.compile(_EXECUTIONS + r"/(?P<execution_id>[^/]+)/steps\Z"),
        {"GET": get_steps},
        recorded=True,
    ),
    Route(
        "execution",
        re.compile(_EXECUTIONS + r"/(?P<execution_id>[^/]+)\Z"),
        {"GET": get_details, "PATCH": cancel},
        counts_polls=True,
        recorded=True,
    ),
    Route("execute", re.compile(_EXECUTIONS + r"\Z"), {"POST": execute}, recorded=True),
    Route("projects", re.compile(r"/v1/projects\Z"), {"GET": list_projects}),
    Route("environments", re.compile(_PROJECT + r"/environments\Z"), {"GET": list_environments}),
    Route("published", re.compile(_PROJECT + r"/published-pipelines\Z"), {"GET": list_published}),
    Route("executions", re.compile(r"/v1/pipeline-executions\Z"), {"GET": list_executions}),
)
