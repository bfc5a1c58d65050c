"""One request and its answer as the client saw them: what a client's observer (the
cassette recorder) is handed.

Plain data, no I/O. Only headers that say something about the API's behaviour are
kept (``KEPT_HEADERS``); the request's own headers (``Authorization``) never are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pytest_maia.core.redact import Secret

__all__ = ["KEPT_HEADERS", "Exchange"]

# Response headers worth recording; nothing else is ever copied.
KEPT_HEADERS = ("Content-Type", "Retry-After")


@dataclass(frozen=True)
class Exchange:
    """``method`` and ``path`` (relative to the base URL, as the client built it), the
    JSON body sent (None for none), the HTTP status, kept headers and the body.
    ``secrets``: the credentials the request was sent with (the bearer token, which may
    be one the token endpoint issued), so that an observer can keep them out of what it
    writes; never shown (a ``Secret`` hides its value)."""

    method: str
    path: str
    request_body: object
    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    secrets: tuple[Secret, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def of(
        cls,
        method: str,
        path: str,
        request_body: object,
        status_code: int,
        headers: Mapping[str, str],
        body: bytes,
        secrets: tuple[Secret, ...] = (),
    ) -> Exchange:
        """An exchange keeping only the response headers in ``KEPT_HEADERS``."""
        kept = {name: headers[name] for name in KEPT_HEADERS if headers.get(name) is not None}
        return cls(method, path, request_body, status_code, kept, body, secrets)
