"""An HTTP error answer as a typed error: its ProblemDetail (or an OAuth error body),
its ``Retry-After``, and no secret the request carried."""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime

from pytest_maia.core.errors import (
    MaiaApiError,
    error_for_status,
)
from pytest_maia.core.models import ProblemDetail
from pytest_maia.core.redact import Secret, scrub, scrub_problem
from pytest_maia.core.text import api_text

__all__ = ["RETRY_AFTER_CAP", "api_error", "parse_retry_after"]

# Longest Retry-After we obey; a larger value is a server bug, not advice.
RETRY_AFTER_CAP = 300.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _problem(data: object) -> ProblemDetail | None:
    problem = ProblemDetail.from_json(data)
    if problem is not None and not (problem.title or problem.detail) and isinstance(data, dict):
        # An OAuth 2.0 error body (the token endpoint): {"error": ..., "error_description": ...}
        error, description = data.get("error"), data.get("error_description")
        if isinstance(error, str):
            detail = description if isinstance(description, str) else None
            return ProblemDetail(title=error, detail=detail, status=problem.status)
    return problem


def api_error(
    status_code: int,
    content: bytes,
    headers: Mapping[str, str],
    method: str,
    path: str,
    *,
    note: str | None = None,
    secrets: Sequence[Secret | str | None] = (),
) -> MaiaApiError:
    """The typed error for an HTTP error answer, with its parsed ProblemDetail.

    ``secrets`` (the credentials the request carried) are scrubbed from every text
    taken from the answer: a server may echo the request back.
    """
    problem = None
    try:
        problem = _problem(json.loads(content))
        if problem is None:
            note = note or "the body is JSON but not a ProblemDetail object"
    except (ValueError, UnicodeDecodeError, RecursionError):
        kind = api_text(headers.get("Content-Type", "no Content-Type"), 100)
        note = note or f"the body is not a ProblemDetail: {kind}, {len(content)} bytes"
    if problem is not None and secrets:
        problem = scrub_problem(problem, secrets)
    error = error_for_status(status_code)(
        status_code,
        problem,
        method=method,
        path=path,
        retry_after=parse_retry_after(headers.get("Retry-After")),
        note=note,
    )
    if secrets:
        error.args = (scrub(str(error), secrets),)
    return error
