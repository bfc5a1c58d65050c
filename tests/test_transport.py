"""How requests go out (pytest_maia.client.transport): the User-Agent, no proxy for loopback, a
size cap on every answer (the token endpoint's too), and permanent failures (TLS
verification, a body over the cap) that are typed, said and never retried."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from hostile_server import HostileServer, listener, respond, token_endpoint_client

from conftest import EXECUTION
from pytest_maia import MaiaClient, VirtualClock, __version__
from pytest_maia.client.transport import MAX_BODY_BYTES
from pytest_maia.core.errors import MaiaConnectionError, MaiaResponseError
from pytest_maia.fake import FakeMaia

PROJECT = "transport-project"
TOKEN = "tok-TRANSPORT-SEKRIT-3c1"
SECRET = "cs-TRANSPORT-SEKRIT-8d0"


def test_every_request_says_pytest_maia_and_its_version_in_the_user_agent() -> None:
    fake = FakeMaia()
    fake.add_credentials("id", "secret")
    run = fake.add_execution(PROJECT, ["SUCCESS"])
    with fake.serve() as server:
        client = server.client(client_id="id", client_secret="secret")
        assert client.get_status(PROJECT, run) == "SUCCESS"
    agents = {call.path: call.headers.get("User-Agent") for call in fake.calls}
    assert len(agents) == 2  # the token endpoint and the API
    assert set(agents.values()) == {f"pytest-maia/{__version__}"}


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_a_proxy_variable_never_sees_a_loopback_request(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeMaia(token=TOKEN)
    fake.add_credentials("id", SECRET)
    run = fake.add_execution(PROJECT, ["SUCCESS"])
    with listener() as proxy, fake.serve() as server:
        monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        assert server.client().get_status(PROJECT, run) == "SUCCESS"
        oauth = server.client(client_id="id", client_secret=SECRET)
        assert oauth.get_status(PROJECT, run) == "SUCCESS"
    assert proxy.connections == 0, proxy.requests


def flood(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """Promise 200 MB and send until the client hangs up."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (200 << 20))
    chunk = b"x" * 65536
    for _ in range(200 << 4):
        if stop.is_set():
            return
        conn.sendall(chunk)


# -- 6. the token endpoint has the same size cap (its deadline: test_deadline.py) -------


@pytest.mark.timeout(60)
def test_a_flooding_token_endpoint_is_cut_at_the_size_cap() -> None:
    with HostileServer(flood) as tokens:
        client = token_endpoint_client(tokens, VirtualClock())
        with pytest.raises(MaiaResponseError, match=f"over {MAX_BODY_BYTES} bytes"):
            client.get_status(PROJECT, EXECUTION)
    assert tokens.connections == 1  # a body over the cap is not retried


# -- 9. permanent transport failures: not retried, and the reason said ---------------------


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.e2e
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
