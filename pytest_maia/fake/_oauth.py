"""OAuth 2.0 over HTTP for the fake: bearer headers, and the token endpoint's request.

The token endpoint takes client credentials in the form (``client_id``,
``client_secret``) or as HTTP Basic (RFC 6749 section 2.3.1), ``audience`` optional
(a wrong one is a 400); an expired bearer token is answered ``WWW-Authenticate: Bearer
error="invalid_token"``. The request log keeps no bodies, and no answer repeats a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote_plus, urlsplit

from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.fake._account import Account
from pytest_maia.fake._errors import Invalid, Refused
from pytest_maia.fake._http import JSON_HEADERS, Request, Response, problem
from pytest_maia.fake._tokens import Verdict, is_token_shaped

# The token endpoint's path: at the root in-process (id.core.matillion.com), and also
# below the base path on the loopback server (``{server.url}/oauth/dpc/token``).
TOKEN_PATH = urlsplit(TOKEN_URL).path
# "Bearer " once, then the credential: exactly one header value, nothing around it.
_BEARER = re.compile(r"(?i:bearer) +([^ ].*)\Z", re.DOTALL)
_BASIC = re.compile(r"(?i:basic) +([A-Za-z0-9+/=]+)\Z")
_NO_STORE = (*JSON_HEADERS, ("Cache-Control", "no-store"))
_PARAMETERS = ("grant_type", "client_id", "client_secret", "audience", "scope")
_CHALLENGE = {
    None: "Bearer",
    Verdict.EXPIRED: 'Bearer error="invalid_token", error_description="The access token expired"',
    Verdict.INVALID: 'Bearer error="invalid_token"',
}


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


def unauthorized(verdict: Verdict | None, path: str) -> Response:
    """The 401 for a missing (None), invalid or expired credential."""
    detail = "The access token expired" if verdict is Verdict.EXPIRED else None
    return problem(401, path, detail, headers=(("WWW-Authenticate", _CHALLENGE[verdict]),))


def _oauth_error(code: int, error: str, description: str) -> Response:
    headers = _NO_STORE
    if code == 401:
        headers = (*headers, ("WWW-Authenticate", 'Basic realm="oauth"'))
    return Response(
        code, headers, json.dumps({"error": error, "error_description": description}).encode()
    )


def _form(request: Request, headers: Mapping[str, str]) -> dict[str, str] | Response:
    content_type = headers.get("Content-Type", "").lower()
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
            400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
        )
    fields = parse_qs(text, keep_blank_values=True)
    # RFC 6749 3.2: a parameter it defines must not repeat; others are ignored, repeated or not.
    repeated = sorted(name for name in _PARAMETERS if len(fields.get(name, ())) > 1)
    if repeated:
        return _oauth_error(400, "invalid_request", f"repeated parameters: {repeated}")
    return {name: values[0] for name, values in fields.items()}


def _basic(header: str) -> tuple[str, str] | None:
    match = _BASIC.match(header)
    if match is None:
        return None
    try:
        decoded = base64.b64decode(match[1], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    # RFC 6749 2.3.1: each part is form-urlencoded before it is joined.
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def token_endpoint(
    account: Account, request: Request, headers: Mapping[str, str], now: float
) -> Response:
    """POST /oauth/dpc/token: client credentials in, a bearer token out."""
    if request.method != "POST":
        return problem(
            405,
            request.path,
            f"{request.method} is not allowed here; allowed: POST",
            headers=(("Allow", "POST"),),
        )
    form = _form(request, headers)
    if isinstance(form, Response):
        return form
    authorization = headers.get("Authorization")
    if authorization and not form.get("client_id"):
        # HTTP Basic (what OAuth libraries send by default), when the form has no client.
        pair = _basic(authorization)
        if pair is None:
            return _oauth_error(401, "invalid_client", "the Authorization header is not HTTP Basic")
        form["client_id"], form["client_secret"] = pair
    missing = [name for name in ("grant_type", "client_id", "client_secret") if not form.get(name)]
    if missing:
        return _oauth_error(400, "invalid_request", f"missing parameters: {', '.join(missing)}")
    if form["grant_type"] != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", "only grant_type=client_credentials is supported"
        )
    try:
        token = account.issue_token(
            form["client_id"], form["client_secret"], form.get("audience"), now
        )
    except Invalid as error:
        return _oauth_error(400, "invalid_request", error.detail)
    except Refused as error:
        return _oauth_error(401, "invalid_client", error.detail)
    lifetime = account.tokens.lifetime
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(lifetime) if lifetime.is_integer() else lifetime,
    }
    return Response(200, _NO_STORE, json.dumps(body).encode())
