"""The secrets sweep: with a recognisable client secret and the access tokens the fake
issues, run every fixture, failure path and report format, and the CLI with --json;
none of the secrets may appear anywhere a person or a CI log could read them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from conftest import PYTEST_HTML
from pytest_maia.fake import FakeMaia
from pytest_maia.fake.server import FakeServer

CLIENT_ID = "client-id-7c1e"
CLIENT_SECRET = "cs-SWEEP-SEKRIT-e4d2a8"
PROJECT = "sweep-project"
OK = "cccccccc-0000-4000-8000-000000000001"
BAD = "cccccccc-0000-4000-8000-000000000002"
STUCK = "cccccccc-0000-4000-8000-000000000003"
MISSING = "cccccccc-0000-4000-8000-000000000009"
ECHOED = "cccccccc-0000-4000-8000-000000000004"  # its message and step echo the secret
ECHO = f"invalid grant: client_secret={CLIENT_SECRET}"


@pytest.fixture
def api() -> Iterator[tuple[FakeMaia, FakeServer]]:
    fake = FakeMaia()
    fake.add_credentials(CLIENT_ID, CLIENT_SECRET)
    fake.add_execution(PROJECT, ["SUCCESS"], execution_id=OK, message=f"done ({ECHO})")
    fake.add_execution(
        PROJECT,
        ["FAILED"],
        execution_id=ECHOED,
        message=ECHO,
        steps=[{"name": "login", "status": "FAILED", "message": f"{ECHO} (echoed)"}],
    )
    fake.add_execution(PROJECT, ["FAILED"], execution_id=BAD)
    fake.add_execution(PROJECT, ["RUNNING"], execution_id=STUCK)
    fake.script_pipeline("never-ends", ["RUNNING", "RUNNING"])
    with fake.serve() as server:
        yield fake, server


def issued_tokens(fake: FakeMaia) -> list[str]:
    # The fake's own record of what it issued: the values that must stay hidden.
    return list(fake._account.tokens._issued)


def assert_no_secret(fake: FakeMaia, *texts: str) -> None:
    tokens = issued_tokens(fake)
    assert tokens, "the run must have fetched at least one access token"
    for text in texts:
        assert CLIENT_SECRET not in text
        for token in tokens:
            assert token not in text


INNER = f"""
import logging

import pytest


def test_success(maia_status, maia_settings, maia_client):
    settings, client = maia_settings, maia_client
    maia_status.assert_success("{OK}")
    # A success answer that echoes the secret: -rA shows what the test printed.
    print("success message:", client.get_execution("{PROJECT}", "{OK}").message)


def test_echoed_secret_in_the_details_message(maia_status):
    maia_status.assert_success("{ECHOED}")


def test_failed(maia_status, maia_settings, maia_client):
    settings, client = maia_settings, maia_client
    logging.getLogger("pytest_maia").debug("using %r with %r", client, settings)
    maia_status.assert_success("{BAD}")


def test_timeout(maia_status, maia_client):
    provider = maia_client._provider
    maia_status.wait("{STUCK}", timeout=0.15)


def test_not_found(maia_status):
    maia_status.get("{MISSING}")


def test_pipeline_cancelled_at_teardown(maia_pipeline):
    run = maia_pipeline.run("never-ends", environment="prod", variables={{"x": "1"}})
    run.wait(timeout=0.15)


def test_fake_fixture_skips_live(maia_fake):
    pass


@pytest.mark.maia_live
def test_live_marker_runs(maia_status):
    assert maia_status.get("{OK}") == "SUCCESS"
