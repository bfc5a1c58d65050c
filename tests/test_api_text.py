"""Text taken from the API never steers CI or a terminal (issue 25, items 1, 2 and 6).

A hostile API (a raw loopback server) answers with messages, step names, ProblemDetail
fields and statuses that hold GitHub workflow commands (``::stop-commands::``,
``::add-mask::``, a forged ``::warning``, the legacy ``##[error]``), terminal controls
(``\\r\\x1b[2K`` repainting FAILED as SUCCESS), Markdown and HTML (a link, an image),
and the client secret and the access token it issued. The suite runs as a GitHub
runner runs it (``CI=true``, ``GITHUB_ACTIONS=true``, ``--tb=native``, ``-rA``,
captured logs at DEBUG): no line of its output may start with ``::`` but the plugin's
own annotations, no control character may reach it, and no secret any output.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from hostile_server import HostileServer, respond

PROJECT = "hostile-project"
CLIENT_ID = "client-id-hostile"
CLIENT_SECRET = "cs-ECHOED-SEKRIT-71f3"
ISSUED = "tok-ISSUED-3b8e0f55c2d14e7a"  # the access token the hostile server issues
BAD = "dddddddd-0000-4000-8000-000000000001"  # FAILED, with a hostile message and steps
ODD = "dddddddd-0000-4000-8000-000000000002"  # a hostile status outside the spec
PROBLEM = "dddddddd-0000-4000-8000-000000000003"  # a 400 with a hostile ProblemDetail
STARTED = "dddddddd-0000-4000-8000-000000000004"  # what POST executions starts
OK = "dddddddd-0000-4000-8000-000000000005"  # SUCCESS, its message echoes the secrets
KEYS = "dddddddd-0000-4000-8000-000000000006"  # a status answer with hostile keys only

STEER = (
    "boom\n::stop-commands::pwned\n::add-mask::nothing\n  ::warning file=x.py::forged"
    "\n##[error]legacy form\rFAILED\r\x1b[2KSUCCESS\x1b]0;title\x07 \u202eevil"
)
MARKUP = '<img src="https://evil.example/x.png"> [click](https://evil.example) **bold** |'
ECHO = f"client_secret={CLIENT_SECRET}&grant_type=client_credentials Bearer {ISSUED}"
ODD_STATUS = "FAILED\r\x1b[2KSUCCESS\n::add-mask::odd"
PROBLEM_BODY = {
    "type": "about:blank",
    "title": "::warning::forged title",
    "detail": f"bad\n::add-mask::x\n##[error]legacy\n\x1b[31mred \u202e {ECHO}",
    "status": 400,
}


def _answer(path: str, method: str) -> tuple[int, object]:
    """The hostile API: (HTTP status, JSON body) for a request."""
    if path.startswith("/oauth"):
        return 200, {"access_token": ISSUED, "expires_in": 600}
    if method == "POST":
        return 200, {"pipelineExecutionId": STARTED}
    if method == "PATCH" or PROBLEM in path:
        return 400, PROBLEM_BODY
    if path.endswith(f"{KEYS}/status"):
        return 200, {"\n::add-mask::key\x1b[2K": 1}
    if path.endswith("/status"):
        status = {BAD: "FAILED", ODD: ODD_STATUS, OK: "SUCCESS"}.get(path.split("/")[-2])
        return 200, {"status": status or "RUNNING"}
    if "/steps" in path:
        steps = [
            {"name": "::error::step name", "status": "FAILED", "message": STEER + " " + ECHO},
            {"name": "load\x1b[2K", "status": "FAILED\x1b[2K", "message": MARKUP},
        ]
        return 200, {"results": steps, "page": 0, "size": 25, "total": 2}
    return 200, {
        "pipelineExecutionId": path.split("/")[-1],
        "status": "FAILED",
        "pipelineName": "nightly\x1b[2K",
        "environmentName": "prod",
        "message": f"{STEER} {MARKUP} {ECHO}",
    }


def hostile_api(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    method, target = request.split(b" ")[:2]
    status, body = _answer(target.decode().split("?")[0], method.decode())
    content_type = "application/problem+json" if status >= 400 else "application/json"
    respond(conn, status, json.dumps(body).encode(), content_type)


INNER = f"""
import pytest


