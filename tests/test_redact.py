"""Secrets held out of sight (pytest_maia.core.redact): checked by name, never shown by value,
scrubbed from what a response echoes, kept out of traceback locals, and a Secret that
survives pickling (issue 10, items 1-3: whatever the attacker puts in a credential or a
response)."""

from __future__ import annotations

import json
import pickle
import socket
import threading
import traceback
from urllib.parse import parse_qs

import pytest
from hostile_server import HostileServer, respond, token_endpoint_client

from pytest_maia import MaiaClient, VirtualClock
from pytest_maia.core.errors import (
    MaiaConfigError,
    MaiaError,
    MaiaResponseError,
    UnauthorizedError,
)
from pytest_maia.core.redact import Secret
from pytest_maia.fake import FakeMaia

PROJECT = "secrets-project"
TOKEN = "tok-HARDEN-SEKRIT-91f"
SECRET = "cs-HARDEN-SEKRIT-2b7"

# -- 1. control characters and whitespace in credentials ------------------------------

CONTROL = ["\r", "\n", "\x00", "\t", "\x1b", "\x85"]


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_a_token_with_a_control_character_is_refused_by_name_never_by_value(char: str) -> None:
    with pytest.raises(MaiaConfigError) as info:
        MaiaClient("http://127.0.0.1:9/dpc", token=f"{TOKEN}{char}x")
    message = str(info.value)
    assert "token" in message
    assert "control character" in message
    assert TOKEN not in message
    assert not isinstance(info.value.__context__, ValueError)  # no raw "Invalid header value"


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_maia_token_with_a_control_character_is_refused_naming_the_variable(char: str) -> None:
    env = {"MAIA_BASE_URL": "http://127.0.0.1:9/dpc", "MAIA_TOKEN": f"{TOKEN}{char}x"}
    with pytest.raises(MaiaConfigError, match="MAIA_TOKEN") as info:
        MaiaClient.from_env(env)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("name", ["MAIA_CLIENT_SECRET", "MAIA_CLIENT_ID"])
def test_client_credentials_with_a_control_character_are_refused_by_name(name: str) -> None:
    env = {
        "MAIA_BASE_URL": "http://127.0.0.1:9/dpc",
        "MAIA_CLIENT_ID": "id",
        "MAIA_CLIENT_SECRET": SECRET,
    }
    env[name] = env[name] + "\r\nX-Injected: 1"
    with pytest.raises(MaiaConfigError, match=name) as info:
        MaiaClient.from_env(env)
    assert SECRET not in str(info.value)


def test_surrounding_whitespace_is_stripped_from_maia_token() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, ["SUCCESS"])
    with fake.serve() as server:
        env = {"MAIA_BASE_URL": server.url, "MAIA_TOKEN": f"  {TOKEN}\r\n"}
        client = MaiaClient.from_env(env, clock=fake.clock)
        assert client.get_status(PROJECT, run) == "SUCCESS"
    assert fake.calls[-1].status_code == 200


