"""The full loop a data engineer writes: run a pipeline, wait, assert, and clean up.

``maia_pipeline`` starts published pipelines; at teardown it cancels any run the test
left going (a timeout, a crash), so CI never leaves work running in Maia.
"""

from __future__ import annotations

import pytest

from pytest_maia import MaiaTimeoutError, PipelineRunner


def test_daily_load_end_to_end(maia_pipeline: PipelineRunner) -> None:
    run = maia_pipeline.run("daily-load", variables={"load_date": "2026-11-28"})
    run.assert_success()
    details = run.details()
    assert details.pipeline_name == "daily-load"
    assert details.finished_at is not None


@pytest.mark.maia_script("RUNNING", "RUNNING", "FAILED", every=120)
def test_broken_transform_is_caught(maia_pipeline: PipelineRunner) -> None:
    run = maia_pipeline.run("transform-orders", environment="staging")
    with pytest.raises(AssertionError, match="ended FAILED"):
        run.assert_success()


@pytest.mark.maia_script("RUNNING")
def test_a_hung_run_is_cancelled_at_teardown(maia_pipeline: PipelineRunner) -> None:
    run = maia_pipeline.run("stuck-export")
    with pytest.raises(MaiaTimeoutError):
        run.wait(timeout=600)
    # nothing to do here: maia_pipeline cancels the run when the test ends
