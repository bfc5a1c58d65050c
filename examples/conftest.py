"""Shared set-up for the example suite: the lifecycles a data engineer scripts offline.

Under the default fake backend these executions exist in the in-process fake; under
``--maia-backend=live`` the tests marked ``maia_live`` run against the real API instead.
"""

from __future__ import annotations

import pytest

from pytest_maia import FakeMaia


@pytest.fixture
def nightly_load(maia_fake: FakeMaia, maia_project_id: str) -> str:
    """A nightly load that runs for 40 minutes, polled on the fake's virtual clock."""
    return maia_fake.add_execution(maia_project_id, ["RUNNING"] * 40 + ["SUCCESS"], every=60)


@pytest.fixture
def broken_transform(maia_fake: FakeMaia, maia_project_id: str) -> str:
    """A transform whose warehouse query fails after a few minutes."""
    return maia_fake.add_execution(maia_project_id, ["RUNNING", "RUNNING", "FAILED"], every=90)
