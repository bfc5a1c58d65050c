"""No start-ahead run left behind (issue 25, items 3 to 5), each test shaped like the attack:
Ctrl-C in a test whose teardown would start the next run, an xdist worker killed
(``kill -9``) holding a run or in the middle of starting one, tests that will not run,
and a shared-state file cut short or written over while the suite runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# In-process runs forget modules first imported inside them: keep one copy of these.
import pytest_maia.client.maia_client
import pytest_maia.fake
import pytest_maia.runs.startahead  # noqa: F401
from pytest_maia.core.clock import SystemClock
from pytest_maia.fake import FakeMaia
from pytest_maia.fake.server import FakeServer

# Writes the session fake's executions, after every plain sessionfinish hook (the
# start-ahead plugin cancels its leftovers in one), into executions.json.
OBSERVER = """
import json, pathlib, pytest

@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session):
    result = yield
    fake = session.config.pluginmanager.get_plugin("maia-start-ahead").fake
    if fake is not None:
        rows = [[e.pipeline_name, e.status.value, e.cancel_force is not None]
                for e in fake.executions()]
        pathlib.Path("executions.json").write_text(json.dumps(rows))
    return result
"""


def executions(pytester: pytest.Pytester) -> object:
    return json.loads(Path(pytester.path, "executions.json").read_text())


def live(pytester: pytest.Pytester, server: FakeServer, *args: str) -> pytest.RunResult:
    """The suite on two xdist workers in subprocesses, live against ``server``."""
    return pytester.runpytest_subprocess(
        *("-p", "xdist", "-n", "2", "-p", "no:cacheprovider"),
        "--maia-backend=live",
        f"--maia-base-url={server.url}",
        "--maia-project=proj",
        "--maia-environment=env",
        "--maia-poll-interval=0.05",
        *args,
    )


def live_fake(monkeypatch: pytest.MonkeyPatch) -> FakeMaia:
    monkeypatch.setenv("MAIA_TOKEN", "suite-token")
    return FakeMaia(clock=SystemClock(), token="suite-token")


# -- item 3: Ctrl-C -------------------------------------------------------------------------


@pytest.mark.e2e
def test_after_ctrl_c_no_run_starts_and_every_started_run_is_cancelled_and_listed(
    pytester: pytest.Pytester,
) -> None:
    # One slot: the interrupted test's teardown frees it, and used to start the next
    # run, which nobody then cancelled or listed.
    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script("RUNNING")
        @pytest.mark.maia_start("interrupted")
        def test_first(maia_run):
            maia_run.status()
            raise KeyboardInterrupt

        @pytest.mark.maia_start("second")
        def test_second(maia_run):
            maia_run.assert_success()

        @pytest.mark.maia_start("third")
        def test_third(maia_run):
            maia_run.assert_success()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--maia-max-concurrent=1")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert executions(pytester) == [["interrupted", "CANCELLED", True]]
    result.stdout.fnmatch_lines(
        [
            "*maia pipeline runs cancelled at teardown: 1*",
            "*::test_first: * (interrupted): now CANCELLED",
        ]
    )


@pytest.mark.e2e
@pytest.mark.timeout(180)
@pytest.mark.usefixtures("sigint_reaches_children")
def test_live_after_sigint_no_run_starts_and_every_started_run_is_cancelled_and_listed(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a user does it: Ctrl-C (SIGINT) while a test waits, the poller thread running.
    pytester.makepyfile(
        """
        import os, signal, pytest

        @pytest.mark.maia_start("interrupted")
        def test_first(maia_run):
            maia_run.status()
            os.kill(os.getpid(), signal.SIGINT)
            maia_run.wait(timeout=30)

        @pytest.mark.maia_start("second")
        def test_second(maia_run):
            maia_run.assert_success()

        @pytest.mark.maia_start("third")
        def test_third(maia_run):
            maia_run.assert_success()
        """
    )
    fake = live_fake(monkeypatch)
    fake.script_pipeline("interrupted", ["RUNNING"])  # until cancelled
    with fake.serve() as server:
        result = pytester.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--maia-backend=live",
            f"--maia-base-url={server.url}",
            "--maia-project=proj",
            "--maia-environment=env",
            "--maia-poll-interval=0.05",
            "--maia-max-concurrent=1",
        )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    (run,) = fake.executions()  # nothing else started
    assert run.pipeline_name == "interrupted" and run.cancel_force is not None
    result.stdout.fnmatch_lines(
        [
            "*maia pipeline runs cancelled at teardown: 1*",
            f"*::test_first: {run.execution_id} (interrupted): now CANCELLED",
        ]
    )


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_a_worker_that_finishes_first_stops_nothing_for_the_others(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only Ctrl-C stops the shared queue: a worker's own session end must not, or the
    # other worker's queued runs would never start.
    pytester.makepyfile(
        test_quick="def test_quick():\n    pass\n",
        test_loads="""
        import pytest

        @pytest.mark.parametrize("i", range(3))
        def test_load(i, maia_run):
            maia_run.assert_success()
        """,
    )
    pytester.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if "[" in item.name:
                    item.add_marker(pytest.mark.maia_start(f"load-{item.callspec.params['i']}"))
        """
    )
    fake = live_fake(monkeypatch)
    for i in range(3):
        fake.script_pipeline(f"load-{i}", ["RUNNING", "SUCCESS"], every=0.5)
    with fake.serve() as server:
        result = live(pytester, server, "--dist", "loadfile", "--maia-max-concurrent=1")
    result.assert_outcomes(passed=4)
    assert len(fake.executions()) == 3


