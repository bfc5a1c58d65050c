"""@pytest.mark.maia_start and maia_run through pytester: start-ahead, cap, queue, cancel."""

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

# Writes what the queue looked like right after collection, and the session fake's
# executions at the very end, into queue.json and executions.json.
OBSERVER = """
import json, pathlib, pytest

def _plugin(config):
    return config.pluginmanager.get_plugin("maia-start-ahead")

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    queue = _plugin(session.config).queue
    counts = queue.counts() if queue is not None else {}
    pathlib.Path("queue.json").write_text(json.dumps(counts))

@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session):
    # After every plain hook: the start-ahead plugin cancels its leftovers in one.
    result = yield
    fake = _plugin(session.config).fake
    if fake is not None:
        rows = [[e.pipeline_name, e.status.value, e.cancel_force is not None]
                for e in fake.executions()]
        pathlib.Path("executions.json").write_text(json.dumps(rows))
    return result
"""

FIVE = """
import pytest

@pytest.mark.parametrize("i", range(5))
def test_load(i, request, maia_run):
    assert maia_run.pipeline_name == f"load-{i}"
    maia_run.assert_success()

def pytest_generate_tests(metafunc):
    pass
"""


def five_marked(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        OBSERVER
        + """
def pytest_collection_modifyitems(items):
    for item in items:
        if "[" in item.name:
            item.add_marker(pytest.mark.maia_start(f"load-{item.callspec.params['i']}"))
"""
    )
    pytester.makepyfile(test_five=FIVE)


def run_live_under_xdist(
    pytester: pytest.Pytester, server: FakeServer, *args: str
) -> pytest.RunResult:
    """The five marked tests on two xdist workers, live against ``server`` (real time:
    polls every 0.05 s)."""
    return pytester.runpytest(
        *("-p", "xdist", "-n", "2", "-p", "no:cacheprovider"),
        "--maia-backend=live",
        f"--maia-base-url={server.url}",
        "--maia-project=proj",
        "--maia-environment=env",
        "--maia-poll-interval=0.05",
        *args,
    )


def read(pytester: pytest.Pytester, name: str) -> object:
    return json.loads(Path(pytester.path, name).read_text())


def test_start_ahead_starts_at_most_the_cap_and_queues_the_rest(
    pytester: pytest.Pytester,
) -> None:
    five_marked(pytester)
    result = pytester.runpytest("--maia-max-concurrent=2")
    result.assert_outcomes(passed=5)
    assert read(pytester, "queue.json") == {"active": 2, "queued": 3}
    executions = read(pytester, "executions.json")
    assert [e[:2] for e in executions] == [[f"load-{i}", "SUCCESS"] for i in range(5)]
    result.stdout.fnmatch_lines(["*maia executions waited on: 5*", "*start*end*"])


def test_only_selected_tests_start_runs(pytester: pytest.Pytester) -> None:
    five_marked(pytester)
    result = pytester.runpytest("-k", "load and (1 or 3)", "--maia-max-concurrent=4")
    result.assert_outcomes(passed=2, deselected=3)
    assert read(pytester, "queue.json") == {"active": 2}
    assert [e[0] for e in read(pytester, "executions.json")] == ["load-1", "load-3"]


