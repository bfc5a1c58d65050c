"""Ctrl-C while pipelines run: :class:`RunTracker` knows the runs in progress, so that an
interrupt can say at once how many it is about to cancel.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_maia.runs.pipelines import PipelineRunner

__all__ = ["RUN_TRACKER", "RunTracker"]

RUN_TRACKER = "maia-run-tracker"


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
