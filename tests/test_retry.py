"""The one retry rule (pytest_maia.client.retry): what is transient, and how long to wait.

Client calls, wait_for, wait_all and the start-ahead poller all ask ``retry_delay``; the
tests of those modules show that each one retries (or not) through it.
"""

from __future__ import annotations

import pytest

from pytest_maia.client.retry import BACKOFF_CAP, backoff, retry_delay
from pytest_maia.core.errors import (
    BadRequestError,
    GatewayTimeoutError,
    MaiaConnectionError,
    MaiaResponseError,
    MaiaTimeoutError,
    MaiaValidationError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
)
from pytest_maia.core.models import ExecutionStatus, WaitResult

LOST = MaiaConnectionError("connection reset")
TLS = MaiaConnectionError("certificate verify failed", transient=False)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (RateLimitedError(429), True, 2.0),
        (RateLimitedError(429), False, 2.0),  # the server refused it: safe to send again
        (ServerError(500), True, 2.0),
        (ServerError(503), False, None),  # a start may have happened: never sent twice
        (GatewayTimeoutError(504), True, 2.0),
        (LOST, True, 2.0),
        (LOST, False, None),
        (TLS, True, None),  # a retry cannot mend it
        (BadRequestError(400), True, None),
        (UnauthorizedError(401), True, None),
        (NotFoundError(404), True, None),
        (MaiaResponseError("not JSON"), True, None),
        (MaiaValidationError("bad id"), True, None),
        (
            MaiaTimeoutError(WaitResult("e", ExecutionStatus.RUNNING), 1.0),
            True,
            None,
        ),
        (ValueError("not ours"), True, None),
    ],
    ids=repr,
)
def test_what_is_transient(error: BaseException, idempotent: bool, expected: float | None) -> None:
    assert retry_delay(error, 2.0, idempotent=idempotent) == expected


@pytest.mark.parametrize(
    ("retry_after", "pause", "at_least", "expected"),
    [
        (None, 2.0, 0.0, 2.0),  # no advice: the caller's backoff
        (7.0, 2.0, 0.0, 7.0),  # Retry-After overrides a shorter backoff ...
        (0.5, 2.0, 0.0, 0.5),  # ... and a longer one: the server knows best
        (0.0, 2.0, 0.0, 0.0),
        (0.5, 5.0, 5.0, 5.0),  # a wait never polls sooner than its schedule
        (30.0, 5.0, 5.0, 30.0),
        (None, 5.0, 5.0, 5.0),
    ],
)
def test_retry_after_or_backoff(
    retry_after: float | None, pause: float, at_least: float, expected: float
) -> None:
    error = RateLimitedError(429, retry_after=retry_after)
    assert retry_delay(error, pause, at_least=at_least) == expected
    assert retry_delay(LOST, pause, at_least=at_least) == max(pause, at_least)


def test_backoff_doubles_from_half_a_second_to_its_cap() -> None:
    assert [backoff(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, BACKOFF_CAP, BACKOFF_CAP]
    assert backoff(10_000) == BACKOFF_CAP  # no float overflow however many tries
