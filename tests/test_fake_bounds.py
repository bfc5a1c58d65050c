"""The loopback fake server answers only local programs and no client can exhaust it
(issue 25, items 8, 9 and 10). Each test is shaped like the attack: raw sockets on
loopback, a web page's requests spelled out byte by byte, a server process with a small
file-descriptor limit. Loops are bounded; nothing here asserts a wall-clock speed."""

from __future__ import annotations

import gc
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from raw_http import GOOD, connect, get, read_response, read_to_end, served

from pytest_maia import FakeMaia, MaiaValidationError
from pytest_maia.fake import _http
from pytest_maia.fake._httpd import ThreadingServer
from pytest_maia.fake.server import FakeServer

pytestmark = pytest.mark.timeout(120)


def request(server: FakeServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with connect(server) as sock:
        sock.sendall(raw)
        return read_response(sock, bytearray())


def post(path: bytes, body: bytes, *headers: bytes, host: bytes = b"localhost") -> bytes:
    head = b"POST " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + b"".join(headers)
    return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


JSON = b"Content-Type: application/json\r\n"
FAULT = b'{"error": 503, "times": 5}'


# -- item 8: no web page can drive the server ----------------------------------------------


def test_a_dns_rebound_host_is_refused_on_every_path() -> None:
    with served() as (server, path):
        rebound = b"evil.example:%d" % server.port
        for raw in (
            get(b"/_fake/calls").replace(b"Host: localhost", b"Host: " + rebound),
            get(path, GOOD).replace(b"Host: localhost", b"Host: " + rebound),
            post(b"/_fake/faults", FAULT, JSON, host=rebound),
            post(urlpath(server.token_url), b"grant_type=client_credentials", host=rebound),
        ):
            status, headers, body = request(server, raw)
            assert status == 403, raw
            assert "DNS rebinding" in json.loads(body)["detail"]
            assert not any(name.startswith("access-control") for name in headers)
        assert server.fake.calls == []  # nothing reached the fake
        # The server's own names are served, with or without the port.
        for host in (b"127.0.0.1:%d" % server.port, b"localhost:%d" % server.port, b"127.0.0.1"):
            raw = get(path, GOOD).replace(b"Host: localhost", b"Host: " + host)
            assert request(server, raw)[0] == 200, host


def urlpath(url: str) -> bytes:
    return ("/" + url.split("/", 3)[3]).encode()


@pytest.mark.parametrize(
    "content_type",
    [b"text/plain", b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x", b""],
)
def test_a_simple_cross_origin_post_cannot_script_the_control_api(content_type: bytes) -> None:
    # What a web page sends with fetch(..., {mode: "no-cors"}) or a <form>: no preflight.
    header = b"Content-Type: " + content_type + b"\r\n" if content_type else b""
    with served() as (server, path):
        for name, body in ((b"faults", FAULT), (b"reset", b"")):
            status, _, answer = request(server, post(b"/_fake/" + name, body, header))
            assert status == 415
            assert "Content-Type: application/json" in json.loads(answer)["detail"]
        assert request(server, get(path, GOOD))[0] == 200  # no fault was queued
        # A program saying application/json is served.
        assert request(server, post(b"/_fake/faults", FAULT, JSON))[0] == 200
        assert request(server, get(path, GOOD))[0] == 503


@pytest.mark.parametrize(
    "origin", [b"http://evil.example", b"null", b"https://127.0.0.1.evil.example"]
)
def test_a_request_from_a_web_page_is_refused_and_no_preflight_is_answered(
    origin: bytes,
) -> None:
    with served() as (server, path):
        page = b"Origin: " + origin + b"\r\n"
        assert request(server, get(b"/_fake/calls", page))[0] == 403
        assert request(server, post(b"/_fake/faults", FAULT, JSON, page))[0] == 403
        preflight = (
            b"OPTIONS /_fake/faults HTTP/1.1\r\nHost: localhost\r\n"
            + page
            + b"Access-Control-Request-Method: POST\r\n"
            b"Access-Control-Request-Headers: content-type\r\n\r\n"
        )
        status, headers, _ = request(server, preflight)
        assert status == 403
        assert not any(name.startswith("access-control") for name in headers)
        assert request(server, get(path, GOOD))[0] == 200  # nothing was queued
        # A local tool's own page (a loopback origin) is a local program.
        local = b"Origin: http://localhost:3000\r\n"
        assert request(server, get(path, GOOD, local))[0] == 200


# -- item 9: bounds -------------------------------------------------------------------------


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ThreadingServer, "request_timeout", 0.5)


@pytest.mark.usefixtures("short_deadline")
def test_an_idle_connection_is_closed_after_the_request_deadline() -> None:
    with served() as (server, path):
        idle = connect(server)
        with idle:
            assert read_to_end(idle) == b""  # closed by the server, not by our timeout
        # A kept-alive connection idle after an answer is cut the same way.
        with connect(server) as sock:
            sock.sendall(get(path, GOOD))
            assert read_response(sock, bytearray())[0] == 200
            assert read_to_end(sock) == b""
        left = [t for t in threading.enumerate() if t.name == f"FakeMaia connection :{server.port}"]
        for thread in left:
            thread.join(5)
        assert not any(t.is_alive() for t in left)


@pytest.mark.usefixtures("short_deadline")
def test_a_trickling_request_is_cut_at_the_request_deadline() -> None:
    with served() as (server, path):
        raw = get(path, GOOD)
        with connect(server) as sock:
            sent = 0
            for byte in raw[:-1]:  # one byte every 0.05 s: a whole request would take 5 s
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    break
                sent += 1
                time.sleep(0.05)
            rest = read_to_end(sock)
        assert sent < len(raw) - 1 or rest == b""
        assert b"200 OK" not in rest
        assert server.fake.calls == []


_FD_SERVER = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    from pytest_maia.fake import FakeMaia
    from pytest_maia.fake._httpd import ThreadingServer
    if sys.argv[1] == "emfile":  # no cap: the process runs out of descriptors first
        ThreadingServer.max_connections = 1000
    fake = FakeMaia(token="good-token")
    run = fake.add_execution("p", "RUNNING")
    with fake.serve() as server:
        print(server.port, fake.status_url("p", run).split("/", 3)[3], flush=True)
        sys.stdin.read()
    """
)


@pytest.fixture
def fd_limited_server(request: pytest.FixtureRequest) -> Iterator[tuple[int, bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _FD_SERVER, request.param],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port, path = proc.stdout.readline().split()
        yield int(port), ("/" + path).encode()
    finally:
        proc.kill()
        proc.communicate(timeout=30)


@pytest.mark.e2e
@pytest.mark.parametrize("fd_limited_server", ["cap", "emfile"], indirect=True)
def test_idle_connections_filling_the_descriptor_limit_do_not_lock_out_a_new_client(
    fd_limited_server: tuple[int, bytes],
) -> None:
    port, path = fd_limited_server
    with ExitStack() as stack:
        for _ in range(120):  # about twice what `ulimit -n 64` lets the server hold
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                continue  # the backlog is full: the attacker's problem
            stack.enter_context(sock)
        with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
            client.sendall(get(path, GOOD))
            assert read_response(client, bytearray())[0] == 200


def test_a_fault_document_cannot_cost_memory() -> None:
    with served() as (server, _):
        huge = b'{"error": 503, "times": 100000000}'
        status, _, body = request(server, post(b"/_fake/faults", huge, JSON))
        assert status == 400
        detail = json.loads(body)["detail"]
        assert "times must be an integer 1..1000000" in detail
        assert '{"error": 503' in detail  # the JSON to send instead
    fake = FakeMaia()
    tracemalloc.start()
    try:
        fake.fail_next(503, times=1_000_000)
        grown = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024  # one entry and a count, not a million
    with fake:
        eid = fake.add_execution("p", "RUNNING")
        fake.reset()
        fake.fail_next(503, times=2)
        client = fake.client(max_retries=0)
        codes = []
        for _ in range(3):
            try:
                client.get_status("p", eid)
                codes.append(200)
            except Exception as exc:
                codes.append(getattr(exc, "status_code", 0))
    assert codes == [503, 503, 404]  # reset forgot the execution; two faults, then routing


def test_the_call_log_keeps_a_bounded_number_of_entries_and_header_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_http, "MAX_CALLS", 50)
    fake = FakeMaia()
    big = {"Authorization": "Bearer good-token", "X-Big": "x" * 60_000}
    for n in range(120):
        fake.handle(_http.Request("GET", f"/dpc/v1/projects?n={n}", big, b"", f"n={n}"))
    calls = fake.calls
    assert len(calls) == 50
    sizes = [sum(len(k) + len(v) for k, v in c.headers.items()) for c in calls]
    assert max(sizes) <= _http.MAX_CALL_HEADER_BYTES + 16
    assert calls[-1].headers["X-Big"].endswith("...[cut]")
    assert calls[-1].headers["Authorization"] == "Bearer ***"
    fake.reset()
    assert fake.calls == []


def test_a_step_interval_too_small_to_count_is_refused() -> None:
    fake = FakeMaia()
    with pytest.raises(MaiaValidationError, match=r"every must be .* >= 0\.001, got 5e-324"):
        fake.add_execution("p", ["RUNNING", "SUCCESS"], every=5e-324)
    with pytest.raises(MaiaValidationError, match="every must be"):
        fake.script_pipeline("nightly", ["RUNNING", "SUCCESS"], every=1e-300)
    with served() as (server, _):
        document = b'{"project_id": "p", "statuses": ["RUNNING"], "every": 5e-324}'
        status, _, body = request(server, post(b"/_fake/executions", document, JSON))
    assert status == 400
    assert "every must be" in json.loads(body)["detail"]


# -- item 10: a long in-process run stays flat ----------------------------------------------


@pytest.mark.thorough
def test_a_long_virtual_run_keeps_memory_flat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "MAX_CALLS", 100)
    polls = 2_000
    with FakeMaia() as fake:
        eid = fake.add_execution("p", "RUNNING")
        client = fake.client()
        for _ in range(200):  # warm up: caches, connection pool, a full call log
            client.get_status("p", eid)
        gc.collect()
        tracemalloc.start()
        try:
            for _ in range(polls):
                client.get_status("p", eid)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    # `responses` kept every request and response: about 9 KiB a poll. Now nothing grows
    # with the count of polls; allow 100 bytes a poll for noise.
    assert grown < polls * 100, f"{grown} bytes for {polls} polls"
