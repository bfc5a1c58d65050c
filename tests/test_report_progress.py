"""The live progress line: rewritten in place on a terminal, a line per change in a log."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import child_env
from pytest_maia.core.models import ExecutionStatus, WaitResult
from pytest_maia.report.progress import CLEAR, Progress

ID = "aaaaaaaa-0000-4000-8000-000000000001"


def polls(*steps: tuple[float, str]) -> list[WaitResult]:
    results = []
    for index, (elapsed, status) in enumerate(steps, 1):
        result = WaitResult(ID, ExecutionStatus(status), polls=index, elapsed=elapsed)
        results.append(result)
    return results


STEPS = ((0.0, "RUNNING"), (31.0, "RUNNING"), (250.0, "RUNNING"), (400.0, "SUCCESS"))


def drive(progress: Progress) -> None:
    for result in polls(*STEPS):
        progress.poll("nightly", result)
    progress.done(ID)


def test_on_a_terminal_one_line_is_rewritten_in_place() -> None:
    out: list[str] = []
    newlines: list[int] = []
    drive(Progress(out.append, tty=True, newline=lambda: newlines.append(1)))
    assert out == [
        CLEAR + "maia: nightly aaaaaaaa RUNNING 31s, 2 polls",
        CLEAR + "maia: nightly aaaaaaaa RUNNING 4m10s, 3 polls",
        CLEAR + "maia: nightly aaaaaaaa SUCCESS 6m40s, 4 polls",
        "\n",
    ]
    assert newlines == [1]  # the line starts on a line of its own


def test_in_a_log_one_plain_line_per_status_change() -> None:
    out: list[str] = []
    drive(Progress(out.append, tty=False))
    assert out == [
        "maia: nightly aaaaaaaa RUNNING 31s, 2 polls\n",
        "maia: nightly aaaaaaaa SUCCESS 6m40s, 4 polls\n",
    ]


def test_short_waits_stay_silent() -> None:
    out: list[str] = []
    progress = Progress(out.append, tty=True)
    for result in polls((0.0, "RUNNING"), (29.0, "SUCCESS")):
        progress.poll(None, result)
    progress.done(ID)
    assert out == []


# -- end to end: a live run whose API is an in-process fake on a virtual clock ----------

CONFTEST = """
import pytest
import pytest_maia.client.maia_client
from pytest_maia.fake import FakeMaia

@pytest.fixture(scope="session", autouse=True)
def api():
    # A live client is given no clock, so it waits on the default one: make that this
    # fake's virtual clock for the session (clocks are passed, never looked up by URL).
    with FakeMaia() as fake:
        module = pytest_maia.client.maia_client
        default, module._SYSTEM_CLOCK = module._SYSTEM_CLOCK, fake.clock
        yield fake
        module._SYSTEM_CLOCK = default
"""
TESTS = """
def test_long(api, maia_pipeline):
    api.script_pipeline("nightly", ["RUNNING"] * 5 + ["SUCCESS"], every=60)
    maia_pipeline.run("nightly", environment="prod").assert_success()

def test_short(api, maia_status):
    ex = api.add_execution("live-project", ["RUNNING", "SUCCESS"])
    maia_status.assert_success(ex)
"""
LINE = re.compile(r"maia: nightly [0-9a-f]{8} (RUNNING|SUCCESS) \w+, \d+ polls")


@pytest.fixture
def live_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MAIA_CLIENT_ID", "MAIA_CLIENT_SECRET", "MAIA_BASE_URL", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_BACKEND", "live")
    monkeypatch.setenv("MAIA_TOKEN", "progress-token")
    monkeypatch.setenv("MAIA_PROJECT_ID", "live-project")
    monkeypatch.setenv("MAIA_ENVIRONMENT", "production")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_live=TESTS)
    return pytester.path


def run_in_pty(directory: Path, *args: str) -> str:
    """Run pytest with stdout on a pseudo-terminal; return everything it wrote."""
    main, child = pty.openpty()
    env = child_env(COLUMNS="120", TERM="xterm")
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=directory,
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert process.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.e2e
def test_progress_line_on_a_terminal(live_suite: Path) -> None:
    out = run_in_pty(live_suite)
    updates = list(re.finditer(r"\r\x1b\[K" + LINE.pattern, out))
    assert len(updates) >= 3  # the same line, rewritten at each poll past 30 s
    assert sum("maia: nightly" in line for line in out.split("\n")) == 1
    assert updates[-1].group(1) == "SUCCESS"
    assert "2 passed" in out


def test_progress_lines_in_a_log(pytester: pytest.Pytester, live_suite: Path) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    lines = [line for line in result.outlines if LINE.search(line)]
    assert [LINE.search(line).group(1) for line in lines] == ["RUNNING", "SUCCESS"]  # type: ignore[union-attr]
    assert "\x1b[K" not in result.stdout.str()


@pytest.mark.e2e
@pytest.mark.parametrize("args", [["-q"], ["-p", "xdist", "-n", "1"]])
def test_silent_under_quiet_and_xdist(
    pytester: pytest.Pytester, live_suite: Path, args: list[str]
) -> None:
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2)
    assert not any(LINE.search(line) for line in result.outlines)
