"""The rules the suite holds itself to (tests/conftest.py): a test that starts a process is
marked e2e, and every test has a timeout."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_an_unmarked_test_that_starts_a_process_fails_naming_the_marker() -> None:
    with pytest.raises(AssertionError, match=r"starts a process: mark it @pytest\.mark\.e2e"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)


@pytest.mark.e2e
def test_a_marked_test_may_start_a_process() -> None:
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0


def test_every_test_has_a_timeout(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("timeout")
    assert marker is not None and marker.args == (300,)
