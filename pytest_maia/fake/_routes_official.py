"""Routes of the official API's newer families: artifacts and versions, schedules, audit
events, test executions. Each handler maps one request to one account operation
(:mod:`._operations`) and its result to the reference's JSON; see docs/fake.md for
where each fact comes from and what the fake chose where the reference is silent.
"""

from __future__ import annotations

import datetime as _dt
import re
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from pytest_maia.fake._account import Account
from pytest_maia.fake._artifacts import Deployment, Version, check_path
from pytest_maia.fake._errors import Invalid, NotFound
from pytest_maia.fake._events import Event
from pytest_maia.fake._http import Request, Response
from pytest_maia.fake._instants import parse_datetime, to_seconds
from pytest_maia.fake._routes import (
    EXECUTE_CODE,
    Route,
    _json_object,
    _number,
    _ok,
    _page_number,
    _paged,
    _query,
    _string_violation,
    project_of,
)
from pytest_maia.fake._schedules import Schedule
from pytest_maia.fake._testruns import MAX_ITEMS, SCOPES
from pytest_maia.fake._views import encode, timestamp

# The reference caps an audit page at 100 events.
MAX_EVENTS_PAGE = 100
_BAD = "Wrong request parameters used"


def _header(request: Request, name: str) -> str | None:
    wanted = name.lower()
    for key, value in request.headers.items():
        if key.lower() == wanted:
            return value
    return None


# -- artifacts ----------------------------------------------------------------------


def _parts(request: Request) -> dict[str, bytes]:
    """The form parts of a multipart/form-data body: name -> content."""
    content_type = _header(request, "Content-Type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        raise Invalid(
            "The body must be multipart/form-data, one part per file",
            (f"Content-Type: must be multipart/form-data, got {content_type or 'none'!r}",),
        )
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise Invalid(_BAD, ("body: not a multipart/form-data body",))
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise Invalid(_BAD, ("body: every part needs a name (the file's relative path)",))
        try:
            check_path(name)
        except Exception as error:
            raise Invalid(_BAD, (f"{name}: {error}",)) from None
        payload = part.get_payload(decode=True)
        files[name] = payload if isinstance(payload, bytes) else b""
    return files


