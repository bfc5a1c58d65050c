"""Every answer the fake gives, over both adapters, conforms to the OpenAPI spec.

Documented codes (200, 400, 401, 403, 404, 500, 504) are validated with openapi-core
against the verbatim spec in tests/spec; undocumented ones (405, 429, other 5xx) must
still be ProblemDetail bodies, checked against the spec's own ProblemDetail schema.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec import STATUS_SPEC, request_errors, validate_response, validate_schema

from conftest import Served
from pytest_maia import ExecutionStatus
from pytest_maia.fake import FakeMaia

PROBLEM_SCHEMA = yaml.safe_load(STATUS_SPEC.read_text())["components"]["schemas"]["ProblemDetail"]
SPEC_HOST = "https://eu1.api.matillion.com"
DOCUMENTED = {200, 400, 401, 403, 404, 500, 504}
TOKEN = "tok-SEKRIT-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


@dataclass
class Target:
    """One adapter in front of a fake: ``base`` is where requests go."""

    fake: FakeMaia
    base: str

    def send(self, method: str, rel: str, headers: dict[str, str] | None = None):
        return requests.request(
            method, self.base + rel, headers=AUTH if headers is None else headers
        )


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    return FakeMaia(token=TOKEN)


@pytest.fixture
def target(served: Served) -> Target:  # served: in-process and loopback (tests/conftest.py)
    return Target(served.fake, served.base_url)


def check_conforms(response: requests.Response, method: str, rel: str) -> None:
    """Validate one answer; ``rel`` is the path below the base URL."""
    status = response.status_code
    if status == 200:
        assert response.headers["Content-Type"] == "application/json"
    else:
        assert response.headers["Content-Type"] == "application/problem+json"
        body = response.json()
        validate_schema(PROBLEM_SCHEMA, body)
        assert body["status"] == status
        assert URI.match(body["type"])
        assert body["title"]
        assert body["instance"] == "/dpc" + rel.partition("?")[0]
    documented_path = re.fullmatch(r"/v1/projects/[^/]+/pipeline-executions/[^/]+/status", rel)
    if status in DOCUMENTED and method == "GET" and documented_path:
        # Validate against the spec as if the real server had answered.
        spec_request = requests.Request(method, f"{SPEC_HOST}/dpc{rel}", headers=AUTH)
        validate_response(STATUS_SPEC, spec_request, response)


def status_rel(project: str, execution: str) -> str:
    return f"/v1/projects/{project}/pipeline-executions/{execution}/status"


# -- scripted lifecycles -----------------------------------------------------------------

LIFECYCLES = [
    [ExecutionStatus.RUNNING, ExecutionStatus.SUCCESS],
    [ExecutionStatus.RUNNING, ExecutionStatus.FAILED],
    ["RUNNING", "CANCELLING", "CANCELLED"],
    ["UNKNOWN", "RUNNING", "SKIPPED"],
    ["FORBIDDEN"],
    list(ExecutionStatus),
]


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=lambda c: "-".join(map(str, c)))
def test_lifecycles_conform(target: Target, lifecycle: list[str]) -> None:
    eid = target.fake.add_execution("proj", lifecycle)
    seen = []
    for _ in range(len(lifecycle) + 2):
        rel = status_rel("proj", eid)
        response = target.send("GET", rel)
        check_conforms(response, "GET", rel)
        seen.append(response.json()["status"])
    expected = [ExecutionStatus(s).value for s in lifecycle]
    assert seen == expected + [expected[-1]] * 2


def test_timed_lifecycle_conforms(target: Target) -> None:
    clock = target.fake.clock
    eid = target.fake.add_execution("proj", ["RUNNING", "SUCCESS"], every=60)
    rel = status_rel("proj", eid)
    first = target.send("GET", rel)
    clock.sleep(60)
    second = target.send("GET", rel)
    for response in (first, second):
        check_conforms(response, "GET", rel)
    assert [first.json(), second.json()] == [{"status": "RUNNING"}, {"status": "SUCCESS"}]


# -- error steps and faults ------------------------------------------------------------

ERROR_CODES = [400, 401, 403, 404, 500, 504, 429, 502, 503]


@pytest.mark.parametrize("code", ERROR_CODES)
def test_error_steps_conform(target: Target, code: int) -> None:
    retry_after = 3 if code == 429 else None
    step = FakeMaia.error(code, detail=f"scripted {code}", retry_after=retry_after)
    eid = target.fake.add_execution("proj", ["RUNNING", step, "SUCCESS"])
    rel = status_rel("proj", eid)
    answers = [target.send("GET", rel) for _ in range(3)]
    for response in answers:
        check_conforms(response, "GET", rel)
    assert [r.status_code for r in answers] == [200, code, 200]
    assert answers[1].json()["detail"] == f"scripted {code}"
    assert answers[1].headers.get("Retry-After") == ("3" if code == 429 else None)


@pytest.mark.parametrize("code", ERROR_CODES)
def test_fail_next_conforms_on_any_route(target: Target, code: int) -> None:
    eid = target.fake.add_execution("proj", "SUCCESS")
    target.fake.fail_next(code, times=2, retry_after=1 if code == 429 else None)
    for rel in (status_rel("proj", eid), "/v1/unknown"):
        response = target.send("GET", rel)
        assert response.status_code == code
        check_conforms(response, "GET", rel)
    assert target.send("GET", status_rel("proj", eid)).json() == {"status": "SUCCESS"}


def test_dropped_connections_give_no_response(target: Target) -> None:
    eid = target.fake.add_execution("proj", [FakeMaia.dropped_connection(), "SUCCESS"])
    target.fake.fail_next(FakeMaia.dropped_connection())
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            target.send("GET", status_rel("proj", eid))
    assert target.send("GET", status_rel("proj", eid)).json() == {"status": "SUCCESS"}
    assert [c.status_code for c in target.fake.calls] == [0, 0, 200]


# -- invalid requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Token {TOKEN}"}],
    ids=["none", "wrong-token", "wrong-scheme"],
)
def test_unauthorized_conforms(target: Target, headers: dict[str, str]) -> None:
    eid = target.fake.add_execution("proj", "SUCCESS")
    rel = status_rel("proj", eid)
    response = target.send("GET", rel, headers=headers)
    assert response.status_code == 401
    check_conforms(response, "GET", rel)


@pytest.mark.parametrize(
    ("rel", "code"),
    [
        (status_rel("proj", "not-a-uuid"), 400),
        (status_rel("proj", "3fa85f64-5717-4562-b3fc-2c963f66afa"), 400),
        (status_rel("nope", str(uuid.UUID(int=1))), 404),
        (status_rel("proj", str(uuid.UUID(int=2))), 404),
        ("/v1/projects/proj/pipeline-executions", 405),  # POST only: execute
        ("/v2/anything", 404),
        ("/", 404),
    ],
)
def test_invalid_requests_conform(target: Target, rel: str, code: int) -> None:
    target.fake.add_execution("proj", "SUCCESS")
    response = target.send("GET", rel)
    assert response.status_code == code
    check_conforms(response, "GET", rel)
    if code == 400:
        assert response.json()["violations"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_get_405(target: Target, method: str) -> None:
    eid = target.fake.add_execution("proj", "SUCCESS")
    rel = status_rel("proj", eid)
    response = target.send(method, rel)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    check_conforms(response, method, rel)


def test_fake_rejects_exactly_the_requests_the_spec_rejects(target: Target) -> None:
    """400 and 401 line up with openapi-core's own request validation."""
    eid = target.fake.add_execution("proj", "SUCCESS")
    cases: list[tuple[str, dict[str, str]]] = [
        (eid, AUTH),
        ("nope", AUTH),
        (eid.upper(), AUTH),
        (eid, {}),
    ]
    for execution, headers in cases:
        rel = status_rel("proj", execution)
        spec_request = requests.Request("GET", f"{SPEC_HOST}/dpc{rel}", headers=headers)
        spec_ok = request_errors(STATUS_SPEC, spec_request) == []
        response = target.send("GET", rel, headers=headers)
        assert (response.status_code == 200) == spec_ok, (execution, headers)


# -- generated scripts ---------------------------------------------------------------

STEPS = st.one_of(
    st.sampled_from(list(ExecutionStatus)),
    st.sampled_from(ERROR_CODES).map(FakeMaia.error),
    st.integers(1, 120).map(lambda s: FakeMaia.error(429, retry_after=s)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(STEPS, min_size=1, max_size=6))
def test_generated_lifecycles_conform_in_process(script: list[object]) -> None:
    with FakeMaia(token=TOKEN) as fake:
        _run_script(Target(fake, fake.base_url), script)


def test_generated_lifecycles_conform_over_the_server() -> None:
    fake = FakeMaia(token=TOKEN)
    with fake.serve() as server:

        @settings(max_examples=10, deadline=None)
        @given(script=st.lists(STEPS, min_size=1, max_size=4))
        def check(script: list[object]) -> None:
            fake.reset()
            _run_script(Target(fake, server.url), script)

        check()


def _run_script(target: Target, script: list[object]) -> None:
    eid = target.fake.add_execution("proj", script)  # type: ignore[arg-type]
    rel = status_rel("proj", eid)
    for _ in range(len(script) + 1):
        check_conforms(target.send("GET", rel), "GET", rel)