def test_env_and_ini_set_the_cap(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    five_marked(pytester)
    pytester.makeini("[pytest]\nmaia_max_concurrent = 1\n")
    pytester.runpytest().assert_outcomes(passed=5)
    assert read(pytester, "queue.json") == {"active": 1, "queued": 4}
    monkeypatch.setenv("MAIA_MAX_CONCURRENT", "3")
    pytester.runpytest().assert_outcomes(passed=5)
    assert read(pytester, "queue.json") == {"active": 3, "queued": 2}


def test_runs_whose_tests_never_ran_are_cancelled_and_listed(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script("RUNNING", "FAILED")
        @pytest.mark.maia_start("breaks")
        def test_first(maia_run):
            maia_run.assert_success()

        @pytest.mark.maia_script("RUNNING")
        @pytest.mark.maia_start("never-awaited-1")
        def test_second(maia_run):
            pass

        @pytest.mark.maia_script("RUNNING")
        @pytest.mark.maia_start("never-awaited-2")
        def test_third(maia_run):
            pass

        @pytest.mark.maia_start("not-started")
        def test_fourth(maia_run):
            pass
        """
    )
    result = pytester.runpytest("-x", "--maia-max-concurrent=3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*maia start-ahead runs whose tests never ran, cancelled at session end: 2*",
            "*::test_second: * (never-awaited-1): cancel requested",
            "*::test_third: * (never-awaited-2): cancel requested",
        ]
    )
    # [pipeline, status, cancel requested]: "not-started" never was (-x stopped first).
    executions = read(pytester, "executions.json")
    assert [[e[0], e[2]] for e in executions] == [
        ["breaks", False],
        ["never-awaited-1", True],
        ["never-awaited-2", True],
    ]


@pytest.mark.e2e
def test_ctrl_c_cancels_the_runs_started_ahead(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_start("interrupted")
        def test_first(maia_run):
            raise KeyboardInterrupt

        @pytest.mark.maia_script("RUNNING")
        @pytest.mark.maia_start("long")
        def test_second(maia_run):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*cancelled at session end*: 1*", "*(long): cancel requested"])


def test_one_failing_run_among_many_fails_only_its_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_start("ok-1")
        def test_ok_1(maia_run):
            maia_run.assert_success()

        @pytest.mark.maia_script("RUNNING", "RUNNING", "FAILED", every=60)
        @pytest.mark.maia_start("broken")
        def test_broken(maia_run):
            maia_run.assert_success()

        @pytest.mark.maia_script("RUNNING", "SUCCESS", every=600)
        @pytest.mark.maia_start("ok-2", group="orders")
        def test_ok_2(maia_run):
            result = maia_run.assert_success()
            assert maia_run.ended_at >= maia_run.started_at

        @pytest.mark.maia_start("ok-3", group="orders", variables={"day": "1"}, tag="t-3")
        def test_ok_3(maia_run):
            details = maia_run.details()
            assert details.pipeline_name == "ok-3"
            maia_run.assert_success()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*_ test_broken _*", "E * ended FAILED, expected SUCCESS"])


def test_marker_and_fixture_misuse_are_explained(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_no_marker(maia_run):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*maia_run needs @pytest.mark.maia_start(pipeline, ...)*"])
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_start("x", colour="red")
        def test_bad(maia_run):
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*maia_start takes a pipeline name*"])


@pytest.mark.e2e
def test_under_xdist_the_fake_starts_each_run_with_its_test(pytester: pytest.Pytester) -> None:
    five_marked(pytester)
    result = pytester.runpytest("-p", "xdist", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_under_xdist_live_workers_share_one_queue(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    five_marked(pytester)
    monkeypatch.setenv("MAIA_TOKEN", "suite-token")
    fake = FakeMaia(clock=SystemClock(), token="suite-token")
    for i in range(5):
        fake.script_pipeline(f"load-{i}", ["RUNNING", "SUCCESS"], every=0.15)
    with fake.serve() as server:
        result = run_live_under_xdist(pytester, server, "--maia-max-concurrent=3")
    result.assert_outcomes(passed=5)
    records = fake.executions()
    # Each run started once for the whole suite, never more than 3 at a time.
    assert sorted(r.pipeline_name for r in records) == [f"load-{i}" for i in range(5)]
    going = 0
    edges = sorted([(r.started_at, 1) for r in records] + [(r.finished_at, -1) for r in records])
    peak = 0
    for _, step in edges:
        going += step
        peak = max(peak, going)
    assert peak <= 3


def test_collect_only_and_skipped_tests_start_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OBSERVER)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.skip(reason="not today")
        @pytest.mark.maia_start("skipped")
        def test_skipped(maia_run):
            pass

        @pytest.mark.maia_start("runs")
        def test_runs(maia_run):
            maia_run.assert_success()
        """
    )
    pytester.runpytest("--collect-only").assert_outcomes()
    assert not Path(pytester.path, "queue.json").exists() or read(pytester, "queue.json") == {}
    pytester.runpytest().assert_outcomes(passed=1, skipped=1)
    assert [e[0] for e in read(pytester, "executions.json")] == ["runs"]


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_under_xdist_live_the_controller_cancels_what_never_ran(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    five_marked(pytester)
    monkeypatch.setenv("MAIA_TOKEN", "suite-token")
    fake = FakeMaia(clock=SystemClock(), token="suite-token")
    fake.script_pipeline("load-0", ["RUNNING", "FAILED"], every=0.05)
    for i in range(1, 5):
        fake.script_pipeline(f"load-{i}", ["RUNNING"])
    with fake.serve() as server:
        result = run_live_under_xdist(
            pytester,
            server,
            "-x",
            "--maia-timeout=0.4",  # the stuck runs' waits; cancelling is the subject
        )
    # xdist reports a -x stop as an interruption.
    assert result.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED)
    result.stdout.fnmatch_lines(
        ["*maia start-ahead runs whose tests never ran, cancelled at session end: *"]
    )
    listed = [line for line in result.outlines if ": cancel requested" in line]
    assert listed
    cancelled = {r.pipeline_name for r in fake.executions() if r.cancel_force is not None}
    assert {line.split("(")[-1].split(")")[0] for line in listed} <= cancelled
