"""The plugin's Ctrl-C handling (pytest_maia.plugin.interrupts) and start-up checks
(pytest_maia.plugin.startup_checks): Ctrl-C during a wait cancels the runs in progress
and says so (pytest in a subprocess, SIGINT, a loopback fake on real time), and mistakes
that fail fast at start-up (pytester runs as users run them).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# In-process runs forget modules first imported inside them: keep one copy of requests.
import pytest_maia.client.maia_client  # noqa: F401
from conftest import child_env
from pytest_maia import SystemClock
from pytest_maia.fake import FakeMaia

TOKEN = "tok-INTERRUPT-5e1f"
INNER = """
def test_slow(maia_pipeline):
    maia_pipeline.run("slow").wait()
"""

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.mark.e2e
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.usefixtures("sigint_reaches_children")
def test_ctrl_c_during_a_wait_cancels_and_says_so(tmp_path: Path) -> None:
    fake = FakeMaia(token=TOKEN, clock=SystemClock())
    fake.script_pipeline("slow", ["RUNNING"])  # never ends by itself
    (tmp_path / "test_slow.py").write_text(INNER)
    env = {k: v for k, v in child_env().items() if not k.startswith("MAIA_")}
    env["MAIA_TOKEN"] = TOKEN
    with fake.serve() as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "--maia-backend=live",
                f"--maia-base-url={server.url}",
                "--maia-project=p",
                "--maia-environment=test",
                "--maia-poll-interval=0.05",
                "test_slow.py",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not fake.executions() or not fake.polls(fake.executions()[0].execution_id):
                assert time.monotonic() < deadline, "the test never started its wait"
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.05)
            time.sleep(0.05)  # inside the wait's sleep or its next poll: either will do
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    line = "pytest-maia: interrupted, cancelling 1 pipeline run(s)"
    assert out.count(line) == 1, out
    section = "maia pipeline runs cancelled at teardown: 1"
    assert section in out, out
    assert out.index(line) < out.index(section)
    assert "test_slow.py::test_slow: " in out and "(slow): now CANCELLED" in out, out
    (record,) = fake.executions()
    assert record.cancel_force is False and record.status == "CANCELLED"
    assert TOKEN not in out


# -- mistakes fail fast --------------------------------------------------------------------


def test_a_misspelt_status_in_the_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script("RUNNING", "SUCESS")
        def test_x(maia_pipeline):
            maia_pipeline.run("p").assert_success()
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*test_x: @pytest.mark.maia_script: statuses[[]1]: 'SUCESS' is not an execution "
            "status: did you mean 'SUCCESS'?*"
        ]
    )


def test_live_maia_pipeline_without_an_environment_is_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAIA_ENVIRONMENT", raising=False)
    monkeypatch.setenv("MAIA_TOKEN", "t")
    pytester.makepyfile(
        """
        def test_a(maia_pipeline): pass
        def test_b(maia_pipeline): pass
        def test_c(maia_status): pass
        """
    )
    result = pytester.runpytest("--maia-backend=live", "--maia-project=p")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-maia: test_live_maia_pipeline_without_an_environment_is_one_usage_error"
            ".py::test_a (and 1 more) use maia_pipeline, which runs pipelines in an "
            "environment: set --maia-environment, MAIA_ENVIRONMENT or the maia_environment "
            "ini key"
        ]
    )
    assert result.stderr.str().count("ERROR") == 1
