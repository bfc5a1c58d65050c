"""Scripting the official API's newer families from Python or JSON: what
``FakeMaia.publish_artifact``, ``add_schedule``, ``run_schedule``, the control API and
``--script`` files call. A test's mistake is a MaiaValidationError naming it; what the
API would refuse (a version published twice) is one too, with the API's reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pytest_maia.client.artifacts import file_contents
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.validation import check_project_id
from pytest_maia.fake._account import Account
from pytest_maia.fake._artifacts import MAX_PATH
from pytest_maia.fake._catalog import check_name
from pytest_maia.fake._errors import DomainError

T = TypeVar("T")


def _scripted(call: Callable[[], T]) -> T:
    try:
        return call()
    except DomainError as error:
        detail = error.detail
        if error.violations:
            detail += ": " + "; ".join(error.violations)
        raise MaiaValidationError(detail) from None


def _optional_text(value: object, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise MaiaValidationError(f"{what} must be a non-empty string or None, got {value!r}")
    return value


def publish_artifact(
    account: Account,
    project_id: str,
    environment: str,
    version: str,
    files: Mapping[str, str | bytes],
    branch: str | None = None,
    commit_hash: str | None = None,
) -> list[tuple[str, str]]:
    check_project_id(project_id)
    check_name(environment, "environment")
    check_name(version, "version")
    _optional_text(branch, "branch")
    _optional_text(commit_hash, "commit_hash")
    contents = file_contents(files, MAX_PATH)
    with account.lock:
        now = account.clock.now()
        _, ignored = _scripted(
            lambda: account.publish_artifact(
                project_id,
                environment,
                version,
                contents,
                now,
                branch=branch,
                commit_hash=commit_hash,
                scripting=True,
            )
        )
    return ignored


def promote_artifact(
    account: Account, project_id: str, version: str, source: str, target: str
) -> None:
    check_project_id(project_id)
    for value, what in ((version, "version"), (source, "source"), (target, "target")):
        check_name(value, what)
    with account.lock:
        now = account.clock.now()
        _scripted(
            lambda: account.promote_artifact(
                project_id, source, target, version, now, scripting=True
            )
        )


def add_schedule(
    account: Account, project_id: str, body: Mapping[str, Any], effective_from: object
) -> str:
    check_project_id(project_id)
    flat = {k: v for k, v in body.items() if v is not None}
    if effective_from is not None and (
        isinstance(effective_from, bool) or not isinstance(effective_from, (int, float))
    ):
        raise MaiaValidationError(f"effective_from must be clock seconds, got {effective_from!r}")
    with account.lock:
        now = account.clock.now()
        schedule = _scripted(lambda: account.add_schedule(project_id, flat, now, scripting=True))
        if effective_from is not None:
            schedule.effective_from = float(effective_from)
            schedule.plan(now, account.schedules.epoch)
            account.schedules.refresh()
        return schedule.schedule_id


def run_schedule(account: Account, schedule_id: object) -> str:
    if not isinstance(schedule_id, str) or not schedule_id:
        raise MaiaValidationError(f"schedule_id must be a schedule's id, got {schedule_id!r}")
    with account.lock:
        now = account.clock.now()
        schedule = _scripted(lambda: account.schedules.get(None, schedule_id))
        if not schedule.enabled:
            raise MaiaValidationError(
                f"schedule {schedule.name!r} is disabled: enable it before running it"
            )
        return _scripted(lambda: account.run_schedule(schedule, now, now))
