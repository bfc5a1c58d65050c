"""Polling until a terminal status: backoff, Retry-After, transient errors, timeout.

Knows nothing of HTTP: it calls a ``fetch()`` that returns a status or raises a
typed error, and waits on an injected clock. A fetch that the request budget cannot
serve before the deadline ends the wait at once with :class:`MaiaTimeoutError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pytest_maia.client.retry import retry_delay
from pytest_maia.core.clock import Clock
from pytest_maia.core.errors import (
    BudgetExhaustedError,
    MaiaError,
    MaiaTimeoutError,
    MaiaValidationError,
)
from pytest_maia.core.models import STATUS_LIMIT, ExecutionStatus, WaitResult
from pytest_maia.core.text import api_text
from pytest_maia.core.validation import positive_seconds

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_INTERVAL",
    "DEFAULT_TIMEOUT",
    "HEARTBEAT_SECONDS",
    "WaitPolicy",
    "wait",
]

DEFAULT_TIMEOUT = 1800.0
DEFAULT_INTERVAL = 5.0
# 30 s keeps a long wait at 2 polls a minute and bounds how late a finish is seen.
DEFAULT_MAX_INTERVAL = 30.0
BACKOFF_FACTOR = 1.5
HEARTBEAT_SECONDS = 60.0

log = logging.getLogger("pytest_maia")


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


def wait(
    fetch: Callable[[], ExecutionStatus],
    *,
    execution_id: str,
    policy: WaitPolicy,
    clock: Clock,
    on_poll: Callable[[WaitResult], None] | None = None,
) -> WaitResult:
    """Call ``fetch`` until ``policy`` says the status is final; see ``MaiaClient.wait_for``."""
    __tracebackhide__ = True
    start = clock.now()
    deadline = start + policy.timeout
    result = WaitResult(execution_id=execution_id, status=ExecutionStatus.UNKNOWN)
    delay = policy.interval
    last_log = start
    while True:
        pause = delay
        try:
            status = fetch()
        except MaiaTimeoutError:
            raise
        except BudgetExhaustedError as exc:
            # No request was sent: when none can be before the deadline, the wait is over.
            if clock.now() + exc.retry_after > deadline:
                result.elapsed = clock.now() - start
                reason = exc.reason("the wait's deadline")
                raise MaiaTimeoutError(result, policy.timeout, reason=reason) from exc
            result.errors.append(exc)
            pause = max(exc.retry_after, delay)
        except MaiaError as exc:
            result.polls += 1
            result.elapsed = clock.now() - start
            retry_in = retry_delay(exc, delay, at_least=delay)
            if retry_in is None:
                exc.wait_result = result  # what the wait saw before this error
                raise
            result.errors.append(exc)
            log.info("execution %s: transient error, polling on: %s", execution_id, exc)
            pause = retry_in
        else:
            now = clock.now()
            result.polls += 1
            result.elapsed = now - start
            previous = result.history[-1][1] if result.history else None
            result.history.append((result.elapsed, status))
            result.status = status
            if previous is None or previous.value != status.value:
                log.info(
                    "execution %s: %s after %.1fs (%d polls)",
                    execution_id,
                    api_text(status.value, STATUS_LIMIT),
                    result.elapsed,
                    result.polls,
                )
                last_log = now
            elif now - last_log >= HEARTBEAT_SECONDS:
                log.info(
                    "execution %s: still %s after %.0fs (%d polls)",
                    execution_id,
                    api_text(status.value, STATUS_LIMIT),
                    result.elapsed,
                    result.polls,
                )
                last_log = now
            if on_poll is not None:
                on_poll(result)
            if policy.is_done(status):
                return result
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise MaiaTimeoutError(result, policy.timeout)
        clock.sleep(min(pause, remaining))
        delay = min(delay * BACKOFF_FACTOR, policy.max_interval)
