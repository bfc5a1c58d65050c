"""Quartz cron expressions (seven fields) for the fake's schedules: check one, and find
when it next fires after an instant in a time zone. No HTTP, no state.

Fields: seconds, minutes, hours, day of month, month, day of week (1 = SUN .. 7 = SAT),
year. Each is ``*``, a value, a range ``a-b``, a step ``a/n`` or ``*/n`` or ``a-b/n``, or a
comma list of those; months and days of the week also by name (JAN, MON). As in Quartz,
exactly one of day of month and day of week is ``?``; day of month also takes ``L``
(last day), ``L-n``, ``nW`` and ``LW`` (nearest weekday), day of week ``nL`` (the last such
day of the month) and ``n#k`` (the k-th).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pytest_maia.core.errors import MaiaValidationError

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("seconds", 0, 59, {}),
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 1, 7, _DAYS),
    ("year", 1970, 2099, {}),
)
_SEARCH_DAYS = 366 * 8  # a cron that fires once in a leap year on Feb 29 still fires


class CronError(MaiaValidationError):
    """A cron expression Quartz would refuse."""


def _value(text: str, low: int, high: int, names: dict[str, int], what: str) -> int:
    number = names.get(text.upper())
    if number is None:
        if not text.isdigit():
            raise CronError(f"{what}: {text!r} is not a number from {low} to {high}")
        number = int(text)
    if not low <= number <= high:
        raise CronError(f"{what}: {number} is not from {low} to {high}")
    return number


def _values(text: str, low: int, high: int, names: dict[str, int], what: str) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(f"{what}: the step in {part!r} must be a positive number")
            step = int(step_text)
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(a, low, high, names, what), _value(b, low, high, names, what)
            if first > last:
                raise CronError(f"{what}: the range {base!r} runs backwards")
        else:
            first = _value(base, low, high, names, what)
            last = high if slash else first
        out.update(range(first, last + 1, step))
    return frozenset(out)


_DOM_SPECIAL = re.compile(r"(?:L(?:-(\d{1,2}))?|(\d{1,2})W|LW)\Z")
_DOW_SPECIAL = re.compile(r"([1-7A-Za-z]{1,3})(?:L|#([1-5]))\Z")


@dataclass(frozen=True)
class Cron:
    """A parsed Quartz cron expression."""

    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    dom: str  # the day-of-month field as written ('?' when unused)
    dow: str

    def _dom_days(self, year: int, month: int) -> set[int]:
        last = calendar.monthrange(year, month)[1]
        field = self.dom
        if field == "?":
            return set(range(1, last + 1))
        special = _DOM_SPECIAL.match(field)
        if special is None:
            return {d for d in _values(field, 1, 31, {}, "day of month") if d <= last}
        if field == "LW" or special.group(2):
            wanted = last if field == "LW" else min(int(special.group(2)), last)
            weekday = calendar.weekday(year, month, wanted)  # Monday 0 .. Sunday 6
            if weekday == 5:
                wanted = wanted - 1 if wanted > 1 else wanted + 2
            elif weekday == 6:
                wanted = wanted + 1 if wanted < last else wanted - 2
            return {wanted}
        back = int(special.group(1) or 0)
        return {last - back} if last - back >= 1 else set()

    def _dow_days(self, year: int, month: int) -> set[int]:
        last = calendar.monthrange(year, month)[1]
        field = self.dow
        days = range(1, last + 1)

        def quartz_dow(day: int) -> int:  # 1 = Sunday .. 7 = Saturday
            return (calendar.weekday(year, month, day) + 1) % 7 + 1

        if field == "?":
            return set(days)
        special = _DOW_SPECIAL.match(field)
        if special is None:
            wanted = _values(field, 1, 7, _DAYS, "day of week")
            return {d for d in days if quartz_dow(d) in wanted}
        target = _value(special.group(1), 1, 7, _DAYS, "day of week")
        matching = [d for d in days if quartz_dow(d) == target]
        if special.group(2):
            nth = int(special.group(2))
            return {matching[nth - 1]} if len(matching) >= nth else set()
        return {matching[-1]}

    def next_after(self, after: _dt.datetime, zone: _dt.tzinfo) -> _dt.datetime | None:
        """The first firing strictly after ``after`` (aware), in UTC; None if never."""
        local = after.astimezone(zone)
        day = local.date()
        for _ in range(_SEARCH_DAYS):
            if day.year > 2099:
                return None
            if (
                day.year in self.years
                and day.month in self.months
                and day.day
                in self._dom_days(day.year, day.month) & self._dow_days(day.year, day.month)
            ):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            naive = _dt.datetime(day.year, day.month, day.day, hour, minute, second)
                            when = naive.replace(tzinfo=zone)
                            if when > after:
                                return when.astimezone(_dt.timezone.utc)
            day += _dt.timedelta(days=1)
        return None


def parse(text: object) -> Cron:
    """A Quartz cron expression of seven fields, else CronError naming the field."""
    if not isinstance(text, str):
        raise CronError(f"cronExpression: must be a string, got {text!r}")
    parts = text.split()
    if len(parts) != 7:
        raise CronError(
            f"cronExpression: must have seven fields (seconds minutes hours day-of-month "
            f"month day-of-week year, e.g. '0 0 2 ? * * *'), got {len(parts)}: {text!r}"
        )
    sec, minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise CronError(
            "cronExpression: exactly one of day-of-month and day-of-week must be '?' "
            f"(Quartz), got {dom!r} and {dow!r}"
        )
    parsed = [
        _values(field, low, high, names, what)
        for field, (what, low, high, names) in zip(
            (sec, minute, hour, dom, month, dow, year), _FIELDS, strict=True
        )
        if what not in ("day of month", "day of week")
    ]
    dom_field, dow_field = dom.upper(), dow.upper()
    if dom_field != "?" and _DOM_SPECIAL.match(dom_field) is None:
        _values(dom_field, 1, 31, {}, "day of month")
    if dow_field != "?":
        special = _DOW_SPECIAL.match(dow_field)
        if special is None:
            _values(dow_field, 1, 7, _DAYS, "day of week")
        else:
            _value(special.group(1), 1, 7, _DAYS, "day of week")
    seconds, minutes, hours, months, years = parsed
    return Cron(text, seconds, minutes, hours, months, years, dom_field, dow_field)


def zone(name: object) -> _dt.tzinfo:
    """The time zone ``name`` (an IANA name such as ``Europe/London``), else CronError."""
    if not isinstance(name, str) or not name.strip():
        raise CronError(f"cronTimezone must be a time zone name, got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"cronTimezone: {name!r} is not a known time zone") from None
