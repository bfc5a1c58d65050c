"""Shrinking: every strategy shrinks to its simplest case, and a failing property over
status_sequences() shrinks to a minimal lifecycle."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import find, settings
from hypothesis import strategies as st

from pytest_maia import strategies as ms
from pytest_maia.core.models import ErrorStep, ExecutionStatus

S = ExecutionStatus
# No saved examples to replay, and a fixed seed: the shrunk result is the same every run.
# find() stops at the first example that fits: the cap only bounds a search that fails, and an
# explicit one keeps the search the same under every profile and Hypothesis version.
ONCE = settings(database=None, derandomize=True, max_examples=1000)


def anything(_: object) -> bool:
    return True


CANCELLED_ONLY = ms.status_sequences(final=S.CANCELLED)


@pytest.mark.parametrize(
    ("strategy", "condition", "minimal"),
    [
        (ms.statuses(), anything, S.RUNNING),
        (ms.statuses(terminal=True), anything, S.SUCCESS),
        (ms.statuses(success=False, terminal=True), anything, S.FAILED),
        (ms.status_sequences(), anything, [S.SUCCESS]),
        (ms.status_sequences(), lambda s: S.CANCELLED in s, [S.CANCELLED]),
        (ms.status_sequences(), lambda s: S.CANCELLING in s, [S.CANCELLING, S.CANCELLED]),
        (ms.status_sequences(), lambda s: len(s) >= 3, [S.RUNNING, S.RUNNING, S.SUCCESS]),
        (ms.status_sequences(), lambda s: S.UNKNOWN in s, [S.UNKNOWN, S.SUCCESS]),
        (
            ms.status_sequences(),
            lambda s: any(isinstance(x, ErrorStep) for x in s),
            [ErrorStep(429), S.SUCCESS],
        ),
        (CANCELLED_ONLY, lambda s: len(s) > 1, [S.RUNNING, S.CANCELLED]),
        (ms.status_payloads(), anything, {"status": "RUNNING"}),
        (ms.invalid_status_payloads(), anything, ms.InvalidPayload(b"null", "not-object")),
        (ms.problem_details(), anything, {}),
        (ms.project_ids(), anything, "0"),
        (
            ms.error_responses(),
            anything,
            (400, {"Content-Type": "application/problem+json"}, b'{"status": 400}'),
        ),
    ],
)
def test_strategies_shrink_to_the_simplest_case(
    strategy: st.SearchStrategy[Any], condition: Any, minimal: object
) -> None:
    assert find(strategy, condition, settings=ONCE) == minimal


def test_unknown_statuses_shrink_to_a_kept_status() -> None:
    found = find(ms.invalid_status_payloads(), lambda p: not p.must_fail, settings=ONCE)
    assert found == ms.InvalidPayload(b'{"status": "PAUSED"}', "unknown-status", "PAUSED")


def naive_final_status(seq: list[Any]) -> object:
    """A buggy waiter: stops at the first status that is not RUNNING, errors fatal."""
    for step in seq:
        if isinstance(step, ErrorStep) or step is not S.RUNNING:
            return step
    return seq[-1]


def test_a_failing_property_shrinks_to_a_minimal_lifecycle() -> None:
    found = find(
        ms.status_sequences(),
        lambda seq: naive_final_status(seq) != seq[-1],
        settings=ONCE,
    )
    assert found == [S.UNKNOWN, S.SUCCESS]
    without_unknown = find(
        ms.status_sequences(unknown=False, errors=False),
        lambda seq: naive_final_status(seq) != seq[-1],
        settings=ONCE,
    )
    assert without_unknown == [S.CANCELLING, S.CANCELLED]
