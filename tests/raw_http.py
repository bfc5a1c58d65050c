"""Raw HTTP/1.1 over loopback sockets against the fake's server: the requests the tests of
its machinery (test_fake_wire.py, test_fake_httpd.py) send byte by byte, and what they
read back."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from pytest_maia.fake import FakeMaia
from pytest_maia.fake.server import FakeServer

GOOD = b"Authorization: Bearer good-token\r\n"


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
    return b"GET " + path + b" HTTP/1.1\r\nHost: localhost\r\n" + b"".join(headers) + b"\r\n"


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
