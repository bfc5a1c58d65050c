"""Fixtures shared by the client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from hypothesis import HealthCheck, settings

from pytest_maia import VirtualClock

# No test asserts wall-clock speed (speed budgets live in bench/run.py): Hypothesis' 200 ms
# per-example deadline and its too-slow health check are such assertions, and fail on a
# loaded machine. Tests that want other settings still pass them with @settings(...).
settings.register_profile(
    "pytest-maia-tests", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("pytest-maia-tests")


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """`responses` registrations for the test; unmatched requests fail."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock at 0 for the client under test."""
    return VirtualClock()
