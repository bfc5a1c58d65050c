"""How requests go out (pytest_maia.transport): the User-Agent, no proxy for loopback."""

from __future__ import annotations

import pytest
from hostile_server import listener

from pytest_maia import __version__
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
