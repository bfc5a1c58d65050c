"""A hostile loopback HTTP server for the hardening tests: raw sockets, so it can stall,
trickle, echo, flood or speak TLS with a certificate nobody trusts."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from pytest_maia import MaiaClient
from pytest_maia.core.clock import Clock

Handler = Callable[[socket.socket, bytes, threading.Event], None]


def read_request(conn: socket.socket) -> bytes:
    """The request's head and (by Content-Length) its body."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def respond(
    conn: socket.socket, status: int, body: bytes, content_type: str = "application/json"
) -> None:
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    conn.sendall(head.encode() + body)


class HostileServer:
    """Each connection runs ``handler(conn, request, stop)``; ``requests`` keeps what came."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.requests: list[bytes] = []
        self.connections = 0
        self.stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}/dpc"
        self._threads: list[threading.Thread] = []

    def _serve_one(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError), conn:
            conn.settimeout(20)
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            request = read_request(conn)
            self.requests.append(request)
            self.handler(conn, request, self.stop)

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                if self.stop.is_set():
                    return
                continue
            if self.stop.is_set():  # the wake-up connection of __exit__
                conn.close()
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve_one, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def __enter__(self) -> HostileServer:
        self._loop_thread = threading.Thread(target=self._loop, daemon=True)
        self._loop_thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop.set()
        # A blocking accept() sees the stop only with a new connection: make one (no poll).
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 5):
            pass
        self._loop_thread.join(5)
        for thread in self._threads:
            thread.join(5)
        self._sock.close()


@contextlib.contextmanager
def listener() -> Iterator[HostileServer]:
    """A server that records who connects and closes at once (e.g. a would-be proxy)."""
    with HostileServer(lambda conn, request, stop: None) as server:
        yield server


def token_endpoint_client(
    tokens: HostileServer, clock: Clock, *, client_secret: str = "secret", **kwargs: Any
) -> MaiaClient:
    """A client with client credentials whose token endpoint is ``tokens`` (the API's own
    port is closed: any failure comes from the token endpoint). Keywords go to MaiaClient."""
    return MaiaClient(
        "http://127.0.0.1:9/dpc",
        client_id="id",
        client_secret=client_secret,
        token_url=tokens.url + "/token",
        clock=clock,
        **kwargs,
    )
