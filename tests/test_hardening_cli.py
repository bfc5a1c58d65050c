"""Hardening, maia-status (issue 10, items 8 and 14): what a hostile server says cannot
rewrite the terminal, odd input is a usage error, and Ctrl-C is one line and exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_server import HostileServer, respond

from conftest import EXECUTION
from pytest_maia.cli import EXIT_INTERRUPTED, main, safe
from pytest_maia.fake import FakeMaia

PROJECT = "cli-hardening"
TOKEN = "tok-CLIH-SEKRIT"
SPOOF = "FAILED\r\x1b[2KSUCCESS"
TERMINAL_CONTROLS = ("\r", "\x1b", "\x07", "\x08", "\u202e", "\x9b")


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


# -- 8. a lone surrogate on the command line, deeply nested scripts ------------------------


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


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_a_deeply_nested_fake_server_script_is_a_usage_error(
    depth: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "deep.json"
    script.write_text('{"executions": [{"project_id": "p", "statuses": [' + "[" * depth)
    script.write_text(script.read_text() + "]" * depth + "]}]}")
    assert main(["fake-server", "--port", "0", "--script", str(script)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "RecursionError" not in err
    assert "script" in err


# -- 14. Ctrl-C -----------------------------------------------------------------------------


@pytest.mark.timeout(120)
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
        deadline = time.monotonic() + 60
        while fake.polls(run) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)  # in the wait loop once it has polled (imports all done)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert err.strip().splitlines() == ["maia-status: interrupted"]
    assert "Traceback" not in err
    assert out == ""