def publish(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """POST /v1/projects/{id}/artifacts: publish a version (multipart, one part per file)."""
    headers = {name: _header(request, name) for name in ("versionName", "environmentName")}
    violations = [f"{k}: header must not be empty" for k, v in headers.items() if not v]
    if violations:
        raise Invalid(_BAD, tuple(violations))
    files = _parts(request)
    version, ignored = account.publish_artifact(
        project_of(match),
        headers["environmentName"] or "",
        headers["versionName"] or "",
        files,
        now,
        branch=_header(request, "branch"),
        commit_hash=_header(request, "commitHash"),
    )
    return _ok(
        encode(
            {
                "versionName": version.name,
                "ignoredResources": [{"name": n, "reason": r} for n, r in ignored],
            }
        )
    )


def promote(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """POST /v1/projects/{id}/artifacts/promotions."""
    body = _json_object(request)
    names = ("sourceEnvironmentName", "targetEnvironmentName", "versionName")
    checks = [_string_violation(body, name, required=True) for name in names]
    violations = tuple(v for v in checks if v is not None)
    if violations:
        raise Invalid(_BAD, violations)
    version = account.promote_artifact(
        project_of(match),
        body["sourceEnvironmentName"],
        body["targetEnvironmentName"],
        body["versionName"],
        now,
    )
    return _ok(
        encode({"environmentName": body["targetEnvironmentName"], "versionName": version.name})
    )


def _version_details(
    version: Version, deployment: Deployment | None, epoch: _dt.datetime
) -> dict[str, object]:
    out: dict[str, object] = {
        "versionName": version.name,
        "createdAt": timestamp(epoch, version.created_at),
        "enabled": deployment.enabled if deployment is not None else True,
        "provider": version.provider,
    }
    if deployment is not None:
        out["deployedAt"] = timestamp(epoch, deployment.deployed_at)
    if version.branch is not None:
        out["branch"] = version.branch
    if version.commit_hash is not None:
        out["commitHash"] = version.commit_hash
    return out


def _environment_param(account: Account, request: Request, match: re.Match[str]) -> str:
    environment = _query(request).get("environmentName") or ""
    if not environment:
        raise Invalid(_BAD, ("environmentName: must not be empty",))
    account.catalog.environment(project_of(match), environment, keep=False)
    return environment


def list_versions(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """GET /v1/projects/{id}/artifacts?environmentName=: the versions deployed there,
    newest first (each version once)."""
    environment = _environment_param(account, request, match)
    flag = _query(request).get("enabledOnly")
    if flag is not None and flag.lower() not in ("true", "false"):
        raise Invalid(_BAD, ("enabledOnly: must be true or false",))
    enabled_only = flag is not None and flag.lower() == "true"
    seen: set[str] = set()
    items = []
    for deployment in reversed(account.artifacts.deployments(project_of(match), environment)):
        if deployment.version.name in seen or (enabled_only and not deployment.enabled):
            continue
        seen.add(deployment.version.name)
        items.append(_version_details(deployment.version, deployment, account.epoch))
    return _paged(request, items)


def version_details(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """GET /v1/projects/{id}/artifacts/details?environmentName=[&versionName=]: one
    version (default: the latest there) and its files; 404 when there is none."""
    project_id = project_of(match)
    environment = _environment_param(account, request, match)
    name = _query(request).get("versionName")
    if name:
        deployment = account.artifacts.deployment(project_id, environment, name)
    else:
        latest = account.artifacts.latest(project_id, environment)
        if latest is None:
            raise NotFound(f"No artifact is published in environment {environment!r}")
        deployment = latest
    version = deployment.version
    return _ok(
        encode(
            {
                "details": _version_details(version, deployment, account.epoch),
                "assets": list(version.files),
            }
        )
    )


# -- schedules ----------------------------------------------------------------------


def schedule_view(schedule: Schedule, epoch: _dt.datetime) -> dict[str, object]:
    """A schedule as the API shows it (absent values left out)."""
    out: dict[str, object] = {
        "scheduleId": schedule.schedule_id,
        "name": schedule.name,
        "pipelineName": schedule.pipeline_name,
        "environmentName": schedule.environment_name,
        "cronTimezone": schedule.cron_timezone,
        "effectiveFrom": timestamp(epoch, schedule.effective_from),
        "scheduleEnabled": schedule.enabled,
        "allowConcurrentExecutions": schedule.allow_concurrent,
        "scalarVariables": schedule.scalar_variables,
        "gridVariables": schedule.grid_variables,
    }
    if schedule.cron_expression is not None:
        out["cronExpression"] = schedule.cron_expression
    if schedule.interval is not None:
        out["intervalExpression"] = {"interval": schedule.interval[0], "unit": schedule.interval[1]}
    if schedule.version_name is not None:
        out["versionName"] = schedule.version_name
    if schedule.last_run is not None:
        out["lastRunAt"] = timestamp(epoch, schedule.last_run)
    if schedule.next_run is not None:
        out["nextRunAt"] = timestamp(epoch, schedule.next_run)
    return out


_PIPELINE_KEYS = (
    "pipelineName",
    "environmentName",
    "versionName",
    "scalarVariables",
    "gridVariables",
    "allowConcurrentExecutions",
)
_SCHEDULE_KEYS = (
    "name",
    "cronExpression",
    "intervalExpression",
    "cronTimezone",
    "effectiveFrom",
    "scheduleEnabled",
    "allowConcurrentExecutions",
)


def create_schedule(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """POST /v1/projects/{id}/schedules: ``{"pipeline": {...}, "schedule": {...}}``."""
    body = _json_object(request)
    flat: dict[str, Any] = {}
    for part, keys in (("pipeline", _PIPELINE_KEYS), ("schedule", _SCHEDULE_KEYS)):
        section = body.get(part)
        if not isinstance(section, dict):
            raise Invalid(_BAD, (f"{part}: must be an object",))
        flat.update({k: section[k] for k in keys if k in section})
    schedule = account.add_schedule(project_of(match), flat, now)
    return _ok(encode({"scheduleId": schedule.schedule_id}), EXECUTE_CODE)


def _schedule_id(match: re.Match[str]) -> str:
    return match["schedule_id"]


def list_schedules(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """GET /v1/projects/{id}/schedules."""
    project_id = project_of(match)
    account.catalog.project(project_id, keep=False)
    return _paged(
        request, [schedule_view(s, account.epoch) for s in account.schedules.of(project_id)]
    )


def get_schedule(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """GET /v1/projects/{id}/schedules/{scheduleId}."""
    schedule = account.schedules.get(project_of(match), _schedule_id(match))
    return _ok(encode(schedule_view(schedule, account.epoch)))


def update_schedule(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """PATCH /v1/projects/{id}/schedules/{scheduleId}: a flat body; the whole schedule."""
    project_id, schedule_id = project_of(match), _schedule_id(match)
    account.schedules.get(project_id, schedule_id)
    schedule = account.update_schedule(project_id, schedule_id, _json_object(request), now)
    return _ok(encode(schedule_view(schedule, account.epoch)))


def delete_schedule(
    account: Account, request: Request, match: re.Match[str], now: float
) -> Response:
    """DELETE /v1/projects/{id}/schedules/{scheduleId}: 204."""
    account.delete_schedule(project_of(match), _schedule_id(match), now)
    return Response(204, (), b"")


# -- audit events -------------------------------------------------------------------


def event_view(event: Event, epoch: _dt.datetime) -> dict[str, object]:
    """An audit event as the API shows it (absent values left out)."""
    out: dict[str, object] = {
        "eventId": event.event_id,
        "eventName": event.name,
        "eventType": event.type,
        "eventDescription": event.description,
        "eventTimestamp": timestamp(epoch, event.timestamp),
        "eventSource": event.source,
        "additionalInfo": dict(event.additional_info),
    }
    for key, value in (
        ("eventProjectId", event.project_id),
        ("eventSubjectId", event.subject_id),
        ("eventSubjectName", event.subject_name),
        ("eventSubjectType", event.subject_type),
        ("actorId", event.actor_id),
        ("actorEmail", event.actor_email),
    ):
        if value is not None:
            out[key] = value
    return out


def list_events(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """GET /v1/events?from=&to=: the audit events in that window, oldest first."""
    query = _query(request)
    bounds: list[float] = []
    violations = []
    for name in ("from", "to"):
        raw = query.get(name)
        when = parse_datetime(raw)
        if when is None:
            violations.append(
                f"{name}: must not be empty" if not raw else f"{name}: must be a date-time"
            )
        else:
            bounds.append(to_seconds(when, account.epoch))
    page = _page_number(query)
    size = _number(query, "size", 25, 1, MAX_EVENTS_PAGE)
    if violations:
        raise Invalid(_BAD, tuple(violations))
    found = account.events.between(bounds[0], bounds[1], now)
    items = [event_view(e, account.epoch) for e in found[page * size : (page + 1) * size]]
    return _ok(encode({"page": page, "results": items, "size": size, "total": len(found)}))


# -- test executions ----------------------------------------------------------------


def _names(body: dict[str, Any], name: str, problems: list[str]) -> tuple[str, ...]:
    value = body.get(name)
    if name not in body:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{name}: must be an array of non-empty strings")
        return ()
    if len(value) > MAX_ITEMS:
        problems.append(f"{name}: size must be at most {MAX_ITEMS}")
    return tuple(value)


def start_tests(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """POST /v1/projects/{id}/test-executions: recorded; ``{"testExecutionId"}``."""
    body = _json_object(request)
    checks = [
        _string_violation(body, "environmentName", required=True),
        *(
            _string_violation(body, k, required=False)
            for k in ("versionName", "executionTag", "agentId")
        ),
    ]
    problems = [v for v in checks if v is not None]
    scope = body.get("scope")
    if scope not in SCOPES:
        problems.append(f"scope: must be one of {', '.join(SCOPES)}")
    pipelines, tests = _names(body, "pipelines", problems), _names(body, "tests", problems)
    if scope == "PIPELINE" and not pipelines and "pipelines" not in body:
        problems.append("pipelines: must not be empty when scope is PIPELINE")
    if scope == "TEST" and not tests and "tests" not in body:
        problems.append("tests: must not be empty when scope is TEST")
    if problems:
        raise Invalid(_BAD, tuple(problems))
    item = account.start_test_execution(
        project_of(match),
        {
            "environment_name": body["environmentName"],
            "scope": scope,
            "pipelines": pipelines,
            "tests": tests,
            "version_name": body.get("versionName"),
            "execution_tag": body.get("executionTag"),
            "agent_id": body.get("agentId"),
        },
        now,
    )
    return _ok(encode({"testExecutionId": item.test_execution_id}), EXECUTE_CODE)


def cancel_tests(account: Account, request: Request, match: re.Match[str], now: float) -> Response:
    """PATCH /v1/projects/{id}/test-executions/{id}: ``forceUpdate`` and ``status:
    CANCELLED`` both required."""
    body = _json_object(request)
    problems = []
    if body.get("status") != "CANCELLED":
        problems.append("status: must be CANCELLED")
    if not isinstance(body.get("forceUpdate"), bool):
        problems.append("forceUpdate: must be a boolean (true for a hard cancel)")
    if problems:
        raise Invalid(_BAD, tuple(problems))
    test_id = match["test_execution_id"]
    account.cancel_test_execution(project_of(match), test_id, body["forceUpdate"], now)
    return _ok(encode({"testExecutionId": test_id}))


_PROJECT = r"/v1/projects/(?P<project_id>[^/]+)"

ROUTES: tuple[Route, ...] = (
    Route(
        "artifacts", re.compile(_PROJECT + r"/artifacts\Z"), {"GET": list_versions, "POST": publish}
    ),
    Route(
        "artifact-details", re.compile(_PROJECT + r"/artifacts/details\Z"), {"GET": version_details}
    ),
    Route("promotions", re.compile(_PROJECT + r"/artifacts/promotions\Z"), {"POST": promote}),
    Route(
        "schedules",
        re.compile(_PROJECT + r"/schedules\Z"),
        {"GET": list_schedules, "POST": create_schedule},
    ),
    Route(
        "schedule",
        re.compile(_PROJECT + r"/schedules/(?P<schedule_id>[^/]+)\Z"),
        {"GET": get_schedule, "PATCH": update_schedule, "DELETE": delete_schedule},
    ),
    Route("events", re.compile(r"/v1/events\Z"), {"GET": list_events}),
    Route("test-executions", re.compile(_PROJECT + r"/test-executions\Z"), {"POST": start_tests}),
    Route(
        "test-execution",
        re.compile(_PROJECT + r"/test-executions/(?P<test_execution_id>[^/]+)\Z"),
        {"PATCH": cancel_tests},
    ),
)
