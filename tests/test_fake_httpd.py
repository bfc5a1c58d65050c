"""The loopback server's connections (pytest_maia.fake._httpd): ``serve()`` exit closes
kept-alive connections and joins its threads (issue 10, item 15); clients that reset or
vanish print nothing (item 18). Raw bytes over raw sockets on loopback."""

from __future__ import annotations

import threading

import pytest
from raw_http import GOOD, connect, get, read_response, read_to_end, reset, served

pytestmark = pytest.mark.timeout(60)


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
