"""JSON documents for the official API's newer families, in the control API and
``--script`` files (see docs/fake.md, "Control API"):

    {"artifacts": [{"project_id": "p", "environment": "dev", "version": "v1",
                    "files": {"load.orch.yaml": "..."}, "branch"?: "main", "commit_hash"?: "abc"}],
     "promotions": [{"project_id": "p", "version": "v1", "source": "dev", "target": "prod"}],
     "schedules": [{"project_id": "p", "pipeline": "load", "environment": "prod",
                    "cron"?: "0 0 2 ? * * *", "name"?, "timezone"?, "enabled"?,
                    "allow_concurrent"?, "version"?, "variables"?, "effective_from"?}],
     "events": [{"name": "USER_LOGGED_IN", "type"?, "description"?, "at"?, ...}]}

Each entry is checked before it is applied; a MaiaValidationError names the field.
"""

from __future__ import annotations

import reprlib
from typing import Any

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.fake import _official
from pytest_maia.fake._account import Account
from pytest_maia.fake._events import SCRIPT_FIELDS

KEYS = ("artifacts", "promotions", "schedules", "events")


def entry_of(entry: object, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``entry`` when it is a JSON object with no key but ``allowed``, else a
    MaiaValidationError naming ``where`` (the check of every document entry)."""
    if not isinstance(entry, dict):
        raise MaiaValidationError(f"{where} must be a JSON object, got {reprlib.repr(entry)}")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise MaiaValidationError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))} "
            f"(allowed: {', '.join(allowed)})"
        )
    return entry


def list_of(value: object, where: str) -> list[Any]:
    """``value`` when it is a JSON list, else a MaiaValidationError naming ``where``."""
    if not isinstance(value, list):
        raise MaiaValidationError(f"{where} must be a list, got {reprlib.repr(value)}")
    return value


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise MaiaValidationError(f"{where}: {key!r} must be a string")
    return value


def add_artifact(account: Account, entry: object, where: str = "artifact") -> list[dict[str, str]]:
    """Publish a version; the ignored files as ``[{"name", "reason"}]``."""
    data = entry_of(
        entry, where, ("project_id", "environment", "version", "files", "branch", "commit_hash")
    )
    files = data.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise MaiaValidationError(f"{where}: 'files' must be an object of path to text")
    try:
        ignored = _official.publish_artifact(
            account,
            _text(data, "project_id", where),
            _text(data, "environment", where),
            _text(data, "version", where),
            files,
            data.get("branch"),
            data.get("commit_hash"),
        )
    except MaiaValidationError as error:
        raise MaiaValidationError(f"{where}: {error}") from None
    return [{"name": name, "reason": reason} for name, reason in ignored]


def add_promotion(account: Account, entry: object, where: str = "promotion") -> None:
    data = entry_of(entry, where, ("project_id", "version", "source", "target"))
    try:
        _official.promote_artifact(
            account,
            _text(data, "project_id", where),
            _text(data, "version", where),
            _text(data, "source", where),
            _text(data, "target", where),
        )
    except MaiaValidationError as error:
        raise MaiaValidationError(f"{where}: {error}") from None


def add_schedule(account: Account, entry: object, where: str = "schedule") -> str:
    """Add a schedule; its id."""
    data = entry_of(
        entry,
        where,
        (
            "project_id",
            "pipeline",
            "environment",
            "cron",
            "name",
            "timezone",
            "enabled",
            "allow_concurrent",
            "version",
            "variables",
            "effective_from",
        ),
    )
    pipeline = _text(data, "pipeline", where)
    body = {
        "name": data.get("name", f"{pipeline} schedule"),
        "pipelineName": pipeline,
        "environmentName": _text(data, "environment", where),
        "cronExpression": data.get("cron", "0 0 2 ? * * *"),
        "cronTimezone": data.get("timezone", "UTC"),
        "scheduleEnabled": data.get("enabled", True),
        "allowConcurrentExecutions": data.get("allow_concurrent", True),
        "versionName": data.get("version"),
        "scalarVariables": data.get("variables"),
    }
    try:
        return _official.add_schedule(
            account, _text(data, "project_id", where), body, data.get("effective_from")
        )
    except MaiaValidationError as error:
        raise MaiaValidationError(f"{where}: {error}") from None


def add_event(account: Account, entry: object, where: str = "event") -> str:
    """Script an audit event; its id."""
    data = dict(entry_of(entry, where, SCRIPT_FIELDS))
    name = data.pop("name", None)
    try:
        with account.lock:
            return account.events.script(account.clock.now(), name, **data).event_id
    except MaiaValidationError as error:
        raise MaiaValidationError(f"{where}: {error}") from None


def run_schedule(account: Account, body: object) -> str:
    """``{"schedule_id"}``: run it now; the execution's id."""
    data = entry_of(body, "run", ("schedule_id",))
    return _official.run_schedule(account, data.get("schedule_id"))


def apply(account: Account, data: dict[str, Any]) -> None:
    """Apply these keys of a whole document, in the order of :data:`KEYS`."""
    for key, action in (
        ("artifacts", add_artifact),
        ("promotions", add_promotion),
        ("schedules", add_schedule),
        ("events", add_event),
    ):
        for i, entry in enumerate(list_of(data.get(key, []), key)):
            action(account, entry, f"{key}[{i}]")
