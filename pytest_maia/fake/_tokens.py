"""The fake's OAuth clients and the access tokens it issues. No HTTP.

Secrets stay inside :class:`~pytest_maia.core.settings.Secret` objects and this module's
private state; no answer or message repeats a client secret or a token.
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.redact import Secret
from pytest_maia.core.validation import positive_seconds

DEFAULT_TOKEN_LIFETIME = 1800.0
# What a real token can be made of: visible ASCII, no whitespace or control character
# (RFC 6750's b64token, widened to every visible character so test tokens may be free).
_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]+\Z")
# Values a broken client sends when its token variable was never set: never a token.
_NOT_TOKENS = frozenset({"none", "null", "undefined", "nil", "nan", "false", "true", "bearer"})


def is_token_shaped(value: str) -> bool:
    """Whether ``value`` could be a real bearer token: visible ASCII only (no space, tab,
    CR, LF, NUL or other control character) and not a placeholder such as ``None``,
    ``null`` or ``undefined``."""
    return bool(_TOKEN_SHAPE.match(value)) and value.lower() not in _NOT_TOKENS


def check_lifetime(value: object) -> float:
    """``token_lifetime`` as seconds > 0."""
    return positive_seconds(value, "token_lifetime")


def check_static_token(token: object) -> Secret | None:
    """A static token the fake accepts, wrapped; the value is never shown in an error."""
    if token is None:
        return None
    if not isinstance(token, str) or not is_token_shaped(token):
        raise MaiaValidationError(
            "token must be None or a string a real token can be: visible ASCII with no"
            " whitespace or control character, and not a placeholder such as 'None'"
        )
    return Secret(token)


class Verdict(enum.Enum):
    """What the fake makes of a bearer credential."""

    OK = "ok"
    EXPIRED = "expired"  # a token this fake issued, past its lifetime
    INVALID = "invalid"  # a token it never issued and does not accept


class Tokens:
    """Registered client credentials, static tokens, and the tokens issued with expiry.

    ``strict``: only issued tokens and the static one pass; otherwise, without a
    static token, any token-shaped credential does (zero-config tests).
    """

    def __init__(self, lifetime: float, static: Secret | None, *, strict: bool) -> None:
        self.lifetime = check_lifetime(lifetime)
        self.static = static
        self.strict = bool(strict)
        self._credentials: dict[str, Secret] = {}
        self._issued: dict[str, float] = {}
        self.issued_count = 0
        # The token of the clients FakeMaia.client() builds: random, never expires.
        self._own = Secret("fake-own-" + secrets.token_urlsafe(24))

    def own_token(self) -> str:
        """A token this fake always accepts: the static one, else its own."""
        return (self.static or self._own).reveal()

    def add_client(self, client_id: object, client_secret: object) -> None:
        """Accept this pair (and, from now on, only registered pairs)."""
        if not isinstance(client_id, str) or not client_id.strip():
            raise MaiaValidationError("client_id must be a non-empty string")
        secret = client_secret.reveal() if isinstance(client_secret, Secret) else client_secret
        if not isinstance(secret, str) or not secret:
            raise MaiaValidationError("client_secret must be a non-empty string")
        self._credentials[client_id] = Secret(secret)

    def valid_client(self, client_id: str, client_secret: str) -> bool:
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

    def verdict(self, credential: str, now: float) -> Verdict:
        """Whether a token-shaped ``credential`` may call the API at ``now``."""
        expires = self._issued.get(credential)
        if expires is not None:
            return Verdict.OK if now < expires else Verdict.EXPIRED
        if hmac.compare_digest(credential.encode(), self._own.reveal().encode()):
            return Verdict.OK
        static = self.static
        if static is None:
            return Verdict.INVALID if self.strict else Verdict.OK
        same = hmac.compare_digest(credential.encode(), static.reveal().encode())
        return Verdict.OK if same else Verdict.INVALID

    def reset(self) -> None:
        """Forget issued tokens (registered credentials and the static token stay)."""
        self._issued.clear()
        self.issued_count = 0

    def __repr__(self) -> str:
        return (
            f"Tokens(lifetime={self.lifetime:g}, clients={len(self._credentials)}, "
            f"strict={self.strict})"
        )
