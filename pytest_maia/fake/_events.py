"""The fake account's audit log: every state change as an event. No HTTP.

Each event has the reference's fields (``GET /v1/events``); the names and types are the
fake's own (the reference lists no values): see docs/fake.md. Events are kept
:data:`RETENTION` clock seconds (90 days), like the real log. Not thread-safe alone:
the account holds the lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from pytest_maia.core.errors import MaiaValidationError

RETENTION = 90 * 24 * 3600.0
ACTOR_ID = "fake-maia"
ACTOR_EMAIL = "fake-maia@example.com"
# What a test may script on an event (``FakeMaia.add_event``, the control API's
# ``events``); all but ``name``, ``at`` and ``additional_info`` are optional texts.
SCRIPT_FIELDS = (
    "name",
    "type",
    "description",
    "at",
    "source",
    "project_id",
    "subject_id",
    "subject_name",
    "subject_type",
    "actor_id",
    "actor_email",
    "additional_info",
)
_TEXT_FIELDS = tuple(f for f in SCRIPT_FIELDS if f not in ("name", "at", "additional_info"))


@dataclass(frozen=True)
class Event:
    """One audit event; ``timestamp`` is clock seconds."""

    event_id: str
    name: str
    type: str
    description: str
    timestamp: float
    source: str = "API"
    project_id: str | None = None
    subject_id: str | None = None
    subject_name: str | None = None
    subject_type: str | None = None
    actor_id: str | None = ACTOR_ID
    actor_email: str | None = ACTOR_EMAIL
    additional_info: Mapping[str, object] = field(default_factory=dict)


def _text(value: object, what: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MaiaValidationError(f"{what} must be a non-empty string, got {value!r}")
    return value


class EventLog:
    """Events, oldest first; not thread-safe alone."""

    def __init__(self) -> None:
        self._events: list[Event] = []

    def record(
        self,
        now: float,
        name: str,
        type: str,
        description: str,
        *,
        source: str = "API",
        project_id: str | None = None,
        subject_id: str | None = None,
        subject_name: str | None = None,
        subject_type: str | None = None,
        additional_info: Mapping[str, object] | None = None,
    ) -> Event:
        """Log what the fake just did."""
        event = Event(
            str(uuid.uuid4()),
            name,
            type,
            description,
            now,
            source,
            project_id,
            subject_id,
            subject_name,
            subject_type,
            additional_info=dict(additional_info or {}),
        )
        self._events.append(event)
        return event

    def script(self, now: float, name: object, **fields: object) -> Event:
        """An event a test scripts (``FakeMaia.add_event``), checked field by field."""
        at = fields.pop("at", None)
        if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float))):
            raise MaiaValidationError(f"at must be clock seconds or None, got {at!r}")
        info = fields.pop("additional_info", None)
        if info is not None and not isinstance(info, Mapping):
            raise MaiaValidationError("additional_info must be a mapping or None")
        texts = {key: _text(fields.pop(key, None), key) for key in _TEXT_FIELDS}
        if fields:
            raise MaiaValidationError(f"unknown event field(s): {', '.join(sorted(fields))}")
        checked = _text(name, "name", required=True)
        assert checked is not None
        event = Event(
            str(uuid.uuid4()),
            checked,
            texts["type"] or "SCRIPTED",
            texts["description"] or checked,
            now if at is None else float(at),
            texts["source"] or "API",
            texts["project_id"],
            texts["subject_id"],
            texts["subject_name"],
            texts["subject_type"],
            texts["actor_id"] or ACTOR_ID,
            texts["actor_email"] or ACTOR_EMAIL,
            dict(info or {}),
        )
        self._events.append(event)
        return event

    def between(self, start: float, end: float, now: float) -> list[Event]:
        """Events from ``start`` to ``end`` (both inclusive) still kept at ``now``,
        oldest first."""
        kept_from = max(start, now - RETENTION)
        found = [e for e in self._events if kept_from <= e.timestamp <= end]
        found.sort(key=lambda e: e.timestamp)
        return found

    def all(self) -> list[Event]:
        """Every event, in the order logged."""
        return list(self._events)

    def reset(self) -> None:
        self._events.clear()
