"""How the fake's domain objects look on the wire: the API's JSON shapes. No state.

What the real API does here is partly undocumented; the fake's choices are constants
(see docs/fake.md): the details fields, the page sizes. Times are clock seconds turned
into date-times by the account's ``epoch`` (the instant of clock second 0), passed in.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid

from pytest_maia.core.models import ExecutionStatus
from pytest_maia.fake._catalog import Environment, Project
from pytest_maia.fake._execution import DEFAULT_ENVIRONMENT, Execution, StepView, instant

_STATUS_BODIES: dict[ExecutionStatus, bytes] = {}
PIPELINE_TYPE = "ORCHESTRATION"  # what every fake execution runs
# Step ids are UUIDs derived from the execution's id and the step's place: unique across
# the account (execution ids are) and the same on every read, as clients key on them.
_STEP_NAMESPACE = uuid.UUID("6f1c2d4e-8a9b-4c3d-9e7f-5a6b7c8d9e0f")


def encode(body: object) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(body, separators=(",", ":")).encode()


def timestamp(epoch: _dt.datetime, seconds: float) -> str:
    """A clock time as the API's ISO 8601 UTC string, e.g. ``2026-01-01T00:00:30.000Z``."""
    when = instant(epoch, seconds)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def step_id(execution_id: str, index: int) -> str:
    """The id of step ``index`` of an execution: a UUID, stable and account-unique."""
    return str(uuid.uuid5(_STEP_NAMESPACE, f"{execution_id}/{index}"))


def status_body(status: ExecutionStatus) -> bytes:
    """``{"status": ...}``, encoded once per status (a poll costs no JSON encoding)."""
    body = _STATUS_BODIES.get(status)
    if body is None:
        body = encode({"status": status.value})
        if len(_STATUS_BODIES) < 256:  # bounded: unrecognised statuses come from scripts
            _STATUS_BODIES[status] = body
    return body


def details(execution: Execution, epoch: _dt.datetime) -> dict[str, object]:
    """The flat details object of ``execution`` as it stands: ``trigger`` always,
    ``user`` where a person started it, ``scheduleId`` where a schedule did."""
    status = execution.status
    body: dict[str, object] = {
        "pipelineExecutionId": execution.execution_id,
        "pipelineName": execution.pipeline_name,
        "pipelineType": PIPELINE_TYPE,
        "projectId": execution.project_id,
        "environmentName": execution.environment_name or DEFAULT_ENVIRONMENT,
        "status": status.value,
        "startedAt": timestamp(epoch, execution.started),
        "trigger": execution.trigger,
    }
    if execution.user is not None:
        body["user"] = execution.user
    if execution.schedule_id is not None:
        body["scheduleId"] = execution.schedule_id
    if status.is_terminal and execution.finished is not None:
        body["finishedAt"] = timestamp(epoch, execution.finished)
        if execution.message is not None:
            body["message"] = execution.message
    return body


def step(identifier: str, view: StepView, epoch: _dt.datetime) -> dict[str, object]:
    """One item of a steps list."""
    result: dict[str, object] = {
        "status": view.status.value,
        "startedAt": timestamp(epoch, view.started),
        "finishedAt": timestamp(epoch, view.finished),
    }
    if view.message is not None:
        result["message"] = view.message
    kind = "ORCHESTRATION" if view.is_default else "COMPONENT"
    item: dict[str, object] = {"id": identifier, "name": view.name, "type": kind, "result": result}
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


def published(name: str, when: float, epoch: _dt.datetime) -> dict[str, object]:
    """One item of the published pipelines list."""
    return {"name": name, "publishedTime": timestamp(epoch, when)}


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
