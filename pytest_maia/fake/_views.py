"""How the fake's domain objects look on the wire: the API's JSON shapes. No state.

What the real API does here is partly undocumented; the fake's choices are constants
(see docs/fake.md): ``CLOCK_EPOCH`` for times, the details fields, the page sizes.
"""

from __future__ import annotations

import datetime as _dt
import json

from pytest_maia.core.models import ExecutionStatus
from pytest_maia.fake._catalog import Environment, Project
from pytest_maia.fake._execution import Execution, StepView
from pytest_maia.fake._instants import CLOCK_EPOCH  # clock second 0 in every time shown

_STATUS_BODIES: dict[ExecutionStatus, bytes] = {}


def encode(body: object) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(body, separators=(",", ":")).encode()


def timestamp(seconds: float) -> str:
    """A clock time as the API's ISO 8601 UTC string, e.g. ``2026-01-01T00:00:30.000Z``."""
    when = CLOCK_EPOCH + _dt.timedelta(seconds=seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_body(status: ExecutionStatus) -> bytes:
    """``{"status": ...}``, encoded once per status (a poll costs no JSON encoding)."""
    body = _STATUS_BODIES.get(status)
    if body is None:
        body = encode({"status": status.value})
        if len(_STATUS_BODIES) < 256:  # bounded: unrecognised statuses come from scripts
            _STATUS_BODIES[status] = body
    return body


def details(execution: Execution) -> dict[str, object]:
    """The flat details object of ``execution`` as it stands."""
    status = execution.status
    info = execution.info
    body: dict[str, object] = {
        "pipelineExecutionId": execution.execution_id,
        "pipelineName": execution.pipeline_name,
        "pipelineType": "ORCHESTRATION",
        "projectId": execution.project_id,
        "environmentName": execution.environment_name or "default",
        "status": status.value,
        "startedAt": timestamp(execution.started),
        "trigger": info.trigger if info else "UNKNOWN",
        "user": "fake-maia",
    }
    if info is not None and info.schedule_id is not None:
        body["scheduleId"] = info.schedule_id
        del body["user"]  # a schedule, not a person, started it
    if status.is_terminal and execution.finished is not None:
        body["finishedAt"] = timestamp(execution.finished)
        if execution.message is not None:
            body["message"] = execution.message
    return body


def step(index: int, view: StepView) -> dict[str, object]:
    """One item of a steps list."""
    result: dict[str, object] = {
        "status": view.status.value,
        "startedAt": timestamp(view.started),
        "finishedAt": timestamp(view.finished),
    }
    if view.message is not None:
        result["message"] = view.message
    kind = "ORCHESTRATION" if view.is_default else "COMPONENT"
    item: dict[str, object] = {"id": str(index), "name": view.name, "type": kind, "result": result}
    if view.child is not None:
        item["type"] = "RUN_ORCHESTRATION"
        item["childPipeline"] = {"id": view.child.execution_id, "name": view.child.pipeline_name}
    return item


def project(item: Project) -> dict[str, object]:
    """One item of the projects list."""
    return {"id": item.id, "name": item.name, "description": item.description}


def environment(item: Environment) -> dict[str, object]:
    """One item of the environments list."""
    return {
        "name": item.name,
        "defaultAgentId": item.default_agent_id,
        "defaultAgentName": item.default_agent_name,
    }


def published(name: str, when: float) -> dict[str, object]:
    """One item of the published pipelines list."""
    return {"name": name, "publishedTime": timestamp(when)}


def numbered_page(items: list[dict[str, object]], page: int, size: int) -> bytes:
    """The page envelope: ``{"page", "results", "size", "total"}``."""
    return encode(
        {
            "page": page,
            "results": items[page * size : (page + 1) * size],
            "size": size,
            "total": len(items),
        }
    )
