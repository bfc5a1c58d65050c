"""wait_for (and get_status, under the same faults) against network faults on loopback:
the waiter still ends, right and on time.

A tiny scripted socket server misbehaves on purpose (closes mid-response, stalls,
trickles bytes, answers slowly); the fake's own server supplies 429 storms and dropped
connections. Every wait must end in the right status or a clear typed error within its
timeout; ``pytest.mark.timeout`` only guards against a hang.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hostile_server import HostileServer

from conftest import EXECUTION
from pytest_maia import MaiaClient
from pytest_maia.core.clock import SystemClock, VirtualClock
from pytest_maia.core.errors import (
    MaiaConnectionError,
    MaiaError,
    MaiaResponseError,
    MaiaTimeoutError,
    RateLimitedError,
)
from pytest_maia.core.models import ExecutionStatus
from pytest_maia.fake import FakeMaia

PROJECT = "fault-project"
TOKEN = "tok-FAULTS-SEKRIT"

Action = Callable[[socket.socket, threading.Event], None]


# -- a scripted, misbehaving HTTP server ----------------------------------------------


def _head(status: int, length: int, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n{extra}\r\n"
    ).encode()


def answer(status: str, *, code: int = 200, delay: float = 0.0) -> Action:
    """A whole, correct response after ``delay`` seconds."""
    body = f'{{"status":"{status}"}}'.encode()

    def act(conn: socket.socket, stop: threading.Event) -> None:
        if delay:
            stop.wait(delay)
        conn.sendall(_head(code, len(body)) + body)

    return act


def problem(code: int, retry_after: str | None = None) -> Action:
    body = f'{{"title":"t","status":{code},"detail":"d"}}'.encode()
    extra = f"Retry-After: {retry_after}\r\n" if retry_after is not None else ""

    def act(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(_head(code, len(body), extra) + body)

    return act


def cut_body(conn: socket.socket, stop: threading.Event) -> None:
    """Promise 100 bytes, send 12, close: a connection dropped mid-response."""
    conn.sendall(_head(200, 100) + b'{"status":"R')


def cut_headers(conn: socket.socket, stop: threading.Event) -> None:
    """Close half-way through the status line and headers."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Ty")


def close_silently(conn: socket.socket, stop: threading.Event) -> None:
    """Read the request and close without a byte."""


def reset(conn: socket.socket, stop: threading.Event) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def stall(conn: socket.socket, stop: threading.Event) -> None:
    """Never answer (until the server shuts down)."""
    stop.wait(30)


