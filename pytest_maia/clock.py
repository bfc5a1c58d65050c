"""Injected time: the waiter and the fake share a clock, so tests never really sleep."""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = [
    "Clock",
    "SystemClock",
    "VirtualClock",
    "active_base_urls",
    "clock_for_url",
    "register_clock",
    "unregister_clock",
]


@runtime_checkable
class Clock(Protocol):
    """What the waiter needs of time: a monotonic ``now`` and a ``sleep``."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time: ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """Time that moves only when told: ``sleep`` advances it at once. Thread-safe."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds!r})")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now:g})"


# Base URLs of active in-process fakes, so a client pointed at a fake waits on its clock.
_ACTIVE: dict[str, list[Clock]] = {}
_ACTIVE_LOCK = threading.Lock()


def register_clock(base_url: str, clock: Clock) -> None:
    """Announce that requests to ``base_url`` are answered on ``clock``'s time."""
    with _ACTIVE_LOCK:
        _ACTIVE.setdefault(base_url.rstrip("/"), []).append(clock)


def unregister_clock(base_url: str, clock: Clock) -> None:
    with _ACTIVE_LOCK:
        clocks = _ACTIVE.get(base_url.rstrip("/"), [])
        if clock in clocks:
            clocks.remove(clock)
        if not clocks:
            _ACTIVE.pop(base_url.rstrip("/"), None)


def clock_for_url(base_url: str) -> Clock | None:
    """The clock of the innermost active fake serving ``base_url``, if any."""
    clocks = _ACTIVE.get(base_url.rstrip("/"))
    return clocks[-1] if clocks else None


def active_base_urls() -> list[str]:
    """The base URLs of the active in-process fakes."""
    with _ACTIVE_LOCK:
        return list(_ACTIVE)
