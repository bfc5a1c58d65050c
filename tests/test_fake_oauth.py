"""The fake's OAuth token endpoint (pytest_maia.fake._oauth, ._tokens): the form it checks,
the tokens it issues and expires on the virtual clock, and clients that fetch and refresh
them, in-process and over the loopback server; a bearer value no real token can be is a
401 (issue 10, item 1; over the wire: test_fake_wire.py)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fake_target import AUTH, FORM, SECRET, Target

from conftest import BAD_BEARERS
from pytest_maia import ExecutionStatus, MaiaValidationError, UnauthorizedError, VirtualClock
from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.fake import FakeMaia
from pytest_maia.fake._http import Request


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    return FakeMaia(token_lifetime=600)


# -- the token endpoint --------------------------------------------------------------------


def test_token_endpoint_issues_expiring_tokens(target: Target) -> None:
    response = requests.post(target.token_url, data=FORM, timeout=10)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    token = body["access_token"]
    rel = "/v1/projects/proj/pipeline-executions"
    ok = {"pipelineName": "p", "environmentName": "e"}
    assert target.send("POST", rel, ok, headers={"Authorization": f"Bearer {token}"}).ok
    target.fake.clock.sleep(600)
    expired = target.send("POST", rel, ok, headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert target.send("POST", rel, ok).status_code == 201  # never issued: still accepted


def test_issued_tokens_work_alongside_a_static_token() -> None:
    with FakeMaia(token="the-static-one", token_lifetime=60) as fake:
        token = requests.post(TOKEN_URL, data=FORM, timeout=10).json()["access_token"]
        run = fake.add_execution("p", "SUCCESS")
        url = fake.status_url("p", run)
        for good in (token, "the-static-one"):
            assert requests.get(url, headers={"Authorization": f"Bearer {good}"}).ok
        assert requests.get(url, headers=AUTH).status_code == 401


@pytest.mark.parametrize(
    ("change", "code", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "invalid_request"),
        ({"client_id": None}, 400, "invalid_request"),
        ({"client_secret": ""}, 400, "invalid_request"),
        ({"audience": "https://elsewhere.example"}, 400, "invalid_request"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
    ],
)
def test_token_endpoint_checks_the_form(
    target: Target, change: dict[str, str | None], code: int, error: str
) -> None:
    target.fake.add_credentials("ci-bot", SECRET)
    form = {k: v for k, v in {**FORM, **change}.items() if v is not None}
    response = requests.post(target.token_url, data=form, timeout=10)
    assert response.status_code == code
    assert response.json()["error"] == error
    assert SECRET not in response.text
    assert target.fake.tokens_issued == 0


def test_token_endpoint_accepts_any_pair_until_credentials_are_registered(
    target: Target,
) -> None:
    form = {**FORM, "client_id": "anyone", "client_secret": "anything"}
    assert requests.post(target.token_url, data=form, timeout=10).status_code == 200
    target.fake.add_credentials("ci-bot", SECRET)
    assert requests.post(target.token_url, data=form, timeout=10).status_code == 401
    assert requests.post(target.token_url, data=FORM, timeout=10).status_code == 200


def test_token_endpoint_content_types(target: Target) -> None:
    as_json = requests.post(target.token_url, json=FORM, timeout=10)
    assert as_json.status_code == 200 and as_json.json()["access_token"]
    plain = requests.post(
        target.token_url, data="grant_type=client_credentials", timeout=10
    )  # no Content-Type
    assert plain.status_code == 400
    twice = requests.post(
        target.token_url,
        data=[*FORM.items(), ("client_id", "again")],
        timeout=10,
    )
    assert twice.status_code == 400 and "client_id" in twice.json()["error_description"]
    # RFC 6749 3.2: parameters it does not define are ignored, repeated or not.
    extra = [*FORM.items(), ("x-trace", "1"), ("x-trace", "2")]
    assert requests.post(target.token_url, data=extra, timeout=10).status_code == 200
    assert requests.get(target.token_url, timeout=10).status_code == 405


def test_token_requests_are_logged_without_secrets(target: Target) -> None:
    requests.post(
        target.token_url,
        data=FORM,
        headers={"Authorization": "Basic Y2ktYm90OnNlY3JldA=="},
        timeout=10,
    )
    (call,) = target.fake.calls
    assert (call.method, call.status_code) == ("POST", 200)
    assert call.path.endswith("/oauth/dpc/token")
    assert call.headers["Authorization"] == "Basic ***"
    assert SECRET not in repr(target.fake.calls) and SECRET not in repr(target.fake)


def test_faults_apply_to_the_token_endpoint_too(target: Target) -> None:
    target.fake.fail_next(503)
    client = target.client(client_id="ci-bot", client_secret=SECRET)
    run = client.execute_pipeline("proj", "load", "dev")  # the token fetch is retried
    assert [c.status_code for c in target.fake.calls] == [503, 200, 201]
    assert uuid.UUID(run)


def test_a_token_expiring_mid_wait_is_refreshed(target: Target) -> None:
    """token_lifetime=600 and a 30-minute run: the client fetches tokens as it goes."""
    target.fake.add_credentials("ci-bot", SECRET)
    target.fake.script_pipeline("slow", ["RUNNING"] * 30 + ["SUCCESS"], every=60)
    client = target.client(client_id="ci-bot", client_secret=SECRET)
    run = client.execute_pipeline("proj", "slow", "dev")
    result = client.wait_for("proj", run, timeout=3600, interval=30, max_interval=30)
    assert result.status is ExecutionStatus.SUCCESS
    assert result.elapsed == 1800
    fetches = [c for c in target.fake.calls if c.path.endswith("/oauth/dpc/token")]
    assert len(fetches) >= 3 and target.fake.tokens_issued == len(fetches)
    assert 401 not in [c.status_code for c in target.fake.calls]  # refreshed before expiry


def test_an_expired_token_gets_401_and_the_client_refreshes_it(target: Target) -> None:
    # The client's own clock stands still, so only the fake knows the token expired.
    client = target.client(client_id="ci-bot", client_secret=SECRET, clock=VirtualClock())
    run = client.execute_pipeline("proj", "load", "dev")
    target.fake.clock.sleep(601)
    assert client.get_status("proj", run) is ExecutionStatus.RUNNING
    codes = [(c.method, c.status_code) for c in target.fake.calls]
    assert codes == [("POST", 200), ("POST", 201), ("GET", 401), ("POST", 200), ("GET", 200)]


def test_bad_credentials_fail_with_a_clear_error(target: Target) -> None:
    target.fake.add_credentials("ci-bot", SECRET)
    client = target.client(client_id="ci-bot", client_secret="not-it")
    with pytest.raises(UnauthorizedError, match="invalid_client") as info:
        client.execute_pipeline("proj", "load", "dev")
    assert "not-it" not in str(info.value) and SECRET not in str(info.value)


# -- helpers, validation ------------------------------------------------------------------


def test_fake_client_helpers_use_the_token_endpoint_with_credentials() -> None:
    fake = FakeMaia(token_lifetime=120)
    with fake:
        client = fake.client(client_id="ci-bot", client_secret=SECRET)
        run = client.execute_pipeline("proj", "load", "dev")
        assert client.wait_for("proj", run, interval=1).status.is_success
    with fake.serve() as server:
        assert server.token_url == server.url + "/oauth/dpc/token"
        client = server.client(client_id="ci-bot", client_secret=SECRET)
        run = client.execute_pipeline("proj", "load", "dev")
        assert client.wait_for("proj", run, interval=1).status.is_success
        root = server.url.rsplit("/dpc", 1)[0] + "/oauth/dpc/token"
        assert requests.post(root, data=FORM, timeout=10).status_code == 200
    assert fake.tokens_issued == 3


@pytest.mark.parametrize("lifetime", [0, -1, float("inf"), "600", True])
def test_token_lifetime_must_be_positive_seconds(lifetime: Any) -> None:
    with pytest.raises(MaiaValidationError, match="token_lifetime"):
        FakeMaia(token_lifetime=lifetime)


# -- item 1: the fake answers a bearer value no token can be with 401 ----------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("value", BAD_BEARERS, ids=repr)
def test_the_in_process_fake_refuses_a_bearer_value_no_token_can_be(value: bytes) -> None:
    fake = FakeMaia()
    run = fake.add_execution("p", "RUNNING")
    path = urlsplit(fake.status_url("p", run)).path
    bad = Request("GET", path, {"Authorization": "Bearer " + value.decode()})
    assert fake.handle(bad).status == 401
    good = Request("GET", path, {"Authorization": "Bearer good-token"})
    assert fake.handle(good).status == 200
