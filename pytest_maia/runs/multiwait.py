"""One poller for many executions: each polled on its own backoff, all on one clock.

The schedule per execution is ``wait_for``'s (see :mod:`pytest_maia.client.waiting`): a poll at
once, then every ``interval`` seconds growing 1.5 times up to ``max_interval``; a transient
error (429, 5xx, a dropped connection) is ridden out, waiting at least its Retry-After.
Each execution ends with its own :class:`WaitResult`; one that fails (a non-transient
error, or the timeout) does not stop the others. A poll the request budget cannot serve
before the deadline ends that execution's wait at once with the timeout error; one it can
serve later is put off until then. Knows nothing of HTTP or pytest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pytest_maia.client.retry import retry_delay
from pytest_maia.client.waiting import BACKOFF_FACTOR, WaitPolicy
from pytest_maia.core.clock import Clock
from pytest_maia.core.errors import (
    BudgetExhaustedError,
    MaiaApiError,
    MaiaConnectionError,
    MaiaError,
    MaiaTimeoutError,
)
from pytest_maia.core.models import ExecutionStatus, WaitResult

__all__ = ["Backoff", "Outcome", "delay_after", "wait_many"]

log = logging.getLogger("pytest_maia")


@dataclass
class Backoff:
    """When an execution is next due for a poll, on ``wait_for``'s schedule."""

    policy: WaitPolicy
    due: float
    delay: float = 0.0

    def __post_init__(self) -> None:
        self.delay = self.policy.interval

    def polled(self, now: float, error: MaiaError | None = None) -> None:
        """A poll happened at ``now`` (and failed with a transient ``error``): the next is
        due after the current delay, or the error's retry delay (see
        :mod:`~pytest_maia.client.retry`)."""
        pause = self.delay if error is None else retry_delay(error, self.delay, at_least=self.delay)
        self.due = now + (self.delay if pause is None else pause)
        self.delay = min(self.delay * BACKOFF_FACTOR, self.policy.max_interval)


def delay_after(policy: WaitPolicy, elapsed: float) -> float:
    """The poll delay the schedule has reached ``elapsed`` seconds into a wait."""
    delay, spent = policy.interval, 0.0
    while spent + delay < elapsed and delay < policy.max_interval:
        spent += delay
        delay = min(delay * BACKOFF_FACTOR, policy.max_interval)
    return delay


@dataclass
class Outcome:
    """How one execution's wait ended: its result, and the error that ended it, if any."""

    result: WaitResult
    error: MaiaError | None = None
    # The schedule while the wait goes on; None once it is over.
    backoff: Backoff | None = field(default=None, repr=False)


def poll_once(
    fetch: Callable[[str], ExecutionStatus],
    outcome: Outcome,
    started: float,
    clock: Clock,
    policy: WaitPolicy,
) -> bool:
    """One poll of ``outcome``'s execution; True once its wait is over (final or failed)."""
    result = outcome.result
    backoff = outcome.backoff
    assert backoff is not None
    error: MaiaError | None = None
    try:
        status = fetch(result.execution_id)
    except BudgetExhaustedError as exc:
        # No request was sent; as in wait_for, none before the deadline ends the wait.
        now = clock.now()
        result.elapsed = now - started
        if now + exc.retry_after > started + policy.timeout:
            outcome.error = MaiaTimeoutError(
                result, policy.timeout, reason=exc.reason("the wait's deadline")
            )
            outcome.error.__cause__ = exc
            outcome.backoff = None
            return True
        result.errors.append(exc)
        error = exc
    except (MaiaApiError, MaiaConnectionError) as exc:
        result.polls += 1
        result.elapsed = clock.now() - started
        result.errors.append(exc)
        if retry_delay(exc, backoff.delay) is None:
            exc.wait_result = result
            outcome.error = exc
            return True
        log.info("execution %s: transient error, polling on: %s", result.execution_id, exc)
        error = exc
    else:
        now = clock.now()
        result.polls += 1
        result.elapsed = now - started
        result.history.append((result.elapsed, status))
        result.status = status
        if policy.is_done(status):
            outcome.backoff = None
            return True
    backoff.polled(clock.now(), error)
    return False


def wait_many(
    fetch: Callable[[str], ExecutionStatus],
    execution_ids: Sequence[str],
    *,
    policy: WaitPolicy,
    clock: Clock,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Poll every execution until each is final, failed or out of time; in input order.

    One request per execution per due poll. ``on_done`` is called as each one ends.
    """
    started = clock.now()
    deadline = started + policy.timeout
    outcomes = [
        Outcome(
            WaitResult(execution_id=i, status=ExecutionStatus.UNKNOWN),
            None,
            Backoff(policy, started),
        )
        for i in execution_ids
    ]
    pending = list(outcomes)
    while pending:
        now = clock.now()
        for outcome in [o for o in pending if o.backoff is not None and o.backoff.due <= now]:
            if poll_once(fetch, outcome, started, clock, policy):
                pending.remove(outcome)
                if on_done is not None:
                    on_done(outcome)
        if not pending:
            break
        now = clock.now()
        if now >= deadline:
            for outcome in pending:
                outcome.error = MaiaTimeoutError(outcome.result, policy.timeout)
                outcome.backoff = None
                if on_done is not None:
                    on_done(outcome)
            break
        due = min(o.backoff.due for o in pending if o.backoff is not None)
        clock.sleep(max(0.0, min(due, deadline) - now))
    return outcomes
