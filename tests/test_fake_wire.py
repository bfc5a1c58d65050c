"""Issue 10, the fake's side: attacks on the loopback server (and the fake's auth), each
shaped like the attack: raw bytes over raw sockets on loopback.

Items: 1 (a bearer value no real token can be is a 401, in-process and over the wire,
without breaking framing), 15 (``serve()`` exit closes kept-alive connections and joins
threads), 16 (chunked bodies are read, never parsed as requests), 17 (414/431/413 as
problem+json without allocating), 18 (client resets print nothing).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from pytest_maia.endpoints import AUDIENCE
from pytest_maia.fake import FakeMaia
from pytest_maia.fake._http import Request
from pytest_maia.fake.server import FakeServer

pytestmark = pytest.mark.timeout(60)

GOOD = b"Authorization: Bearer good-token\r\n"
# Bearer values no real token can be: control characters, whitespace, placeholders.
BAD_BEARERS = [
    b"abc\r",
    b"ab\rc",
    b"abc\n",
    b"ab\nc",
    b"ab\x00c",
    b"abc\t",
    b"ab\tc",
    b"abc ",
    b"ab c",
    b"None",
    b"null",
    b"undefined",
    b"",
]


@contextmanager
def served() -> Iterator[tuple[FakeServer, bytes]]:
    """A fake on loopback and the raw path of one RUNNING execution's status."""
    fake = FakeMaia()
    run = fake.add_execution("p", "RUNNING")
    path = urlsplit(fake.status_url("p", run)).path.encode()
    with fake.serve() as server:
        yield server, path


def connect(server: FakeServer) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=10)


def get(path: bytes, *headers: bytes) -> bytes:
    return b"GET " + path + b" HTTP/1.1\r\nHost: fake\r\n" + b"".join(headers) + b"\r\n"


def read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response from ``sock`` (``buffer`` keeps bytes read past it)."""
    for _ in range(10_000):
        if b"\r\n\r\n" in buffer:
            break
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed before a whole response head: {bytes(buffer)!r}")
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    for _ in range(10_000):
        if len(rest) >= length:
            break
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed inside a response body")
        rest += data
    buffer[:] = rest[length:]
    return int(lines[0].split(" ")[1]), headers, rest[:length]


def read_to_end(sock: socket.socket) -> bytes:
    out = b""
    for _ in range(10_000):
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return out
        if not data:
            return out
        out += data
    raise AssertionError("the server kept sending")


def reset(sock: socket.socket) -> None:
    """Close with an RST, as a crashed or impatient client does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# -- item 1: the fake answers a bearer value no token can be with 401 ----------------------


@pytest.mark.parametrize("value", BAD_BEARERS, ids=repr)
def test_the_in_process_fake_refuses_a_bearer_value_no_token_can_be(value: bytes) -> None:
    fake = FakeMaia()
    run = fake.add_execution("p", "RUNNING")
    path = urlsplit(fake.status_url("p", run)).path
    bad = Request("GET", path, {"Authorization": "Bearer " + value.decode()})
    assert fake.handle(bad).status == 401
    good = Request("GET", path, {"Authorization": "Bearer good-token"})
    assert fake.handle(good).status == 200


@pytest.mark.parametrize("value", BAD_BEARERS, ids=repr)
def test_the_server_refuses_a_bearer_value_no_token_can_be_and_keeps_framing(
    value: bytes,
) -> None:
    """The bad header, then a good request on the same connection: one 401, one 200,
    and nothing else (no stray answer to bytes split off the bad header)."""
    with served() as (server, path), connect(server) as sock:
        bad = get(path, b"Authorization: Bearer " + value + b"\r\n", b"X-After: 1\r\n")
        sock.sendall(bad + get(path, GOOD, b"Connection: close\r\n"))
        buffer = bytearray()
        first = read_response(sock, buffer)
        second = read_response(sock, buffer)
        rest = bytes(buffer) + read_to_end(sock)
    assert first[0] == 401
    assert json.loads(first[2])["status"] == 401
    assert second[0] == 200
    assert rest == b""


# -- item 15: serve() exit closes kept-alive connections and joins its threads --------------


def test_serve_exit_closes_kept_alive_connections_and_joins_its_threads() -> None:
    with served() as (server, path):
        port = server.port
        sock = connect(server)
        sock.sendall(get(path, GOOD))
        assert read_response(sock, bytearray())[0] == 200  # kept alive
    with sock:
        try:
            sock.sendall(get(path, GOOD))
            answer = read_to_end(sock)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""
    assert answer == b""
    left = [t.name for t in threading.enumerate() if t.name.endswith(f":{port}")]
    assert left == []


