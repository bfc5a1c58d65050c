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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pytest_maia.client.waiting import Poller
from pytest_maia.core.clock import Clock
from pytest_maia.core.errors import MaiaError
from pytest_maia.core.models import ExecutionStatus, WaitResult
from pytest_maia.core.wait_policy import PollSchedule, WaitPolicy, delay_after

__all__ = ["Backoff", "Outcome", "delay_after", "wait_many"]

# The one schedule, under the name start-ahead knows it by.
Backoff = PollSchedule


@dataclass
class Outcome:
    """How one execution's wait ended: its result, and the error that ended it, if any."""

    result: WaitResult
    error: MaiaError | None = None
    # The wait while it goes on; None once it is over.
    poller: Poller | None = field(default=None, repr=False)


def wait_many(
    fetch: Callable[[str], ExecutionStatus],
    execution_ids: Sequence[str],
    *,
    policy: WaitPolicy,
    clock: Clock,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Poll every execution until each is final, failed or out of time; in input order.

    One request per execution per due poll, each by :class:`~pytest_maia.client.waiting.Poller`'s
    one poll step. ``on_done`` is called as each one ends.
    """
    pollers = [Poller(i, policy, clock) for i in execution_ids]
    outcomes = [Outcome(p.result, None, p) for p in pollers]
    deadline = min((p.deadline for p in pollers), default=clock.now())

    def end(outcome: Outcome, error: MaiaError | None) -> None:
        outcome.error, outcome.poller = error, None
        pending.remove(outcome)
        if on_done is not None:
            on_done(outcome)

    pending = list(outcomes)
    while pending:
        now = clock.now()
        for outcome in [o for o in pending if o.poller and o.poller.schedule.due <= now]:
            poller = outcome.poller
            assert poller is not None
            execution_id = poller.execution_id
            try:
                done = poller.poll(lambda: fetch(execution_id))  # noqa: B023
            except MaiaError as exc:
                end(outcome, exc)
            else:
                if done:
                    end(outcome, None)
        if not pending:
            break
        now = clock.now()
        if now >= deadline:
            for outcome in list(pending):
                assert outcome.poller is not None
                end(outcome, outcome.poller.timed_out())
            break
        due = min(o.poller.schedule.due for o in pending if o.poller is not None)
        clock.sleep(max(0.0, min(due, deadline) - now))
    return outcomes