def trickle(seconds_per_byte: float, size: int = 60) -> Action:
    """Send a ``size``-byte body one byte at a time: every read is quick, the whole is not."""
    body = b'{"status":"SUCCESS"}'.ljust(size)

    def act(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(_head(200, len(body)))
        for byte in body:
            if stop.wait(seconds_per_byte):
                return
            conn.sendall(bytes([byte]))

    return act


def scripted(actions: list[Action]) -> HostileServer:
    """A loopback server whose connection ``n`` runs ``actions[n]`` (the last repeats)."""
    lock, served = threading.Lock(), itertools.count()

    def handle(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        with lock:
            action = actions[min(next(served), len(actions) - 1)]
        action(conn, stop)

    return HostileServer(handle)


def client_for(server: HostileServer, **kwargs: Any) -> MaiaClient:
    kwargs.setdefault("clock", VirtualClock())
    return MaiaClient(server.url, token=TOKEN, **kwargs)


# -- dropped connections ------------------------------------------------------------------

# Failures the transport sees as a broken connection. (A response cut inside its
# headers is different: urllib3 logs the defect and hands back an empty 200; see below.)
BROKEN = [cut_body, close_silently, reset]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("broken", BROKEN, ids=lambda a: a.__name__)
def test_get_status_gives_up_with_a_connection_error(broken: Action) -> None:
    with scripted([broken]) as server:
        client = client_for(server, max_retries=2, timeout=5)
        with pytest.raises(MaiaConnectionError) as info:
            client.get_status(PROJECT, EXECUTION)
    assert server.connections == 3  # the first try and two retries
    assert TOKEN not in str(info.value)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("broken", BROKEN, ids=lambda a: a.__name__)
def test_get_status_rides_out_a_drop_mid_response(broken: Action) -> None:
    with scripted([broken, broken, answer("RUNNING")]) as server:
        client = client_for(server, max_retries=2, timeout=5)
        assert client.get_status(PROJECT, EXECUTION) is ExecutionStatus.RUNNING
    assert server.connections == 3


@pytest.mark.timeout(30)
def test_wait_for_sees_through_drops_to_the_final_status() -> None:
    script = [
        answer("RUNNING"),
        cut_body,
        answer("RUNNING"),
        close_silently,
        reset,
        answer("FAILED"),
    ]
    with scripted(script) as server:
        client = client_for(server, timeout=5)
        result = client.wait_for(PROJECT, EXECUTION, timeout=600, interval=5, max_interval=5)
    assert result.status is ExecutionStatus.FAILED
    assert [s for _, s in result.history] == [
        ExecutionStatus.RUNNING,
        ExecutionStatus.RUNNING,
        ExecutionStatus.FAILED,
    ]
    assert len(result.errors) == 3
    assert all(isinstance(e, MaiaConnectionError) for e in result.errors)
    assert result.polls == 6


@pytest.mark.timeout(30)
def test_a_response_cut_inside_its_headers_is_a_typed_error() -> None:
    with scripted([answer("RUNNING"), cut_headers, answer("SUCCESS")]) as server:
        client = client_for(server, timeout=5)
        error: MaiaError | None = None
        try:
            result = client.wait_for(PROJECT, EXECUTION, timeout=600, interval=5, max_interval=5)
        except MaiaError as exc:
            error = exc
    if error is None:  # retried as a broken connection: also right
        assert result.status is ExecutionStatus.SUCCESS
        assert len(result.errors) == 1
    else:  # or a typed error at once, saying what was wrong
        assert isinstance(error, (MaiaResponseError, MaiaConnectionError))
        assert "empty" in str(error) or "connection" in str(error)
        assert TOKEN not in str(error)


@pytest.mark.timeout(30)
def test_wait_for_times_out_with_history_when_every_answer_is_cut() -> None:
    with scripted([answer("RUNNING"), cut_body]) as server:
        client = client_for(server, timeout=5)
        with pytest.raises(MaiaTimeoutError) as info:
            client.wait_for(PROJECT, EXECUTION, timeout=60, interval=5, max_interval=10)
    result = info.value.result
    assert [s for _, s in result.history] == [ExecutionStatus.RUNNING]
    assert result.polls == server.connections
    assert result.errors and all(isinstance(e, MaiaConnectionError) for e in result.errors)
    assert client.clock.now() == pytest.approx(60)


# -- read timeouts, slow and trickling answers -------------------------------------------


@pytest.mark.timeout(30)
def test_a_stalled_server_is_a_connection_error_after_the_read_timeout() -> None:
    with scripted([stall]) as server:
        client = client_for(server, max_retries=1, timeout=0.1)
        started = time.monotonic()
        with pytest.raises(MaiaConnectionError, match="timed out"):
            client.get_status(PROJECT, EXECUTION)
        took = time.monotonic() - started
    assert server.connections == 2
    assert took < 5  # two 0.1 s read timeouts, with room for a slow machine


@pytest.mark.timeout(30)
def test_wait_for_rides_out_stalls_on_the_virtual_clock() -> None:
    with scripted([stall, stall, answer("SUCCESS")]) as server:
        client = client_for(server, timeout=0.1)
        result = client.wait_for(PROJECT, EXECUTION, timeout=600, interval=5, max_interval=5)
    assert result.status is ExecutionStatus.SUCCESS
    assert result.polls == 3
    assert len(result.errors) == 2


@pytest.mark.timeout(30)
def test_wait_for_on_real_time_ends_near_its_timeout_against_a_stalled_server() -> None:
    with scripted([stall]) as server:
        client = client_for(server, timeout=0.15, clock=SystemClock())
        started = time.monotonic()
        with pytest.raises(MaiaTimeoutError):
            client.wait_for(PROJECT, EXECUTION, timeout=0.4, interval=0.05, max_interval=0.1)
        took = time.monotonic() - started
    # The deadline is checked between polls: about one read timeout late at most; the
    # slack is generous (a loaded CI machine): this bounds a hang, it does not time speed.
    assert 0.4 <= took < 0.4 + 0.15 + 4.0


@pytest.mark.timeout(30)
def test_slow_answers_within_the_read_timeout_are_fine() -> None:
    script = [answer("RUNNING", delay=0.1), answer("SUCCESS", delay=0.15)]
    with scripted(script) as server:
        client = client_for(server, timeout=2)
        result = client.wait_for(PROJECT, EXECUTION, timeout=60, interval=5, max_interval=5)
    assert result.status is ExecutionStatus.SUCCESS
    assert result.errors == []
    assert result.polls == 2


@pytest.mark.timeout(30)
def test_a_virtual_wait_gives_its_last_poll_the_whole_request_timeout() -> None:
    # Virtual seconds are not real ones: the poll at the virtual deadline (0 s left) still
    # has the client's request timeout of real time, not the 0.05 s floor (a loaded
    # machine answering in more than 0.05 s made such a wait lose its last poll).
    with scripted([answer("RUNNING", delay=0.15)]) as server:
        client = client_for(server, timeout=5)
        with pytest.raises(MaiaTimeoutError) as info:
            client.wait_for(PROJECT, EXECUTION, timeout=10, interval=5, max_interval=5)
    assert info.value.result.polls == server.connections == 3  # at 0, 5 and 10 s
    assert info.value.result.errors == []


@pytest.mark.timeout(30)
def test_wait_for_on_real_time_is_not_held_past_its_timeout_by_a_trickling_body() -> None:
    """Each byte comes within the read timeout but the body takes 2.4 s: the wait must
    still end within its own timeout plus one request timeout."""
    with scripted([trickle(0.04)]) as server:
        client = client_for(server, timeout=0.2, clock=SystemClock(), max_retries=0)
        started = time.monotonic()
        with pytest.raises(MaiaTimeoutError) as info:
            client.wait_for(PROJECT, EXECUTION, timeout=0.4, interval=0.05, max_interval=0.1)
        took = time.monotonic() - started
    assert took < 0.4 + 0.2 + 4.0  # generous slack: this bounds a hang, not speed
    assert all(isinstance(e, MaiaConnectionError) for e in info.value.result.errors)


# -- 429 storms and drops through the fake's loopback server -------------------------------


@pytest.mark.timeout(30)
def test_wait_for_rides_out_a_429_storm_obeying_retry_after() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, ["RUNNING", "RUNNING", "SUCCESS"])
    fake.fail_next(429, times=25, retry_after=7)
    with fake.serve() as server:
        client = server.client()
        result = client.wait_for(PROJECT, run, timeout=3600, interval=1, max_interval=2)
    assert result.status is ExecutionStatus.SUCCESS
    assert [s for _, s in result.history] == [
        ExecutionStatus.RUNNING,
        ExecutionStatus.RUNNING,
        ExecutionStatus.SUCCESS,
    ]
    assert len(result.errors) == 25
    assert all(isinstance(e, RateLimitedError) and e.retry_after == 7 for e in result.errors)
    assert fake.polls(run) == 28
    # Every pause after a 429 lasted at least its Retry-After.
    times = [call.time for call in fake.calls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 7 for gap in gaps[:25])


@pytest.mark.timeout(30)
def test_an_endless_429_storm_ends_in_a_timeout_at_the_deadline() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, FakeMaia.error(429, retry_after=10_000))
    with fake.serve() as server:
        client = server.client()
        with pytest.raises(MaiaTimeoutError) as info:
            client.wait_for(PROJECT, run, timeout=900, interval=5, max_interval=30)
    # Retry-After is capped (300 s) and the last pause is cut to the deadline.
    assert fake.clock.now() == pytest.approx(900)
    assert info.value.result.polls == fake.polls(run) == 4
    assert info.value.result.history == []
    assert TOKEN not in str(info.value)


@pytest.mark.timeout(30)
def test_get_status_gives_up_on_a_429_storm_with_the_servers_advice() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, "RUNNING")
    fake.fail_next(429, times=50, retry_after=3)
    with fake.serve() as server:
        client = server.client(max_retries=4)
        with pytest.raises(RateLimitedError) as info:
            client.get_status(PROJECT, run)
    assert info.value.retry_after == 3
    assert fake.polls(run) == 5
    assert fake.clock.now() == pytest.approx(4 * 3)


@pytest.mark.timeout(30)
def test_dropped_connections_on_the_fake_server_are_ridden_out() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(
        PROJECT,
        ["RUNNING", FakeMaia.dropped_connection(), FakeMaia.error(503), "CANCELLED"],
    )
    fake.fail_next(FakeMaia.dropped_connection(), times=2)
    with fake.serve() as server:
        result = server.client().wait_for(PROJECT, run, timeout=600, interval=2, max_interval=4)
    assert result.status is ExecutionStatus.CANCELLED
    assert [s for _, s in result.history] == [ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED]
    assert len(result.errors) == 4
    assert [c.status_code for c in fake.calls] == [0, 0, 200, 0, 503, 200]
