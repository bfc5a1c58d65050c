"""The loopback server's HTTP/1.1 machinery: one thread per connection, each tracked.

A connection serves requests one after another (keep-alive) until either side closes, a
request cannot be framed (see :mod:`pytest_maia.fake._wire`: the answer is an
``application/problem+json`` error and the connection closes), or the server stops:
``server_close()`` then shuts every kept-alive connection and joins every thread it
started. Clients that reset or vanish print nothing.
"""

from __future__ import annotations

import contextlib
import errno
import io
import selectors
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pytest_maia.fake._http import Response, problem, reason
from pytest_maia.fake._wire import ClientGone, Head, WireError, body_length, read_body, read_head

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


RAW_PATH = "pytest_maia.raw_path"  # environ key: the request path still %-encoded
WSGIApp = Callable[["WSGIEnvironment", "StartResponse"], Iterable[bytes]]
_LINGER_SECONDS = 1.0  # after an error answer: how long to drain what the client sends
_LINGER_BYTES = 1 << 20
_JOIN_SECONDS = 5.0  # at exit: how long to wait for connection threads to end


def _busy() -> bytes:
    """The whole answer to a connection turned away because every other one is busy."""
    answer = problem(503, "/", "too many connections", retry_after=1)
    head = [f"HTTP/1.1 503 {reason(503)}", *(f"{k}: {v}" for k, v in answer.headers)]
    head += [f"Content-Length: {len(answer.body)}", "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body


class DroppedConnection(Exception):
    """Raised by the WSGI app to make the server close the socket unanswered."""


class _Handler(socketserver.StreamRequestHandler):
    """One connection: requests one after another (HTTP/1.1 keep-alive) until either
    side closes, a request cannot be framed, or the server stops."""

    server: ThreadingServer
    disable_nagle_algorithm = True  # each response goes out in one write

    def handle(self) -> None:
        try:
            while not self.server.closing and self._one_request():
                pass
        except (OSError, ClientGone):
            pass  # a reset, a broken pipe, a client gone mid-request: nothing to say

    def _one_request(self) -> bool:
        """Answer one request; True when the connection stays open for another."""
        server = self.server
        server.mark_waiting(self.connection)  # the request deadline starts (see sweep)
        try:
            head = read_head(self.rfile)
            if head is None:
                return False
            length = body_length(head)
            if length != 0 and (head.get("Expect") or "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = read_body(self.rfile, head, length)
        except WireError as error:
            if not server.mark_busy(self.connection):
                return False  # cut by the deadline meanwhile
            self._send(problem(error.status, "/", error.detail), close=True)
            self._linger()
            return False
        if not server.mark_busy(self.connection):
            return False  # the deadline passed as the last byte came: the socket is shut
        response = self._run_app(head, body)
        if response is None:
            return False  # a scripted drop: close without a byte
        keep = head.keep_alive
        if keep and head.version == "HTTP/1.0":  # a 1.0 client needs it said
            response = Response(
                response.status, (*response.headers, ("Connection", "keep-alive")), response.body
            )
        self._send(response, close=not keep, head_only=head.method == "HEAD")
        return keep

    def _run_app(self, head: Head, body: bytes) -> Response | None:
        got: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            got[:] = [int(status.split(" ", 1)[0]), tuple(headers)]
            return None

        try:
            chunks = b"".join(self.server.app(self._environ(head, body), start_response))
            status, headers = got
        except DroppedConnection:
            return None
        except Exception:  # a bug in the fake: say so on stderr, answer 500
            traceback.print_exc()
            return problem(500, "/", "the fake failed to answer this request")
        return Response(status, headers, chunks)

    def _environ(self, head: Head, body: bytes) -> dict[str, Any]:
        target = head.target
        if target.startswith(("http://", "https://")):  # absolute-form: keep the path
            target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": head.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": self.server.host,
            "SERVER_PORT": str(self.server.port),
            "SERVER_PROTOCOL": head.version,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            RAW_PATH: path,
        }
        for name, value in head.fields:
            if "_" in name:
                continue  # as wsgiref: Foo_Bar must not pass for Foo-Bar
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                key = "HTTP_" + key
                environ[key] = f"{environ[key]}, {value}" if key in environ else value
        return environ

    def _send(self, response: Response, *, close: bool, head_only: bool = False) -> None:
        lines = [f"HTTP/1.1 {response.status} {reason(response.status)}"]
        lines += [f"{name}: {value}" for name, value in response.headers]
        if not any(name.lower() == "content-length" for name, _ in response.headers):
            lines.append(f"Content-Length: {len(response.body)}")
        lines.append("Date: " + formatdate(usegmt=True))
        if close:
            lines.append("Connection: close")
        preamble = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(preamble if head_only else preamble + response.body)

    def _linger(self) -> None:
        # Closing with unread request bytes would reset the connection and could destroy
        # the error answer before the client reads it: stop sending, then read and drop
        # what is still coming, within a bound of bytes and time.
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(_LINGER_SECONDS)
            left = _LINGER_BYTES
            while left > 0 and not self.server.closing:
                data = sock.recv(min(left, 65536))
                if not data:
                    return
                left -= len(data)
        except OSError:
            pass


def _connection_cap() -> int:
    """How many connections the server keeps open at once: half the file descriptors the
    process may open (an in-process client holds the other end of each), within 8..1000."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # Windows: no such limit to respect
        return 1000
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(8, min(1000, soft // 2 - 16))


class ThreadingServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """One thread per connection, each tracked so that :meth:`server_close` can close
    every kept-alive connection and join every thread it started.

    Bounded: a connection has ``request_timeout`` seconds to send each whole request,
    counted from when it opened or its last answer went out (an idle or trickling client
    is cut, see :meth:`_sweep`); at most ``max_connections`` are open at once (the one
    idle the longest is closed to make room for a new one); and when the process runs
    out of file descriptors the accept loop closes an idle connection and backs off
    instead of spinning.
    """

    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64

    timeout = 0  # handle_request() is only called once select() said a client is waiting
    request_timeout = 60.0
    max_connections: int | None = None  # None: from the file-descriptor limit
    _ACCEPT_BACKOFF = 0.05

    def __init__(self, address: tuple[str, int], app: WSGIApp) -> None:
        self.app = app
        self.closing = False
        self._live: dict[socket.socket, threading.Thread] = {}
        self._waiting: dict[socket.socket, float] = {}  # connection -> waiting since
        self._live_lock = threading.Lock()
        self._wake_read, self._wake_write = socket.socketpair()
        self.cap = self.max_connections or _connection_cap()
        super().__init__(address, _Handler)
        self.host = str(self.server_address[0])
        self.port = int(self.server_address[1])

    def serve_until_stopped(self) -> None:
        """Accept connections until :meth:`stop` is called, and cut the connections
        past their request deadline.

        Not ``serve_forever``: it notices ``shutdown()`` only at its next poll, which kept
        every server open up to a poll interval after its block ended.
        """
        tick = max(0.01, min(1.0, self.request_timeout / 4))
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                ready = selector.select(tick)
                if any(key.fileobj is self._wake_read for key, _ in ready):
                    return
                if ready:
                    self.handle_request()
                self._sweep()

    # -- bounds -----------------------------------------------------------------------

    def mark_waiting(self, conn: socket.socket) -> None:
        """``conn`` waits for (or reads) a request: its deadline starts now."""
        with self._live_lock:
            if conn in self._live:
                self._waiting[conn] = time.monotonic()

    def mark_busy(self, conn: socket.socket) -> bool:
        """A whole request came on ``conn``: no deadline while it is answered. False when
        the sweep already cut the connection."""
        with self._live_lock:
            return self._waiting.pop(conn, None) is not None

    def _cut(self, conn: socket.socket) -> None:
        # Under the lock. Shutting down wakes the thread blocked reading it; the thread
        # then closes the socket and ends.
        self._waiting.pop(conn, None)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)

    def _sweep(self) -> None:
        """Cut every connection that has waited past its request deadline."""
        limit = time.monotonic() - self.request_timeout
        with self._live_lock:
            for conn in [c for c, since in self._waiting.items() if since <= limit]:
                self._cut(conn)

    def _evict_idle(self) -> bool:
        """Cut the connection waiting the longest; False when none waits."""
        with self._live_lock:
            if not self._waiting:
                return False
            self._cut(min(self._waiting, key=self._waiting.__getitem__))
            return True

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                # Out of file descriptors: free one, and do not spin on the waiting client.
                self._evict_idle()
                time.sleep(self._ACCEPT_BACKOFF)
            raise

    def stop(self) -> None:
        """End :meth:`serve_until_stopped` at once (from any thread)."""
        with contextlib.suppress(OSError):
            self._wake_write.send(b"\0")

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"FakeMaia connection :{self.port}",
            daemon=True,
        )
        if len(self._live) >= self.cap and not self._evict_idle():
            # Every connection is busy being answered: this one is turned away at once.
            with contextlib.suppress(OSError):
                request.sendall(_busy())
            self.shutdown_request(request)
            return
        with self._live_lock:
            if self.closing:
                self.shutdown_request(request)
                return
            self._live[request] = thread
            self._waiting[request] = time.monotonic()
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.pop(request, None)
                self._waiting.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Quiet about clients that reset or vanish; anything else is a bug worth a trace.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._wake_read.close()
        self._wake_write.close()
        with self._live_lock:
            self.closing = True
            live = list(self._live.items())
        for sock, _ in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
        deadline = time.monotonic() + _JOIN_SECONDS
        for _, thread in live:
            thread.join(max(0.0, deadline - time.monotonic()))


class ThreadingServer6(ThreadingServer):
    address_family = socket.AF_INET6
