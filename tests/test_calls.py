"""Hardening, the client (issue 10, items 5-13): every timeout honoured, only typed
errors with the true reason, fork and thread safety, an honest User-Agent.

Hostile loopback servers (raw sockets) stall, trickle and flood. A timeout test bounds
the elapsed time by the timeout it set plus generous slack; nothing here asserts speed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest
import responses
from hostile_server import HostileServer, respond

from conftest import EXECUTION
from pytest_maia import MaiaClient, ProblemDetail, SystemClock, VirtualClock
from pytest_maia.errors import (
    MaiaConnectionError,
    MaiaResponseError,
    MaiaTimeoutError,
    MaiaValidationError,
    RateLimitedError,
    ServerError,
)
from pytest_maia.fake import FakeMaia
from pytest_maia.transport import MAX_BODY_BYTES

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


def flood(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """Promise 200 MB and send until the client hangs up."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (200 << 20))
    chunk = b"x" * 65536
    for _ in range(200 << 4):
        if stop.is_set():
            return
        conn.sendall(chunk)


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


# -- 6. the token endpoint has the same size cap and deadline ------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attack", [stall, trickle_headers, trickle_body], ids=lambda a: a.__name__)
def test_a_slow_token_endpoint_does_not_stretch_a_wait(attack: object) -> None:
    with HostileServer(attack) as tokens:  # type: ignore[arg-type]
        client = MaiaClient(
            "http://127.0.0.1:9/dpc",
            client_id="id",
            client_secret="secret",
            token_url=tokens.url + "/token",
            clock=SystemClock(),
        )
        elapsed, _ = timed_wait(client, timeout=0.2)
    assert elapsed < 0.2 + SLACK


@pytest.mark.timeout(60)
def test_a_flooding_token_endpoint_is_cut_at_the_size_cap() -> None:
    with HostileServer(flood) as tokens:
        client = MaiaClient(
            "http://127.0.0.1:9/dpc",
            client_id="id",
            client_secret="secret",
            token_url=tokens.url + "/token",
            clock=VirtualClock(),
        )
        with pytest.raises(MaiaResponseError, match=f"over {MAX_BODY_BYTES} bytes"):
            client.get_status(PROJECT, EXECUTION)
    assert tokens.connections == 1  # a body over the cap is not retried


# -- 7. a call outside a wait has a retry budget -----------------------------------------


def test_a_retry_after_past_the_retry_budget_raises_at_once() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, "RUNNING")
    fake.fail_next(429, times=2, retry_after=300)
    with fake.serve() as server:
        with pytest.raises(RateLimitedError) as info:
            server.client().get_status(PROJECT, run)
        assert info.value.retry_after == 300
        assert fake.clock.now() == 0  # no sleep at all: 300 s would not fit in 120
        assert fake.polls(run) == 1
        # A budget that fits the advice waits it out.
        assert server.client(retry_budget=1000).get_status(PROJECT, run) == "RUNNING"


def test_a_retry_storm_stops_within_the_retry_budget() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, FakeMaia.error(503))
    with fake.serve() as server, pytest.raises(ServerError):
        server.client(max_retries=100, retry_budget=60).get_status(PROJECT, run)
    assert fake.clock.now() <= 60


@pytest.mark.parametrize("budget", [0, -1, float("nan"), float("inf"), "120", True])
def test_retry_budget_must_be_a_positive_number(budget: object) -> None:
    with pytest.raises(MaiaValidationError, match="retry_budget"):
        MaiaClient("http://127.0.0.1:9/dpc", token=TOKEN, retry_budget=budget)  # type: ignore[arg-type]


# -- 8. only typed errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://[::1/dpc", "http://127.0.0.1:99999/dpc", "http://127.0.0.1:0/dpc"]
)
def test_a_malformed_base_url_is_a_validation_error(url: str) -> None:
    with pytest.raises(MaiaValidationError, match="base_url"):
        MaiaClient(url, token=TOKEN)


def test_a_project_id_with_a_lone_surrogate_is_a_validation_error() -> None:
    client = MaiaClient("http://127.0.0.1:9/dpc", token=TOKEN, clock=VirtualClock())
    with pytest.raises(MaiaValidationError, match="project id"):
        client.get_status("proj\udcff", EXECUTION)


@pytest.mark.parametrize("status", ["²", "٣", "1" * 5000, "4o4"])
def test_a_problem_status_that_is_not_ascii_digits_keeps_the_problem(status: str) -> None:
    problem = ProblemDetail.from_json({"status": status, "title": "Kept", "detail": "here"})
    assert problem is not None
    assert problem.status is None
    assert problem.title == "Kept"


