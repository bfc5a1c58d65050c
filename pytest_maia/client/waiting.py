"""Polling until a terminal status: backoff, Retry-After, transient errors, timeout.

Knows nothing of HTTP: it calls a ``fetch()`` that returns a status or raises a
typed error, and waits on an injected clock. A fetch that the request budget cannot
serve before the deadline ends the wait at once with :class:`MaiaTimeoutError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_maia.client.retry import retry_delay
from pytest_maia.core.clock import Clock
from pytest_maia.core.errors import BudgetExhaustedError, MaiaError, MaiaTimeoutError
from pytest_maia.core.models import STATUS_LIMIT, ExecutionStatus, WaitResult
from pytest_maia.core.text import api_text
from pytest_maia.core.wait_policy import (
    BACKOFF_FACTOR,
    DEFAULT_INTERVAL,
    DEFAULT_MAX_INTERVAL,
    DEFAULT_TIMEOUT,
    PollSchedule,
    WaitPolicy,
)

__all__ = [
    "BACKOFF_FACTOR",
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_INTERVAL",
    "DEFAULT_TIMEOUT",
    "HEARTBEAT_SECONDS",
    "Poller",
    "WaitPolicy",
    "wait",
]

HEARTBEAT_SECONDS = 60.0

log = logging.getLogger("pytest_maia")


@dataclass
class Poller:
    """One execution's wait, one poll at a time: the one poll step that ``wait`` and the
    many-run poller share. ``poll`` returns True once the status is final and raises the
    error that ends the wait (a non-transient error, or the request budget unable to
    serve a poll before the deadline); a transient error is ridden out on the schedule.
    """

    execution_id: str
    policy: WaitPolicy
    clock: Clock
    on_poll: Callable[[WaitResult], None] | None = None
    # Hears of each transient error ridden out, with the pause before the next poll; it
    # may raise to end the wait (maia-status gives up after --max-retries in a row).
    on_retry: Callable[[MaiaError, float], None] | None = None
    started: float = field(init=False)
    result: WaitResult = field(init=False)
    schedule: PollSchedule = field(init=False)
    _last_log: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock.now()
        self.result = WaitResult(execution_id=self.execution_id, status=ExecutionStatus.UNKNOWN)
        self.schedule = PollSchedule(self.policy, self.started)
        self._last_log = self.started

    @property
    def deadline(self) -> float:
        return self.started + self.policy.timeout

    def timed_out(self) -> MaiaTimeoutError:
        """The error of a wait whose time ran out between polls."""
        return MaiaTimeoutError(self.result, self.policy.timeout)

    def poll(self, fetch: Callable[[], ExecutionStatus]) -> bool:
        __tracebackhide__ = True
        result, clock = self.result, self.clock
        pause: float | None = None
        try:
            status = fetch()
        except MaiaTimeoutError:
            raise
        except BudgetExhaustedError as exc:
            # No request was sent: when none can be before the deadline, the wait is over.
            result.elapsed = clock.now() - self.started
            if clock.now() + exc.retry_after > self.deadline:
                reason = exc.reason("the wait's deadline")
                raise MaiaTimeoutError(result, self.policy.timeout, reason=reason) from exc
            result.errors.append(exc)
            pause = max(exc.retry_after, self.schedule.delay)
        except MaiaError as exc:
            result.polls += 1
            result.elapsed = clock.now() - self.started
            result.errors.append(exc)
            pause = retry_delay(exc, self.schedule.delay, at_least=self.schedule.delay)
            if pause is None:
                exc.wait_result = result  # what the wait saw, this error last
                raise
            log.info("execution %s: transient error, polling on: %s", self.execution_id, exc)
            if self.on_retry is not None:
                exc.wait_result = result
                self.on_retry(exc, min(pause, max(0.0, self.deadline - clock.now())))
        else:
            self._saw(status)
            if self.on_poll is not None:
                self.on_poll(result)
            if self.policy.is_done(status):
                return True
        self.schedule.polled(clock.now(), pause)
        return False

    def _saw(self, status: ExecutionStatus) -> None:
        now, result = self.clock.now(), self.result
        result.polls += 1
        result.elapsed = now - self.started
        previous = result.history[-1][1] if result.history else None
        result.history.append((result.elapsed, status))
        result.status = status
        if previous is None or previous.value != status.value:
            line = "execution %s: %s after %.1fs (%d polls)"
        elif now - self._last_log >= HEARTBEAT_SECONDS:
            line = "execution %s: still %s after %.0fs (%d polls)"
        else:
            return
        log.info(
            line,
            self.execution_id,
            api_text(status.value, STATUS_LIMIT),
            result.elapsed,
            result.polls,
        )
        self._last_log = now


def wait(
    fetch: Callable[[], ExecutionStatus],
    *,
    execution_id: str,
    policy: WaitPolicy,
    clock: Clock,
    on_poll: Callable[[WaitResult], None] | None = None,
    on_retry: Callable[[MaiaError, float], None] | None = None,
) -> WaitResult:
    """Call ``fetch`` until ``policy`` says the status is final; see ``MaiaClient.wait_for``.
    ``on_retry(error, pause)`` hears of each transient error ridden out (it may raise)."""
    __tracebackhide__ = True
    poller = Poller(execution_id, policy, clock, on_poll, on_retry)
    while not poller.poll(fetch):
        remaining = poller.deadline - clock.now()
        if remaining <= 0:
            raise poller.timed_out()
        clock.sleep(max(0.0, min(poller.schedule.due - clock.now(), remaining)))
    return poller.result
