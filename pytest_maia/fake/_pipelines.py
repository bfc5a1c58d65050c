"""The fake's execute, details and cancel endpoints. No I/O.

Handlers run under the backend's lock. What the real API does here is partly
undocumented; the fake's choices are constants below (see docs/fake.md):
``EXECUTE_CODE`` (201), the details fields, and ``CANCEL_FINISHED_CODE`` (409 when
the execution has already finished).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pytest_maia.fake._http import JSON_HEADERS, Request, Response, problem
from pytest_maia.fake._lifecycle import Execution, ScriptedStep
from pytest_maia.fake._steps import spawn_children
from pytest_maia.models import ExecutionStatus

if TYPE_CHECKING:
    from pytest_maia.fake.backend import FakeBackend

__all__ = [
    "CANCEL_FINISHED_CODE",
    "CLOCK_EPOCH",
    "EXECUTE_CODE",
    "ExecutionRecord",
    "RunInfo",
    "cancel",
    "details",
    "execute",
    "find_execution",
    "timestamp",
]

UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
# Undocumented: 201 is what public client code expects from the execute endpoint.
EXECUTE_CODE = 201
# Undocumented: the fake refuses to cancel a finished execution with 409 Conflict.
CANCEL_FINISHED_CODE = 409
# Clock second 0 is this instant in ``startedAt`` and ``finishedAt``.
CLOCK_EPOCH = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
ENVIRONMENT_NAME_MAX = 255
# The pipeline name of an execution scripted with add_execution.
SCRIPTED_PIPELINE_NAME = "scripted-execution"


def timestamp(seconds: float) -> str:
    """A clock time as the API's ISO 8601 UTC string, e.g. ``2026-01-01T00:00:30.000Z``."""
    when = CLOCK_EPOCH + _dt.timedelta(seconds=seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RunInfo:
    """What an execute request asked for."""

    pipeline_name: str
    environment_name: str
    scalar_variables: dict[str, str] = field(default_factory=dict)
    grid_variables: dict[str, list[list[str]]] = field(default_factory=dict)
    agent_id: str | None = None
    execution_tag: str | None = None
    version_name: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ExecutionRecord:
    """One execution started through the execute endpoint, as the fake sees it now.

    ``started_at``/``finished_at`` are clock seconds; ``cancel_force`` is None until a
    cancel is requested, then whether any cancel request was forced.
    """

    execution_id: str
    project_id: str
    pipeline_name: str
    environment_name: str
    status: ExecutionStatus
    scalar_variables: dict[str, str]
    grid_variables: dict[str, list[list[str]]]
    agent_id: str | None
    execution_tag: str | None
    version_name: str | None
    started_at: float
    finished_at: float | None
    cancel_force: bool | None

    @classmethod
    def of(cls, execution: Execution, info: RunInfo, now: float) -> ExecutionRecord:
        """A snapshot of ``execution`` at ``now``."""
        status = execution.current(now)
        return cls(
            execution.execution_id,
            execution.project_id,
            info.pipeline_name,
            info.environment_name,
            status,
            json.loads(json.dumps(info.scalar_variables)),  # deep copies
            json.loads(json.dumps(info.grid_variables)),
            info.agent_id,
            info.execution_tag,
            info.version_name,
            execution.started,
            execution.finished,
            execution.cancel_force,
        )


def find_execution(
    backend: FakeBackend, request: Request, match: re.Match[str]
) -> Execution | Response:
    """The execution named by the path, or the 400/404 answer when there is none."""
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
    return execution


def _json_object(request: Request) -> dict[str, Any] | Response:
    try:
        body = json.loads(request.body) if request.body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if not isinstance(body, dict):
        return problem(
            400,
            request.path,
            "The request body must be a JSON object",
            violations=("body: must be a JSON object",),
        )
    return body


def _string_violation(body: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        return f"{name}: must not be null" if required else None
    if not isinstance(value, str):
        return f"{name}: must be a string"
    if required and not value:
        return f"{name}: must not be empty"
    if name == "environmentName" and len(value) > ENVIRONMENT_NAME_MAX:
        return f"{name}: size must be between 1 and {ENVIRONMENT_NAME_MAX}"
    return None


def _variables_violations(body: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    scalars = body.get("scalarVariables")
    if scalars is not None and not (
        isinstance(scalars, dict) and all(isinstance(v, str) for v in scalars.values())
    ):
        out.append("scalarVariables: must be an object of string values")
    grids = body.get("gridVariables")
    if grids is not None and not (
        isinstance(grids, dict)
        and all(
            isinstance(rows, list)
            and all(isinstance(row, list) and all(isinstance(c, str) for c in row) for row in rows)
            for rows in grids.values()
        )
    ):
        out.append("gridVariables: must be an object of arrays of arrays of strings")
    return out


def execute(backend: FakeBackend, request: Request, match: re.Match[str], now: float) -> Response:
    """POST .../pipeline-executions: start an execution (400, 409, 410 or 201)."""
    body = _json_object(request)
    if isinstance(body, Response):
        return body
    violations = [
        v
        for v in (
            _string_violation(body, "pipelineName", required=True),
            _string_violation(body, "environmentName", required=True),
            *(
                _string_violation(body, key, required=False)
                for key in ("agentId", "executionTag", "versionName")
            ),
        )
        if v is not None
    ] + _variables_violations(body)
    if violations:
        return problem(
            400, request.path, "Wrong request parameters used", violations=tuple(violations)
        )
    project_id = unquote(match["project_id"])
    name, environment = body["pipelineName"], body["environmentName"]
    if backend.is_disabled(name):
        return problem(410, request.path, f"Pipeline {name!r} is disabled")
    tag = body.get("executionTag")
    if tag is not None:
        for execution, info in backend.runs(project_id):
            if (
                info.execution_tag == tag
                and info.environment_name == environment
                and not execution.current(now).is_terminal
            ):
                return problem(
                    409,
                    request.path,
                    f"An execution tagged {tag!r} is already running in environment "
                    f"{environment!r}: {execution.execution_id}",
                )
    steps, every, message, plan = backend.pipeline_script(name)
    info = RunInfo(
        name,
        environment,
        dict(body.get("scalarVariables") or {}),
        dict(body.get("gridVariables") or {}),
        body.get("agentId"),
        tag,
        body.get("versionName"),
        message,
    )
    execution_id = str(uuid.uuid4())
    execution = Execution(project_id, execution_id, steps, every, now, info, message=message)
    backend.register(execution)
    spawn_children(backend, execution, plan, now)
    payload = json.dumps({"pipelineExecutionId": execution_id}).encode()
    return Response(EXECUTE_CODE, JSON_HEADERS, payload)


def details_body(execution: Execution, info: RunInfo | None) -> dict[str, object]:
    """The flat details object of ``execution`` as it stands."""
    status = execution.status
    body: dict[str, object] = {
        "pipelineExecutionId": execution.execution_id,
        "pipelineName": pipeline_name_of(execution),
        "pipelineType": "ORCHESTRATION",
        "projectId": execution.project_id,
        "environmentName": info.environment_name if info else "default",
        "status": status.value,
        "startedAt": timestamp(execution.started),
        "trigger": "API" if info else "UNKNOWN",
        "user": "fake-maia",
    }
    if status.is_terminal and execution.finished is not None:
        body["finishedAt"] = timestamp(execution.finished)
        if execution.message is not None:
            body["message"] = execution.message
    return body


def pipeline_name_of(execution: Execution) -> str:
    """The pipeline an execution runs: asked for at execute, scripted, or a stand-in."""
    if execution.info is not None:
        return execution.info.pipeline_name
    return execution.name or SCRIPTED_PIPELINE_NAME


def poll_execution(
    backend: FakeBackend, request: Request, match: re.Match[str], now: float
) -> tuple[Execution, ScriptedStep] | Response:
    """A read of an execution (status or details) advances its lifecycle one step;
    the error answer instead when it is unknown or the step is a scripted error."""
    found = find_execution(backend, request, match)
    if isinstance(found, Response):
        return found
    step = found.next_step(now)
    if step.error is not None:
        return backend.error_response(step.error, request.path)
    return found, step


def details(backend: FakeBackend, request: Request, match: re.Match[str], now: float) -> Response:
    """GET .../pipeline-executions/{id}: the details; one lifecycle step, like a status poll."""
    polled = poll_execution(backend, request, match, now)
    if isinstance(polled, Response):
        return polled
    execution, _ = polled
    payload = json.dumps(details_body(execution, execution.info), separators=(",", ":")).encode()
    return Response(200, JSON_HEADERS, payload)


def cancel(backend: FakeBackend, request: Request, match: re.Match[str], now: float) -> Response:
    """PATCH .../pipeline-executions/{id}: cancel (400, 404, 409 when finished, or 200)."""
    found = find_execution(backend, request, match)
    if isinstance(found, Response):
        return found
    body = _json_object(request)
    if isinstance(body, Response):
        return body
    violations = []
    if body.get("status") != "CANCELLED":
        violations.append("status: must be CANCELLED")
    force = body.get("forceUpdate", False)
    if not isinstance(force, bool):
        violations.append("forceUpdate: must be a boolean")
    if violations:
        return problem(
            400, request.path, "Wrong request parameters used", violations=tuple(violations)
        )
    status = found.current(now)
    if status.is_terminal:
        return problem(
            CANCEL_FINISHED_CODE,
            request.path,
            f"Pipeline execution {found.execution_id} has already finished ({status.value})",
        )
    found.cancel(force)
    payload = json.dumps({"pipelineExecutionId": found.execution_id}).encode()
    return Response(200, JSON_HEADERS, payload)
