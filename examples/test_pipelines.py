"""An end-to-end suite a data engineer would copy: assert pipeline outcomes in CI.

Runs offline by default (``pytest examples``): every execution is scripted in the
built-in fake, and a 40-minute pipeline takes milliseconds on its virtual clock.
"""

from __future__ import annotations

import os

import pytest

from pytest_maia import ExecutionStatus, FakeMaia, MaiaTimeoutError, StatusChecker


def test_nightly_load_succeeds(maia_status: StatusChecker, nightly_load: str) -> None:
    # longer than the default 30-minute timeout (--maia-timeout), so allow an hour
    result = maia_status.assert_success(nightly_load, timeout=3600)
    assert result.elapsed >= 40 * 60  # forty virtual minutes, no real waiting


def test_failing_pipeline_is_caught(maia_status: StatusChecker, broken_transform: str) -> None:
    with pytest.raises(AssertionError, match="ended FAILED, expected SUCCESS"):
        maia_status.assert_success(broken_transform)


def test_cancelled_run_is_reported_as_cancelled(
    maia_fake: FakeMaia, maia_status: StatusChecker, maia_project_id: str
) -> None:
    run = maia_fake.add_execution(maia_project_id, ["RUNNING", "CANCELLING", "CANCELLED"])
    maia_status.assert_final(run, ExecutionStatus.CANCELLED)


def test_waiter_rides_out_rate_limits_and_outages(
    maia_fake: FakeMaia, maia_status: StatusChecker, maia_project_id: str
) -> None:
    run = maia_fake.add_execution(
        maia_project_id,
        [
            "RUNNING",
            FakeMaia.error(429, retry_after=30),
            FakeMaia.error(503, detail="maintenance"),
            "SUCCESS",
        ],
    )
    result = maia_status.assert_success(run)
    assert len(result.errors) == 2


def test_a_stuck_pipeline_times_out(
    maia_fake: FakeMaia, maia_status: StatusChecker, maia_project_id: str
) -> None:
    run = maia_fake.add_execution(maia_project_id, ["RUNNING"])
    with pytest.raises(MaiaTimeoutError, match="last status: RUNNING"):
        maia_status.wait(run, timeout=15 * 60)


@pytest.mark.maia_live
def test_production_pipeline_last_run(maia_status: StatusChecker) -> None:
    """Runs only with --maia-backend=live: checks an execution id given by the CI job."""
    execution_id = os.environ.get("NIGHTLY_EXECUTION_ID")
    if not execution_id:
        pytest.skip("set NIGHTLY_EXECUTION_ID to the execution to check")
    maia_status.assert_success(execution_id)
