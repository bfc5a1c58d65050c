"""Tokens (pytest_maia.client.auth) through the client: OAuth client credentials fetched once,
refreshed before expiry and once on a 401 (one refresh for every thread that hit it);
a static token is never refreshed."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs

import pytest
import responses

from conftest import EXECUTION, PROJECT, STATUS_URL, add_token, problem
from pytest_maia import MaiaClient, MaiaResponseError, UnauthorizedError, VirtualClock
from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.fake import FakeMaia

CLIENT_SECRET = "cs-SEKRIT-auth-41c7"


def test_client_credentials_fetch_one_token_for_many_calls(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    add_token(api, "access-1")
    api.get(STATUS_URL, json={"status": "RUNNING"})
    client = MaiaClient(client_id="my-id", client_secret=CLIENT_SECRET, clock=clock)
    for _ in range(5):
        client.get_status(PROJECT, EXECUTION)
    token_calls = [c for c in api.calls if c.request.url == TOKEN_URL]
    assert len(token_calls) == 1
    form = parse_qs(str(token_calls[0].request.body))
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["my-id"],
        "client_secret": [CLIENT_SECRET],
        "audience": ["https://api.matillion.com"],
    }
    assert token_calls[0].request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    api_calls = [c for c in api.calls if c.request.url == STATUS_URL]
    assert all(c.request.headers["Authorization"] == "Bearer access-1" for c in api_calls)


def test_token_refreshed_before_expiry(api: responses.RequestsMock, clock: VirtualClock) -> None:
    api.post(TOKEN_URL, json={"access_token": "access-1", "expires_in": 600})
    api.post(TOKEN_URL, json={"access_token": "access-2", "expires_in": 600})
    api.get(STATUS_URL, json={"status": "RUNNING"})
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock)
    client.get_status(PROJECT, EXECUTION)
    clock.advance(500)  # within the token's life, less the refresh margin
    client.get_status(PROJECT, EXECUTION)
    clock.advance(60)  # past 600 - 60 s margin
    client.get_status(PROJECT, EXECUTION)
    auths = [c.request.headers["Authorization"] for c in api.calls if c.request.url == STATUS_URL]
    assert auths == ["Bearer access-1", "Bearer access-1", "Bearer access-2"]


def test_client_credentials_refresh_once_on_401(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    api.post(TOKEN_URL, json={"access_token": "stale", "expires_in": 1800})
    api.post(TOKEN_URL, json={"access_token": "fresh", "expires_in": 1800})
    api.get(STATUS_URL, json=problem(401, "Unauthorized", "token revoked"), status=401)
    api.get(STATUS_URL, json={"status": "SUCCESS"})
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock)
    assert client.get_status(PROJECT, EXECUTION).is_success
    auths = [c.request.headers["Authorization"] for c in api.calls if c.request.url == STATUS_URL]
    assert auths == ["Bearer stale", "Bearer fresh"]


def test_persistent_401_is_raised_after_one_refresh(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    add_token(api, "t")
    api.get(STATUS_URL, json=problem(401, "Unauthorized", "nope"), status=401)
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock)
    with pytest.raises(UnauthorizedError, match="nope"):
        client.get_status(PROJECT, EXECUTION)
    assert len([c for c in api.calls if c.request.url == TOKEN_URL]) == 2
    assert len([c for c in api.calls if c.request.url == STATUS_URL]) == 2


def test_static_token_401_is_not_retried(api: responses.RequestsMock, clock: VirtualClock) -> None:
    client = MaiaClient(token="tok-SEKRIT-7f3a9c", clock=clock, max_retries=3)
    api.get(STATUS_URL, json=problem(401, "Unauthorized", "expired"), status=401)
    with pytest.raises(UnauthorizedError):
        client.get_status(PROJECT, EXECUTION)
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    "body", [b"{}", b"not json", b'{"access_token": 5}', b'{"access_token": ""}']
)
def test_token_endpoint_bad_body_is_response_error(
    api: responses.RequestsMock, clock: VirtualClock, body: bytes
) -> None:
    api.post(TOKEN_URL, body=body, status=200)
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock)
    with pytest.raises(MaiaResponseError, match="without an access_token"):
        client.get_status(PROJECT, EXECUTION)


def test_token_endpoint_rejection_is_unauthorized(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    api.post(TOKEN_URL, json={"error": "invalid_client"}, status=401)
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock, max_retries=0)
    with pytest.raises(UnauthorizedError, match="MAIA_CLIENT_SECRET") as info:
        client.get_status(PROJECT, EXECUTION)
    assert CLIENT_SECRET not in str(info.value)


def test_expires_in_garbage_falls_back_to_default(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    add_token(api, "t1", expires_in="soon")
    add_token(api, "t2")
    api.get(STATUS_URL, json={"status": "RUNNING"})
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock)
    client.get_status(PROJECT, EXECUTION)
    clock.advance(1700)
    client.get_status(PROJECT, EXECUTION)
    assert len([c for c in api.calls if c.request.url == TOKEN_URL]) == 1


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
