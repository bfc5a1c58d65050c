"""The plugin's report objects: the wait summary (terminal table, JUnit XML view, HTML,
JSON and GitHub reports, xdist workers' reports included) and pytest-html's column. The
hooks register them; the fixtures record what they read. The report modules load at
first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from pytest_maia.core.settings import MaiaSettings
from pytest_maia.core.text import api_text, safe
from pytest_maia.plugin.start_ahead import CANCELLED_PROPERTY

if TYPE_CHECKING:
    from pytest_maia.report.timeline import Execution, Timeline

# The rendered FailureExplanation of an assertion that failed (JUnit shows it).
FAILURE_PROPERTY = "maia_failure"
# A wait's one record (report.timeline.PROPERTY, without loading it).
TIMELINE_PROPERTY = "maia_timeline"
# Properties this plugin records on a test; cleared when a test is run again (reruns).
PROPERTY_PREFIX = "maia_"
WAIT_SUMMARY = "maia-wait-summary"
# The 1-based line of the test's own code where it failed (travels with xdist's reports).
FAILURE_LINE = "maia_failure_line"


def _executions(
    report: pytest.TestReport, test_failed: bool = False, failure_line: int | None = None
) -> list[Execution]:
    from pytest_maia.report.timeline import executions_from_properties

    found = executions_from_properties(report.nodeid, report.user_properties)
    path, line, _ = report.location
    for execution in found:
        execution.path, execution.line = path, None if line is None else line + 1
        if failure_line is not None:
            execution.line = failure_line
        execution.test_failed = test_failed or report.failed
    return found


class WaitSummary:
    """Collects the waits from every test's report (xdist workers included), prints the
    summary and writes the reports asked for."""

    def __init__(self, settings: MaiaSettings, *, junit: bool = False) -> None:
        self.settings = settings
        self.junit = junit  # this process writes JUnit XML: it gets the flat view
        self.cancelled: list[str] = []
        self._timeline: Timeline | None = None
        self.failed: set[str] = set()  # node ids whose setup or call failed
        self.failure_lines: dict[str, int] = {}
        self.virtual = settings.backend.virtual_time

    @property
    def timeline(self) -> Timeline:
        """The run's executions (made when first needed: a suite without Maia never
        loads the report modules)."""
        if self._timeline is None:
            from pytest_maia.report.timeline import VIRTUAL, WALL, Timeline

            clock = VIRTUAL if self.settings.backend.virtual_time else WALL
            self._timeline = Timeline(clock=clock)
        return self._timeline

    @pytest.hookimpl(tryfirst=True)  # before JUnit XML reads the report's properties
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.junit:
            _add_junit_view(report)
        if report.failed:
            self.failed.add(report.nodeid)
            line = getattr(report, FAILURE_LINE, None)
            if isinstance(line, int):
                self.failure_lines.setdefault(report.nodeid, line)
        if report.when == "teardown" and any(
            isinstance(name, str) and name.startswith(PROPERTY_PREFIX)
            for name, _ in report.user_properties
        ):
            from pytest_maia.report.timeline import Cancelled

            self.cancelled += [
                f"{report.nodeid}: {value}"
                for name, value in report.user_properties
                if name == CANCELLED_PROPERTY
            ]
            self.timeline.executions += _executions(
                report, report.nodeid in self.failed, self.failure_lines.get(report.nodeid)
            )
            self.timeline.cancelled += [
                Cancelled(report.nodeid, api_text(str(value)))
                for name, value in report.user_properties
                if name == CANCELLED_PROPERTY
            ]

    def add_cancelled(self, nodeid: str, text: str, *, listed: bool = False) -> None:
        """A run cancelled outside a test's report (after Ctrl-C, or at session end):
        into the reports, and into the terminal summary unless already ``listed``."""
        from pytest_maia.report.timeline import Cancelled

        text = api_text(text)  # it may quote the API (a status, an error)
        if not listed:
            self.cancelled.append(f"{nodeid}: {text}")
        self.timeline.cancelled.append(Cancelled(nodeid, text))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self) -> Iterator[None]:
        # After the plain hooks (the start-ahead plugin cancels its leftovers there),
        # before the terminal summary.
        result = yield
        self._write_files()
        return result

    def _write_files(self) -> None:
        settings = self.settings
        if not (settings.report or settings.report_json):
            return
        from pytest_maia.report.outputs import write_files

        write_files(self.timeline, html=settings.report, json=settings.report_json)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        executions = self.timeline.executions if self._timeline is not None else []
        if executions:
            from pytest_maia.report.summary import format_summary

            terminalreporter.write_sep("-", f"maia executions waited on: {len(executions)}")
            lines = format_summary(
                executions, virtual=self.virtual, width=_columns(terminalreporter)
            )
            for line in lines:
                terminalreporter.write_line(line)
        if self.cancelled:
            terminalreporter.write_sep(
                "-", f"maia pipeline runs cancelled at teardown: {len(self.cancelled)}"
            )
            for line in self.cancelled:
                terminalreporter.write_line(safe(line))
        for path in filter(None, (self.settings.report, self.settings.report_json)):
            terminalreporter.write_line(f"maia report: {path}")
        if self.settings.github and self._timeline is not None:
            from pytest_maia.report.outputs import github_outputs

            for line in github_outputs(self.timeline, os.environ):
                terminalreporter.write_line(line)


def _add_junit_view(report: pytest.TestReport) -> None:
    """Each wait's flat JUnit XML properties (``maia_execution_id``, ``maia_status``...),
    derived from its one record and put before it, in the report only (not the test's
    user_properties); once per report."""
    properties = report.user_properties
    if not any(name == TIMELINE_PROPERTY for name, _ in properties):
        return
    from pytest_maia.report.timeline import JUNIT_NAMES, from_property, junit_properties

    if any(name in JUNIT_NAMES for name, _ in properties):
        return  # already derived (or the test wrote such names itself)
    viewed: list[tuple[str, object]] = []
    for name, value in properties:
        execution = from_property(report.nodeid, value) if name == TIMELINE_PROPERTY else None
        if execution is not None:
            viewed += junit_properties(execution)
        viewed.append((name, value))
    report.user_properties = viewed


def _columns(terminalreporter: pytest.TerminalReporter) -> int:
    """The terminal's width as pytest draws its own lines (``COLUMNS`` when set)."""
    import shutil

    writer = getattr(terminalreporter, "_tw", None)
    width = getattr(writer, "fullwidth", None)
    return width if isinstance(width, int) and width > 0 else shutil.get_terminal_size().columns


class HtmlRows:
    """pytest-html (only registered when it is installed): a column with each test's
    executions, their final status and the test's timeline."""

    def __init__(self, settings: MaiaSettings) -> None:
        self.virtual = settings.backend.virtual_time
        self.drawn = False  # a row has a timeline: the page gets the legend, once

    def pytest_html_results_summary(self, prefix: list[str]) -> None:
        if self.drawn:
            from pytest_maia.report.html import legend_html

            prefix.append(legend_html())

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.append('<th class="col-maia">Maia executions</th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        from pytest_maia.report.html import execution_cell

        executions = _executions(report)
        self.drawn = self.drawn or bool(executions)
        cells.append(execution_cell(executions, virtual=self.virtual))
