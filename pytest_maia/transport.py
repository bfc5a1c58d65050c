"""Sending one request under a deadline, so no server can hold a request for ever.

``send`` clips the connect and read timeouts to the time left, and a watchdog shuts
the connection's socket when that time runs out, so a server trickling its headers or
body a byte at a time cannot stretch a request past its deadline. The body is read
under a size cap. Loopback URLs never go through a proxy. Failures come back as typed
errors that say what happened and whether a retry can help.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import os
import socket
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from pytest_maia.errors import MaiaConnectionError, MaiaResponseError
from pytest_maia.redact import SecretFields
from pytest_maia.validation import is_loopback_host

__all__ = ["MAX_BODY_BYTES", "MIN_REQUEST_SECONDS", "new_session", "send", "user_agent"]

# No API answer comes near this; a larger body is not the API talking.
MAX_BODY_BYTES = 1 << 20
# A request gets at least this long, even when a wait has almost no time left.
MIN_REQUEST_SECONDS = 0.05
# Loopback never goes through a proxy: a None entry overrides the environment's.
_NO_PROXY: dict[str, str | None] = {"http": None, "https": None, "all": None}

_current = threading.local()


def user_agent() -> str:
    from pytest_maia import __version__

    return f"pytest-maia/{__version__}"


class _Watch:
    """Shuts the sockets of the connections a request uses once its time is up."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self.done = False
        self._armed = False
        self._conns: list[Any] = []
        self._lock = threading.Lock()

    def add(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)
            arm, self._armed = not self._armed, True
            late = self.fired
        if late:
            self.fire()
        elif arm:
            _watchdog().arm(self)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for conn in self._conns:
                sock = getattr(conn, "sock", None)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watch:
        _current.watch = self
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.watch = None
        with self._lock:
            self.done = True

    @property
    def expired(self) -> bool:
        return self.fired or time.monotonic() > self.deadline


class _Watchdog:
    """One daemon thread that fires each armed watch at its deadline (a thread per
    request would cost more than a loopback request)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.deadline, next(self._seq), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pytest-maia request watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()

    def _next_due(self) -> _Watch:
        with self._cond:
            while True:
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0][0] - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                return heapq.heappop(self._heap)[2]

    def _run(self) -> None:
        while True:
            self._next_due().fire()  # a finished request's watch ignores it


_dog: _Watchdog | None = None
_dog_lock = threading.Lock()


def _watchdog() -> _Watchdog:
    global _dog
    with _dog_lock:
        if _dog is None:
            _dog = _Watchdog()
        return _dog


def _after_fork_in_child() -> None:
    # The watchdog thread does not survive a fork, and its locks may be held.
    global _dog, _dog_lock
    _dog, _dog_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _watched(conn: Any) -> Any:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.add(conn)
    return conn


class _HTTPPool(urllib3.HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        return _watched(super()._get_conn(timeout))


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        return _watched(super()._get_conn(timeout))


class _DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose pooled connections the request's watchdog can shut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def new_session() -> requests.Session:
    """A session whose connections a deadline can cut, sending our User-Agent."""
    session = requests.Session()
    session.mount("http://", _DeadlineAdapter())
    session.mount("https://", _DeadlineAdapter())
    session.headers["User-Agent"] = user_agent()
    return session


def _read_body(response: requests.Response, watch: _Watch) -> None:
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
            else:  # pragma: no cover
                chunk = raw.read(1024, decode_content=True)
            if not chunk:
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


class _TooLarge(Exception):
    pass


def _tls_reason(exc: BaseException) -> tuple[str, bool]:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "TLS certificate verification failed", False
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "TLS handshake failed: the server does not speak TLS on that port", False
    return "TLS handshake failed", True


def _failure(exc: BaseException, where: str, seconds: float, watch: _Watch) -> Exception:
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
    return MaiaConnectionError(
        f"{where} failed: {type(exc).__name__} (connection dropped or refused)"
    )


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
    with _Watch(seconds) as watch:
        try:
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
