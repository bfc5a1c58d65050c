"""Bearer authentication: a static token, or OAuth 2.0 client credentials.

Secrets live only inside :class:`~pytest_maia.core.redact.Secret` objects and the
``Authorization`` header of a prepared request, never in a repr, a message or a log.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import requests

from pytest_maia.client.api_errors import api_error
from pytest_maia.client.token_endpoint import AUDIENCE, TOKEN_URL
from pytest_maia.client.transport import DEFAULT_REQUEST_TIMEOUT, send
from pytest_maia.core.errors import MaiaConnectionError, MaiaResponseError
from pytest_maia.core.redact import Secret, SecretFields, is_header_safe

if TYPE_CHECKING:
    from pytest_maia.core.clock import Clock

__all__ = [
    "ClientCredentials",
    "StaticToken",
    "TokenProvider",
]

DEFAULT_EXPIRES_IN = 1800.0
# Refresh this long before expiry, so a token never dies mid-request.
REFRESH_MARGIN = 60.0

log = logging.getLogger("pytest_maia.client.auth")


class TokenProvider(Protocol):
    """Where a bearer token comes from."""

    def token(self, remaining: float | None = None) -> Secret:
        """The current token; ``remaining`` bounds a fetch in seconds."""
        ...

    def invalidate(self, failed: Secret) -> bool:
        """``failed`` was refused: forget it unless a newer token already replaced it.
        True when asking again can give a different token."""
        ...


class StaticToken:
    """A bearer token given up front; it cannot be refreshed."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def token(self, remaining: float | None = None) -> Secret:
        return self._token

    def invalidate(self, failed: Secret) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticToken(***)"


def _token_fields(content: bytes) -> tuple[Secret | None, object]:
    """The access token (wrapped at once) and ``expires_in`` of a token answer."""
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None
    if not isinstance(payload, dict):
        return None, None
    token = payload.get("access_token")
    return (Secret(token) if isinstance(token, str) and token else None), payload.get("expires_in")


def _read_token_response(response: requests.Response) -> tuple[Secret, float]:
    # The body holds the token: nothing from it may reach a message or a local here.
    access_token, expires_in = _token_fields(response.content)
    if access_token is None:
        raise MaiaResponseError(
            f"token endpoint answered HTTP {response.status_code} without an access_token",
            status_code=response.status_code,
        )
    if not is_header_safe(access_token.reveal()):
        raise MaiaResponseError(
            f"token endpoint answered HTTP {response.status_code} with an access_token "
            "holding a control character, a space or a non-ASCII character, which no "
            "header can carry (the value is not shown)",
            status_code=response.status_code,
        )
    seconds = DEFAULT_EXPIRES_IN
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        seconds = float(expires_in) if 0 < expires_in < 1e9 else DEFAULT_EXPIRES_IN
    return access_token, seconds


# How many issued access tokens a provider remembers, to scrub them from answers.
ISSUED_KEPT = 64


class ClientCredentials:
    """OAuth client credentials: one token, cached until shortly before it expires.

    Single-flight: when many threads see the same token refused, the first to call
    :meth:`invalidate` forgets it and the rest find the fresh one already fetched.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: Secret,
        *,
        session: Callable[[], requests.Session],
        clock: Clock,
        token_url: str = TOKEN_URL,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session
        self._clock = clock
        self.token_url = token_url
        self._timeout = timeout
        self._token: Secret | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.fetches = 0
        # Every token this provider was issued (the latest ones): an answer that echoes
        # an old token is scrubbed of it too. A tuple replaced whole, never changed in
        # place, so another thread can read it while a token is fetched.
        self.issued: tuple[Secret, ...] = ()

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_secret=***)"

    def _form(self) -> SecretFields:
        return SecretFields(
            grant_type="client_credentials",
            client_id=self._client_id,
            client_secret=self._client_secret.reveal(),
            audience=AUDIENCE,
        )

    def _locked(self) -> threading.Lock:
        if self._pid != os.getpid():
            # A fork copies the lock in whatever state another thread left it.
            self._lock = threading.Lock()
            self._pid = os.getpid()
        return self._lock

    def token(self, remaining: float | None = None) -> Secret:
        with self._locked():
            if self._token is None or self._clock.now() >= self._expires_at:
                self._fetch(remaining)
            assert self._token is not None
            return self._token

    def invalidate(self, failed: Secret) -> bool:
        with self._locked():
            if self._token == failed:
                self._token = None
        return True

    def _fetch(self, remaining: float | None) -> None:
        where = f"POST {self.token_url}"
        try:
            response = send(
                self._session(),
                "POST",
                self.token_url,
                where=where,
                timeout=self._timeout,
                remaining=remaining,
                data=self._form(),
                headers=SecretFields(Accept="application/json"),
            )
        except MaiaConnectionError as exc:
            if not exc.refused:
                raise
            # Nothing listens at the token URL: a wrong MAIA_TOKEN_URL, which no retry
            # mends. Fail at once, and say which setting to fix.
            raise MaiaConnectionError(
                f"{where} failed: connection refused: no token endpoint listens at "
                f"{self.token_url}; set MAIA_TOKEN_URL (maia-status --token-url, "
                "MaiaClient(token_url=...)) to the OAuth token endpoint to use",
                transient=False,
                refused=True,
            ) from None
        self.fetches += 1
        if response.status_code >= 400:
            # The body may echo the request: the secret is scrubbed from the message.
            raise api_error(
                response.status_code,
                response.content,
                response.headers,
                "POST",
                self.token_url,
                note="token endpoint: check MAIA_CLIENT_ID and MAIA_CLIENT_SECRET",
                secrets=(self._client_secret, *self.issued),
            )
        token, expires_in = _read_token_response(response)
        margin = min(REFRESH_MARGIN, expires_in / 10)
        self._token = token
        self.issued = (*self.issued[-(ISSUED_KEPT - 1) :], token)
        self._expires_at = self._clock.now() + expires_in - margin
        log.debug("fetched an access token valid for %.0fs", expires_in)
