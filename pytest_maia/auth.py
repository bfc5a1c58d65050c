"""Bearer authentication: a static token, or OAuth 2.0 client credentials.

Secrets live only inside :class:`~pytest_maia.config.Secret` objects and the
``Authorization`` header of a prepared request, never in a repr, a message or a log.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Protocol

import requests

from pytest_maia.config import Secret
from pytest_maia.endpoints import AUDIENCE, TOKEN_URL, api_error
from pytest_maia.errors import MaiaConnectionError, MaiaResponseError

if TYPE_CHECKING:
    from pytest_maia.clock import Clock

__all__ = [
    "AUDIENCE",
    "TOKEN_URL",
    "BearerAuth",
    "ClientCredentials",
    "StaticToken",
    "TokenProvider",
]

DEFAULT_EXPIRES_IN = 1800.0
# Refresh this long before expiry, so a token never dies mid-request.
REFRESH_MARGIN = 60.0

log = logging.getLogger("pytest_maia.auth")


class TokenProvider(Protocol):
    """Where a bearer token comes from."""

    def token(self) -> Secret: ...

    def invalidate(self) -> bool:
        """Forget the current token; True when a fresh one can be fetched."""
        ...


class StaticToken:
    """A bearer token given up front; it cannot be refreshed."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def token(self) -> Secret:
        return self._token

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticToken(***)"


def _read_token_response(response: requests.Response) -> tuple[Secret, float]:
    # The body holds the token: nothing from it may reach a message.
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        payload = None
    access_token = payload.get("access_token") if isinstance(payload, dict) else None
    if not isinstance(access_token, str) or not access_token:
        raise MaiaResponseError(
            f"token endpoint answered HTTP {response.status_code} without an access_token",
            status_code=response.status_code,
        )
    expires_in = payload.get("expires_in") if isinstance(payload, dict) else None
    seconds = DEFAULT_EXPIRES_IN
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
        seconds = float(expires_in) if expires_in > 0 else DEFAULT_EXPIRES_IN
    return Secret(access_token), seconds


class ClientCredentials:
    """OAuth client credentials: one token, cached until shortly before it expires."""

    def __init__(
        self,
        client_id: str,
        client_secret: Secret,
        *,
        session: requests.Session,
        clock: Clock,
        token_url: str = TOKEN_URL,
        timeout: float = 30.0,
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
        self.fetches = 0

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_secret=***)"

    def _form(self) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret.reveal(),
            "audience": AUDIENCE,
        }

    def token(self) -> Secret:
        with self._lock:
            if self._token is None or self._clock.now() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def _fetch(self) -> None:
        try:
            response = self._session.post(
                self.token_url,
                data=self._form(),
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise MaiaConnectionError(
                f"could not reach the token endpoint {self.token_url}: {type(exc).__name__}"
            ) from None
        self.fetches += 1
        if response.status_code >= 400:
            # An OAuth error body ({"error", "error_description"}) names no secret.
            raise api_error(
                response.status_code,
                response.content,
                response.headers,
                "POST",
                self.token_url,
                note="token endpoint: check MAIA_CLIENT_ID and MAIA_CLIENT_SECRET",
            )
        token, expires_in = _read_token_response(response)
        margin = min(REFRESH_MARGIN, expires_in / 10)
        self._token = token
        self._expires_at = self._clock.now() + expires_in - margin
        log.debug("fetched an access token valid for %.0fs", expires_in)


class BearerAuth(requests.auth.AuthBase):
    """Puts ``Authorization: Bearer ...`` on each request from a token provider."""

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + self.provider.token().reveal()
        return request

    def __repr__(self) -> str:
        return f"BearerAuth({self.provider!r})"
