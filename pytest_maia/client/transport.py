"""Sending one request under a deadline, so no server can hold a request for ever.

``send`` clips the connect and read timeouts to the time left, and a watchdog
(:mod:`pytest_maia.client.deadline`) shuts the connection's socket when that time runs out,
so a server trickling its headers or body a byte at a time cannot stretch a request
past its deadline. The body is read under a size cap. Loopback URLs never go through
a proxy. Failures come back as typed errors that say what happened and whether a
retry can help.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3

from pytest_maia.client.deadline import DeadlineAdapter, Watch
from pytest_maia.core.errors import MaiaConnectionError, MaiaResponseError
from pytest_maia.core.redact import SecretFields
from pytest_maia.core.validation import is_loopback_host
from pytest_maia.version import __version__

__all__ = [
    "DEFAULT_REQUEST_TIMEOUT",
    "DirectAdapter",
    "MAX_BODY_BYTES",
    "MIN_REQUEST_SECONDS",
    "new_session",
    "send",
    "send_direct",
    "user_agent",
]

# No API answer comes near this; a larger body is not the API talking.
MAX_BODY_BYTES = 1 << 20
# How long one request's whole answer may take, unless the client is told otherwise.
DEFAULT_REQUEST_TIMEOUT = 30.0
# A request gets at least this long, even when a wait has almost no time left.
MIN_REQUEST_SECONDS = 0.05
# Loopback never goes through a proxy: a None entry overrides the environment's.
_NO_PROXY: dict[str, str | None] = {"http": None, "https": None, "all": None}


def user_agent() -> str:
    return f"pytest-maia/{__version__}"


def new_session() -> requests.Session:
    """A session whose connections a deadline can cut, sending our User-Agent."""
    session = requests.Session()
    session.mount("http://", DeadlineAdapter())
    session.mount("https://", DeadlineAdapter())
    session.headers["User-Agent"] = user_agent()
    return session


class DirectAdapter(requests.adapters.BaseAdapter):
    """An adapter that answers in this process (the in-process fake's). The transport
    calls it directly, never through ``Session.send`` or ``HTTPAdapter.send``, so that
    HTTP mocks a test has started (``responses``, ``requests_mock``) neither see nor
    refuse its requests."""

    def close(self) -> None:
        """Nothing to close: no sockets."""


def send_direct(
    session: requests.Session,
    adapter: requests.adapters.BaseAdapter,
    request: requests.PreparedRequest,
    **kwargs: Any,
) -> requests.Response:
    """What ``Session.send`` does for an adapter that answers in this process: the
    session's defaults, the response hooks, the timing and, unless streamed, the body.
    An in-process answer is never a redirect, so none is followed."""
    kwargs.pop("allow_redirects", None)
    kwargs.setdefault("stream", session.stream)
    kwargs.setdefault("verify", session.verify)
    kwargs.setdefault("cert", session.cert)
    kwargs.setdefault("proxies", session.proxies)
    started = time.perf_counter()
    response = adapter.send(request, **kwargs)
    response.elapsed = timedelta(seconds=time.perf_counter() - started)
    for hook in request.hooks.get("response", []):
        hooked = hook(response, **kwargs)
        if hooked is not None:
            response = hooked
    if not kwargs["stream"]:
        response.content  # noqa: B018  (reads the body, as Session.send does)
    return response


def _read_body(response: requests.Response, watch: Watch) -> None:
    """Read a streamed body into ``response.content`` in what each socket read
    returns, checking the deadline between reads and the size cap as it grows."""
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        while not watch.expired:
            # read1 returns what one socket read gives; urllib3 < 2.3 lacks it.
            if hasattr(raw, "read1"):
                chunk = raw.read1(65536, decode_content=True)
            else:
                chunk = raw.read(1024, decode_content=True)
            if not chunk:
                if _cut_short(response):
                    raise http.client.IncompleteRead(b"", None)
                complete = not watch.fired
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _TooLarge
            chunks.append(chunk)
    finally:
        if complete:
            # requests' bookkeeping: the body is read (urllib3 already pooled the socket).
            response._content = b"".join(chunks)
            response._content_consumed = True  # type: ignore[attr-defined]
        response.close()
    if not complete:
        raise requests.Timeout("deadline")


def _cut_short(response: requests.Response) -> bool:
    """Whether the body ended before the length its headers promised.

    urllib3 2 raises for that itself; urllib3 1.26 does not check by default and hands a
    body cut off mid-way over as if it were whole. ``tell()`` counts the bytes read from
    the wire (before any decoding), in both. A chunked body, a HEAD or a bodiless status
    is not checked here (http.client raises for a cut chunk itself).
    """
    if response.status_code < 200 or response.status_code in (204, 304):
        return False
    if response.request is not None and response.request.method == "HEAD":
        return False
    if "chunked" in response.headers.get("Transfer-Encoding", "").lower():
        return False
    values = {v.strip() for v in response.headers.get("Content-Length", "").split(",")}
    if len(values) != 1:
        return False
    declared = values.pop()
    if not declared.isdigit():
        return False
    return int(response.raw.tell()) < int(declared)


class _TooLarge(Exception):
    pass


def _tls_reason(exc: BaseException) -> tuple[str, bool]:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "TLS certificate verification failed", False
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "TLS handshake failed: the server does not speak TLS on that port", False
    return "TLS handshake failed", True


def _failure(exc: BaseException, where: str, seconds: float, watch: Watch) -> Exception:
    """The typed error for a transport failure: its reason, and whether to retry."""
    if isinstance(exc, _TooLarge):
        return MaiaResponseError(f"{where}: the response body is over {MAX_BODY_BYTES} bytes")
    if watch.fired or isinstance(exc, requests.Timeout):
        return MaiaConnectionError(
            f"{where} failed: timed out (no whole answer within {seconds:.3g}s)"
        )
    if isinstance(exc, requests.exceptions.SSLError):
        reason, transient = _tls_reason(exc)
        return MaiaConnectionError(f"{where} failed: {reason}", transient=transient)
    if isinstance(exc, UnicodeError):  # e.g. a Location header that is not UTF-8
        return MaiaResponseError(f"{where}: the answer's headers could not be decoded")
    if isinstance(
        exc,
        (
            requests.exceptions.InvalidURL,
            requests.exceptions.InvalidSchema,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidHeader,
            urllib3.exceptions.LocationParseError,
            ValueError,
        ),
    ):
        return MaiaConnectionError(
            f"{where} failed: the request could not be built ({type(exc).__name__}: "
            "an invalid URL, port or header)",
            transient=False,
        )
    if _refused(exc):
        return MaiaConnectionError(
            f"{where} failed: connection refused (nothing listens there)", refused=True
        )
    return MaiaConnectionError(
        f"{where} failed: {type(exc).__name__} (connection dropped or refused)"
    )


def _refused(exc: BaseException) -> bool:
    """True when a ``ConnectionRefusedError`` is among the causes of ``exc`` (requests
    wraps urllib3's error, which wraps the socket's)."""
    seen: list[BaseException] = [exc]
    for _ in range(32):  # a bounded walk: causes can form a cycle
        if not seen:
            return False
        current = seen.pop()
        if isinstance(current, ConnectionRefusedError):
            return True
        more = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        more += [arg for arg in current.args if isinstance(arg, BaseException)]
        seen += [m for m in more if isinstance(m, BaseException)]
    return False


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    where: str,
    timeout: float,
    remaining: float | None = None,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One request whose whole answer (headers and body, at most MAX_BODY_BYTES)
    must arrive within ``timeout`` seconds, or ``remaining`` when that is less.

    Raises :class:`MaiaConnectionError` (``transient`` says whether a retry can help)
    or :class:`MaiaResponseError`; never a ``requests`` exception.
    """
    seconds = timeout if remaining is None else min(timeout, remaining)
    seconds = max(seconds, MIN_REQUEST_SECONDS)
    host = urlsplit(url).hostname or ""
    proxies: Any = dict(_NO_PROXY) if is_loopback_host(host) else None
    all_headers = SecretFields({"User-Agent": user_agent(), **(headers or {})})
    with Watch(seconds) as watch:
        try:
            adapter = session.get_adapter(url)
            if isinstance(adapter, DirectAdapter):
                # Past any HTTP mock: a fake in this process answers this URL.
                prepared = session.prepare_request(
                    requests.Request(method, url, headers=all_headers, **kwargs)
                )
                response = send_direct(
                    session, adapter, prepared, timeout=(seconds, seconds), stream=True
                )
            else:
                response = session.request(
                    method,
                    url,
                    headers=all_headers,
                    timeout=(seconds, seconds),
                    allow_redirects=False,
                    stream=True,
                    proxies=proxies,
                    **kwargs,
                )
            _read_body(response, watch)
        # read1 raises urllib3's and http.client's own errors, not requests'.
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
            ValueError,  # with UnicodeError: a URL, port or header that cannot be sent
            _TooLarge,
        ) as exc:
            raise _failure(exc, where, seconds, watch) from None
    return response
