"""MaiaClient against `responses` registrations: errors, malformed bodies, retries, auth."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from conftest import BASE, EXECUTION, PROJECT, STATUS_URL, add_token, problem
from pytest_maia import (
    BadRequestError,
    ConflictError,
    ExecutionStatus,
    ForbiddenError,
    GatewayTimeoutError,
    MaiaApiError,
    MaiaClient,
    MaiaConnectionError,
    MaiaError,
    MaiaResponseError,
    MaiaValidationError,
    NotFoundError,
    ProblemDetail,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    VirtualClock,
)
from pytest_maia.client.token_endpoint import TOKEN_URL

TOKEN = "tok-SEKRIT-7f3a9c"
CLIENT_SECRET = "cs-SEKRIT-b81d22"


@pytest.fixture
def client(clock: VirtualClock) -> MaiaClient:
    return MaiaClient(token=TOKEN, clock=clock, max_retries=3)


def add_problem(api: responses.RequestsMock, status: int, **kwargs: object) -> None:
    body = problem(status, f"Title {status}", f"detail for {status}", **kwargs)
    api.get(STATUS_URL, json=body, status=status, content_type="application/problem+json")


# -- happy path --------------------------------------------------------------------


def test_get_status_sends_bearer_and_parses(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(STATUS_URL, json={"status": "RUNNING"})
    assert client.get_status(PROJECT, EXECUTION) is ExecutionStatus.RUNNING
    sent = api.calls[0].request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/json"


@pytest.mark.parametrize("status", list(ExecutionStatus))
def test_every_spec_status_parses(
    api: responses.RequestsMock, client: MaiaClient, status: ExecutionStatus
) -> None:
    api.get(STATUS_URL, json={"status": status.value, "futureField": [1, 2]})
    assert client.get_status(PROJECT, EXECUTION) is status


def test_region_selects_base_url(api: responses.RequestsMock) -> None:
    us = STATUS_URL.replace("eu1", "us1")
    api.get(us, json={"status": "SUCCESS"})
    client = MaiaClient(region="us1", token=TOKEN)
    assert client.base_url == "https://us1.api.matillion.com/dpc"
    assert client.get_status(PROJECT, EXECUTION).is_success


def test_project_id_is_quoted_as_one_segment(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(
        f"{BASE}/v1/projects/my%20project%3F/pipeline-executions/{EXECUTION}/status",
        json={"status": "RUNNING"},
    )
    assert client.get_status("my project?", EXECUTION) is ExecutionStatus.RUNNING


# -- typed errors --------------------------------------------------------------------

DOCUMENTED = [
    (400, BadRequestError),
    (401, UnauthorizedError),
    (403, ForbiddenError),
    (404, NotFoundError),
    (500, ServerError),
    (504, GatewayTimeoutError),
]


@pytest.mark.parametrize(
    ("code", "error"),
    [*DOCUMENTED, (409, ConflictError), (429, RateLimitedError), (503, ServerError)],
)
def test_error_codes_give_typed_errors_with_problem(
    api: responses.RequestsMock, code: int, error: type[MaiaApiError]
) -> None:
    client = MaiaClient(token=TOKEN, clock=VirtualClock(), max_retries=0)
    add_problem(api, code, violations=["pipelineExecutionId: must be a UUID"])
    with pytest.raises(error) as info:
        client.get_status(PROJECT, EXECUTION)
    exc = info.value
    assert type(exc) is error
    assert exc.status_code == code
    assert exc.problem == ProblemDetail(
        type="about:blank",
        title=f"Title {code}",
        status=code,
        detail=f"detail for {code}",
        violations=("pipelineExecutionId: must be a UUID",),
    )
    message = str(exc)
    assert f"HTTP {code}" in message
    assert f"Title {code}" in message
    assert f"detail for {code}" in message
    assert "pipelineExecutionId: must be a UUID" in message
    assert TOKEN not in message


def test_gateway_timeout_is_a_server_error() -> None:
    assert issubclass(GatewayTimeoutError, ServerError)
    assert issubclass(ServerError, MaiaApiError)
    assert issubclass(MaiaApiError, MaiaError)


def test_error_with_html_body_has_no_problem_and_says_so(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(STATUS_URL, body="<html>Forbidden</html>", status=403, content_type="text/html")
    with pytest.raises(ForbiddenError) as info:
        client.get_status(PROJECT, EXECUTION)
    assert info.value.problem is None
    assert "text/html" in str(info.value)


# -- malformed responses --------------------------------------------------------------

MALFORMED: list[tuple[str, bytes, str]] = [
    ("empty body", b"", "application/json"),
    ("html page", b"<html><body>502 Bad Gateway</body></html>", "text/html"),
    ("plain text", b"OK", "text/plain"),
    ("truncated json", b'{"status": "RUNN', "application/json"),
    ("json list", b'["RUNNING"]', "application/json"),
    ("json string", b'"RUNNING"', "application/json"),
    ("json null", b"null", "application/json"),
    ("json number", b"42", "application/json"),
    ("no status key", b'{"state": "RUNNING"}', "application/json"),
    ("status null", b'{"status": null}', "application/json"),
    ("status number", b'{"status": 1}', "application/json"),
    ("status list", b'{"status": ["RUNNING"]}', "application/json"),
    ("status object", b'{"status": {"value": "RUNNING"}}', "application/json"),
    ("status empty", b'{"status": ""}', "application/json"),
    ("status bool", b'{"status": true}', "application/json"),
    ("invalid utf-8", b'{"status": "\xff\xfe"}', "application/json"),
    ("deeply nested", b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ("nan literal", b"NaN", "application/json"),
]


@pytest.mark.parametrize(
    ("body", "content_type"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_200_gives_response_error(
    api: responses.RequestsMock, client: MaiaClient, body: bytes, content_type: str
) -> None:
    api.get(STATUS_URL, body=body, status=200, content_type=content_type)
    with pytest.raises(MaiaResponseError) as info:
        client.get_status(PROJECT, EXECUTION)
    assert "status" in str(info.value) or "JSON" in str(info.value) or "empty" in str(info.value)
    assert info.value.status_code == 200


@pytest.mark.parametrize("code", [204, 201])
def test_other_2xx_without_body_is_a_response_error(
    api: responses.RequestsMock, client: MaiaClient, code: int
) -> None:
    api.get(STATUS_URL, body=b"", status=code)
    with pytest.raises(MaiaResponseError):
        client.get_status(PROJECT, EXECUTION)


@pytest.mark.parametrize("code", [301, 302, 307])
def test_redirects_are_not_followed(
    api: responses.RequestsMock, client: MaiaClient, code: int
) -> None:
    api.get(STATUS_URL, status=code, headers={"Location": "https://elsewhere.example/steal"})
    with pytest.raises(MaiaResponseError, match=f"HTTP {code}"):
        client.get_status(PROJECT, EXECUTION)
    assert len(api.calls) == 1


def test_unknown_status_string_is_kept(api: responses.RequestsMock, client: MaiaClient) -> None:
    api.get(STATUS_URL, json={"status": "PAUSED"})
    status = client.get_status(PROJECT, EXECUTION)
    assert status.value == "PAUSED"
    assert not status.is_known
    assert not status.is_terminal
    assert not status.is_success


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b"not json", b'{"title": 5, "status": "x", "violations": "nope"}'],
)
def test_malformed_error_bodies_still_give_typed_error(
    api: responses.RequestsMock, client: MaiaClient, body: bytes
) -> None:
    api.get(STATUS_URL, body=body, status=404, content_type="application/problem+json")
    with pytest.raises(NotFoundError) as info:
        client.get_status(PROJECT, EXECUTION)
    assert "HTTP 404" in str(info.value)


# -- identifiers validated before any request ------------------------------------------


@pytest.mark.parametrize(
    ("project_id", "execution_id", "needle"),
    [
        (PROJECT, "not-a-uuid", "not a UUID"),
        (PROJECT, "", "not a UUID"),
        (PROJECT, "3fa85f645717-4562-b3fc-2c963f66afa6", "UUID"),
        (PROJECT, 12345, "UUID string"),
        ("", EXECUTION, "empty"),
        ("   ", EXECUTION, "empty"),
        ("a/b", EXECUTION, "single path segment"),
        ("..", EXECUTION, "single path segment"),
        (".", EXECUTION, "single path segment"),
        ("a\\b", EXECUTION, "single path segment"),
        ("p\n1", EXECUTION, "control"),
        (None, EXECUTION, "string"),
    ],
)
def test_bad_identifiers_rejected_before_any_request(
    api: responses.RequestsMock,
    client: MaiaClient,
    project_id: object,
    execution_id: object,
    needle: str,
) -> None:
    with pytest.raises(MaiaValidationError, match=needle):
        client.get_status(project_id, execution_id)  # type: ignore[arg-type]
    with pytest.raises(MaiaValidationError, match=needle):
        client.wait_for(project_id, execution_id)  # type: ignore[arg-type]
    assert len(api.calls) == 0


@pytest.mark.parametrize(
    ("base_url", "needle"),
    [
        ("http://eu1.api.matillion.com/dpc", "plain http"),
        ("ftp://host/dpc", "http"),
        ("https://user:pw@host/dpc", "credentials"),
        ("", "non-empty"),
        ("https://host/dpc?x=1", "query"),
    ],
)
def test_bad_base_urls_rejected(base_url: str, needle: str) -> None:
    with pytest.raises(MaiaValidationError, match=needle):
        MaiaClient(base_url, token=TOKEN)


def test_http_allowed_on_loopback() -> None:
    for url in ("http://127.0.0.1:8080/dpc", "http://localhost/dpc", "http://[::1]:9/dpc"):
        assert MaiaClient(url, token=TOKEN).base_url == url


def test_unknown_region_rejected() -> None:
    with pytest.raises(MaiaValidationError, match="unknown region 'mars1'"):
        MaiaClient(region="mars1", token=TOKEN)


def test_tls_verification_cannot_be_switched_off() -> None:
    session = requests.Session()
    session.verify = False
    with pytest.raises(MaiaValidationError, match="TLS"):
        MaiaClient(token=TOKEN, session=session)


# -- retries ------------------------------------------------------------------------


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_transient_errors_are_retried(
    api: responses.RequestsMock, client: MaiaClient, clock: VirtualClock, code: int
) -> None:
    add_problem(api, code)
    add_problem(api, code)
    api.get(STATUS_URL, json={"status": "SUCCESS"})
    assert client.get_status(PROJECT, EXECUTION) is ExecutionStatus.SUCCESS
    assert len(api.calls) == 3
    assert clock.now() == pytest.approx(0.5 + 1.0)  # capped exponential backoff


def test_connection_errors_and_read_timeouts_are_retried(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(STATUS_URL, body=requests.ConnectionError("connection reset"))
    api.get(STATUS_URL, body=requests.ReadTimeout("read timed out"))
    api.get(STATUS_URL, json={"status": "RUNNING"})
    assert client.get_status(PROJECT, EXECUTION) is ExecutionStatus.RUNNING
    assert len(api.calls) == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
def test_other_4xx_fail_fast(api: responses.RequestsMock, client: MaiaClient, code: int) -> None:
    add_problem(api, code)
    api.get(STATUS_URL, json={"status": "SUCCESS"})
    with pytest.raises(MaiaApiError) as info:
        client.get_status(PROJECT, EXECUTION)
    assert info.value.status_code == code
    assert len(api.calls) == 1


def test_retries_give_up_after_max_retries(api: responses.RequestsMock, client: MaiaClient) -> None:
    add_problem(api, 503)
    with pytest.raises(ServerError):
        client.get_status(PROJECT, EXECUTION)
    assert len(api.calls) == 1 + client.max_retries


def test_connection_error_after_retries_is_typed(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    client = MaiaClient(token=TOKEN, clock=clock, max_retries=1)
    api.get(STATUS_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(MaiaConnectionError, match="ConnectionError"):
        client.get_status(PROJECT, EXECUTION)
    assert len(api.calls) == 2


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), ("2.5", 2.5)])
def test_retry_after_is_honoured(
    api: responses.RequestsMock,
    client: MaiaClient,
    clock: VirtualClock,
    header: str,
    expected: float,
) -> None:
    api.get(
        STATUS_URL,
        json=problem(429, "Too Many Requests", "slow down"),
        status=429,
        headers={"Retry-After": header},
    )
    api.get(STATUS_URL, json={"status": "SUCCESS"})
    assert client.get_status(PROJECT, EXECUTION).is_success
    assert clock.now() == pytest.approx(expected)


def test_no_credentials_is_a_config_error() -> None:
    from pytest_maia import MaiaConfigError

    with pytest.raises(MaiaConfigError, match="no credentials"):
        MaiaClient()
    with pytest.raises(MaiaConfigError, match="client_secret"):
        MaiaClient(client_id="only-id")


# -- from_env ------------------------------------------------------------------------


def test_from_env_token(api: responses.RequestsMock) -> None:
    api.get(STATUS_URL.replace("eu1", "us1"), json={"status": "RUNNING"})
    client = MaiaClient.from_env({"MAIA_TOKEN": TOKEN, "MAIA_REGION": "us1"})
    assert client.base_url.startswith("https://us1.")
    client.get_status(PROJECT, EXECUTION)
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_from_env_base_url_and_client_credentials() -> None:
    client = MaiaClient.from_env(
        {
            "MAIA_BASE_URL": "http://127.0.0.1:9/dpc",
            "MAIA_CLIENT_ID": "id",
            "MAIA_CLIENT_SECRET": CLIENT_SECRET,
        }
    )
    assert client.base_url == "http://127.0.0.1:9/dpc"
    assert "client credentials" in repr(client)


def test_from_env_reads_no_pytest_setting() -> None:
    # MAIA_BACKEND, MAIA_TIMEOUT ... configure the pytest plugin, not the client.
    env = {"MAIA_TOKEN": TOKEN, "MAIA_BACKEND": "staging", "MAIA_TIMEOUT": "abc"}
    env |= {"MAIA_POLL_INTERVAL": "-1", "MAIA_MAX_CONCURRENT": "x", "MAIA_PROJECT_ID": "/"}
    client = MaiaClient.from_env(env)
    assert client.base_url == "https://eu1.api.matillion.com/dpc"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAIA_BASE_URL", "http://example.com/dpc"),
        ("MAIA_REGION", "mars"),
        ("MAIA_TOKEN_URL", "ftp://127.0.0.1/token"),
    ],
)
def test_from_env_names_the_variable_it_refuses(name: str, value: str) -> None:
    from pytest_maia import MaiaConfigError

    with pytest.raises(MaiaConfigError, match=f"^{name}: "):
        MaiaClient.from_env({"MAIA_TOKEN": TOKEN, name: value})


def test_from_env_missing_credentials_names_variables() -> None:
    from pytest_maia import MaiaConfigError

    with pytest.raises(
        MaiaConfigError, match="MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET"
    ):
        MaiaClient.from_env({})
    with pytest.raises(MaiaConfigError, match="MAIA_CLIENT_SECRET"):
        MaiaClient.from_env({"MAIA_CLIENT_ID": "id"})


# -- secrets ----------------------------------------------------------------------------


def test_secrets_never_in_repr_messages_or_debug_logs(
    api: responses.RequestsMock, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_token(api, TOKEN)
    api.get(STATUS_URL, json=problem(401, "Unauthorized", "revoked"), status=401)
    api.get(STATUS_URL, json=problem(503, "Unavailable", "busy"), status=503)
    api.get(STATUS_URL, json={"status": "FAILED"})
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock)
    texts: list[str] = [repr(client), str(client), repr(client._provider)]
    assert client.get_status(PROJECT, EXECUTION) is ExecutionStatus.FAILED
    api.replace(responses.GET, STATUS_URL, json=problem(403, "Forbidden", "no access"), status=403)
    with pytest.raises(ForbiddenError) as info:
        client.get_status(PROJECT, EXECUTION)
    texts += [str(info.value), repr(info.value)]
    static = MaiaClient(token=TOKEN, clock=clock)
    texts += [repr(static), repr(static._provider), repr(vars(static))]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert any("retrying" in t for t in texts)  # the debug log did record this run
    for text in texts:
        assert TOKEN not in text
        assert CLIENT_SECRET not in text


def test_errors_raised_in_init_do_not_expose_token_in_locals() -> None:
    import sys
    import traceback

    try:
        MaiaClient("http://example.com/dpc", token=TOKEN)
    except MaiaValidationError:
        frames = traceback.walk_tb(sys.exc_info()[2])
        shown = [repr(v) for frame, _ in frames for v in frame.f_locals.values()]
    else:
        pytest.fail("a plain-http public STATUS_URL must be refused")
    assert shown
    assert not any(TOKEN in text for text in shown)


def test_body_is_never_echoed_from_token_endpoint(
    api: responses.RequestsMock, clock: VirtualClock
) -> None:
    # A token endpoint that answers 200 with a token under the wrong key must not leak it.
    api.post(TOKEN_URL, body=json.dumps({"accessToken": TOKEN}), status=200)
    client = MaiaClient(client_id="id", client_secret=CLIENT_SECRET, clock=clock)
    with pytest.raises(MaiaResponseError) as info:
        client.get_status(PROJECT, EXECUTION)
    assert TOKEN not in str(info.value)