def test_failed_with_a_hostile_message(maia_status):
    maia_status.assert_success("{BAD}")


def test_failed_match_lists_the_hostile_messages(maia_status):
    maia_status.assert_failed("{BAD}", match="never there")


def test_a_hostile_status_outside_the_spec(maia_status):
    maia_status.wait("{ODD}", timeout=0.3)


def test_a_hostile_problem_detail(maia_status):
    maia_status.get("{PROBLEM}")


def test_a_status_answer_with_hostile_keys(maia_status):
    maia_status.get("{KEYS}")


def test_a_success_answer_that_echoes_the_secrets(maia_client):
    details = maia_client.get_execution("{PROJECT}", "{OK}")
    assert "{CLIENT_SECRET}" not in details.message
    assert "{ISSUED}" not in details.message
    assert "***" in details.message


def test_a_run_the_teardown_cannot_cancel(maia_pipeline):
    maia_pipeline.run("nightly", environment="prod")
"""


@pytest.fixture
def api() -> Iterator[HostileServer]:
    with HostileServer(hostile_api) as server:
        yield server


def run_as_a_github_runner(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: HostileServer
) -> tuple[str, dict[str, str]]:
    for name in ("MAIA_TOKEN", "MAIA_BACKEND", "MAIA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    monkeypatch.setenv("MAIA_TOKEN_URL", server.url.removesuffix("/dpc") + "/oauth/token")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary.md"))
    pytester.makepyfile(test_hostile=INNER)
    result = pytester.runpytest_subprocess(
        "--maia-backend=live",
        f"--maia-base-url={server.url}",
        "--maia-environment=prod",
        "--maia-poll-interval=0.05",
        "--maia-report=timeline.html",
        "--maia-report-json=timeline.json",
        "--junitxml=junit.xml",
        "--tb=native",
        "-rA",
        "-vv",
        "--log-level=DEBUG",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    out = result.stdout.str() + "\n" + result.stderr.str()
    result.assert_outcomes(passed=2, failed=5)
    files = {
        name: (pytester.path / name).read_text(encoding="utf-8")
        for name in ("summary.md", "timeline.html", "timeline.json", "junit.xml")
    }
    return out, files


@pytest.mark.e2e
def test_no_api_text_steers_a_github_runner_or_a_terminal(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, api: HostileServer
) -> None:
    out, _ = run_as_a_github_runner(pytester, monkeypatch, api)
    # Every path showed the hostile text (so the checks below mean something), escaped:
    assert "\\x3a:stop-commands::pwned" in out  # failure section and short summary
    assert "FAILED\\r\\x1b[2KSUCCESS\\n::add-mask::odd" in out  # a status outside the spec
    assert "\\x3a:warning::forged title" in out  # the ProblemDetail
    assert "could not cancel" in out  # the teardown-cancel section
    assert "FAILED\\r\\x1b[2KSUCCESS" in out
    assert "Captured log" in out
    assert "has no 'status' (keys: \\n::add-mask::key\\x1b[2K)" in out  # the server's keys
    commands = [line for line in out.splitlines() if line.lstrip().startswith("::")]
    assert commands, "the plugin's own annotations are there"
    # Only the plugin's annotations, whose properties (the title holds API text) are
    # escaped: no ':' or ',' can end them early or add another.
    own = re.compile(r"::error file=test_hostile\.py,line=\d+,title=[^:,]*::\S")
    assert all(own.match(line) for line in commands), commands
    assert "##[" not in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", out), "a control character got out"


@pytest.mark.e2e
def test_the_step_summary_renders_no_markup_from_the_api(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, api: HostileServer
) -> None:
    _, files = run_as_a_github_runner(pytester, monkeypatch, api)
    summary = files["summary.md"]
    assert "evil.example" in summary  # the message is there ...
    for line in summary.splitlines():
        if "evil.example" in line:  # ... but only inside a code span of its cell
            cells = [cell.strip() for cell in line.split(" | ")]
            cell = next(c for c in cells if "evil.example" in c)
            assert cell.startswith("`") and cell.rstrip(" |").endswith("`"), cell
            assert "|" not in cell.replace("\\|", "").strip("| ")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", summary)


@pytest.mark.e2e
def test_echoed_secrets_and_issued_tokens_are_scrubbed_from_every_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, api: HostileServer
) -> None:
    out, files = run_as_a_github_runner(pytester, monkeypatch, api)
    assert any(CLIENT_SECRET.encode() in r for r in api.requests)  # it was sent ...
    assert "client_secret=***" in out and "Bearer ***" in out  # ... echoed, and masked
    for name, text in {"output": out, **files}.items():
        assert CLIENT_SECRET not in text, name
        assert ISSUED not in text, name
        assert "client_secret=***" in text, name


@pytest.mark.e2e
@pytest.mark.parametrize("extra", [(), ("--json",)], ids=["human", "json"])
@pytest.mark.parametrize("execution", [PROBLEM, ODD, BAD])
def test_maia_status_output_steers_nothing_and_leaks_no_echoed_secret(
    api: HostileServer, execution: str, extra: tuple[str, ...]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIA_", "GITHUB_"))}
    env.update(
        MAIA_CLIENT_ID=CLIENT_ID,
        MAIA_CLIENT_SECRET=CLIENT_SECRET,
        MAIA_BASE_URL=api.url,
        MAIA_TOKEN_URL=api.url.removesuffix("/dpc") + "/oauth/token",
    )
    command = "wait" if execution == ODD else "get"
    timing = ("--timeout", "0.3", "--interval", "0.05") if command == "wait" else ()
    result = subprocess.run(
        [sys.executable, "-m", "pytest_maia", command, PROJECT, execution, *timing, *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    out = result.stdout + result.stderr
    assert result.returncode in (1, 3, 4), out
    assert not [line for line in out.splitlines() if line.lstrip().startswith("::")], out
    assert "##[" not in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", out), out
    assert CLIENT_SECRET not in out and ISSUED not in out
    if execution == PROBLEM:
        assert "client_secret=***" in out and "Bearer ***" in out
        if extra:  # a JSON reader still gets the server's text, scrubbed
            detail = json.loads(result.stdout)["error"]["problem"]["detail"]
            assert "\n##[error]legacy\n" in detail and "client_secret=***" in detail


# -- 25.2: size caps ---------------------------------------------------------------------

HUGE = """
import pytest