# -- item 4: a worker killed -------------------------------------------------------------------

KILLED_HOLDING = """
import os, signal, time, pytest

@pytest.mark.maia_start("held", group="mart")
def test_held(maia_run):
    maia_run.status()
    os.kill(os.getpid(), signal.SIGKILL)  # the worker dies holding its claimed run

@pytest.mark.maia_start("next", group="mart")
def test_next(maia_run, maia_client):
    maia_run.assert_success()
    # The controller cancels the dead worker's run when xdist reports it down, not only
    # at the end: watch it happen while this test still runs.
    (held,) = maia_client.list_executions("proj", pipeline_name="held")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = maia_client.get_status("proj", held.pipeline_execution_id)
        if status.value != "RUNNING":
            break
        time.sleep(0.2)
    assert status.value in ("CANCELLING", "CANCELLED")
"""


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_a_worker_killed_holding_a_run_leaks_nothing_and_no_claim_waits_on_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_mart=KILLED_HOLDING)
    fake = live_fake(monkeypatch)
    fake.script_pipeline("held", ["RUNNING"])  # runs until cancelled
    fake.script_pipeline("next", ["RUNNING", "SUCCESS"], every=0.1)
    with fake.serve() as server:
        # A claim that waited on the dead worker's run would time out: 60 s here.
        result = live(pytester, server, "--maia-timeout=60")
    out = result.stdout.str()
    assert "test_mart.py::test_next PASSED" in out or "1 passed" in out, out
    held = [r for r in fake.executions() if r.pipeline_name == "held"]
    assert len(held) == 1 and held[0].cancel_force is not None
    result.stdout.fnmatch_lines(
        [
            "*maia start-ahead runs left over, cancelled at session end: 1*",
            f"*::test_held: {held[0].execution_id} (held): its worker process died, "
            "cancel requested",
        ]
    )


KILLED_STARTING = """
import os, signal, pytest

def pytest_collection_finish(session):
    queue = session.config.pluginmanager.get_plugin("maia-start-ahead").queue
    if queue is None:
        return
    start = queue._start

    def start_then_die(key, spec):
        execution_id = start(key, spec)  # the API has started it...
        if spec.pipeline == "doomed":
            os.kill(os.getpid(), signal.SIGKILL)  # ...and the worker dies before the answer
        return execution_id

    queue._start = start_then_die
"""

