"""Injected time: the waiter and the fake share a clock, so tests never really sleep.

Clocks are passed, never looked up: a client waits on the clock it was given (the system
clock when none is), and ``FakeMaia.client()`` and the fixtures pass the fake's.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "VirtualClock", "is_real"]


@runtime_checkable
class Clock(Protocol):
    """What the waiter needs of time: a monotonic ``now`` and a ``sleep``."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


def is_real(clock: Clock) -> bool:
    """Whether ``clock`` runs in real seconds, so its time left may cut a real socket.

    A clock says so with an ``is_real`` attribute; one that does not say is taken as
    real: a socket with a deadline can fail early, one without can hang past a timeout.
    """
    return bool(getattr(clock, "is_real", True))


class SystemClock:
    """Real time: ``time.monotonic`` and ``time.sleep``."""

    is_real = True

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """Time that moves only when told: ``sleep`` advances it at once. Thread-safe."""

    is_real = False

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
