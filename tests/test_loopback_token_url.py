"""Client credentials against a loopback fake never go to the real token endpoint, and a
token endpoint that is not there fails at once, naming MAIA_TOKEN_URL (issue 21, item 10).
A wait's ridden-out errors all have ``status_code`` (issue 21, item 13)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pytest_maia import FakeMaia, MaiaClient, MaiaConnectionError, MaiaError
from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.fake.server import FakeServer

PROJECT = "token-url-project"
OK = "cccccccc-0000-4000-8000-000000000001"
CLIENT_ID = "ci-client"
SECRET = "ci-SEKRIT-secret-77"


@pytest.fixture
def credentials_server() -> Iterator[tuple[FakeMaia, FakeServer]]:
    fake = FakeMaia(strict=True)  # only tokens its endpoint issued
    fake.add_credentials(CLIENT_ID, SECRET)
    fake.add_execution(PROJECT, ["SUCCESS"], execution_id=OK)
    with fake.serve() as server:
        yield fake, server


@pytest.fixture
def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_real_token_endpoint(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request to the official token endpoint is recorded and refused here."""
    sent: list[str] = []
    real_send = requests.adapters.HTTPAdapter.send

    def send(
        adapter: requests.adapters.HTTPAdapter, request: requests.PreparedRequest, **kw: Any
    ) -> requests.Response:
        if (request.url or "").startswith(TOKEN_URL):
            sent.append(request.body if isinstance(request.body, str) else repr(request.body))
            raise requests.ConnectionError("the real token endpoint: not in a test")
        return real_send(adapter, request, **kw)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return sent


def test_client_credentials_for_a_loopback_base_url_go_to_that_server(
    credentials_server: tuple[FakeMaia, FakeServer], no_real_token_endpoint: list[str]
) -> None:
    fake, server = credentials_server
    env = {"MAIA_BASE_URL": server.url, "MAIA_CLIENT_ID": CLIENT_ID, "MAIA_CLIENT_SECRET": SECRET}
    with MaiaClient.from_env(env, max_retries=0) as client:
        assert client.get_status(PROJECT, OK).value == "SUCCESS"
    assert fake.tokens_issued == 1
    assert no_real_token_endpoint == []  # the secret never left the machine
    with MaiaClient(server.url, client_id=CLIENT_ID, client_secret=SECRET) as client:
        assert client.get_status(PROJECT, OK).value == "SUCCESS"
    assert fake.tokens_issued == 2
    assert no_real_token_endpoint == []


def test_the_plugin_live_against_a_loopback_server_gets_its_token_there(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    credentials_server: tuple[FakeMaia, FakeServer],
    no_real_token_endpoint: list[str],
) -> None:
    fake, server = credentials_server
    for name in ("MAIA_TOKEN", "MAIA_TOKEN_URL", "MAIA_BACKEND", "MAIA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MAIA_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    pytester.makepyfile(
        f"""
        def test_live(maia_status):
            assert maia_status.assert_success("{OK}").polls == 1
        """
    )
    result = pytester.runpytest(
        "--maia-backend=live", f"--maia-base-url={server.url}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    assert fake.tokens_issued == 1
    assert no_real_token_endpoint == []


def test_a_token_endpoint_refusing_connections_fails_at_once_naming_maia_token_url(
    credentials_server: tuple[FakeMaia, FakeServer], refused_port: int
) -> None:
    fake, server = credentials_server
    nowhere = f"http://127.0.0.1:{refused_port}/oauth/dpc/token"
    env = {
        "MAIA_BASE_URL": server.url,
        "MAIA_TOKEN_URL": nowhere,
        "MAIA_CLIENT_ID": CLIENT_ID,
        "MAIA_CLIENT_SECRET": SECRET,
    }
    retries: list[float] = []
    client = MaiaClient.from_env(env, on_retry=lambda error, pause: retries.append(pause))
    with client, pytest.raises(MaiaConnectionError) as caught:
        client.wait_for(PROJECT, OK, timeout=600, interval=1)
    message = str(caught.value)
    assert "MAIA_TOKEN_URL" in message and nowhere in message
    assert "connection refused" in message
    assert retries == []  # no retry: not 16 s of them per test
    assert SECRET not in message
    assert fake.calls == []


def test_every_error_a_wait_rode_out_has_a_status_code() -> None:
    fake = FakeMaia()
    run = fake.add_execution(
        PROJECT,
        ["RUNNING", FakeMaia.error(503), FakeMaia.dropped_connection(), "RUNNING", "SUCCESS"],
    )
    with fake:
        fake.fail_next(429, retry_after=1)
        result = fake.client().wait_for(PROJECT, run, timeout=600, interval=1)
    assert [e.status_code for e in result.errors] == [429, 503, None]
    assert all(isinstance(e, MaiaError) for e in result.errors)
