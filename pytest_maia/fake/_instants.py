"""Clock seconds and the wall-clock instants the API shows, both ways. No HTTP.

Clock second 0 is :data:`CLOCK_EPOCH`; the views show times from it and the schedules
and the audit log read the API's date-times back into clock seconds.
"""

from __future__ import annotations

import datetime as _dt

CLOCK_EPOCH = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)


def to_datetime(seconds: float) -> _dt.datetime:
    """The instant of clock time ``seconds`` (aware, UTC)."""
    return CLOCK_EPOCH + _dt.timedelta(seconds=seconds)


def to_seconds(when: _dt.datetime) -> float:
    """The clock time of an aware instant."""
    return (when - CLOCK_EPOCH).total_seconds()


def parse_datetime(text: object) -> _dt.datetime | None:
    """An ISO 8601 date-time with an offset (``Z`` included), or None when it is not one."""
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None
