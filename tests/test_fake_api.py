"""The fake's HTTP mapping (pytest_maia.fake._api), no adapter: requests straight into
FakeMaia.handle meet queued faults, then authentication, then routing (ids in paths, 404,
405), and every answer is logged with its secrets redacted; consistent under threads,
well formed for any request."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import FrozenInstanceError

import pytest
from fake_handle import AUTH, BASE, TOKEN, get, poll, problem_of, status_path
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_maia import MaiaValidationError, VirtualClock
from pytest_maia.fake import FakeMaia, Request

# -- ids in paths -----------------------------------------------------------------------


def test_execution_ids_are_canonical_and_matched_case_insensitively() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", "SUCCESS", execution_id=str(uuid.UUID(int=7)).upper())
    assert eid == str(uuid.UUID(int=7))
    assert poll(fake, "p", eid.upper()) == "SUCCESS"
    assert fake.polls(eid.upper()) == 1


def test_percent_encoded_project_ids_are_decoded() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("my project:1", "SUCCESS")
    assert poll(fake, "p", eid) == 404
    assert poll(fake, "my%20project%3A1", eid) == "SUCCESS"


# -- faults -----------------------------------------------------------------------------


def test_fail_next_faults_queue_in_order_on_any_route() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", ["RUNNING", "SUCCESS"])
    fake.fail_next(500, times=2)
    fake.fail_next(429, retry_after=7)
    fake.fail_next(FakeMaia.dropped_connection())
    assert get(fake, f"{BASE}/nowhere").status == 500
    assert poll(fake, "p", eid) == 500
    response = get(fake, status_path("p", eid), headers={})
    assert response.status == 429  # faults come before authentication
    assert dict(response.headers)["Retry-After"] == "7"
    assert get(fake, status_path("p", eid)).dropped
    # Faults never consumed a lifecycle step.
    assert [poll(fake, "p", eid), poll(fake, "p", eid)] == ["RUNNING", "SUCCESS"]


def test_a_dropped_connection_is_scripted_one_way() -> None:
    fake = FakeMaia()
    fake.fail_next(FakeMaia.dropped_connection(), times=2)
    assert get(fake, f"{BASE}/x").dropped
    assert get(fake, f"{BASE}/x").dropped
    assert not get(fake, f"{BASE}/x").dropped
    with pytest.raises(MaiaValidationError, match="dropped_connection"):
        fake.fail_next(0)


# -- spec behaviour -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer   "},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer wrong"},
    ],
)
def test_401_without_the_right_bearer_token(headers: dict[str, str]) -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", "SUCCESS")
    response = get(fake, status_path("p", eid), headers=headers)
    assert response.status == 401
    challenge = dict(response.headers)["WWW-Authenticate"]
    # No credential: a bare challenge; a credential that is not a token here: invalid_token.
    wrong = headers == {"Authorization": "Bearer wrong"}
    assert challenge == ('Bearer error="invalid_token"' if wrong else "Bearer")
    assert problem_of(response)["status"] == 401


def test_any_bearer_token_is_accepted_without_token_argument() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", "SUCCESS")
    headers = {"authorization": "bearer anything"}
    assert get(fake, status_path("p", eid), headers=headers).status == 200


def test_400_with_violations_for_a_non_uuid_execution_id() -> None:
    fake = FakeMaia()
    fake.add_execution("p", "SUCCESS")
    response = get(fake, status_path("p", "not-a-uuid"))
    assert response.status == 400
    body = problem_of(response)
    assert body["violations"] == ["pipelineExecutionId: must be a valid UUID"]
    assert fake.polls(str(uuid.UUID(int=1))) == 0


def test_404_for_unknown_project_execution_and_path() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", "SUCCESS")
    other = str(uuid.uuid4())
    assert "project 'q'" in str(problem_of(get(fake, status_path("q", eid)))["detail"])
    assert other in str(problem_of(get(fake, status_path("p", other)))["detail"])
    for path in (f"{BASE}/v1/projects/p", "/v1/projects/p/pipeline-executions/x/status", "/"):
        response = get(fake, path)
        assert response.status == 404
        assert problem_of(response)["instance"] == path


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_405_for_other_methods_on_the_status_path(method: str) -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", "SUCCESS")
    response = get(fake, status_path("p", eid), method=method)
    assert response.status == 405
    assert dict(response.headers)["Allow"] == "GET, HEAD"
    assert problem_of(response)["title"] == "Method Not Allowed"
    assert fake.polls(eid) == 0


def test_base_url_without_a_path_prefix() -> None:
    fake = FakeMaia("http://localhost:8080")
    eid = fake.add_execution("p", "SUCCESS")
    assert fake.base_url == "http://localhost:8080"
    response = get(fake, f"/v1/projects/p/pipeline-executions/{eid}/status")
    assert response.status == 200


# -- the call log ---------------------------------------------------------------------


def test_calls_record_requests_with_secrets_redacted() -> None:
    clock = VirtualClock(5.0)
    fake = FakeMaia(token=TOKEN, clock=clock)
    eid = fake.add_execution("p", "SUCCESS")
    headers = {**AUTH, "x-api-key": TOKEN, "Cookie": f"s={TOKEN}", "Accept": "application/json"}
    get(fake, status_path("p", eid), headers=headers)
    (call,) = fake.calls
    assert (call.method, call.path, call.status_code, call.time) == (
        "GET",
        status_path("p", eid),
        200,
        5.0,
    )
    assert call.headers == {
        "Authorization": "Bearer ***",
        "X-Api-Key": "***",
        "Cookie": "***",
        "Accept": "application/json",
    }
    assert TOKEN not in repr(fake.calls)
    assert TOKEN not in repr(fake)
    with pytest.raises(FrozenInstanceError):
        call.status_code = 500  # type: ignore[misc]
    with pytest.raises(TypeError):
        call.headers["Authorization"] = TOKEN  # type: ignore[index]


def test_polls_count_every_status_request_naming_the_execution() -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", "SUCCESS")
    get(fake, status_path("p", eid))
    get(fake, status_path("p", eid), headers={})  # 401 still counts as a poll
    fake.fail_next(500)
    get(fake, status_path("p", eid))
    get(fake, status_path("p", eid), method="POST")  # not a poll
    assert fake.polls(eid) == 3
    assert fake.polls(str(uuid.uuid4())) == 0


def test_reset_forgets_executions_faults_and_calls_but_not_the_clock() -> None:
    clock = VirtualClock(42)
    fake = FakeMaia(clock=clock)
    eid = fake.add_execution("p", "SUCCESS")
    poll(fake, "p", eid)
    fake.fail_next(500)
    fake.reset()
    assert fake.calls == []
    assert fake.polls(eid) == 0
    assert poll(fake, "p", eid) == 404
    assert fake.clock.now() == 42
    # The same id may be scripted again after a reset.
    assert fake.add_execution("p", "FAILED", execution_id=eid) == eid


# -- constructor arguments ----------------------------------------------------------


def test_bad_constructor_arguments() -> None:
    with pytest.raises(MaiaValidationError, match="plain http"):
        FakeMaia("http://example.com/dpc")
    with pytest.raises(MaiaValidationError, match="token"):
        FakeMaia(token="")


# -- threads --------------------------------------------------------------------------


def test_backend_is_consistent_under_threads() -> None:
    fake = FakeMaia()
    lifecycle = [*(["RUNNING"] * 199), "SUCCESS"]
    ids = [fake.add_execution("p", lifecycle) for _ in range(8)]
    seen: dict[str, list[str | int]] = {}

    def worker(eid: str) -> None:
        seen[eid] = [poll(fake, "p", eid) for _ in range(200)]

    threads = [threading.Thread(target=worker, args=(eid,)) for eid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for eid in ids:
        assert seen[eid] == lifecycle
        assert fake.polls(eid) == 200
    assert len(fake.calls) == 1600


# -- robustness -----------------------------------------------------------------------

_SEGMENT = st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=12)
_PATHS = st.one_of(
    st.text(max_size=60).map(lambda text: "/" + text),
    st.lists(_SEGMENT, max_size=8).map(lambda parts: "/".join(["", "dpc", *parts])),
    st.tuples(_SEGMENT, _SEGMENT | st.uuids().map(str)).map(lambda ids: status_path(*ids)),
)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "FOO"]),
    path=_PATHS,
    headers=st.dictionaries(st.sampled_from(["Authorization", "X-Key", "Accept"]), st.text()),
)
def test_any_request_gets_a_well_formed_answer(
    method: str, path: str, headers: dict[str, str]
) -> None:
    fake = FakeMaia()
    fake.add_execution("p", "SUCCESS", execution_id=str(uuid.UUID(int=1)))
    response = fake.handle(Request(method, path, headers))
    assert response.status in {200, 400, 401, 404, 405}
    body = json.loads(response.body)
    if response.status == 200:
        assert body == {"status": "SUCCESS"}
    else:
        assert body["status"] == response.status
        assert body["instance"] == path
    (call,) = fake.calls
    assert call.status_code == response.status
