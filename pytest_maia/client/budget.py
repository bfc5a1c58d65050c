"""One request budget for a whole suite: a token bucket on an injected clock.

``RequestBudget(limit)`` lets at most ``limit`` requests through in any ``per``-second
window (60 by default) of its clock. The bucket holds ``burst`` tokens (by default half
the limit, see :func:`default_burst`) and refills at ``(limit - burst) / per``
tokens a second, so any window of ``per`` seconds sees at most
``burst + (limit - burst) = limit`` requests.

"Per minute" is per 60 seconds *of the clock the budget was given*: on a real clock
that is a real minute; on the fake's virtual clock it is a virtual minute, and waiting
for a token advances virtual time instead of sleeping, so an offline suite keeps the
same pacing in its timelines at no cost.

The bucket lives in a :mod:`pytest_maia.core.shared_state` store: a memory store shares it
between threads, a file store between processes (xdist workers), whose clocks must
then agree (a real monotonic clock, which is machine-wide). ``pause(seconds)`` (called
on a 429) empties the bucket and holds every holder of the store until then.
``acquire(within=seconds)`` never sleeps past the caller's deadline: when no token
comes by then it raises :class:`~pytest_maia.core.errors.BudgetExhaustedError` at once.
Knows nothing of pytest or HTTP.
"""

from __future__ import annotations

import math
from typing import Any

from pytest_maia.core.clock import Clock
from pytest_maia.core.errors import BudgetExhaustedError, MaiaValidationError
from pytest_maia.core.shared_state import MemoryState, StateStore
from pytest_maia.core.validation import positive_seconds

__all__ = ["DEFAULT_PAUSE", "RequestBudget", "default_burst"]

# Seconds every holder waits after a 429 that carried no Retry-After.
DEFAULT_PAUSE = 1.0
_KEY = "budget"


def default_burst(limit: int) -> int:
    """Tokens the bucket starts with: half the limit (at least 1). The other half refills
    evenly over the window, so a suite starting many runs at once is not held back,
    and a long one still keeps half the limit a minute."""
    return max(1, limit // 2)


class RequestBudget:
    """A token bucket shared through ``state``; ``acquire()`` before each request."""

    def __init__(
        self,
        limit: int,
        *,
        clock: Clock,
        state: StateStore | None = None,
        per: float = 60.0,
        burst: int | None = None,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 2 <= limit <= 10**9:
            raise MaiaValidationError(
                f"a request budget must be an integer from 2 to 10**9, got {limit!r:.40}"
            )
        self.limit = limit
        self.per = positive_seconds(per, "per")
        self.burst = default_burst(limit) if burst is None else burst
        if not 1 <= self.burst < limit:
            raise MaiaValidationError(f"burst must be in [1, {limit}), got {burst!r}")
        self.rate = (limit - self.burst) / self.per
        self.clock = clock
        self.state: StateStore = state if state is not None else MemoryState()
        self.granted = 0  # by this object
        self.waited = 0.0  # clock seconds this object's callers spent waiting

    def __repr__(self) -> str:
        return f"RequestBudget(limit={self.limit}, per={self.per:g}, state={self.state!r})"

    def _bucket(self, data: dict[str, Any], now: float) -> dict[str, float]:
        bucket = data.get(_KEY)
        if not isinstance(bucket, dict):
            bucket = {"tokens": float(self.burst), "at": now, "paused_until": -math.inf}
            data[_KEY] = bucket
        elapsed = max(0.0, now - float(bucket["at"]))
        bucket["tokens"] = min(float(self.burst), float(bucket["tokens"]) + elapsed * self.rate)
        bucket["at"] = max(now, float(bucket["at"]))
        return bucket

    def acquire(self, within: float | None = None) -> float:
        """Wait (on the clock) for a token and take it; returns the clock time granted.

        ``within``: the seconds the caller has left. When no token is free by then, it
        raises :class:`BudgetExhaustedError` at once instead of sleeping; None: no limit.
        """
        deadline = None if within is None else self.clock.now() + max(0.0, within)
        while True:
            with self.state.transaction() as data:
                now = self.clock.now()
                bucket = self._bucket(data, now)
                paused = float(bucket.get("paused_until", -math.inf))
                if now >= paused and bucket["tokens"] >= 1.0 - 1e-9:
                    bucket["tokens"] = max(0.0, bucket["tokens"] - 1.0)
                    self.granted += 1
                    return now
                wait = max(paused - now, (1.0 - bucket["tokens"]) / self.rate)
            if deadline is not None and now + wait > deadline:
                # Other holders can only make the token come later: waiting cannot help.
                raise BudgetExhaustedError(
                    self.limit,
                    self.per,
                    left=deadline - now,
                    retry_after=wait,
                    paused=paused > now,
                )
            wait = max(wait, 1e-3)
            self.waited += wait
            self.clock.sleep(wait)

    def pause(self, seconds: float | None) -> None:
        """A 429 was answered: empty the bucket and hold everyone for ``seconds``."""
        delay = DEFAULT_PAUSE if seconds is None or seconds <= 0 else float(seconds)
        with self.state.transaction() as data:
            now = self.clock.now()
            bucket = self._bucket(data, now)
            bucket["tokens"] = 0.0
            bucket["paused_until"] = max(float(bucket.get("paused_until", -math.inf)), now + delay)

    def paused_until(self) -> float | None:
        """The clock time until which requests are held, if that is still ahead."""
        with self.state.transaction() as data:
            bucket = data.get(_KEY)
            if not isinstance(bucket, dict):
                return None
            until = float(bucket.get("paused_until", -math.inf))
            return until if until > self.clock.now() else None
