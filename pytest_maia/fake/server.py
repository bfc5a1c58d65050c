"""Loopback HTTP adapter: the fake's WSGI app behind a small threaded HTTP/1.1 server.

For clients that are not `requests` (httpx, urllib, curl, another process). A scripted
dropped connection closes the socket without sending a byte. Framing and its limits
(414, 431, 413, chunked bodies) are in :mod:`pytest_maia.fake._wire`; a request that
cannot be framed gets an ``application/problem+json`` answer and the connection closes.
The server is quiet (clients that reset or vanish print nothing), and when ``serve()``
ends it closes every kept-alive connection and joins every thread it started.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.validation import is_loopback_host
from pytest_maia.fake._http import Request, Response, problem, reason
from pytest_maia.fake._httpd import (
    RAW_PATH,
    DroppedConnection,
    ThreadingServer,
    ThreadingServer6,
    WSGIApp,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from pytest_maia.client.maia_client import MaiaClient

_TOKEN_PATH = urlsplit(TOKEN_URL).path


class Served(Protocol):
    """What the server needs of a fake (a :class:`~pytest_maia.fake.FakeMaia`)."""

    def handle(self, request: Request, *, control: bool = False) -> Response: ...

    def client(self, **kwargs: Any) -> MaiaClient: ...


def _host_names(environ: WSGIEnvironment) -> tuple[str, ...]:
    """The ``Host`` values this server answers: its bound loopback address and
    ``localhost``, each with and without its port."""
    name = str(environ.get("SERVER_NAME", ""))
    port = str(environ.get("SERVER_PORT", ""))
    shown = f"[{name}]" if ":" in name else name
    names = {shown.lower(), "localhost"}
    return tuple(sorted(names | {f"{n}:{port}" for n in names}))


def _refusal(environ: WSGIEnvironment) -> Response | None:
    """A 403 for a request a web page could have sent (see docs/security.md): a ``Host``
    that is not this server's loopback address or ``localhost`` (DNS rebinding), an
    ``Origin`` that is not loopback, or a CORS preflight. None for anything else."""
    host = environ.get("HTTP_HOST")
    if host is not None:
        allowed = _host_names(environ)
        if host.strip().lower() not in allowed:
            return problem(
                403,
                "/",
                f"this loopback fake answers only Host {' or '.join(allowed)}, "
                f"not {host[:100]!r} (a guard against DNS rebinding)",
            )
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None:
        try:
            origin_host = urlsplit(origin.strip()).hostname or ""
        except ValueError:
            origin_host = ""
        if not is_loopback_host(origin_host):  # "null" (a sandboxed page) included
            return problem(
                403, "/", "this loopback fake answers no request from a web page (Origin)"
            )
    if environ.get("REQUEST_METHOD") == "OPTIONS" and (
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ or origin is not None
    ):
        return problem(403, "/", "this loopback fake answers no CORS preflight")
    return None


def make_wsgi_app(fake: Served) -> WSGIApp:
    """A WSGI application answering every request from ``fake`` (control API included).

    Only what a local process sends is answered: see :func:`_refusal`.
    """

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refused = _refusal(environ)
        if refused is not None:
            size = ("Content-Length", str(len(refused.body)))
            start_response(f"403 {reason(403)}", [*refused.headers, size])
            return [] if environ.get("REQUEST_METHOD") == "HEAD" else [refused.body]
        path = environ.get(RAW_PATH)
        if not isinstance(path, str):
            # Another WSGI server: rebuild the %-encoded path from the decoded one.
            decoded = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            path = quote(decoded.encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
        headers = {
            key[5:].replace("_", "-"): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        method = environ.get("REQUEST_METHOD", "GET")
        response = fake.handle(
            Request(method, path, headers, body, environ.get("QUERY_STRING", "")), control=True
        )
        if response.dropped:
            raise DroppedConnection
        out = list(response.headers)
        if not any(name == "Content-Length" for name, _ in out):
            out.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {reason(response.status)}", out)
        return [] if method == "HEAD" else [response.body]

    return app


class ListenError(MaiaValidationError):
    """The server cannot listen on ``host`` and ``port`` (taken, or no such address);
    :meth:`hint` says what to pass instead, in the caller's words."""

    def __init__(self, host: str, port: int, why: str) -> None:
        self.host, self.port, self.why = host, port, why
        super().__init__(self.hint("port={}"))

    def hint(self, port_spelling: str) -> str:
        """The message, with ``port_spelling`` (``"port={}"``, ``"--port {}"``) naming
        the port to pass."""
        text = f"the fake server cannot listen on {self.host} port {self.port}: {self.why}"
        if self.port:
            text += f" (pass another port, or {port_spelling.format(0)} for a free one)"
        return text


@dataclass(frozen=True)
class FakeServer:
    """A running loopback server: ``url`` is the base URL, e.g. ``http://127.0.0.1:PORT/dpc``."""

    url: str
    host: str
    port: int
    fake: Served = field(repr=False)

    @property
    def token_url(self) -> str:
        """The fake's OAuth token endpoint on this server: ``{url}/oauth/dpc/token``."""
        return self.url + _TOKEN_PATH

    @property
    def control_url(self) -> str:
        """The root of the control API: ``http://HOST:PORT/_fake``."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/_fake"

    def client(self, **kwargs: Any) -> MaiaClient:
        """A MaiaClient pointed at this server, with a token and the clock the fake uses.

        Pass ``client_id=`` and ``client_secret=`` to use ``token_url`` instead.
        """
        kwargs.setdefault("token_url", self.token_url)
        return self.fake.client(base_url=self.url, **kwargs)


@contextmanager
def serve(
    fake: Served, base_path: str, host: str = "127.0.0.1", port: int = 0
) -> Iterator[FakeServer]:
    """Serve ``fake`` (its API below ``base_path``) on a loopback address until the
    block ends."""
    if not isinstance(host, str) or not is_loopback_host(host):
        raise MaiaValidationError(
            f"the fake server only listens on loopback (127.0.0.1, ::1, localhost), got {host!r}"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise MaiaValidationError(f"port must be an integer 0..65535, got {port!r}")
    server_class = ThreadingServer6 if ":" in host else ThreadingServer
    try:
        server = server_class((host, port), make_wsgi_app(fake))
    except OSError as exc:  # the port is taken, or the host has no such address
        raise ListenError(host, port, exc.strerror or str(exc)) from None
    try:
        bound = server.port
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{bound}{base_path}"
        thread = threading.Thread(
            target=server.serve_until_stopped,
            name=f"FakeMaia server :{bound}",
            daemon=True,
        )
        thread.start()
        try:
            yield FakeServer(url, host, bound, fake)
        finally:
            server.stop()
            thread.join()
    finally:
        server.server_close()
