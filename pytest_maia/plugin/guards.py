"""Start-up checks and Ctrl-C handling for the plugin: plain helpers the plugin wires.

Checked before any test runs: the ``maia_script`` markers, and that a live run whose
tests use ``maia_pipeline`` has an environment. :class:`RunTracker` knows the runs in
progress, so that Ctrl-C can say at once how many it is about to cancel.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from pytest_maia.core.errors import MaiaValidationError

if TYPE_CHECKING:
    from pytest_maia.core.settings import MaiaSettings
    from pytest_maia.plugin.script_marker import MarkerScript
    from pytest_maia.runs.pipelines import PipelineRunner

__all__ = ["RUN_TRACKER", "RunTracker", "marker_script", "missing_environment"]

ENVIRONMENT_FIX = (
    "which runs pipelines in an environment: set --maia-environment, MAIA_ENVIRONMENT "
    "or the maia_environment ini key"
)


def marker_script(nodeid: str, marker: pytest.Mark, name: str) -> MarkerScript:
    """The checked arguments of a ``maia_script`` marker; a UsageError when wrong."""
    from pytest_maia.plugin.script_marker import script_from_marker

    try:
        return script_from_marker(marker.args, marker.kwargs)
    except MaiaValidationError as exc:
        raise pytest.UsageError(f"{nodeid}: @pytest.mark.{name}: {exc}") from None


def missing_environment(settings: MaiaSettings, items: Sequence[pytest.Item]) -> str | None:
    """Why a live run cannot start its tests' pipelines (no environment), or None."""
    if settings.environment:
        return None
    users = [i.nodeid for i in items if "maia_pipeline" in getattr(i, "fixturenames", ())]
    if not users:
        return None
    if len(users) == 1:
        return f"{users[0]} uses maia_pipeline, {ENVIRONMENT_FIX}"
    return f"{users[0]} (and {len(users) - 1} more) use maia_pipeline, {ENVIRONMENT_FIX}"


RUN_TRACKER = "maia-run-tracker"
WAIT_SUMMARY = "maia-wait-summary"


class RunTracker:
    """The pipeline runners of the tests in progress, for a Ctrl-C to name at once."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.runners: list[PipelineRunner] = []
        self.interrupted = False

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True
        going = sum(not run.finished for runner in self.runners for run in runner.runs)
        if not going:
            return
        line = f"pytest-maia: interrupted, cancelling {going} pipeline run(s)"
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(line, bold=True)
            reporter.flush()
        else:
            print(line, file=sys.stderr, flush=True)
