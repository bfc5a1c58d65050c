"""Strategies for response bodies: status payloads, invalid ones, problems, errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NamedTuple

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from pytest_maia.core.models import ExecutionStatus
from pytest_maia.strategies._common import (
    _EXTRA_KEYS,
    _INT32,
    _KNOWN,
    _NOVEL_STATUSES,
    DOCUMENTED_ERROR_CODES,
    INVALID_REASONS,
    InvalidReason,
    _bool_option,
    _known_status,
)
from pytest_maia.strategies._lifecycles import statuses


@dataclass(frozen=True)
class InvalidPayload:
    """A 200 response body the spec does not allow, and why.

    ``body`` is the exact bytes to serve (as ``application/json``). ``reason`` is:
    ``"not-object"`` (JSON, not an object), ``"missing-status"`` (an object without
    ``status``), ``"status-not-string"`` (``status`` is not a non-blank string),
    ``"unknown-status"`` (a string outside the enum) or ``"not-json"``.
    ``kept_status`` is set only for ``"unknown-status"``: the string a client must
    keep verbatim (a non-canonical ``ExecutionStatus``, treated like ``UNKNOWN``);
    every other payload must be rejected (pytest-maia raises ``MaiaResponseError``).
    """

    body: bytes
    reason: InvalidReason
    kept_status: str | None = None

    @property
    def must_fail(self) -> bool:
        """True when a client must reject the body rather than keep a status."""
        return self.kept_status is None

    def document(self) -> Any:
        """The parsed JSON body; ``ValueError`` for the ``"not-json"`` payloads."""
        return json.loads(self.body)


class ErrorResponse(NamedTuple):
    """One HTTP error answer: ``(status, headers, body)``, body a ProblemDetail."""

    status: int
    headers: dict[str, str]
    body: bytes


@functools.cache
def _json_values() -> SearchStrategy[Any]:
    # Two levels deep: enough for a newer server's extra fields, and cheap to draw.
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(2**53), 2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=20)
    )
    return (
        scalars
        | st.lists(scalars, max_size=3)
        | st.dictionaries(st.text(max_size=8), scalars, max_size=3)
    )


@functools.cache
def _extra_keys(exclude: str = "status") -> SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(_EXTRA_KEYS) | st.text(max_size=20).filter(lambda k: k != exclude)
    return st.dictionaries(keys, _json_values(), max_size=3)


def status_payloads(
    *,
    status: ExecutionStatus | str | SearchStrategy[ExecutionStatus] | None = None,
    extra_keys: bool = True,
) -> SearchStrategy[dict[str, Any]]:
    """JSON objects the spec allows as a 200 body: ``{"status": <enum value>}``.

    ``status`` pins the status (a known value) or draws it from a strategy of known
    statuses (``InvalidArgument`` when it draws another); ``extra_keys`` adds keys a
    newer server might send, which clients must ignore.
    """
    _bool_option("extra_keys", extra_keys, optional=False)
    if status is None:
        chosen: SearchStrategy[ExecutionStatus] = statuses()
    elif isinstance(status, SearchStrategy):
        chosen = status
    else:
        chosen = st.just(_known_status("status", status))
    extras = _extra_keys() if extra_keys else st.just({})

    @st.composite
    def payloads(draw: st.DrawFn) -> dict[str, Any]:
        value = draw(chosen)
        return {"status": _known_status("a drawn status", value).value, **draw(extras)}

    return payloads()


@functools.cache
def _unknown_status_strings() -> SearchStrategy[str]:
    known = {s.value for s in _KNOWN}
    return st.sampled_from(_NOVEL_STATUSES) | st.text(min_size=1, max_size=20).filter(
        lambda s: bool(s.strip()) and s not in known
    )


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@functools.cache
def _not_json() -> SearchStrategy[bytes]:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    fixed = [b"", html, b'{"status": "RUNNING"', b"{'status': 'RUNNING'}", b"\xff\xfe\xfa"]
    text = st.text(max_size=30).filter(lambda t: not _parses(t)).map(str.encode)
    return st.sampled_from(fixed) | text


def _dump(value: object) -> bytes:
    return json.dumps(value).encode()


@st.composite
def _invalid(draw: st.DrawFn, reason: InvalidReason) -> InvalidPayload:
    # Composites, not map or builds, here and below: failure reports show the value.
    if reason == "not-json":
        return InvalidPayload(draw(_not_json()), reason)
    if reason == "not-object":
        return InvalidPayload(_dump(draw(_non_objects())), reason)
    extra = draw(_extra_keys())
    if reason == "missing-status":  # no "result" key either: some clients read result.status
        return InvalidPayload(_dump({k: v for k, v in extra.items() if k != "result"}), reason)
    if reason == "status-not-string":
        return InvalidPayload(_dump({"status": draw(_non_strings()), **extra}), reason)
    kept = draw(_unknown_status_strings())
    return InvalidPayload(_dump({"status": kept, **extra}), reason, kept)


@functools.cache
def _non_objects() -> SearchStrategy[Any]:
    return _json_values().filter(lambda v: not isinstance(v, dict))


@functools.cache
def _non_strings() -> SearchStrategy[Any]:  # or a blank string
    return _json_values().filter(lambda v: not isinstance(v, str)) | st.sampled_from(["", " "])


def invalid_status_payloads(
    *, reasons: Iterable[InvalidReason] | None = None
) -> SearchStrategy[InvalidPayload]:
    """200 bodies the spec does not allow, as ``InvalidPayload`` values.

    ``reasons`` limits the kinds (default: all of ``INVALID_REASONS``). Only the
    ``"unknown-status"`` ones carry a ``kept_status``; a client must reject the rest.
    """
    chosen = INVALID_REASONS if reasons is None else tuple(reasons)
    bad = [r for r in chosen if r not in INVALID_REASONS]
    if bad or not chosen:
        raise InvalidArgument(f"reasons must be a non-empty subset of {INVALID_REASONS}")
    ordered = [r for r in INVALID_REASONS if r in chosen]
    return st.one_of([_invalid(r) for r in ordered])


def _problem_types() -> SearchStrategy[str]:
    slug = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
    return st.one_of(
        st.just("about:blank"),
        slug.map(lambda s: f"https://api.matillion.com/problems/{s}"),
        slug.map(lambda s: f"urn:problem-type:{s}"),
    )


def _int32(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an int, got {value!r}")
    if not _INT32[0] <= value <= _INT32[1]:
        raise InvalidArgument(f"{name}={value!r} does not fit the spec's int32")
    return value


def problem_details(*, status: int | None = None) -> SearchStrategy[dict[str, Any]]:
    """ProblemDetail JSON objects valid against the spec's schema; fields may be absent.

    ``status`` makes the ``status`` field present with that value. ``type`` is an
    absolute URI, ``status`` an int32, ``violations`` a list of strings.
    """
    text = st.text(max_size=40)
    titles = [HTTPStatus(code).phrase for code in DOCUMENTED_ERROR_CODES]
    optional: dict[str, SearchStrategy[Any]] = {
        "type": _problem_types(),
        "title": st.sampled_from(titles) | text,
        "status": st.sampled_from(DOCUMENTED_ERROR_CODES) | st.integers(*_INT32),
        "detail": text,
        "instance": st.sampled_from(["/v1/projects"]) | text,
        "violations": st.lists(text, max_size=3),
    }
    required: dict[str, SearchStrategy[Any]] = {}
    if status is not None:
        required["status"] = st.just(_int32("status", status))
        del optional["status"]
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def _error_response(
    draw: st.DrawFn, code: int, bodies: SearchStrategy[dict[str, Any]]
) -> ErrorResponse:
    headers = {"Content-Type": "application/problem+json"}
    if code == 429:
        headers["Retry-After"] = str(draw(st.integers(0, 60)))
    return ErrorResponse(code, headers, _dump(draw(bodies)))


def error_responses(*, codes: Iterable[int] | None = None) -> SearchStrategy[ErrorResponse]:
    """``(status, headers, body)`` error answers for ``codes`` (default: every
    documented one plus 429), with ``Content-Type: application/problem+json``, a
    ProblemDetail body whose ``status`` matches, and ``Retry-After`` on 429."""
    chosen = DOCUMENTED_ERROR_CODES if codes is None else tuple(codes)
    for code in chosen:
        if isinstance(code, bool) or not isinstance(code, int) or not 400 <= code <= 599:
            raise InvalidArgument(f"codes must be HTTP error statuses (400-599), got {code!r}")
    if not chosen:
        raise InvalidArgument("codes must not be empty")
    return st.one_of([_error_response(code, problem_details(status=code)) for code in chosen])
