"""Cutting a request off at its deadline, whatever the server does.

A request runs inside a :class:`Watch`. The pooled connections it uses register with
the watch, and one watchdog thread shuts their sockets when the deadline passes, so
a server trickling its headers or body a byte at a time cannot outlast the deadline
(a socket timeout bounds only each read). Only sessions using :class:`DeadlineAdapter`
register their connections.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import queue
import socket
import threading
import time
import weakref
from typing import Any

import urllib3
from requests.adapters import HTTPAdapter

__all__ = ["DeadlineAdapter", "Watch"]

_current = threading.local()


class Watch:
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

    def __enter__(self) -> Watch:
        _current.watch = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        _current.watch = None
        with self._lock:
            self.done = True
            # The watchdog holds this watch until its deadline: not the connections too.
            self._conns.clear()

    @property
    def expired(self) -> bool:
        return self.fired or time.monotonic() > self.deadline


class Watchdog:
    """One daemon thread that fires each armed watch at its deadline (a thread per
    request would cost more than a loopback request)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, watch: Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.deadline, next(self._seq), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pytest-maia request watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is watch:
                self._cond.notify()

    def _next_due(self) -> Watch:
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


_dog: Watchdog | None = None
_dog_lock = threading.Lock()


def _watchdog() -> Watchdog:
    global _dog
    with _dog_lock:
        if _dog is None:
            _dog = Watchdog()
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


class _ConnectionStack(queue.LifoQueue):  # type: ignore[type-arg]
    """A pool's idle connections, taken and given back without a lock.

    urllib3 keeps them in a ``LifoQueue``, whose lock a Ctrl-C can leave held: the
    KeyboardInterrupt lands inside ``Condition.__enter__``, after the lock was taken and
    before the ``with`` block that releases it began. The next request on that pool, and
    the pool's finalizer at exit, then wait on the lock for ever. A list's ``append`` and
    ``pop`` are atomic, and urllib3 asks for no waiting here (requests' ``pool_block``
    is off), so no lock is needed.
    """

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if block:  # waiting for a connection to come back needs the lock (pool_block)
            return super().get(block, timeout)
        try:
            return self.queue.pop()
        except IndexError:
            raise queue.Empty from None

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if 0 < self.maxsize <= len(self.queue):
            raise queue.Full
        self.queue.append(item)


def _close_idle(stack: _ConnectionStack) -> None:
    while True:
        try:
            conn = stack.get(block=False)
        except queue.Empty:
            return
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _close_on_collect(pool: Any) -> None:
    """Close a pool's idle sockets when the pool is garbage-collected, as urllib3 2 does
    itself; urllib3 1.26 leaves them to the socket's own finalizer (a ResourceWarning)
    when a client is dropped without ``close()``."""
    weakref.finalize(pool, _close_idle, pool.pool)


class _HTTPPool(urllib3.HTTPConnectionPool):
    QueueCls = _ConnectionStack

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _close_on_collect(self)

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _watched(super()._get_conn(timeout))


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    QueueCls = _ConnectionStack

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _close_on_collect(self)

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _watched(super()._get_conn(timeout))


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose pooled connections the request's watchdog can shut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
