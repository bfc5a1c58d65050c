"""The loopback server's request framing (pytest_maia.fake._wire), attacked with raw bytes
over raw sockets on loopback (issue 10, the fake's side): a bearer value no real token can
be is a 401 without breaking framing (item 1), chunked bodies are read and never parsed as
requests (item 16), oversized requests are 414/431/413 problem+json without allocating
(item 17).
"""

from __future__ import annotations

import json
import tracemalloc
from urllib.parse import urlsplit

import pytest
from raw_http import GOOD, connect, get, read_response, read_to_end, served

from conftest import BAD_BEARERS
from pytest_maia.client.token_endpoint import AUDIENCE

pytestmark = pytest.mark.timeout(60)


# -- item 1: the fake answers a bearer value no token can be with 401 ----------------------


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


# -- item 16: chunked request bodies are read, never parsed as a request -------------------


def test_a_chunked_body_is_read_as_the_body_and_never_as_a_request() -> None:
    form = f"grant_type=client_credentials&client_id=me&client_secret=s3&audience={AUDIENCE}"
    posing = b"GET /posing HTTP/1.1\r\nHost: x\r\n\r\n"  # body bytes shaped like a request
    chunks = [form.encode()[:10], form.encode()[10:], b"&x=" + posing.replace(b"\r\n", b"+")]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nT: 1\r\n\r\n"
    with served() as (server, path), connect(server) as sock:
        token_path = urlsplit(server.token_url).path.encode()
        head = b"POST " + token_path + b" HTTP/1.1\r\nHost: localhost\r\n"
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
        sock.sendall(b"POST " + token_path + b" HTTP/1.1\r\nHost: localhost\r\n" + framing + posing)
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