MESSAGE = "x" * 1_000_000


@pytest.mark.parametrize("n", range({count}))
def test_huge_message(maia_fake, maia_status, maia_project_id, n):
    execution = maia_fake.add_execution(
        maia_project_id, ["FAILED"], message=MESSAGE,
        steps=[{"name": "s", "status": "FAILED", "message": MESSAGE}],
    )
    maia_status.assert_success(execution)
"""


@pytest.mark.e2e
@pytest.mark.parametrize("count", [1, 100])
def test_one_megabyte_messages_are_cut_in_every_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path / "summary.md"))
    pytester.makepyfile(test_huge=HUGE.replace("{count}", str(count)))
    result = pytester.runpytest_subprocess(
        "--maia-report=timeline.html",
        "--maia-report-json=timeline.json",
        "--junitxml=junit.xml",
        "-p",
        "no:cacheprovider",
        timeout=300,
    )
    result.assert_outcomes(failed=count)
    out = result.stdout.str()
    files = {
        name: (pytester.path / name).read_text(encoding="utf-8")
        for name in ("summary.md", "timeline.html", "timeline.json", "junit.xml")
    }
    files["output"] = out
    for name, text in files.items():
        assert "[cut 998000 characters]" in text, name
        # a few cut copies per run (message, step, failure text), never the megabyte
        assert len(text) < count * 40_000 + 100_000, (name, len(text))
    assert len(files["summary.md"].encode()) < 1024 * 1024


# -- the helpers every output uses ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("::add-mask::x", "\\x3a:add-mask::x"),
        ("  ::warning::x", "  \\x3a:warning::x"),  # the runner trims leading space
        ("a ##[error]b", "a #\\x23[error]b"),  # the legacy form counts anywhere
        ("FAILED\r\x1b[2KSUCCESS", "FAILED\\r\\x1b[2KSUCCESS"),
        ("a\n::stop-commands::t", "a\\n::stop-commands::t"),  # one line: '::' mid-line
        ("\u202eevil", "\\u202eevil"),
        ("plain text: a::b", "plain text: a::b"),
    ],
)
def test_safe_escapes_controls_and_defuses_workflow_commands(text: str, shown: str) -> None:
    from pytest_maia.core.text import safe

    assert safe(text) == shown


def test_safe_with_newlines_indents_and_defuses_every_line() -> None:
    from pytest_maia.core.text import safe

    assert safe("a\n::add-mask::x\n##[error]", newlines=True) == (
        "a\n  \\x3a:add-mask::x\n  #\\x23[error]"
    )


def test_clip_cuts_with_a_marker_once() -> None:
    from pytest_maia.core.text import MESSAGE_LIMIT, clip

    cut = clip("x" * 1_000_000)
    assert cut.endswith(f"\u2026 [cut {1_000_000 - MESSAGE_LIMIT} characters]")
    assert clip(cut) == cut  # clipping clipped text changes nothing
    assert clip("short") == "short"


def test_the_progress_line_and_the_summary_table_escape_a_hostile_status() -> None:
    from pytest_maia.core.models import ExecutionStatus, WaitResult
    from pytest_maia.report.progress import Progress
    from pytest_maia.report.summary import format_summary
    from pytest_maia.report.timeline import Execution

    hostile = "FAILED\r\x1b[2KSUCCESS\n::add-mask::x"
    result = WaitResult(BAD, ExecutionStatus(hostile), polls=3, elapsed=40.0)
    written: list[str] = []
    progress = Progress(written.append, tty=True, threshold=0.0)
    progress.poll("nightly", result)
    line = Progress.line("nightly", result)
    table = format_summary([Execution("t.py::test_a", BAD, hostile, 0.0, 40.0, 3)])
    for text in (line, table[1]):
        assert "FAILED\\r\\x1b[2KSUCCESS\\n::add-mask::x" in text
    for text in (line, *table):
        assert not re.search(r"[\x00-\x1f\x7f]", text)
    # the progress line's own cursor control stays: only the API's text is escaped
    assert written == ["\r\x1b[K" + line]


def test_the_step_summary_of_thousands_of_failures_stays_under_the_cap() -> None:
    from pytest_maia.report import github
    from pytest_maia.report.timeline import Execution, Timeline

    message = "y" * 1_000_000
    executions = [
        Execution(
            f"t.py::test_{n}",
            BAD,
            "FAILED",
            0.0,
            1.0,
            1,
            [(0.0, "FAILED")],
            message=message,
            failing_steps=[message] * 60,
        )
        for n in range(3000)
    ]
    summary = github.step_summary(Timeline(executions))
    assert len(summary.encode()) <= github.SUMMARY_LIMIT < 1024 * 1024
    assert "[cut 998000 characters]" in summary and "... and 57 more failing steps" in summary
    shown = summary.count("| \u274c |")
    assert 10 < shown < 3000
    assert f"{3000 - shown} more line(s) not shown" in summary
