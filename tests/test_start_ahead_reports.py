"""Start-ahead runs as a user's suite meets them (issue 21, items 6 to 8): a run started
ahead keeps its test's ``maia_script`` (message and steps), appears in every report like
a run started with ``maia_pipeline``, and ``maia_start`` without ``maia_run`` is refused
at collection."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# In-process runs forget modules first imported inside them: keep one copy of these.
import pytest_maia.client.maia_client
import pytest_maia.fake
import pytest_maia.plugin.hooks
import pytest_maia.runs.startahead  # noqa: F401
from conftest import PYTEST_HTML
from pytest_maia.core.clock import SystemClock
from pytest_maia.fake import FakeMaia

XDIST = ("-p", "xdist", "-n", "2", "-p", "no:cacheprovider")

# A data team's suite: a child pipeline whose step fails with a message, a scripted
# failure message on the run itself, two plain start-ahead runs, one maia_pipeline run.
SUITE = """
import pytest

STEPS = [
    {"name": "extract", "status": "SUCCESS"},
    {"name": "load-child", "status": "FAILED", "message": "duplicate key in orders_stg"},
]

@pytest.mark.maia_script("RUNNING", "FAILED", message="orders load gave up", steps=STEPS)
@pytest.mark.maia_start("load-orders")
def test_orders_fail_on_duplicates(maia_run):
    maia_run.assert_failed(match="duplicate key")
    maia_run.assert_failed(match="gave up")

@pytest.mark.maia_script("RUNNING", "RUNNING", "SUCCESS", every=120)
@pytest.mark.maia_start("load-stock", group="marts")
def test_stock(maia_run):
    maia_run.assert_success()

@pytest.mark.maia_start("load-customers", group="marts")
def test_customers(maia_run):
    maia_run.assert_success()

def test_adhoc(maia_pipeline):
    maia_pipeline.run("adhoc-export").assert_success()
