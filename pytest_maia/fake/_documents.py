"""JSON documents that script the fake: the control API's bodies and ``--script`` files.

One format for both (see docs/fake.md, "Control API")::

    {"clients": [{"client_id": "ci", "client_secret": "s"}],
     "projects": [{"id": "p", "name": "Sales", "environments": [
         {"name": "prod", "pipelines": ["nightly", {"name": "hourly", "published_at": 0}]}]}],
     "pipelines": [{"name": "nightly", "statuses": ["RUNNING", "FAILED"],
                    "message": "...", "steps": [...], "every": 60, "disabled": false}],
     "executions": [{"project_id": "p", "statuses": ["RUNNING", {"error": 503}, "SUCCESS"],
                     "execution_id": "<uuid>", "pipeline": "nightly", "every": 2}],
     "faults": [{"error": 503, "retry_after": 1, "times": 2}, {"drop": true}],
     "start": "2026-01-01T00:00:00Z", "advance": 60}

plus ``artifacts``, ``promotions``, ``schedules`` and ``events`` (:mod:`._documents_official`),
applied after the pipelines and before the executions.

A status step is one of the eight statuses exactly, ``{"unrecognised": "PAUSED"}``,
``{"error": CODE, "detail": ..., "retry_after": ...}`` or ``{"drop": true}`` (the JSON
spelling of ``FakeMaia.dropped_connection()``). Everything is checked before anything is
applied within one entry; a MaiaValidationError names the field.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from typing import Any

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.models import ErrorStep, ExecutionStatus, Step
from pytest_maia.core.validation import check_status
from pytest_maia.fake import _documents_official as documents_official
from pytest_maia.fake._account import Account
from pytest_maia.fake._documents_official import entry_of, list_of
from pytest_maia.fake._script import DROP, make_error_step

_KEYS = (
    "start",
    "clients",
    "projects",
    "pipelines",
    "executions",
    "faults",
    "advance",
    *documents_official.KEYS,
)


def step(raw: object, where: str) -> Step:
    """One status step of a JSON lifecycle."""
    if isinstance(raw, str):
        return check_status(raw, where)
    if isinstance(raw, dict):
        if raw == {"drop": True}:
            return DROP
        other = raw.get("unrecognised")
        if len(raw) == 1 and isinstance(other, str) and other.strip():
            return ExecutionStatus.unrecognised(other)
        if "error" in raw and set(raw) <= {"error", "detail", "retry_after"}:
            try:
                return make_error_step(
                    raw["error"], detail=raw.get("detail"), retry_after=raw.get("retry_after")
                )
            except MaiaValidationError as exc:
                raise MaiaValidationError(f"{where}: {exc}") from None
    raise MaiaValidationError(
        f"{where}: a step is a status, {{'unrecognised': str}}, {{'error': CODE, "
        f"'detail': str, 'retry_after': seconds}} or {{'drop': true}}, got {reprlib.repr(raw)}"
    )


def _statuses(entry: dict[str, Any], where: str) -> list[Step]:
    statuses = entry.get("statuses")
    if not isinstance(statuses, list) or not statuses:
        raise MaiaValidationError(f"{where}: 'statuses' must be a non-empty list")
    return [step(raw, f"{where}.statuses[{i}]") for i, raw in enumerate(statuses)]


def add_client(account: Account, entry: object, where: str = "client") -> None:
    """``{"client_id", "client_secret"}``: an OAuth client the token endpoint accepts."""
    data = entry_of(entry, where, ("client_id", "client_secret"))
    account.add_client(data.get("client_id"), data.get("client_secret"))


def add_project(account: Account, entry: object, where: str = "project") -> None:
    """``{"id", "name"?, "description"?, "environments"?: [...]}``."""
    data = entry_of(entry, where, ("id", "name", "description", "environments"))
    project_id = data.get("id")
    if not isinstance(project_id, str):
        raise MaiaValidationError(f"{where}: 'id' must be a string")
    account.add_project(project_id, data.get("name"), data.get("description"))
    for i, env in enumerate(list_of(data.get("environments", []), f"{where}.environments")):
        add_environment(account, project_id, env, f"{where}.environments[{i}]")


def add_environment(account: Account, project_id: str, entry: object, where: str) -> None:
    """``{"name", "default_agent_id"?, "default_agent_name"?, "pipelines"?: [...]}``."""
    data = entry_of(entry, where, ("name", "default_agent_id", "default_agent_name", "pipelines"))
    name = data.get("name")
    if not isinstance(name, str):
        raise MaiaValidationError(f"{where}: 'name' must be a string")
    account.add_environment(
        project_id,
        name,
        default_agent_id=data.get("default_agent_id"),
        default_agent_name=data.get("default_agent_name"),
    )
    for i, pipeline in enumerate(list_of(data.get("pipelines", []), f"{where}.pipelines")):
        if isinstance(pipeline, str):
            pipeline = {"name": pipeline}
        item = entry_of(pipeline, f"{where}.pipelines[{i}]", ("name", "published_at"))
        account.publish_pipeline(
            project_id,
            name,
            item.get("name"),  # type: ignore[arg-type]  # the account checks it
            published_at=item.get("published_at"),
        )


def add_pipeline(account: Account, entry: object, where: str = "pipeline") -> None:
    """``{"name", "statuses", "every"?, "message"?, "steps"?, "disabled"?}``."""
    data = entry_of(entry, where, ("name", "statuses", "every", "message", "steps", "disabled"))
    name = data.get("name")
    if not isinstance(name, str):
        raise MaiaValidationError(f"{where}: 'name' must be a string")
    if "statuses" in data:
        account.script_pipeline(
            name,
            _statuses(data, where),
            every=data.get("every"),
            message=data.get("message"),
            steps=data.get("steps"),
        )
    disabled = data.get("disabled")
    if disabled is not None:
        if not isinstance(disabled, bool):
            raise MaiaValidationError(f"{where}: 'disabled' must be true or false")
        account.disable_pipeline(name, disabled)


def add_execution(account: Account, entry: object, where: str = "execution") -> str:
    """``{"project_id", "statuses", "execution_id"?, "pipeline"?, "every"?, "message"?,
    "steps"?}``; the execution's id."""
    data = entry_of(
        entry,
        where,
        (
            "project_id",
            "statuses",
            "execution_id",
            "pipeline",
            "environment",
            "trigger",
            "user",
            "schedule_id",
            "every",
            "message",
            "steps",
        ),
    )
    project = data.get("project_id")
    if not isinstance(project, str):
        raise MaiaValidationError(f"{where}: 'project_id' must be a string")
    return account.add_execution(
        project,
        _statuses(data, where),
        execution_id=data.get("execution_id"),
        every=data.get("every"),
        message=data.get("message"),
        steps=data.get("steps"),
        pipeline_name=data.get("pipeline"),
        environment=data.get("environment"),
        trigger=data.get("trigger"),
        user=data.get("user"),
        schedule_id=data.get("schedule_id"),
    )


