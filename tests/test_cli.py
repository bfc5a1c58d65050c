"""maia-status (pytest_maia.cli.main) against ``maia-status fake-server`` (a subprocess): every
exit code; and against hostile servers and odd input (issue 10, items 8 and 14): what a
server says cannot rewrite the terminal, a lone surrogate is a usage error, and Ctrl-C is
one line and exit 130.

Most commands run ``main()`` in this process (with its own environment and output); a
few run ``python -m pytest_maia`` as a process, to show the exit codes reach the shell.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from hostile_server import HostileServer, respond

from conftest import EXECUTION
from pytest_maia.cli.fake_server import load_script
from pytest_maia.cli.main import EXIT_INTERRUPTED, main, safe
from pytest_maia.core.clock import SystemClock
from pytest_maia.fake import FakeMaia

TOKEN = "tok-CLI-SEKRIT-90ab"
PROJECT = "cli-project"
OK = "bbbbbbbb-0000-4000-8000-000000000001"
BAD = "bbbbbbbb-0000-4000-8000-000000000002"
STUCK = "bbbbbbbb-0000-4000-8000-000000000003"
STEPS = "bbbbbbbb-0000-4000-8000-000000000004"
MISSING = "bbbbbbbb-0000-4000-8000-000000000009"
SPOOF = "FAILED\r\x1b[2KSUCCESS"
TERMINAL_CONTROLS = ("\r", "\x1b", "\x07", "\x08", "\u202e", "\x9b")

SCRIPT = {
    "token": TOKEN,
    "executions": [
        {"project_id": PROJECT, "execution_id": OK, "statuses": ["SUCCESS"]},
        {"project_id": PROJECT, "execution_id": BAD, "statuses": ["FAILED"]},
        {"project_id": PROJECT, "execution_id": STUCK, "statuses": ["RUNNING"]},
        {
            "project_id": PROJECT,
            "execution_id": STEPS,
            "statuses": ["RUNNING", {"error": 503, "detail": "busy"}, "RUNNING", "SUCCESS"],
        },
    ],
    "pipelines": [{"name": "broken-load", "statuses": ["RUNNING", "FAILED"]}],
}


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """What ``maia-status fake-server --script`` serves (real clock), on loopback in this
    process: the CLI's own runs, in-process or not, talk to it over real sockets."""
    fake = FakeMaia(token=TOKEN, clock=SystemClock())
    load_script(fake, SCRIPT)
    with fake.serve() as server:
        yield server.url


