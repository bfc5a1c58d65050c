"""A suite of pipelines that run side by side: start-ahead with ``maia_start``.

Each test's pipeline starts right after collection (at most ``--maia-max-concurrent``
at once); the test takes its run from ``maia_run`` and asserts on it. The two mart
pipelines write the same tables, so they share a ``group`` and never overlap.
"""

from __future__ import annotations

import pytest

from pytest_maia import PipelineRun, PipelineRunner


@pytest.mark.maia_start("load-orders", variables={"load_date": "2026-11-28"})
def test_orders_load(maia_run: PipelineRun) -> None:
    maia_run.assert_success()


@pytest.mark.maia_script("RUNNING", "RUNNING", "SUCCESS", every=600)
@pytest.mark.maia_start("load-customers")
def test_customers_load(maia_run: PipelineRun) -> None:
    result = maia_run.assert_success()
    assert result.status == "SUCCESS"


@pytest.mark.maia_start("rebuild-orders-mart", group="orders-mart")
def test_rebuild_orders_mart(maia_run: PipelineRun) -> None:
    maia_run.assert_success()


@pytest.mark.maia_start("refresh-orders-mart", group="orders-mart")
def test_refresh_orders_mart(maia_run: PipelineRun) -> None:
    maia_run.assert_success()


@pytest.mark.maia_script("RUNNING", "SUCCESS", every=300)
def test_a_batch_in_one_test(maia_pipeline: PipelineRunner) -> None:
    runs = maia_pipeline.run_many(["export-a", "export-b", "export-c"])
    results = maia_pipeline.wait_all(runs)
    assert all(result.status == "SUCCESS" for result in results)
