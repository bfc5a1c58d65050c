"""The fake account's schedules: when a pipeline runs by itself. No HTTP.

A schedule names a pipeline, an environment, optionally a pinned artifact version and
variables, and a Quartz cron expression in a time zone (:mod:`._cron`). ``next_run`` is
clock seconds (None when the cron never fires again or the schedule is disabled). What
running one does is the account's (``Account.run_schedule``). Not thread-safe alone.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_maia.fake import _cron
from pytest_maia.fake._errors import NotFound
from pytest_maia.fake._execution import variables_violations
from pytest_maia.fake._instants import parse_datetime, to_datetime, to_seconds

INTERVAL_UNITS = ("MINUTES", "HOURS", "DAYS")
_UNIT_SECONDS = {"MINUTES": 60.0, "HOURS": 3600.0, "DAYS": 86400.0}


@dataclass
class Schedule:
    """One schedule of a project."""

    schedule_id: str
    project_id: str
    name: str
    pipeline_name: str
    environment_name: str
    cron_expression: str | None
    cron_timezone: str
    effective_from: float
    enabled: bool = True
    allow_concurrent: bool = True
    version_name: str | None = None
    interval: tuple[int, str] | None = None  # (interval, unit) instead of a cron
    scalar_variables: dict[str, str] = field(default_factory=dict)
    grid_variables: dict[str, list[list[str]]] = field(default_factory=dict)
    last_run: float | None = None
    next_run: float | None = None
    last_execution_id: str | None = None

    def plan(self, now: float, epoch: _dt.datetime) -> None:
        """Set ``next_run``: the first firing after ``now`` and ``effective_from``
        (``epoch``: the instant of clock second 0, for the cron's calendar)."""
        if not self.enabled:
            self.next_run = None
            return
        after = max(now, self.effective_from - 1e-6)
        if self.interval is not None:
            step = self.interval[0] * _UNIT_SECONDS[self.interval[1]]
            if after < self.effective_from:
                self.next_run = self.effective_from
            else:
                done = int((after - self.effective_from) // step) + 1
                self.next_run = self.effective_from + done * step
            return
        cron = _cron.parse(self.cron_expression)
        when = cron.next_after(to_datetime(after, epoch), _cron.zone(self.cron_timezone))
        self.next_run = None if when is None else to_seconds(when, epoch)


class Schedules:
    """Schedules by id (creation order); ``next_due`` is the earliest ``next_run``."""

    def __init__(self) -> None:
        self._items: dict[str, Schedule] = {}
        self.next_due = float("inf")
        # The instant of clock second 0 (the account keeps it up to date).
        self.epoch = _dt.datetime.now(_dt.timezone.utc)

    def add(self, now: float, **fields: Any) -> Schedule:
        """A new schedule (fields checked by the caller), planned from ``now``."""
        schedule = Schedule(str(uuid.uuid4()), **fields)
        schedule.plan(now, self.epoch)
        self._items[schedule.schedule_id] = schedule
        self.refresh()
        return schedule

    def get(self, project_id: str | None, schedule_id: str) -> Schedule:
        """The schedule (in ``project_id`` unless None), else NotFound."""
        found = self._items.get(schedule_id)
        if found is None or (project_id is not None and found.project_id != project_id):
            where = "" if project_id is None else f" in project {project_id!r}"
            raise NotFound(f"Schedule {schedule_id!r} not found{where}")
        return found

    def of(self, project_id: str) -> list[Schedule]:
        """A project's schedules, oldest first."""
        return [s for s in self._items.values() if s.project_id == project_id]

    def delete(self, project_id: str, schedule_id: str) -> Schedule:
        schedule = self.get(project_id, schedule_id)
        del self._items[schedule_id]
        self.refresh()
        return schedule

    def due(self, now: float) -> list[Schedule]:
        """The schedules whose next run is at or before ``now``, earliest first."""
        if now < self.next_due:
            return []
        found = [s for s in self._items.values() if s.next_run is not None and s.next_run <= now]
        found.sort(key=lambda s: s.next_run or 0.0)
        return found

    def refresh(self) -> None:
        """Recompute ``next_due`` after a change."""
        runs = [s.next_run for s in self._items.values() if s.next_run is not None]
        self.next_due = min(runs, default=float("inf"))

    def reset(self) -> None:
        self._items.clear()
        self.next_due = float("inf")


def check_variables(body: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, list[list[str]]]]:
    """The scalar and grid variables of a body (already checked by the caller)."""
    return dict(body.get("scalarVariables") or {}), {
        k: [list(r) for r in v] for k, v in (body.get("gridVariables") or {}).items()
    }


_TEXT_FIELDS = ("name", "pipelineName", "environmentName")


def schedule_fields(
    body: Mapping[str, Any], now: float, *, required: tuple[str, ...], epoch: _dt.datetime
) -> tuple[dict[str, Any], list[str]]:
    """The :class:`Schedule` fields a flat body (the API's names) sets, and its
    violations (``name: must not be empty``); ``required`` names what must be there;
    ``epoch`` is the instant of clock second 0 (to read ``effectiveFrom``)."""
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for name in (*_TEXT_FIELDS, "versionName", "cronTimezone"):
        value = body.get(name)
        if name not in body:
            if name in required:
                problems.append(f"{name}: must not be null")
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: must be a non-empty string")
            continue
        fields[name] = value
    if "cronTimezone" in fields:
        try:
            _cron.zone(fields["cronTimezone"])
        except _cron.CronError as error:
            problems.append(str(error))
    cron, interval = body.get("cronExpression"), body.get("intervalExpression")
    if "cronExpression" in body:
        try:
            fields["cronExpression"] = _cron.parse(cron).text
        except _cron.CronError as error:
            text = str(error)
            problems.append(
                text if text.startswith("cronExpression") else f"cronExpression: {text}"
            )
    if "intervalExpression" in body:
        every = interval.get("interval") if isinstance(interval, dict) else None
        unit = interval.get("unit") if isinstance(interval, dict) else None
        if (
            isinstance(every, bool)
            or not isinstance(every, int)
            or every < 1
            or unit not in INTERVAL_UNITS
        ):
            problems.append(
                "intervalExpression: must be {interval: a positive integer, unit: "
                + " | ".join(INTERVAL_UNITS)
                + "}"
            )
        else:
            fields["intervalExpression"] = (every, unit)
    if "cronExpression" in required and cron is None and interval is None:
        problems.append("cronExpression: must not be null (or give intervalExpression)")
    if "effectiveFrom" in body:
        when = _instants_parse(body.get("effectiveFrom"), epoch)
        if when is None:
            problems.append("effectiveFrom: must be a date-time with an offset")
        else:
            fields["effectiveFrom"] = when
    for flag in ("scheduleEnabled", "allowConcurrentExecutions"):
        if flag in body:
            if not isinstance(body.get(flag), bool):
                problems.append(f"{flag}: must be a boolean")
            else:
                fields[flag] = body[flag]
    problems += variables_violations(body, null=False)
    if not problems:
        for name in ("scalarVariables", "gridVariables"):
            if name in body:
                fields[name] = check_variables({name: body[name]})[name == "gridVariables"]
    return fields, problems


def _instants_parse(value: object, epoch: _dt.datetime) -> float | None:
    when = parse_datetime(value)
    return None if when is None else to_seconds(when, epoch)


_ATTRIBUTES = {
    "name": "name",
    "pipelineName": "pipeline_name",
    "environmentName": "environment_name",
    "versionName": "version_name",
    "cronTimezone": "cron_timezone",
    "effectiveFrom": "effective_from",
    "scheduleEnabled": "enabled",
    "allowConcurrentExecutions": "allow_concurrent",
    "scalarVariables": "scalar_variables",
    "gridVariables": "grid_variables",
}


def attributes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`Schedule` keyword arguments from :func:`schedule_fields`' fields."""
    out = {_ATTRIBUTES[k]: v for k, v in fields.items() if k in _ATTRIBUTES}
    if "cronExpression" in fields:
        out["cron_expression"] = fields["cronExpression"]
        out["interval"] = None
    if "intervalExpression" in fields:
        out["interval"] = fields["intervalExpression"]
        out["cron_expression"] = None
    return out