# -- item 16: chunked request bodies are read, never parsed as a request -------------------


def test_a_chunked_body_is_read_as_the_body_and_never_as_a_request() -> None:
    form = f"grant_type=client_credentials&client_id=me&client_secret=s3&audience={AUDIENCE}"
    posing = b"GET /posing HTTP/1.1\r\nHost: x\r\n\r\n"  # body bytes shaped like a request
    chunks = [form.encode()[:10], form.encode()[10:], b"&x=" + posing.replace(b"\r\n", b"+")]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nT: 1\r\n\r\n"
    with served() as (server, path), connect(server) as sock:
        token_path = urlsplit(server.token_url).path.encode()
        head = b"POST " + token_path + b" HTTP/1.1\r\nHost: fake\r\n"
        head += b"Content-Type: application/x-www-form-urlencoded\r\n"
        sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n" + body)
        buffer = bytearray()
        status, _, answer = read_response(sock, buffer)
        sock.sendall(get(path, GOOD, b"Connection: close\r\n"))
        assert read_response(sock, buffer)[0] == 200
        rest = bytes(buffer) + read_to_end(sock)
    assert status == 200, answer
    assert json.loads(answer)["token_type"] == "Bearer"
    assert rest == b""
    assert [c.path for c in server.fake.calls] == [token_path.decode(), path.decode()]


@pytest.mark.parametrize(
    ("framing", "code"),
    [
        (b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),  # not a chunk size
        (b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXY", 400),  # no CRLF after a chunk
        (b"Transfer-Encoding: gzip\r\n\r\n", 501),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),  # smuggling
        (b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        (b"Content-Length: -1\r\n\r\n", 400),
    ],
)
def test_a_body_that_cannot_be_framed_is_refused_and_the_connection_closed(
    framing: bytes, code: int
) -> None:
    posing = get(b"/dpc/nowhere", GOOD)  # what a lenient server would answer next
    with served() as (server, _), connect(server) as sock:
        token_path = urlsplit(server.token_url).path.encode()
        sock.sendall(b"POST " + token_path + b" HTTP/1.1\r\nHost: f\r\n" + framing + posing)
        buffer = bytearray()
        status, headers, body = read_response(sock, buffer)
        rest = bytes(buffer) + read_to_end(sock)
    assert (status, headers["content-type"]) == (code, "application/problem+json")
    assert json.loads(body)["status"] == code
    assert headers["connection"] == "close"
    assert rest == b""  # the connection closed: nothing after it was read as a request


# -- item 17: 414, 431, 413 as problem+json, without allocating ----------------------------


@pytest.mark.parametrize(
    ("attack", "code"),
    [
        (b"GET /dpc/" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /dpc/x HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)), 431),
        (b"GET /dpc/x HTTP/1.1\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n", 431),
        (b"POST /dpc/x HTTP/1.1\r\nContent-Length: %d\r\n\r\nabc" % 2**50, 413),
        (b"POST /dpc/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4000000000000\r\nab", 413),
    ],
    ids=["70KB-request-line", "200-headers", "100KB-header", "length-2**50", "chunk-2**50"],
)
def test_oversized_requests_are_refused_as_problems_without_allocating(
    attack: bytes, code: int
) -> None:
    with served() as (server, _), connect(server) as sock:
        tracemalloc.start()
        try:
            sock.sendall(attack)
            buffer = bytearray()
            status, headers, body = read_response(sock, buffer)
            read_to_end(sock)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (status, headers["content-type"]) == (code, "application/problem+json")
    assert json.loads(body)["status"] == code
    assert peak < 4 * 2**20  # bounded reads: no buffer sized by the client


# -- item 18: clients that reset or vanish print nothing ------------------------------------


def test_aborted_connections_print_nothing_on_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with served() as (server, path):
        for n in range(60):
            sock = connect(server)
            kind = n % 5
            if kind == 1:  # a head cut short
                sock.sendall(get(path, GOOD)[:30])
            elif kind == 2:  # many requests, gone before the answers (broken pipe)
                sock.sendall(get(path, GOOD) * 50)
            elif kind == 3:  # a body cut short
                sock.sendall(b"POST /dpc/x HTTP/1.1\r\nContent-Length: 100\r\n\r\nab")
            elif kind == 4:  # an oversized line, gone before the 414
                sock.sendall(b"GET /" + b"a" * 20_000)
            reset(sock)
        with connect(server) as sock:  # still serving
            sock.sendall(get(path, GOOD))
            assert read_response(sock, bytearray())[0] == 200
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""