@pytest.mark.parametrize("issued", ["fake\r\nX-Evil: 1", "tok\x00en", "tök", "two words"])
def test_an_issued_access_token_with_a_control_character_is_a_response_error(
    issued: str,
) -> None:
    def token_endpoint(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        respond(conn, 200, json.dumps({"access_token": issued, "expires_in": 600}).encode())

    with HostileServer(token_endpoint) as server:
        client = token_endpoint_client(server, VirtualClock(), client_secret=SECRET, max_retries=0)
        with pytest.raises(MaiaResponseError, match="access_token") as info:
            client.get_status(PROJECT, "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert issued not in str(info.value)
    assert server.connections == 1  # the token request only: nothing sent with it


# -- 2. no frame of a from_env failure holds the environment or a raw secret -----------


def _locals_text(exc: BaseException) -> str:
    """The locals of every library frame the error passed through, as -l shows them."""
    texts = []
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if "pytest_maia" not in frame.f_code.co_filename:
            continue  # this test's own frame holds what it passed in
        texts.extend(f"{name}={value!r}" for name, value in frame.f_locals.items())
    return "\n".join(texts)


@pytest.mark.parametrize(
    "bad",
    [{"MAIA_BASE_URL": "https://[::1/dpc"}, {"MAIA_TOKEN_URL": "http://example.com/token"}],
    ids=str,
)
@pytest.mark.parametrize("passed", [True, False], ids=["env-passed", "os-environ"])
def test_from_env_failure_holds_no_environment_in_frame_locals(
    bad: dict[str, str], passed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"MAIA_CLIENT_ID": "id", "MAIA_CLIENT_SECRET": SECRET, "MAIA_TOKEN": TOKEN, **bad}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(MaiaConfigError) as info:
        MaiaClient.from_env(dict(env) if passed else None)
    shown = _locals_text(info.value)
    assert "from_env" in "".join(traceback.format_tb(info.value.__traceback__))
    assert SECRET not in shown
    assert TOKEN not in shown
    assert "environ(" not in shown
    assert SECRET not in str(info.value)


# -- 3. a token endpoint that echoes the request ----------------------------------------


def echo_form(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    """401 with the request's form and headers echoed back in every field."""
    echoed = request.decode("latin-1")
    body = {
        "error": "invalid_client",
        "error_description": f"bad form: {echoed}",
        "title": echoed,
        "detail": json.dumps(parse_qs(echoed.partition("\r\n\r\n")[2])),
    }
    respond(conn, 401, json.dumps(body).encode())


@pytest.mark.parametrize("secret", [SECRET, "cs+with/odd chars=&%"], ids=["plain", "encoded"])
def test_an_echoing_token_endpoint_never_puts_the_secret_in_a_message(secret: str) -> None:
    with HostileServer(echo_form) as server:
        client = token_endpoint_client(server, VirtualClock(), client_secret=secret)
        with pytest.raises(UnauthorizedError) as info:
            client.get_status(PROJECT, "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert b"client_secret=" in server.requests[0]  # the echo did carry it
    error = info.value
    texts = [str(error), repr(error), json.dumps(error.problem.to_json() if error.problem else {})]
    for text in texts:
        assert secret not in text
    assert "***" in str(error)


def test_an_api_error_that_echoes_the_bearer_token_is_scrubbed() -> None:
    def echo_headers(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        body = {"title": "Unauthorized", "detail": request.decode("latin-1"), "status": 403}
        respond(conn, 403, json.dumps(body).encode(), "application/problem+json")

    with HostileServer(echo_headers) as server:
        client = MaiaClient(server.url, token=TOKEN, clock=VirtualClock())
        with pytest.raises(MaiaError) as info:
            client.get_status(PROJECT, "3fa85f64-5717-4562-b3fc-2c963f66afa6")
    assert TOKEN.encode() in server.requests[0]
    assert TOKEN not in str(info.value)
    assert "Bearer ***" in str(info.value)


def test_secret_survives_pickling_for_xdist() -> None:
    secret = pickle.loads(pickle.dumps(Secret("abc")))
    assert secret.reveal() == "abc"
    assert repr(secret) == "Secret('***')"


# -- issue 21, item 12: redaction never mangles ordinary text ---------------------------

MISSING = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.mark.parametrize(
    ("text", "secret", "scrubbed"),
    [
        # a short secret: masked only where it stands as a whole token
        (f"GET /v1/projects/p/pipeline-executions/{MISSING}/status", "s", None),
        ("grant_type=client_credentials&client_secret=s&x=1", "s", "client_secret=***&x=1"),
        ("Authorization: Bearer s", "s", "Bearer ***"),
        ('{"client_secret": "s"}', "s", '"***"'),
        ("status: SUCCESS, sessions: 3", "s", None),
        ("pipeline_s, s-3, s2", "s", None),  # part of a longer word
        # a secret of 8+ characters: masked wherever it appears, inside a word too
        ("xxcs-LONG-SEKRIT-1yy", "cs-LONG-SEKRIT-1", "xx***yy"),
        ("a=cs%2FLONG+SEKRIT", "cs/LONG SEKRIT", "a=***"),
    ],
)
def test_scrub_masks_whole_tokens_of_short_secrets_and_every_long_one(
    text: str, secret: str, scrubbed: str | None
) -> None:
    from pytest_maia.core.redact import scrub

    result = scrub(text, [Secret(secret)])
    if scrubbed is None:
        assert result == text
    else:
        assert scrubbed in result
        if len(secret) >= 8:
            assert secret not in result


def test_a_one_letter_client_secret_leaves_paths_and_statuses_readable() -> None:
    # The docs' own example credentials: client_secret="s" must not turn every 's' of
    # a message into '***' (it read '/v1/project***/.../***tatu***').
    fake = FakeMaia()
    fake.add_credentials("c", "s")
    failed = fake.add_execution(PROJECT, ["RUNNING", "FAILED"], message="tasks failed")
    with fake.serve() as server:
        client = MaiaClient(
            server.url, client_id="c", client_secret="s", token_url=server.token_url
        )
        with client, pytest.raises(MaiaError) as info:
            client.get_status(PROJECT, MISSING)
        result = client.wait_for(PROJECT, failed, interval=0.01, max_interval=0.01)
        details = client.get_execution(PROJECT, failed)
    text = str(info.value)
    assert f"/v1/projects/{PROJECT}/pipeline-executions/{MISSING}/status" in text
    assert "***" not in text
    assert result.status == "FAILED" and "***" not in result.describe()
    assert details.message == "tasks failed"


def test_a_token_endpoint_echoing_a_one_letter_secret_masks_it_where_it_stands() -> None:
    with HostileServer(echo_form) as server:
        client = token_endpoint_client(server, VirtualClock(), client_secret="s")
        with pytest.raises(UnauthorizedError) as info:
            client.get_status(PROJECT, MISSING)
    text = str(info.value)
    assert "client_secret=***" in text and "client_secret=s" not in text
    assert "grant_type=client_credentials" in text  # the rest of the form is readable


# -- issue 25, item 6: success answers echoing the secret or any token issued -------------


def test_a_success_answer_echoing_an_old_and_the_current_issued_token_is_scrubbed() -> None:
    old, new = "tok-ISSUED-FIRST-0001", "tok-ISSUED-SECOND-0002"
    issued = iter([old, new])
    api_calls = []

    def api(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        if request.startswith(b"POST"):  # the token endpoint: a new token each time
            body = {"access_token": next(issued), "expires_in": 600}
            respond(conn, 200, json.dumps(body).encode())
            return
        api_calls.append(request)
        if len(api_calls) == 1:  # the first token is refused: the client fetches another
            respond(conn, 401, b'{"title": "Unauthorized"}', "application/problem+json")
            return
        message = f"echo: Bearer {old}, then {new}; secret {SECRET}"
        details = {"pipelineExecutionId": MISSING, "status": "FAILED", "message": message}
        respond(conn, 200, json.dumps(details).encode())

    with HostileServer(api) as server:
        client = MaiaClient(
            server.url,
            client_id="id",
            client_secret=SECRET,
            token_url=server.url + "/token",
            clock=VirtualClock(),
        )
        with client:
            details = client.get_execution(PROJECT, MISSING)
    assert f"Bearer {old}".encode() in api_calls[0]  # both tokens were really used
    assert f"Bearer {new}".encode() in api_calls[1]
    assert details.message == "echo: Bearer ***, then ***; secret ***"