"""

PIPELINES = ("load-orders", "load-stock", "load-customers", "adhoc-export")


@pytest.mark.parametrize("workers", ["serial", pytest.param("xdist", marks=pytest.mark.e2e)])
def test_a_started_ahead_run_honours_its_scripted_message_and_steps(
    pytester: pytest.Pytester, workers: str
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    args = XDIST if workers == "xdist" else ()
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=4)
    assert "messages searched: (none)" not in result.stdout.str()


def test_a_wrong_match_on_a_started_ahead_run_lists_the_scripted_messages(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script("RUNNING", "FAILED", message="warehouse suspended",
                                 steps=[{"name": "load", "status": "FAILED",
                                         "message": "disk full"}])
        @pytest.mark.maia_start("nightly")
        def test_nightly(maia_run):
            maia_run.assert_failed(match="timeout")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no message matches 'timeout'*", "*warehouse suspended*"])
    result.stdout.fnmatch_lines(["*disk full*"])


def executions_of(summary_lines: list[str]) -> dict[str, str]:
    """execution id -> test, from the terminal summary table (test, pipeline, id...)."""
    found = {}
    for line in summary_lines:
        match = re.match(r"(\S+::\S+)\s+\S+\s+([0-9a-f-]{36})\s", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def test_start_ahead_runs_appear_in_every_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("pytest_html")
    monkeypatch.setenv("COLUMNS", "250")  # the summary's whole execution ids
    step_summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    pytester.makepyfile(
        test_suite=SUITE.replace('match="duplicate key")', 'match="no such text")', 1)
    )
    result = pytester.runpytest(
        *PYTEST_HTML,
        "--html=page.html",
        "--self-contained-html",
        "--maia-report=maia.html",
        "--maia-report-json=maia.json",
        "--junitxml=junit.xml",
    )
    result.assert_outcomes(passed=3, failed=1)
    ids = executions_of(result.outlines)
    assert len(ids) == 4, result.stdout.str()

    data = json.loads((pytester.path / "maia.json").read_text(encoding="utf-8"))
    by_id = {e["execution_id"]: e for e in data["executions"]}
    assert set(by_id) == set(ids)
    assert sorted(e["pipeline"] for e in by_id.values()) == sorted(PIPELINES)
    orders = next(e for e in by_id.values() if e["pipeline"] == "load-orders")
    assert orders["outcome"] == "FAILED" and orders["message"] == "orders load gave up"
    assert any("duplicate key" in step for step in orders["failing_steps"])

    page = (pytester.path / "maia.html").read_text(encoding="utf-8")
    assert all(execution_id in page for execution_id in ids)

    summary = step_summary.read_text(encoding="utf-8")
    assert all(execution_id in summary for execution_id in ids)
    (annotation,) = [line for line in result.outlines if line.startswith("::error")]
    assert "load-orders" in annotation or orders["execution_id"] in annotation

    html = (pytester.path / "page.html").read_text(encoding="utf-8")
    assert all(execution_id in html for execution_id in ids)

    junit = ET.parse(pytester.path / "junit.xml").getroot()
    timeline_ids = {
        json.loads(prop.get("value", ""))["id"]
        for prop in junit.iter("property")
        if prop.get("name") == "maia_timeline"
    }
    assert timeline_ids == set(ids)
    failures = [p for p in junit.iter("property") if p.get("name") == "maia_failure"]
    assert failures and "duplicate key" in str(failures[0].get("value"))


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_live_start_ahead_runs_under_xdist_appear_in_the_reports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(4))
        def test_load(i, maia_run):
            maia_run.assert_success()

        def test_adhoc(maia_pipeline):
            maia_pipeline.run("adhoc-export").assert_success()
        """
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
    monkeypatch.setenv("MAIA_TOKEN", "suite-token")
    fake = FakeMaia(clock=SystemClock(), token="suite-token")
    for name in [f"load-{i}" for i in range(4)] + ["adhoc-export"]:
        fake.script_pipeline(name, ["RUNNING", "SUCCESS"], every=0.1)
    with fake.serve() as server:
        result = pytester.runpytest(
            *XDIST,
            "--maia-backend=live",
            f"--maia-base-url={server.url}",
            "--maia-project=proj",
            "--maia-environment=env",
            "--maia-poll-interval=0.05",
            "--maia-report-json=maia.json",
            "--junitxml=junit.xml",
        )
    result.assert_outcomes(passed=5)
    started = {r.execution_id for r in fake.executions()}
    assert len(started) == 5
    data = json.loads((pytester.path / "maia.json").read_text(encoding="utf-8"))
    assert {e["execution_id"] for e in data["executions"]} == started
    # Live: each run's start and end are on the report's wall axis (epoch seconds), as
    # its wait is: started no later than its wait began, ended as its wait did.
    for e in data["executions"]:
        assert time.time() - 600 < e["run_start"] <= e["start"] + 0.01, e
        assert e["run_end"] == pytest.approx(e["start"] + e["elapsed"], abs=0.01), e
    junit = ET.parse(pytester.path / "junit.xml").getroot()
    timeline_ids = {
        json.loads(prop.get("value", ""))["id"]
        for prop in junit.iter("property")
        if prop.get("name") == "maia_timeline"
    }
    assert timeline_ids == started


@pytest.mark.parametrize("workers", ["serial", pytest.param("xdist", marks=pytest.mark.e2e)])
def test_maia_start_without_maia_run_is_a_usage_error_naming_the_test(
    pytester: pytest.Pytester, workers: str
) -> None:
    pytester.makepyfile(
        test_loads="""
        import pytest

        @pytest.mark.maia_start("load-orders")
        def test_orders(maia_pipeline):
            maia_pipeline.run("load-orders").assert_success()

        @pytest.mark.maia_start("load-stock")
        def test_stock(maia_run):
            maia_run.assert_success()
        """
    )
    result = pytester.runpytest(*(XDIST if workers == "xdist" else ()))
    assert result.ret != pytest.ExitCode.OK
    text = result.stdout.str() + result.stderr.str()
    assert "test_loads.py::test_orders: @pytest.mark.maia_start starts a run ahead" in text
    assert "does not take maia_run" in text
    assert "passed" not in result.outlines[-1]


def test_runs_cancelled_at_session_end_are_in_the_reports(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script("RUNNING", "FAILED")
        @pytest.mark.maia_start("breaks")
        def test_first(maia_run):
            maia_run.assert_success()

        @pytest.mark.maia_script("RUNNING")
        @pytest.mark.maia_start("never-awaited")
        def test_second(maia_run):
            maia_run.assert_success()
        """
    )
    result = pytester.runpytest("-x", "--maia-report-json=maia.json", "--maia-report=maia.html")
    result.assert_outcomes(failed=1)
    data = json.loads((pytester.path / "maia.json").read_text(encoding="utf-8"))
    (cancelled,) = data["cancelled"]
    assert cancelled["test"].endswith("::test_second")
    assert "(never-awaited): cancel requested" in cancelled["text"]
    assert "never-awaited" in (pytester.path / "maia.html").read_text(encoding="utf-8")