STARTING_SUITE = """
import pytest

@pytest.mark.maia_start("first")
def test_first(maia_run):
    maia_run.assert_success()

@pytest.mark.maia_start("doomed", group="mart")
def test_doomed(maia_run):
    maia_run.assert_success()

@pytest.mark.maia_start("after", group="mart")
def test_after(maia_run):
    maia_run.assert_success()
"""


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_a_worker_killed_while_starting_a_run_is_listed_and_blocks_no_claim(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(KILLED_STARTING)
    pytester.makepyfile(test_mart=STARTING_SUITE)
    fake = live_fake(monkeypatch)
    fake.script_pipeline("first", ["RUNNING", "SUCCESS"], every=0.3)
    fake.script_pipeline("doomed", ["RUNNING"])
    fake.script_pipeline("after", ["RUNNING", "SUCCESS"], every=0.1)
    with fake.serve() as server:
        result = live(pytester, server, "--maia-timeout=60", "--maia-max-concurrent=1")
    out = result.stdout.str()
    assert "test_mart.py::test_after PASSED" in out or "passed" in out.splitlines()[-1], out
    assert "Timeout" not in out and "timed out" not in out
    (doomed,) = [r for r in fake.executions() if r.pipeline_name == "doomed"]
    result.stdout.fnmatch_lines(
        [
            "*maia start-ahead runs left over, cancelled at session end: 1*",
            "*::test_doomed: (unknown) (doomed): its worker process died while starting "
            f"it, no execution id to cancel*{doomed.execution_id}*",
        ]
    )


# -- item 5: tests that will not run, a damaged shared state -----------------------------------


def test_tests_that_will_not_run_start_no_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(
        """
        import sys, pytest

        @pytest.mark.skipif(True, reason="not here")
        @pytest.mark.maia_start("skipif-true")
        def test_skipif(maia_run):
            pass

        @pytest.mark.skipif("sys.platform != 'nowhere'", reason="a string condition")
        @pytest.mark.maia_start("skipif-string")
        def test_skipif_string(maia_run):
            pass

        @pytest.mark.xfail(run=False, reason="known broken")
        @pytest.mark.maia_start("xfail-not-run")
        def test_xfail_not_run(maia_run):
            pass

        @pytest.mark.skipif(False, reason="runs")
        @pytest.mark.maia_start("skipif-false")
        def test_runs(maia_run):
            maia_run.assert_success()

        @pytest.mark.xfail(reason="runs and fails")
        @pytest.mark.maia_script("RUNNING", "FAILED")
        @pytest.mark.maia_start("xfail-run")
        def test_xfail_runs(maia_run):
            maia_run.assert_success()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2, xfailed=2)
    assert sorted(e[0] for e in executions(pytester)) == ["skipif-false", "xfail-run"]
    # --runxfail runs the xfail(run=False) test: then its run starts.
    pytester.runpytest("-p", "no:cacheprovider", "--runxfail", "-k", "xfail_not_run")
    assert [e[0] for e in executions(pytester)] == ["xfail-not-run"]


DAMAGE = """
import pathlib, pytest

def test_a_corrupt(request):
    from filelock import FileLock

    shared = pathlib.Path(request.config._tmp_path_factory.getbasetemp()).parent
    state = shared / "maia-shared.json"
    # Under the store's lock: a poller's transaction in flight must not write over it.
    with FileLock(str(state) + ".lock"):
        state.write_text('{"runs": {"test_suite.py::test_b')  # cut short

@pytest.mark.maia_start("load-b")
def test_b(maia_run):
    maia_run.assert_success()

@pytest.mark.maia_start("load-c")
def test_c(maia_run):
    maia_run.assert_success()
"""


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_a_damaged_shared_state_is_a_clear_error_naming_the_file_and_leaks_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=DAMAGE)
    fake = live_fake(monkeypatch)
    for name in ("load-b", "load-c"):
        fake.script_pipeline(name, ["RUNNING"])  # each runs until cancelled
    with fake.serve() as server:
        # --dist loadfile: the file's tests run in order, the damage first.
        result = live(pytester, server, "--dist", "loadfile", "--maia-timeout=30")
    out = result.stdout.str()
    assert "KeyError" not in out and "Traceback" not in out
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        ["*maia_start('load-b'): the suite's shared state file *maia-shared.json is not valid*"]
    )
    started = fake.executions()
    assert sorted(r.pipeline_name for r in started) == ["load-b", "load-c"]
    assert all(r.cancel_force is not None for r in started), started
    result.stdout.fnmatch_lines(
        [
            "pytest-maia: the suite's shared state file *maia-shared.json is not valid JSON*",
            "*cancelled at session end: 2*",
            "*::test_b: * (load-b): listed in the start-ahead journal *, cancel requested",
        ]
    )
