"""Cutting a request off at its deadline (pytest_maia.client.deadline): a wait against a server
that stalls or trickles ends at about its timeout, the token endpoint included, and the
connection a deadline watched still goes back to the pool.

Hostile loopback servers (raw sockets) stall and trickle. A timeout test bounds the
elapsed time by the timeout it set plus generous slack; nothing here asserts speed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest
from hostile_server import HostileServer, token_endpoint_client

from conftest import EXECUTION
from pytest_maia import MaiaClient, SystemClock
from pytest_maia.core.errors import MaiaConnectionError, MaiaTimeoutError

PROJECT = "hardening-project"
TOKEN = "tok-CLIENT-SEKRIT"
SLACK = 8.0  # generous: a loaded CI machine; this bounds a hang, it does not time speed


def stall(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    stop.wait(60)


def trickle_headers(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """A status line and headers a byte every 0.05 s: every read is quick, the whole is not."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 200:
        if stop.wait(0.05):
            return
        conn.sendall(bytes([byte]))


def trickle_body(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    body = b'{"access_token": "' + b"a" * 200 + b'"}'
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
    for byte in body:
        if stop.wait(0.05):
            return
        conn.sendall(bytes([byte]))


def timed_wait(client: MaiaClient, timeout: float) -> tuple[float, MaiaTimeoutError]:
    started = time.monotonic()
    with pytest.raises(MaiaTimeoutError) as info:
        client.wait_for(PROJECT, EXECUTION, timeout=timeout, interval=0.5, max_interval=0.5)
    return time.monotonic() - started, info.value


# -- 5. a wait is not held past its timeout by a stalled or trickling server -------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attack", [stall, trickle_headers, trickle_body], ids=lambda a: a.__name__)
def test_wait_for_ends_near_its_timeout_whatever_the_server_does(attack: object) -> None:
    with HostileServer(attack) as server:  # type: ignore[arg-type]
        client = MaiaClient(server.url, token=TOKEN, clock=SystemClock())  # timeout=30 per request
        # 0.2 s: longer than each trickled byte's gap (0.05 s), so only a whole-answer
        # deadline ends it; the bound is the timeout plus slack.
        elapsed, error = timed_wait(client, timeout=0.2)
    assert elapsed < 0.2 + SLACK
    assert error.result.errors and all(
        isinstance(e, MaiaConnectionError) and "timed out" in str(e) for e in error.result.errors
    )


# -- 6. the token endpoint has the same deadline (its size cap: test_transport.py) -------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attack", [stall, trickle_headers, trickle_body], ids=lambda a: a.__name__)
def test_a_slow_token_endpoint_does_not_stretch_a_wait(attack: object) -> None:
    with HostileServer(attack) as tokens:  # type: ignore[arg-type]
        client = token_endpoint_client(tokens, SystemClock())
        elapsed, _ = timed_wait(client, timeout=0.2)
    assert elapsed < 0.2 + SLACK


def test_polls_reuse_one_kept_alive_connection() -> None:
    # The body is read under a deadline, and the connection still goes back to the pool.
    from pytest_maia.fake import FakeMaia

    fake = FakeMaia()
    run = fake.add_execution("p", ["RUNNING"] * 5 + ["SUCCESS"])
    with fake.serve() as server:
        client = server.client()
        result = client.wait_for("p", run, interval=1, max_interval=1)
        pools = client._session.get_adapter(server.url).poolmanager.pools
        (key,) = list(pools.keys())  # the container itself is not iterable
        pool = pools[key]
    assert result.polls == 6
    assert pool.num_connections == 1


# What a Ctrl-C can leave behind: the KeyboardInterrupt lands inside the pool queue's
# ``Condition.__enter__``, after its lock was taken and before the block that frees it.
AFTER_AN_UNLUCKY_CTRL_C = """
from pytest_maia.fake import FakeMaia

fake = FakeMaia()
run = fake.add_execution("p", ["RUNNING", "SUCCESS"])
with fake.serve() as server:
    client = server.client()
    client.get_status("p", run)
    pools = client._session.get_adapter(server.url).poolmanager.pools
    (key,) = list(pools.keys())
    pools[key].pool.mutex.acquire()  # held, as the interrupted `with` leaves it
    print(client.get_status("p", run), flush=True)
print("exited", flush=True)
"""


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_lock_left_held_by_ctrl_c_hangs_neither_the_next_request_nor_the_exit() -> None:
    # urllib3's own queue waited on that lock for ever: the next request on the pool, and
    # the pool's finalizer at interpreter exit (maia-status and pytest hung after Ctrl-C).
    done = subprocess.run(
        [sys.executable, "-c", AFTER_AN_UNLUCKY_CTRL_C],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "SUCCESS\nexited\n"), done.stderr
