"""maia_pipeline and @maia_script through pytester: run, wait, assert, clean up."""

from __future__ import annotations

import json

import pytest

# In-process runs forget modules first imported inside them: keep one copy of requests.
import pytest_maia.client.maia_client
import pytest_maia.fake  # noqa: F401

RECORDER = """
import json
import pathlib

import pytest


@pytest.fixture(autouse=True)
def record_fake(request, maia_fake):
    # set up before maia_pipeline, so torn down after its clean-up
    yield
    client = maia_fake.client()
    runs = {}
    for run in getattr(request.node, "_maia_runs", []):
        runs[run] = client.get_status("fake-project", run).value
    name = request.node.name
    pathlib.Path(f"{name}.json").write_text(json.dumps({
        "calls": [[c.method, c.path, c.status_code] for c in maia_fake.calls],
        "final": runs,
    }))
"""


def test_run_wait_assert_and_details(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_default_lifecycle_succeeds(maia_pipeline):
            run = maia_pipeline.run("daily-load", variables={"day": "2026-11-28"})
            assert run.environment == "fake-environment"
            result = run.assert_success()
            assert result.status == "SUCCESS"
            details = run.details()
            assert details.pipeline_name == "daily-load"
            assert details.status == "SUCCESS"
            assert details.finished_at is not None

        @pytest.mark.maia_script("RUNNING", "RUNNING", "FAILED", every=120)
        def test_scripted_failure_is_caught(maia_pipeline):
            run = maia_pipeline.run("transform", environment="staging")
            with pytest.raises(AssertionError, match="ended FAILED, expected SUCCESS"):
                run.assert_success()
            assert run.finished

        @pytest.mark.maia_script("RUNNING", "SKIPPED")
        def test_assert_final(maia_pipeline):
            maia_pipeline.run("maybe").assert_final("SKIPPED")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)
    assert "cancelled at teardown" not in result.stdout.str()


def test_timed_out_run_is_cancelled_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDER)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script("RUNNING")
        def test_times_out(request, maia_pipeline):
            run = maia_pipeline.run("never-ends")
            request.node._maia_runs = [run.id]
            run.wait(timeout=600)
        """
    )
    result = pytester.runpytest("-rA")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*MaiaTimeoutError: timed out after 600s*",
            "*- maia pipeline runs cancelled at teardown: 1 -*",
            "*::test_times_out: *-*-*-*-* (never-ends): now CANCELLED",
        ]
    )
    record = json.loads((pytester.path / "test_times_out.json").read_text())
    patches = [c for c in record["calls"] if c[0] == "PATCH"]
    assert len(patches) == 1
    assert patches[0][2] == 200
    (final,) = record["final"].values()
    assert final == "CANCELLED"


def test_finished_runs_are_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDER)
    pytester.makepyfile(
        """
        def test_ok(request, maia_pipeline):
            run = maia_pipeline.run("quick")
            request.node._maia_runs = [run.id]
            run.assert_success()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    record = json.loads((pytester.path / "test_ok.json").read_text())
    assert not [c for c in record["calls"] if c[0] == "PATCH"]


def test_interrupted_test_leaves_nothing_running(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(RECORDER)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script("RUNNING", every=60)
        def test_crashes(request, maia_pipeline):
            runs = [maia_pipeline.run("a"), maia_pipeline.run("b")]
            request.node._maia_runs = [r.id for r in runs]
            raise RuntimeError("the test broke before waiting")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- maia pipeline runs cancelled at teardown: 2 -*"])
    record = json.loads((pytester.path / "test_crashes.json").read_text())
    assert sorted(record["final"].values()) == ["CANCELLED", "CANCELLED"]


def test_bad_script_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_script(evry=5)
        def test_x(maia_pipeline):
            maia_pipeline.run("p")
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*test_x: @pytest.mark.maia_script: unknown keyword(s) evry: write it as "
            "maia_script('RUNNING', 'FAILED', every=None, message=None, steps=None)"
        ]
    )


def test_no_environment_under_live_is_explained(pytester: pytest.Pytester) -> None:
    from pytest_maia.core.errors import MaiaConfigError
    from pytest_maia.runs.pipelines import PipelineRunner
    from pytest_maia.runs.status_checker import StatusChecker

    runner = PipelineRunner(
        object(),  # type: ignore[arg-type]
        StatusChecker(object(), "p", timeout=1),  # type: ignore[arg-type]
        "p",
    )
    with pytest.raises(MaiaConfigError, match="MAIA_ENVIRONMENT"):
        runner.run("nightly")


def test_run_finishing_during_cleanup_is_not_reported_as_cancelled() -> None:
    from pytest_maia.fake import FakeMaia
    from pytest_maia.runs.pipelines import PipelineRunner
    from pytest_maia.runs.status_checker import StatusChecker

    with FakeMaia() as fake:
        client = fake.client()
        # RUNNING at the cleanup's status check, SUCCESS by the time it cancels
        fake.script_pipeline("racy", ["RUNNING", "RUNNING", "SUCCESS"])
        runner = PipelineRunner(
            client, StatusChecker(client, "p", timeout=60), "p", default_environment="e"
        )
        run = runner.run("racy")
        assert run.status() == "RUNNING"
        original_cancel = run.cancel

        def cancel_after_it_finished(*, force: bool = False) -> None:
            assert client.get_status("p", run.id) == "SUCCESS"
            original_cancel(force=force)

        run.cancel = cancel_after_it_finished  # type: ignore[method-assign]
        assert runner.cleanup() == []
        assert [c.status_code for c in fake.calls if c.method == "PATCH"] == [409]
