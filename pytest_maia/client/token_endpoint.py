"""Where OAuth 2.0 client-credentials tokens come from, and for which API: the
reference's token endpoint, or a loopback fake server's own."""

from __future__ import annotations

from urllib.parse import urlsplit

from pytest_maia.core.validation import is_loopback_host

__all__ = ["AUDIENCE", "TOKEN_URL", "default_token_url"]

# OAuth 2.0 client credentials: where tokens come from, and for which API.
TOKEN_URL = "https://id.core.matillion.com/oauth/dpc/token"
AUDIENCE = "https://api.matillion.com"


def default_token_url(base_url: str) -> str:
    """The token URL a client uses when none is given: for a loopback base URL (a fake
    server) that server's own, ``{base_url}/oauth/dpc/token``, so client credentials
    never leave the machine; else :data:`TOKEN_URL`."""
    parts = urlsplit(base_url.strip())
    if is_loopback_host(parts.hostname or ""):
        return base_url.strip().rstrip("/") + urlsplit(TOKEN_URL).path
    return TOKEN_URL
