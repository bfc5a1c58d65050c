"""Clock seconds and the wall-clock instants the API shows, both ways. No HTTP.

Clock second 0 is the account's ``epoch`` (the wall clock's under a real clock, a
virtual clock's settable start otherwise: see ``Account.set_start``); the views show
times from it and the schedules and the audit log read the API's date-times back into
clock seconds with it.
"""

from __future__ import annotations

import datetime as _dt
import re

# Python 3.10's fromisoformat takes a fraction of 3 or 6 digits only; RFC 3339 allows any.
_FRACTION = re.compile(r"(T\d{2}:\d{2}:\d{2})\.(\d+)")


def to_datetime(seconds: float, epoch: _dt.datetime) -> _dt.datetime:
    """The instant of clock time ``seconds`` (aware, UTC)."""
    return epoch + _dt.timedelta(seconds=seconds)


def to_seconds(when: _dt.datetime, epoch: _dt.datetime) -> float:
    """The clock time of an aware instant."""
    return (when - epoch).total_seconds()


def parse_datetime(text: object) -> _dt.datetime | None:
    """An ISO 8601 date-time with an offset (``Z`` included), or None when it is not one."""
    if not isinstance(text, str) or "T" not in text:
        return None
    text = _FRACTION.sub(lambda m: f"{m.group(1)}.{(m.group(2) + '000000')[:6]}", text, count=1)
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None