def test_a_steady_503_with_thousands_of_retries_is_a_server_error_not_an_overflow() -> None:
    with responses.RequestsMock() as api:
        api.get(
            f"https://eu1.api.matillion.com/dpc/v1/projects/{PROJECT}/pipeline-executions/"
            f"{EXECUTION}/status",
            json={"title": "Unavailable", "status": 503},
            status=503,
        )
        # 2**1024 overflows a float: 1100 retries pass where the exponent once broke.
        client = MaiaClient(token=TOKEN, clock=VirtualClock(), max_retries=1100, retry_budget=1e9)
        with pytest.raises(ServerError):
            client.get_status(PROJECT, EXECUTION)
        assert len(api.calls) == 1101


# -- 9. permanent transport failures: not retried, and the reason said ---------------------


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.timeout(60)
def test_a_tls_verification_failure_is_not_retried_and_says_so(tmp_path: Path) -> None:
    answer = json.dumps({"status": "SUCCESS"}).encode()
    with HostileServer(lambda c, r, s: respond(c, 200, answer), tls=_self_signed(tmp_path)) as tls:
        client = MaiaClient(tls.url, token=TOKEN, clock=VirtualClock())
        with pytest.raises(MaiaConnectionError, match="TLS certificate verification failed"):
            client.get_status(PROJECT, EXECUTION)
    assert tls.connections == 1
    assert TOKEN not in str(tls.requests)  # the handshake failed before any request


@pytest.mark.timeout(60)
def test_a_body_over_the_size_cap_is_not_retried_and_says_so() -> None:
    with HostileServer(flood) as server:
        client = MaiaClient(server.url, token=TOKEN, clock=VirtualClock())
        with pytest.raises(MaiaResponseError, match=f"over {MAX_BODY_BYTES} bytes"):
            client.get_status(PROJECT, EXECUTION)
    assert server.connections == 1


# -- 10. a wait that ends on a bad answer says what it saw ---------------------------------


def test_a_response_error_during_a_wait_carries_the_wait_result() -> None:
    answers = iter([b'{"status": "RUNNING"}', b'{"status": "RUNNING"}', b"<html>oops</html>"])

    def script(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        respond(conn, 200, next(answers, b"<html>oops</html>"))

    with HostileServer(script) as server:
        client = MaiaClient(server.url, token=TOKEN, clock=VirtualClock())
        with pytest.raises(MaiaResponseError, match="not JSON") as info:
            client.wait_for(PROJECT, EXECUTION, timeout=600, interval=1, max_interval=1)
    result = info.value.wait_result
    assert result is not None
    assert [s for _, s in result.history] == ["RUNNING", "RUNNING"]
    assert result.polls == 3


# -- 11. a forked child gets its own connections -------------------------------------------


def _ask(client: MaiaClient, run: str, expected: str, times: int) -> int:
    wrong = 0
    for _ in range(times):
        try:
            wrong += client.get_status(PROJECT, run) != expected
        except Exception:
            wrong += 1
    return wrong


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_and_its_parent_each_get_their_own_answers() -> None:
    fake = FakeMaia(token=TOKEN)
    mine = fake.add_execution(PROJECT, ["SUCCESS"])
    childs = fake.add_execution(PROJECT, ["FAILED"])
    with fake.serve() as server:
        client = server.client()
        assert client.get_status(PROJECT, mine) == "SUCCESS"  # a pooled, kept-alive socket
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            code = 1
            try:
                os.write(write_end, str(_ask(client, childs, "FAILED", 150)).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        parent_wrong = _ask(client, mine, "SUCCESS", 150)
        _, status = os.waitpid(pid, 0)
        child_wrong = int(os.read(read_end, 100) or b"150")
        os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (parent_wrong, child_wrong) == (0, 0)


# -- 12. one token refresh serves every thread that hit the same 401 ----------------------


@pytest.mark.timeout(120)
def test_sixty_four_threads_hitting_a_401_together_fetch_one_token() -> None:
    fake = FakeMaia(token_lifetime=600)
    run = fake.add_execution(PROJECT, ["RUNNING"])
    with fake.serve() as server:
        # The client's own clock: it believes its token fresh when the fake expires it.
        client = MaiaClient(
            server.url,
            client_id="id",
            client_secret="secret",
            token_url=server.token_url,
            clock=VirtualClock(),
        )
        assert client.get_status(PROJECT, run) == "RUNNING"
        issued = fake.tokens_issued
        fake.clock.advance(1200)  # every request now carries an expired token
        barrier = threading.Barrier(64)
        errors: list[BaseException] = []

        def worker() -> None:
            barrier.wait()
            try:
                assert client.get_status(PROJECT, run) == "RUNNING"
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(64)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert fake.tokens_issued - issued == 1
