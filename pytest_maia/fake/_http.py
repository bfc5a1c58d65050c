"""Plain HTTP values of the fake: request, response, call record, problem bodies, headers.

No I/O: the adapters turn these into `responses` callbacks or WSGI responses.
"""

from __future__ import annotations

import http
import json
import math
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

PROBLEM_TYPE = "about:blank"
JSON_HEADERS: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
_PROBLEM_CONTENT_TYPE = "application/problem+json"

# The spec's descriptions of its error codes, used when no detail is scripted.
_DEFAULT_DETAIL = {
    400: "Wrong request parameters used",
    401: "Unauthorized: a valid bearer token is required",
    403: "Forbidden",
    404: "Pipeline Execution not Found",
    405: "Method not allowed",
    429: "Too many requests: over the rate limit",
    500: "Unexpected error occurred",
    504: "Gateway timeout",
}

# Header names whose values are credentials; matched as substrings of the lowered name.
_SECRET_WORDS = ("auth", "token", "secret", "key", "cookie", "password", "credential", "session")


@dataclass(frozen=True, slots=True)
class Request:
    """A request as the backend sees it: ``path`` is the raw (still %-encoded) URL path."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    query: str = ""


@dataclass(frozen=True, slots=True)
class Response:
    """The backend's answer; ``dropped`` means close the connection without a response."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    dropped: bool = False


DROPPED = Response(0, (), b"", dropped=True)


@dataclass(frozen=True)
class Call:
    """One request the fake answered; ``status_code`` 0 is a dropped connection.

    ``headers`` has canonical names (``Authorization``) and credentials redacted
    (``Bearer ***``); ``time`` is the fake's clock time when the request arrived.
    """

    method: str
    path: str
    status_code: int
    headers: Mapping[str, str] = field(hash=False)
    time: float = 0.0


# Bounds of the call log: the most recent calls, within a byte budget for their paths and
# headers, each call's headers cut to a few KiB (a client choosing its headers must not
# grow a long-running server without end).
MAX_CALLS = 10_000
MAX_CALL_LOG_BYTES = 4 << 20
MAX_CALL_HEADER_BYTES = 4096
_CUT = "...[cut]"


class CallLog:
    """The fake's request log: the most recent :data:`MAX_CALLS` calls whose paths and
    headers fit in :data:`MAX_CALL_LOG_BYTES`, oldest first; older ones are dropped
    (counted in ``dropped``). Not thread-safe alone: the account's lock guards it."""

    def __init__(self) -> None:
        self._calls: deque[tuple[Call, int]] = deque()
        self._bytes = 0
        self.max_calls = MAX_CALLS
        self.max_bytes = MAX_CALL_LOG_BYTES
        self.dropped = 0

    def record(
        self, method: str, path: str, status: int, headers: Mapping[str, str], now: float
    ) -> None:
        """Log one answered request, its headers redacted and cut to size."""
        kept, size = _bounded(redacted(headers))
        path = path if len(path) <= 2048 else path[:2048] + _CUT
        size += len(path) + len(method)
        self._calls.append((Call(method, path, status, kept, now), size))
        self._bytes += size
        while len(self._calls) > self.max_calls or (
            self._bytes > self.max_bytes and len(self._calls) > 1
        ):
            _, old = self._calls.popleft()
            self._bytes -= old
            self.dropped += 1

    def clear(self) -> None:
        self._calls.clear()
        self._bytes = 0
        self.dropped = 0

    def __iter__(self) -> Iterator[Call]:
        return (call for call, _ in self._calls)

    def __len__(self) -> int:
        return len(self._calls)


def _bounded(headers: Mapping[str, str]) -> tuple[Mapping[str, str], int]:
    """``headers`` within :data:`MAX_CALL_HEADER_BYTES` (values cut, later fields
    dropped) and their size."""
    left = MAX_CALL_HEADER_BYTES
    out: dict[str, str] = {}
    for name, value in headers.items():
        cost = len(name) + len(value)
        if cost > left:
            room = left - len(name) - len(_CUT)
            if room > 0:
                out[name] = value[:room] + _CUT
                left = 0
            break
        out[name] = value
        left -= cost
    if len(out) == len(headers) and left > 0:
        return headers, MAX_CALL_HEADER_BYTES - left
    return MappingProxyType(out), MAX_CALL_HEADER_BYTES - max(left, 0)


_CANONICAL: dict[str, str] = {}
_SECRET: dict[str, bool] = {}


def _canonical_name(name: str) -> str:
    canonical = _CANONICAL.get(name)
    if canonical is None:
        canonical = "-".join(part.capitalize() for part in name.strip().split("-"))
        if len(_CANONICAL) < 1024:  # bounded: header names come from clients
            _CANONICAL[name] = canonical
    return canonical


def canonical_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers keyed by canonical names (``content-type`` -> ``Content-Type``)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return {_canonical_name(name): value for name, value in pairs}


def _is_secret(name: str) -> bool:
    secret = _SECRET.get(name)
    if secret is None:
        lowered = name.lower()
        secret = any(word in lowered for word in _SECRET_WORDS)
        if len(_SECRET) < 1024:
            _SECRET[name] = secret
    return secret


def _redact(value: str) -> str:
    # Keep the scheme ("Bearer") so a log still shows what kind of credential was sent.
    scheme, sep, _ = value.strip().partition(" ")
    return f"{scheme} ***" if sep and scheme.isalpha() else "***"


def redacted(headers: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of canonical ``headers`` with credential values replaced."""
    return MappingProxyType(
        {name: (_redact(value) if _is_secret(name) else value) for name, value in headers.items()}
    )


def reason(code: int) -> str:
    """The HTTP reason phrase of ``code``, or ``"Error"`` for an unassigned code."""
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds, as HTTP requires (rounded up)."""
    return str(math.ceil(seconds))


def problem(
    code: int,
    instance: str,
    detail: str | None = None,
    *,
    violations: tuple[str, ...] = (),
    retry_after: float | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Response:
    """An ``application/problem+json`` response shaped like the spec's ProblemDetail."""
    body: dict[str, object] = {
        "type": PROBLEM_TYPE,
        "title": reason(code),
        "status": code,
        "detail": detail if detail is not None else _DEFAULT_DETAIL.get(code, reason(code)),
        "instance": instance,
    }
    if violations:
        body["violations"] = list(violations)
    out = (("Content-Type", _PROBLEM_CONTENT_TYPE), *headers)
    if retry_after is not None:
        out = (*out, ("Retry-After", retry_after_header(retry_after)))
    return Response(code, out, json.dumps(body, separators=(",", ":")).encode())