def cli(
    url: str | None,
    *args: str,
    token: str | None = TOKEN,
    process: bool = False,
    **variables: str,
) -> subprocess.CompletedProcess[str]:
    """``maia-status *args`` with only these MAIA_* variables: ``main()`` in this process,
    or with ``process`` a ``python -m pytest_maia`` subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")} | variables
    if token:
        env["MAIA_TOKEN"] = token
    if url:
        env["MAIA_BASE_URL"] = url
    if process:
        result = subprocess.run(
            [sys.executable, "-m", "pytest_maia", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    else:
        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, env, clear=True),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = int(exc.code or 0)
        result = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    assert TOKEN not in result.stdout + result.stderr
    return result


FAST = ("--interval", "0.05", "--max-interval", "0.05")


@pytest.mark.e2e
def test_get_success_exits_0(server_url: str) -> None:
    result = cli(server_url, "get", PROJECT, OK, process=True)
    assert (result.returncode, result.stdout) == (0, "SUCCESS\n")


def test_get_reads_no_setting_it_does_not_use(server_url: str) -> None:
    # The pytest plugin's settings are not the client's: a bad one must not stop `get`.
    result = cli(server_url, "get", PROJECT, OK, MAIA_TIMEOUT="abc", MAIA_BACKEND="staging")
    assert (result.returncode, result.stdout) == (0, "SUCCESS\n"), result.stderr
    waited = cli(server_url, "wait", PROJECT, OK, MAIA_TIMEOUT="abc")
    assert waited.returncode == 2  # a wait does use the timeout
    assert "MAIA_TIMEOUT" in waited.stderr


@pytest.mark.e2e
def test_get_failed_exits_1(server_url: str) -> None:
    result = cli(server_url, "get", PROJECT, BAD, "--json", process=True)
    assert result.returncode == 1
    assert json.loads(result.stdout) == {"execution_id": BAD, "status": "FAILED"}


def test_wait_rides_out_errors_and_exits_0(server_url: str) -> None:
    result = cli(server_url, "wait", PROJECT, STEPS, *FAST, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "SUCCESS"
    assert [s for _, s in data["history"]] == ["RUNNING", "RUNNING", "SUCCESS"]
    assert data["polls"] == 4


@pytest.mark.e2e
def test_wait_timeout_exits_3(server_url: str) -> None:
    result = cli(server_url, "wait", PROJECT, STUCK, "--timeout", "0.3", *FAST, process=True)
    assert result.returncode == 3
    assert "MaiaTimeoutError: timed out after 0.3s" in result.stderr
    assert "last status: RUNNING" in result.stderr


def test_wait_timeout_json_carries_the_result(server_url: str) -> None:
    result = cli(server_url, "wait", PROJECT, STUCK, "--timeout", "0.2", *FAST, "--json")
    assert result.returncode == 3
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "MaiaTimeoutError"
    assert error["result"]["status"] == "RUNNING"


def test_api_error_exits_4_with_problem(server_url: str) -> None:
    result = cli(server_url, "get", PROJECT, MISSING, "--json")
    assert result.returncode == 4
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "NotFoundError"
    assert error["status_code"] == 404
    assert error["problem"]["status"] == 404


def test_wrong_token_exits_4(server_url: str) -> None:
    result = cli(server_url, "get", PROJECT, OK, token="tok-WRONG")
    assert result.returncode == 4
    assert "UnauthorizedError: HTTP 401" in result.stderr


def test_usage_errors_exit_2(server_url: str) -> None:
    bad_id = cli(server_url, "get", PROJECT, "not-a-uuid")
    assert bad_id.returncode == 2
    assert "not a UUID" in bad_id.stderr
    no_creds = cli(server_url, "get", PROJECT, OK, token=None)
    assert no_creds.returncode == 2
    assert "MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET" in no_creds.stderr
    unknown = cli(server_url, "launch")
    assert unknown.returncode == 2
    assert "invalid choice" in unknown.stderr
    plain_http = cli("http://example.com/dpc", "get", PROJECT, OK)
    assert plain_http.returncode == 2


@pytest.mark.e2e
@pytest.mark.parametrize(
    "command",
    [
        ("wait", PROJECT, OK, *FAST),
        ("get", PROJECT, OK),
        ("run", "nightly", "--project", PROJECT, "--environment", "prod", "--wait", *FAST),
    ],
    ids=["wait", "get", "run"],
)
def test_a_refused_connection_prints_each_retry_then_gives_up_with_exit_3(
    unused_tcp_port: int, command: tuple[str, ...]
) -> None:
    # Issue 21, item 11: `maia-status wait` against a server that is not there was silent
    # for its whole --timeout (30 minutes by default).
    url = f"http://127.0.0.1:{unused_tcp_port}/dpc"
    result = cli(url, *command, "--max-retries", "2", process=True)
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert [line.split("; ")[-1].split(" in ")[0] for line in lines[:2]] == [
        "retry 1 of 2",
        "retry 2 of 2",
    ]
    assert all("connection refused" in line for line in lines)
    (last,) = [line for line in lines if "gave up" in line]
    assert last == lines[-1]
    assert last.startswith(f"maia-status: gave up after 2 retries: {url} is unreachable: ")
    assert result.stdout == ""


@pytest.mark.e2e
def test_unreachable_api_with_no_retries_gives_up_at_once(unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/dpc"
    result = cli(url, "get", PROJECT, OK, "--max-retries", "0", process=True)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"maia-status: gave up after 0 retries: {url} is unreachable: GET "
        f"/v1/projects/{PROJECT}/pipeline-executions/{OK}/status failed: connection refused "
        "(nothing listens there)"
    ]
    retried = cli(url, "get", PROJECT, OK, "--max-retries", "1", "--json")
    assert retried.returncode == 3  # one retry after 0.5 s of backoff, then the same error
    error = json.loads(retried.stdout)["error"]
    assert error["type"] == "MaiaConnectionError"
    assert error["message"].startswith(f"gave up after 1 retry: {url} is unreachable")
    negative = cli(url, "get", PROJECT, OK, "--max-retries", "-1")
    assert negative.returncode == 2
    assert "max_retries" in negative.stderr


def test_a_wait_rides_out_errors_in_a_row_up_to_max_retries() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, ["RUNNING", FakeMaia.error(503), "RUNNING", "SUCCESS"])
    with fake.serve() as server:
        result = cli(server.url, "wait", PROJECT, run, *FAST, "--max-retries", "1")
        fake.fail_next(503, times=2)
        worse = cli(server.url, "wait", PROJECT, run, *FAST, "--max-retries", "1")
    assert result.returncode == 0, result.stderr
    assert "HTTP 503" in result.stderr and "retry 1 of 1" in result.stderr
    assert worse.returncode == 4  # two 503s in a row: past --max-retries 1, an API error
    assert worse.stderr.splitlines()[-1].startswith("maia-status: ServerError: HTTP 503")


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_and_wait_exit_codes(server_url: str) -> None:
    ok = cli(
        server_url, "run", "daily", "--environment", "prod", "--project", PROJECT, "--wait", *FAST
    )
    assert ok.returncode == 0, ok.stderr
    assert "SUCCESS" in ok.stdout
    broken = cli(
        server_url,
        "run",
        "broken-load",
        "--environment",
        "prod",
        "--project",
        PROJECT,
        "--var",
        "day=2026-11-28",
        "--wait",
        "--json",
        *FAST,
    )
    assert broken.returncode == 1, broken.stderr
    assert json.loads(broken.stdout)["status"] == "FAILED"
    started = cli(server_url, "run", "daily", "--environment", "prod", "--project", PROJECT)
    assert started.returncode == 0
    assert len(started.stdout.strip()) == 36  # just the execution id, for the next step


@pytest.mark.e2e
def test_run_without_project_is_usage_error(server_url: str) -> None:
    result = cli(server_url, "run", "daily", "--environment", "prod")
    assert result.returncode == 2
    assert "MAIA_PROJECT_ID" in result.stderr


@pytest.mark.parametrize(
    ("script", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"executions": [{"project_id": "p", "statuses": []}]}', "non-empty list"),
        ('{"executions": [{"project_id": "p", "statuses": [{"oops": 1}]}]}', "a step is"),
        ("[]", "JSON object"),
    ],
)
def test_fake_server_rejects_bad_scripts(tmp_path: Path, script: str, needle: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(script)
    result = cli(None, "fake-server", "--script", str(path))  # refused before serving
    assert result.returncode == 2
    assert needle in result.stderr


def test_progress_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_maia.fake import FakeMaia

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, ["RUNNING", "RUNNING", "SUCCESS"], every=45)
    terminal = Terminal()
    # The CLI's client has no clock passed, so it waits on the default one: make that
    # this fake's virtual clock (clocks are passed, never looked up by URL).
    monkeypatch.setattr("pytest_maia.client.maia_client._SYSTEM_CLOCK", fake.clock)
    with fake.serve() as server:
        monkeypatch.setenv("MAIA_TOKEN", TOKEN)
        monkeypatch.setenv("MAIA_BASE_URL", server.url)
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main(["wait", PROJECT, run]) == 0
    shown = terminal.getvalue()
    assert f"\r{run}: RUNNING 0m00s (1 polls)" in shown
    assert f"{run}: SUCCESS 1m" in shown
    assert shown.endswith("\n")
    assert TOKEN not in shown


def answering(status: int, body: object) -> HostileServer:
    data = json.dumps(body).encode()
    return HostileServer(lambda conn, request, stop: respond(conn, status, data))


def run_main(
    url: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("MAIA_BASE_URL", url)
    monkeypatch.setenv("MAIA_TOKEN", TOKEN)
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_inert(text: str) -> None:
    for char in TERMINAL_CONTROLS:
        assert char not in text
    assert TOKEN not in text


# -- 14. control characters from the server are escaped in everything printed ------------


def test_a_status_that_would_rewrite_the_terminal_line_is_printed_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with answering(200, {"status": SPOOF}) as server:
        code, text = run_main(server.url, ["get", PROJECT, EXECUTION], monkeypatch, capsys)
    assert_inert(text)
    assert "FAILED\\r\\x1b[2KSUCCESS" in text
    assert code == 0  # an unknown status is not a terminal failure, and not a SUCCESS line
    assert not any(line.strip() == "SUCCESS" for line in text.splitlines())


def test_a_problem_that_would_rewrite_the_terminal_is_printed_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = {"title": "Oops\x1b[2K\rOK", "detail": "a\u202eb\x07\nSUCCESS", "status": 500}
    with answering(500, problem) as server:
        # --max-retries 0: a 500 would otherwise be retried, with 15 s of real backoff.
        argv = ["get", PROJECT, EXECUTION, "--max-retries", "0"]
        code, text = run_main(server.url, argv, monkeypatch, capsys)
    assert code == 4
    assert_inert(text)
    assert "Oops\\x1b[2K\\rOK" in text
    assert "\nSUCCESS" not in text  # a server's line break cannot start a line of its own


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (SPOOF, "FAILED\\r\\x1b[2KSUCCESS"),
        ("ok", "ok"),
        ("é ü ß", "é ü ß"),
        ("\udcff", "\\udcff"),
        ("a\u202eb", "a\\u202eb"),
        ("\x9b31m", "\\x9b31m"),
    ],
)
def test_safe_escapes_control_format_and_surrogate_characters(text: str, shown: str) -> None:
    assert safe(text) == shown


# -- 8. a lone surrogate on the command line (a deeply nested script: test_cli_server.py) --


@pytest.mark.e2e
def test_a_project_id_with_undecodable_bytes_is_a_usage_error_not_a_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")}
    env.update(MAIA_BASE_URL="http://127.0.0.1:9/dpc", MAIA_TOKEN=TOKEN)
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"pytest_maia", b"get", b"proj\xff", EXECUTION.encode()],
        capture_output=True,
        env=env,
        timeout=60,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert "MaiaValidationError: project id" in stderr


# -- 14. Ctrl-C -----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(120)
@pytest.mark.usefixtures("sigint_reaches_children")
def test_ctrl_c_during_a_wait_exits_130_with_one_line() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, ["RUNNING"])
    with fake.serve() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")}
        env.update(MAIA_BASE_URL=server.url, MAIA_TOKEN=TOKEN)
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest_maia", "wait", PROJECT, run, "--interval", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 60
            while fake.polls(run) < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)  # in the wait loop once it has polled (imports all done)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:  # a failed test leaves no process behind
                proc.kill()
                proc.communicate()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert err.strip().splitlines() == ["maia-status: interrupted"]
    assert "Traceback" not in err
    assert out == ""