"""


@pytest.mark.e2e
def test_sweep_pytest_live_run_every_report_format(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    api: tuple[FakeMaia, FakeServer],
) -> None:
    fake, server = api
    for name in ("MAIA_TOKEN", "MAIA_BACKEND", "MAIA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    monkeypatch.setenv("MAIA_TOKEN_URL", server.token_url)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary.md"))
    pytester.makepyfile(test_sweep=INNER)
    xml_path = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        *PYTEST_HTML,
        "--html=pytest-html.html",
        "--self-contained-html",
        "--maia-report=timeline.html",
        "--maia-report-json=timeline.json",
        "--maia-backend=live",
        f"--maia-base-url={server.url}",
        "--maia-environment=prod",  # a live run using maia_pipeline must name one
        "--maia-poll-interval=0.05",  # the teardown cancel polls at it on real time
        "-vv",
        "--showlocals",
        "--tb=long",
        "--log-level=DEBUG",
        "--log-cli-level=DEBUG",
        "-rA",
        f"--junitxml={xml_path}",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    result.assert_outcomes(passed=2, failed=5, skipped=1)
    out = result.stdout.str() + result.stderr.str()
    xml = xml_path.read_text(encoding="utf-8")
    reports = {
        name: (pytester.path / name).read_text(encoding="utf-8")
        for name in ("pytest-html.html", "timeline.html", "timeline.json", "summary.md")
    }
    # every report holds the runs (so the sweep over it means something)
    for name, text in reports.items():
        assert BAD in text and "FAILED" in text, name
    # every path really ran: auth, failure text, timeout, 404, teardown cancel, logs
    assert "auth=client credentials" in out
    assert "fetched an access token" in out
    assert f"pipeline execution {BAD} ended FAILED" in out
    assert "MaiaTimeoutError: timed out after 0.15s" in out
    assert "NotFoundError: HTTP 404" in out
    assert "maia pipeline runs cancelled at teardown: 1" in out
    assert "using MaiaClient(" in out
    assert "maia_execution_id" in xml
    # the echoed secret reached every output, masked (the sweep below proves it masked)
    assert "success message: done (invalid grant: client_secret=***)" in out
    for name, text in {"output": out, "junit": xml, **reports}.items():
        assert "client_secret=***" in text, name
    assert any(c.method == "PATCH" for c in fake.calls)
    assert_no_secret(fake, out, xml, *reports.values(), *(repr(c) for c in fake.calls), repr(fake))


def cli(server: FakeServer, *args: str) -> subprocess.Popen[str]:
    """``maia-status *args`` started in its own process with client credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")}
    env.update(
        MAIA_CLIENT_ID=CLIENT_ID,
        MAIA_CLIENT_SECRET=CLIENT_SECRET,
        MAIA_BASE_URL=server.url,
        MAIA_TOKEN_URL=server.token_url,
        MAIA_PROJECT_ID=PROJECT,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_maia", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.e2e
def test_sweep_cli_json_and_human_output(api: tuple[FakeMaia, FakeServer]) -> None:
    fake, server = api
    fast = ("--interval", "0.05", "--max-interval", "0.05")
    started = [  # side by side: each is its own process and its own token
        (cli(server, "get", PROJECT, OK, "--json"), 0),
        (cli(server, "wait", PROJECT, BAD, "--json", *fast), 1),
        (cli(server, "wait", PROJECT, STUCK, "--json", "--timeout", "0.2", *fast), 3),
        (cli(server, "get", PROJECT, MISSING, "--json"), 4),
        (cli(server, "get", PROJECT, MISSING), 4),
        (cli(server, "run", "daily", "--environment", "prod", "--wait", "--json", *fast), 0),
    ]
    texts = []
    for process, code in started:
        out, err = process.communicate(timeout=60)
        assert process.returncode == code, err
        texts.append(out + err)
    json.loads(texts[0])  # machine output is JSON
    assert_no_secret(fake, *texts)


@pytest.mark.e2e
def test_sweep_wrong_secret_is_not_echoed(api: tuple[FakeMaia, FakeServer]) -> None:
    _, server = api
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")}
    env.update(
        MAIA_CLIENT_ID=CLIENT_ID,
        MAIA_CLIENT_SECRET="cs-WRONG-SEKRIT-0000",
        MAIA_BASE_URL=server.url,
        MAIA_TOKEN_URL=server.token_url,
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_maia", "get", PROJECT, OK, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 4
    assert json.loads(result.stdout)["error"]["status_code"] == 401
    assert "cs-WRONG-SEKRIT-0000" not in result.stdout + result.stderr


# -- issue 10: a CR/LF token, from_env failing under -l, an echoing token endpoint ----------

CRLF_TOKEN = "tok-SWEEP-CRLF-5d1e"

FROM_ENV = """
import os

import pytest

from pytest_maia import MaiaClient


@pytest.mark.parametrize(
    ("name", "value"), [("MAIA_BASE_URL", "https://[::1/dpc"), ("MAIA_REGION", "mars")]
)
def test_from_env_fails(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    MaiaClient.from_env()


def test_crlf_token_fails(monkeypatch):
    monkeypatch.setenv("MAIA_TOKEN", os.environ["MAIA_TOKEN"] + "\\r\\nX-Injected: 1")
    MaiaClient.from_env()
"""


@pytest.mark.e2e
def test_sweep_from_env_failures_under_showlocals_and_junit(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MAIA_BACKEND", "MAIA_BASE_URL", "MAIA_REGION", "MAIA_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("MAIA_TOKEN", CRLF_TOKEN)
    pytester.makepyfile(test_from_env=FROM_ENV)
    xml_path = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "-l", "--tb=long", "-vv", "-rA", f"--junitxml={xml_path}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(failed=3)
    out = result.stdout.str() + result.stderr.str() + xml_path.read_text(encoding="utf-8")
    assert "MaiaConfigError: MAIA_BASE_URL" in out
    assert "MaiaConfigError: MAIA_REGION" in out
    assert "MaiaConfigError: MAIA_TOKEN contains a control character" in out
    assert "Secret('***')" in out  # -l did show the library frames' locals, wrapped
    assert "environ(" not in out
    for secret in (CLIENT_SECRET, CRLF_TOKEN):
        assert secret not in out


@pytest.mark.e2e
def test_sweep_cli_with_a_crlf_token(api: tuple[FakeMaia, FakeServer]) -> None:
    fake, server = api
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")}
    env.update(MAIA_BASE_URL=server.url, MAIA_TOKEN=f"{CRLF_TOKEN}\r\nX-Injected: 1")
    refused = subprocess.run(
        [sys.executable, "-m", "pytest_maia", "get", PROJECT, OK],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "MAIA_TOKEN contains a control character" in refused.stderr
    env["MAIA_TOKEN"] = f"  {CRLF_TOKEN}\r\n"  # surrounding whitespace is stripped
    stripped = subprocess.run(
        [sys.executable, "-m", "pytest_maia", "get", PROJECT, OK, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert stripped.returncode == 0, stripped.stderr
    for result in (refused, stripped):
        assert CRLF_TOKEN not in result.stdout + result.stderr
    assert fake.calls[-1].status_code == 200


@pytest.mark.e2e
def test_sweep_an_echoing_token_endpoint(api: tuple[FakeMaia, FakeServer]) -> None:
    from hostile_server import HostileServer, respond

    def echo(conn: object, request: bytes, stop: object) -> None:
        text = request.decode("latin-1")
        body = {"error": "invalid_client", "error_description": text, "detail": text}
        respond(conn, 401, json.dumps(body).encode())  # type: ignore[arg-type]

    _, server = api
    with HostileServer(echo) as echoing:  # type: ignore[arg-type]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")}
        env.update(
            MAIA_CLIENT_ID=CLIENT_ID,
            MAIA_CLIENT_SECRET=CLIENT_SECRET,
            MAIA_BASE_URL=server.url,
            MAIA_TOKEN_URL=echoing.url + "/token",
        )
        runs = [
            subprocess.run(
                [sys.executable, "-m", "pytest_maia", "get", PROJECT, OK, *extra],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            for extra in ((), ("--json",))
        ]
    assert CLIENT_SECRET.encode() in echoing.requests[0]  # the endpoint did echo it
    for result in runs:
        assert result.returncode == 4, result.stderr
        assert "client_secret=***" in result.stdout + result.stderr  # scrubbed, still shown
        assert CLIENT_SECRET not in result.stdout + result.stderr


NON_ASCII_SECRET = "sécret-ü-%2F"
RECORDED_INNER = f"""
def test_details_echo(maia_client, maia_project_id):
    details = maia_client.get_execution(maia_project_id, "{BAD}")
    assert details.status == "FAILED"
"""


def test_sweep_a_cassette_of_an_api_echoing_a_non_ascii_secret_and_its_token(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25 item 7: the cassette keeps no form of the client secret (decoded,
    URL-encoded in either case, ASCII-escaped) nor of the access token it was issued."""
    from urllib.parse import quote, quote_plus

    from pytest_maia.fake import Response
    from pytest_maia.fake._http import Request

    def forms(value: str) -> list[str]:
        return [
            value,
            quote(value, safe=""),
            re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe="")),
            quote_plus(value),
            json.dumps(value)[1:-1],
            value.replace("%2F", "/"),
        ]

    class EchoingFake(FakeMaia):
        """A "real API" whose details message echoes the caller's credentials."""

        def handle(self, request: Request, *, control: bool = False) -> Response:
            response = super().handle(request, control=control)
            if request.method == "GET" and request.path.endswith(BAD):
                headers = {k.lower(): v for k, v in request.headers.items()}
                token = headers.get("authorization", "").removeprefix("Bearer ")
                assert token
                body = json.loads(response.body)
                body["message"] = " | ".join([*forms(NON_ASCII_SECRET), *forms(token)])
                return Response(200, response.headers, json.dumps(body).encode())
            return response

    fake = EchoingFake()
    fake.add_credentials(CLIENT_ID, NON_ASCII_SECRET)
    fake.add_execution(PROJECT, ["FAILED"], execution_id=BAD)
    tapes = pytester.path / "tapes"
    pytester.makepyfile(test_echo=RECORDED_INNER)
    with fake.serve() as server:
        for name in ("MAIA_TOKEN", "MAIA_BACKEND", "MAIA_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("MAIA_CLIENT_SECRET", NON_ASCII_SECRET)
        monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
        monkeypatch.setenv("MAIA_TOKEN_URL", server.token_url)
        result = pytester.runpytest(
            "--maia-backend=live",
            f"--maia-base-url={server.url}",
            f"--maia-cassettes={tapes}",
            "-p",
            "no:cacheprovider",
        )
    result.assert_outcomes(passed=1)
    (path,) = tapes.rglob("*.json")
    text = path.read_text(encoding="utf-8")
    assert "<redacted>" in text  # the echo was recorded, and scrubbed
    tokens = issued_tokens(fake)
    assert tokens
    for secret in (NON_ASCII_SECRET, *tokens):
        for form in forms(secret):
            assert form not in text, form
