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


ORDERS_MISSING = [
    {"name": "Start", "status": "SUCCESS"},
    {
        "name": "Run load_orders",
        "status": "FAILED",
        "message": "Child pipeline load_orders failed",
        "child": {
            "pipeline": "load_orders",
            "statuses": ["RUNNING", "FAILED"],
            "steps": [
                {
                    "name": "Write orders",
                    "status": "FAILED",
                    "message": "SQL compilation error: Object 'ORDERS' does not exist",
                }
            ],
        },
    },
]


@pytest.mark.maia_script(
    "RUNNING", "FAILED", message="Task 'Run load_orders' failed", steps=ORDERS_MISSING
)
def test_a_missing_table_fails_the_load_for_that_reason(maia_pipeline: PipelineRunner) -> None:
    # A negative test: the run must fail, and for the expected reason (the message of
    # the failing component, here inside a child pipeline), not for any other.
    run = maia_pipeline.run("nightly-load", variables={"target": "ORDERS"})
    result = run.assert_failed(match=r"Object 'ORDERS' does not exist")
    assert result.explanation is not None
    assert result.explanation.failing_steps[-1][0] == ("Run load_orders", "Write orders")


@pytest.mark.maia_script("RUNNING")
def test_a_hung_run_is_cancelled_at_teardown(maia_pipeline: PipelineRunner) -> None:
    run = maia_pipeline.run("stuck-export")
    with pytest.raises(MaiaTimeoutError):
        run.wait(timeout=600)
    # nothing to do here: maia_pipeline cancels the run when the test ends
