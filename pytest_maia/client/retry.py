"""The one retry rule: which failures may succeed later, and how long to wait first.

Client calls (:meth:`~pytest_maia.client.session.ApiCalls.retrying`), ``wait_for``
(:mod:`pytest_maia.client.waiting`) and the many-run poller (:mod:`pytest_maia.runs.multiwait`) all
ask :func:`retry_delay`; none decides for itself.
"""

from __future__ import annotations

from pytest_maia.core.errors import BudgetExhaustedError, MaiaApiError, MaiaConnectionError

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "backoff", "retry_delay"]

# A call's retries back off 0.5, 1, 2, 4 ... seconds, never more than 30.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def backoff(attempt: int) -> float:
    """The pause before retry number ``attempt + 1`` of a call: capped exponential."""
    # The exponent is capped: 2**attempt overflows a float past ~1000 tries.
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt, 16))


def retry_delay(
    exc: BaseException, pause: float, *, idempotent: bool = True, at_least: float = 0.0
) -> float | None:
    """Seconds to wait before trying again after ``exc``, or None: do not retry.

    Transient: 429, 5xx, a connection error a retry can mend (not a TLS failure or
    a bad URL), and the request budget's refusal (nothing was sent). A request that is
    not ``idempotent`` (starting a run) is retried only after 429 or a refused
    connection: the server refused it, whereas after a 5xx or a lost connection it may
    have acted on it. The wait is
    the server's ``Retry-After`` (the budget's ``retry_after``) when there is one, else
    ``pause`` (the caller's backoff), and never less than ``at_least`` (a wait's poll
    schedule: a 429 must not make it poll sooner than it would have).
    """
    if isinstance(exc, MaiaApiError):
        transient = exc.is_transient if idempotent else exc.status_code == 429
        if transient and exc.retry_after is not None:
            pause = exc.retry_after
    elif isinstance(exc, MaiaConnectionError):
        # A refused connection sent nothing: even a start may be tried again.
        transient = (idempotent or exc.refused) and exc.is_transient
    elif isinstance(exc, BudgetExhaustedError):
        transient, pause = True, exc.retry_after  # nothing was sent; the budget says when
    else:
        transient = False
    return max(pause, at_least) if transient else None
