"""The fake's OAuth 2.0 token endpoint (client credentials) and the tokens it issues.

No I/O. Secrets stay inside :class:`~pytest_maia.config.Secret` objects and this
module's private state: the request log keeps no bodies, and no answer or message
repeats a client secret.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from pytest_maia.endpoints import AUDIENCE, TOKEN_URL
from pytest_maia.errors import MaiaValidationError
from pytest_maia.fake._http import JSON_HEADERS, Request, Response
from pytest_maia.redact import Secret

if TYPE_CHECKING:
    from pytest_maia.fake.backend import FakeBackend

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "TOKEN_PATH",
    "TokenIssuer",
    "bearer_credential",
    "is_token_shaped",
    "issue_token",
]

DEFAULT_TOKEN_LIFETIME = 1800.0
# The token endpoint's path: at the root in-process (id.core.matillion.com), and also
# below the base path on the loopback server (``{server.url}/oauth/dpc/token``).
TOKEN_PATH = urlsplit(TOKEN_URL).path
_FIELDS = ("grant_type", "client_id", "client_secret", "audience")
# What a real token can be made of: visible ASCII, no whitespace or control character
# (RFC 6750's b64token, widened to every visible character so test tokens may be free).
_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+\Z")
# "Bearer " once, then the credential: exactly one header value, nothing around it.
_BEARER = re.compile(r"(?i:bearer) +([^ ].*)\Z", re.DOTALL)
# Values a broken client sends when its token variable was never set: never a token.
_NOT_TOKENS = frozenset({"none", "null", "undefined", "nil", "nan", "false", "true", "bearer"})


def is_token_shaped(value: str) -> bool:
    """Whether ``value`` could be a real bearer token: visible ASCII only (no space, tab,
    CR, LF, NUL or other control character) and not a placeholder such as ``None``,
    ``null`` or ``undefined``."""
    return bool(_TOKEN_SHAPE.match(value)) and value.lower() not in _NOT_TOKENS


def bearer_credential(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None when the value
    is not one a real server accepts (no header, another scheme, an empty or
    placeholder token, whitespace or a control character anywhere, even around it)."""
    if not header:
        return None
    match = _BEARER.match(header)
    if match is None or not is_token_shaped(match[1]):
        return None
    return match[1]


def check_lifetime(value: object) -> float:
    """``token_lifetime`` as seconds > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise MaiaValidationError(f"token_lifetime must be a number of seconds > 0, got {value!r}")
    return float(value)


class TokenIssuer:
    """Registered client credentials and the access tokens issued, with their expiry."""

    def __init__(self, lifetime: float) -> None:
        self.lifetime = check_lifetime(lifetime)
        self._credentials: dict[str, Secret] = {}
        self._issued: dict[str, float] = {}
        self.issued_count = 0

    def add(self, client_id: object, client_secret: object) -> None:
        """Accept this pair (and, from now on, only registered pairs)."""
        if not isinstance(client_id, str) or not client_id.strip():
            raise MaiaValidationError("client_id must be a non-empty string")
        secret = client_secret.reveal() if isinstance(client_secret, Secret) else client_secret
        if not isinstance(secret, str) or not secret:
            raise MaiaValidationError("client_secret must be a non-empty string")
        self._credentials[client_id] = Secret(secret)

    def valid(self, client_id: str, client_secret: str) -> bool:
        """Whether the pair may have a token (any non-empty pair if none is registered)."""
        if not self._credentials:
            return bool(client_id and client_secret)
        expected = self._credentials.get(client_id)
        given = client_secret.encode()
        if expected is None:
            hmac.compare_digest(given, given)  # the same work either way
            return False
        return hmac.compare_digest(given, expected.reveal().encode())

    def issue(self, now: float) -> str:
        """A fresh opaque token valid for ``lifetime`` seconds from ``now``."""
        token = "fake-" + secrets.token_urlsafe(24)
        self._issued[token] = now + self.lifetime
        self.issued_count += 1
        return token

    def expiry(self, token: str) -> float | None:
        """When an issued token expires, or None for a token this fake never issued."""
        return self._issued.get(token)

    def authorizes(self, header: str | None, now: float, static: Secret | None) -> bool:
        """Whether an ``Authorization`` header may call the API at ``now``.

        A token issued here is valid until it expires; otherwise the fake's static
        token when it has one, else any token-shaped bearer value (see
        :func:`bearer_credential`: never ``None``, ``null``, an empty value or one with
        whitespace or a control character).
        """
        credential = bearer_credential(header)
        if credential is None:
            return False
        expires = self._issued.get(credential)
        if expires is not None:
            return now < expires
        if static is None:
            return True
        return hmac.compare_digest(credential.encode(), static.reveal().encode())

    def reset(self) -> None:
        """Forget issued tokens (registered credentials stay)."""
        self._issued.clear()
        self.issued_count = 0

    def __repr__(self) -> str:
        return f"TokenIssuer(lifetime={self.lifetime:g}, clients={len(self._credentials)})"


def _oauth_error(code: int, error: str, description: str) -> Response:
    body = json.dumps({"error": error, "error_description": description}).encode()
    headers = (*JSON_HEADERS, ("Cache-Control", "no-store"))
    if code == 401:
        headers = (*headers, ("WWW-Authenticate", 'Basic realm="oauth"'))
    return Response(code, headers, body)


def _form(request: Request) -> dict[str, str] | Response:
    content_type = next(
        (v for k, v in request.headers.items() if k.lower() == "content-type"), ""
    ).lower()
    text = request.body.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            return _oauth_error(400, "invalid_request", "the body is not a JSON object")
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
    if not re.match(r"application/x-www-form-urlencoded\b", content_type):
        return _oauth_error(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        )
    fields = parse_qs(text, keep_blank_values=True)
    repeated = sorted(name for name, values in fields.items() if len(values) > 1)
    if repeated:
        return _oauth_error(400, "invalid_request", f"repeated parameters: {repeated}")
    return {name: values[0] for name, values in fields.items()}


def issue_token(backend: FakeBackend, request: Request, match: object, now: float) -> Response:
    """POST /oauth/dpc/token: client credentials in, a bearer token out."""
    form = _form(request)
    if isinstance(form, Response):
        return form
    missing = [name for name in _FIELDS if not form.get(name)]
    if missing:
        return _oauth_error(400, "invalid_request", f"missing parameters: {', '.join(missing)}")
    if form["grant_type"] != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", "only grant_type=client_credentials is supported"
        )
    if form["audience"] != AUDIENCE:
        return _oauth_error(400, "invalid_request", f"the audience must be {AUDIENCE}")
    issuer = backend.tokens
    if not issuer.valid(form["client_id"], form["client_secret"]):
        return _oauth_error(401, "invalid_client", "unknown client or wrong client secret")
    lifetime = issuer.lifetime
    body = {
        "access_token": issuer.issue(now),
        "token_type": "Bearer",
        "expires_in": int(lifetime) if lifetime.is_integer() else lifetime,
    }
    headers = (*JSON_HEADERS, ("Cache-Control", "no-store"))
    return Response(200, headers, json.dumps(body).encode())
