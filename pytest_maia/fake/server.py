"""Loopback HTTP adapter: the fake behind a threaded, quiet wsgiref server.

For clients that are not `requests` (httpx, urllib, curl, another process). A scripted
dropped connection closes the socket without sending a byte.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from wsgiref.handlers import SimpleHandler
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from pytest_maia.clock import register_clock, unregister_clock
from pytest_maia.errors import MaiaValidationError
from pytest_maia.fake._http import Request, reason
from pytest_maia.fake._token import TOKEN_PATH
from pytest_maia.validation import is_loopback_host

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from pytest_maia.client import MaiaClient
    from pytest_maia.fake.backend import FakeBackend

__all__ = ["FakeServer", "make_wsgi_app", "serve"]

_RAW_PATH = "pytest_maia.raw_path"
WSGIApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]


class _DroppedConnection(Exception):
    """Raised by the WSGI app to make the server close the socket unanswered."""


def make_wsgi_app(backend: FakeBackend) -> WSGIApp:
    """A WSGI application answering every request from ``backend``."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get(_RAW_PATH)
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
        response = backend.handle(
            Request(method, path, headers, body, environ.get("QUERY_STRING", ""))
        )
        if response.dropped:
            raise _DroppedConnection
        out = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {reason(response.status)}", out)
        return [] if method == "HEAD" else [response.body]

    return app


class _ServerHandler(ServerHandler):
    http_version = "1.1"  # keep-alive: every response has a Content-Length

    def handle_error(self) -> None:
        # After an error the connection's state is unknown: close it.
        self.request_handler.close_connection = True  # type: ignore[attr-defined]
        if isinstance(sys.exc_info()[1], _DroppedConnection):
            self.close()  # nothing was written: the socket closes with no response
            return
        super().handle_error()

    def close(self) -> None:
        SimpleHandler.close(self)  # skip the request log line: the server is quiet


class _RequestHandler(WSGIRequestHandler):
    # HTTP/1.1 keeps a client's connection open between requests, and a buffered wfile
    # sends each response in one write (flushed below): separate small writes on a
    # kept-alive socket meet Nagle and delayed ACKs, about 40 ms per request.
    protocol_version = "HTTP/1.1"
    wbufsize = -1

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's own call log records every request."""

    def get_environ(self) -> dict[str, str]:
        environ = super().get_environ()
        environ[_RAW_PATH] = self.path.partition("?")[0]
        return environ

    def handle(self) -> None:
        # BaseHTTPRequestHandler's loop: one request after another until a close.
        BaseHTTPRequestHandler.handle(self)

    def handle_one_request(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True  # the client connected and left
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _ServerHandler(
            self.rfile,
            self.wfile,  # type: ignore[arg-type]
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]
        self.wfile.flush()


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # Skip HTTPServer's getfqdn(): a reverse DNS lookup can stall offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)
        self.setup_environ()


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


@dataclass(frozen=True)
class FakeServer:
    """A running loopback server: ``url`` is the base URL, e.g. ``http://127.0.0.1:PORT/dpc``."""

    url: str
    host: str
    port: int
    fake: FakeBackend = field(repr=False)

    @property
    def token_url(self) -> str:
        """The fake's OAuth token endpoint on this server: ``{url}/oauth/dpc/token``."""
        return self.url + TOKEN_PATH

    def client(self, **kwargs: Any) -> MaiaClient:
        """A MaiaClient pointed at this server, with a token and the clock the fake uses.

        Pass ``client_id=`` and ``client_secret=`` to use :attr:`token_url` instead.
        """
        from pytest_maia.fake import client_for

        return client_for(self.fake, self.url, self.token_url, kwargs)


@contextmanager
def serve(backend: FakeBackend, host: str = "127.0.0.1", port: int = 0) -> Iterator[FakeServer]:
    """Serve ``backend`` on a loopback address until the block ends."""
    if not isinstance(host, str) or not is_loopback_host(host):
        raise MaiaValidationError(
            f"the fake server only listens on loopback (127.0.0.1, ::1, localhost), got {host!r}"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise MaiaValidationError(f"port must be an integer 0..65535, got {port!r}")
    server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
    server = server_class((host, port), _RequestHandler)
    try:
        server.set_app(make_wsgi_app(backend))
        bound = int(server.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{bound}{backend.base_path}"
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeMaia server :{bound}",
            daemon=True,
        )
        thread.start()
        register_clock(url, backend.clock)
        try:
            yield FakeServer(url, host, bound, backend)
        finally:
            unregister_clock(url, backend.clock)
            server.shutdown()
            thread.join()
    finally:
        server.server_close()
