"""Fixtures shared by the client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from pytest_maia import VirtualClock


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """`responses` registrations for the test; unmatched requests fail."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock at 0 for the client under test."""
    return VirtualClock()