def add_fault(account: Account, entry: object, where: str = "fault") -> None:
    """``{"error": CODE, "detail"?, "retry_after"?, "times"?}`` or ``{"drop": true,
    "times"?}``: answer the next requests so, before authentication and routing."""
    data = entry_of(entry, where, ("error", "detail", "retry_after", "drop", "times"))
    times = data.get("times", 1)
    fault = step({k: v for k, v in data.items() if k != "times"}, where)
    if not isinstance(fault, ErrorStep):
        raise MaiaValidationError(f"{where}: a fault is an error or a drop, not a status")
    account.fail_next(fault, times)


def advance(account: Account, seconds: object, where: str = "advance") -> float:
    """Move a virtual clock on; the clock's time after."""
    clock = account.clock
    forward: Callable[[float], None] | None = getattr(clock, "advance", None)
    if forward is None:
        raise MaiaValidationError(
            f"{where}: the fake runs on the system clock, which only time moves"
        )
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < 1e9:
        raise MaiaValidationError(f"{where} must be a number of seconds >= 0, got {seconds!r}")
    forward(float(seconds))
    return clock.now()


def start(account: Account, at: object, where: str = "start") -> None:
    """Make a virtual clock's time now read as the date-time ``at`` (an ISO 8601 string
    with an offset); refused under a real clock, whose times are the wall clock's."""
    if not isinstance(at, str):
        raise MaiaValidationError(
            f"{where} must be an ISO 8601 date-time string such as '2026-01-01T00:00:00Z', "
            f"got {reprlib.repr(at)}"
        )
    account.set_start(at, where)


def apply(account: Account, document: object) -> list[str]:
    """Apply a whole document, key by key in a fixed order; the new executions' ids."""
    data = entry_of(document, "script", _KEYS)
    if "start" in data:
        start(account, data["start"])
    for i, entry in enumerate(list_of(data.get("clients", []), "clients")):
        add_client(account, entry, f"clients[{i}]")
    for i, entry in enumerate(list_of(data.get("projects", []), "projects")):
        add_project(account, entry, f"projects[{i}]")
    for i, entry in enumerate(list_of(data.get("pipelines", []), "pipelines")):
        add_pipeline(account, entry, f"pipelines[{i}]")
    documents_official.apply(account, data)  # artifacts, promotions, schedules, events
    ids = [
        add_execution(account, entry, f"executions[{i}]")
        for i, entry in enumerate(list_of(data.get("executions", []), "executions"))
    ]
    for i, entry in enumerate(list_of(data.get("faults", []), "faults")):
        add_fault(account, entry, f"faults[{i}]")
    if "advance" in data:
        advance(account, data["advance"])
    return ids
