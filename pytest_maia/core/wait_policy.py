"""How a wait polls: its timeout, its interval range and the one backoff schedule.

Plain data shared by the settings, the single wait (:mod:`pytest_maia.client.waiting`),
the many-run poller (:mod:`pytest_maia.runs.multiwait`) and start-ahead: the schedule is
written here once. A poll at once, then every ``interval`` seconds growing
``BACKOFF_FACTOR`` times up to ``max_interval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_maia.core.defaults import DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL, DEFAULT_TIMEOUT
from pytest_maia.core.errors import MaiaValidationError

if TYPE_CHECKING:  # the models load with the client, not with the plugin's settings
    from pytest_maia.core.models import ExecutionStatus
from pytest_maia.core.validation import positive_seconds

__all__ = [
    "BACKOFF_FACTOR",
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_INTERVAL",
    "DEFAULT_TIMEOUT",
    "PollSchedule",
    "WaitPolicy",
    "delay_after",
]

BACKOFF_FACTOR = 1.5


@dataclass(frozen=True)
class WaitPolicy:
    """How a wait polls: its timeout, the interval range, what counts as terminal."""

    timeout: float = DEFAULT_TIMEOUT
    interval: float = DEFAULT_INTERVAL
    max_interval: float = DEFAULT_MAX_INTERVAL
    unknown_is_terminal: bool = False

    @classmethod
    def checked(
        cls,
        *,
        timeout: float,
        interval: float,
        max_interval: float,
        unknown_is_terminal: bool = False,
    ) -> WaitPolicy:
        timeout = positive_seconds(timeout, "timeout")
        interval = positive_seconds(interval, "interval")
        max_interval = positive_seconds(max_interval, "max_interval")
        if max_interval < interval:
            raise MaiaValidationError(
                f"max_interval ({max_interval!r}) must not be below interval ({interval!r})"
            )
        return cls(timeout, interval, max_interval, unknown_is_terminal)

    def is_done(self, status: ExecutionStatus) -> bool:
        if status.is_terminal:
            return True
        # Unrecognised strings behave like UNKNOWN, so they follow the same switch.
        return self.unknown_is_terminal and (status.value == "UNKNOWN" or not status.is_known)

    def next_delay(self, delay: float) -> float:
        """The poll delay after ``delay``: the one backoff rule."""
        return min(delay * BACKOFF_FACTOR, self.max_interval)


@dataclass
class PollSchedule:
    """When an execution is next due for a poll, on its policy's schedule."""

    policy: WaitPolicy
    due: float
    delay: float = 0.0

    def __post_init__(self) -> None:
        self.delay = self.policy.interval

    def polled(self, now: float, pause: float | None = None) -> None:
        """A poll happened at ``now``: the next is due after the current delay, or after
        ``pause`` (a transient error's retry delay); then the delay backs off."""
        self.due = now + (self.delay if pause is None else pause)
        self.delay = self.policy.next_delay(self.delay)


def delay_after(policy: WaitPolicy, elapsed: float) -> float:
    """The poll delay the schedule has reached ``elapsed`` seconds into a wait."""
    delay, spent = policy.interval, 0.0
    while spent + delay < elapsed and delay < policy.max_interval:
        spent += delay
        delay = policy.next_delay(delay)
    return delay
