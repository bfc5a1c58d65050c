"""The pytest plugin (entry point ``maia``): options, fixtures, markers and reports.

Only wiring lives here. It imports nothing heavy: the client (requests), the fake
(responses, the loopback server) and Hypothesis load when a fixture first needs them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Literal, cast

import pytest

from pytest_maia.core.backend import Backend
from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID
from pytest_maia.core.errors import MaiaConfigError, MaiaValidationError
from pytest_maia.core.settings import (
    SETTINGS,
    MaiaSettings,
    resolve_settings,
)
from pytest_maia.core.text import api_text, safe
from pytest_maia.core.validation import check_project_id
from pytest_maia.plugin import cassettes
from pytest_maia.plugin.interrupts import RUN_TRACKER, RunTracker
from pytest_maia.plugin.start_ahead import (
    CANCELLED_PROPERTY,
    PLUGIN_NAME,
    START_MARKER,
    StartAheadPlugin,
    spec_of,
)
from pytest_maia.plugin.startup_checks import marker_script, missing_environment

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.core.models import FailureExplanation
    from pytest_maia.fake import FakeMaia
    from pytest_maia.fake.server import FakeServer
    from pytest_maia.report.progress import Progress
    from pytest_maia.report.timeline import Execution, Timeline
    from pytest_maia.runs.pipelines import PipelineRun, PipelineRunner
    from pytest_maia.runs.status_checker import StatusChecker

SETTINGS_KEY = pytest.StashKey[MaiaSettings]()
# Why the settings could not be resolved, kept until a test uses Maia (then a UsageError).
PROBLEM_KEY = pytest.StashKey["str | None"]()
FAKE_KEY = pytest.StashKey["FakeMaia"]()  # the test's maia_fake, once made
UNUSED_KEY = pytest.StashKey[list[str]]()  # what the test scripted and never used
ALLOW_UNUSED_INI = "maia_allow_unused"
PROGRESS_KEY = pytest.StashKey["Progress | None"]()
RUNS_KEY = pytest.StashKey[dict[str, "PipelineRun"]]()
# The rendered FailureExplanation of an assertion that failed (JUnit shows it).
FAILURE_PROPERTY = "maia_failure"
# A wait's one record (report.timeline.PROPERTY, without loading it).
TIMELINE_PROPERTY = "maia_timeline"
# Properties this plugin records on a test; cleared when a test is run again (reruns).
PROPERTY_PREFIX = "maia_"
SECRETS_HELP = (
    " Live credentials come from the environment only: MAIA_TOKEN, or MAIA_CLIENT_ID "
    "and MAIA_CLIENT_SECRET."
)
LIVE_MARKER = "maia_live"
SCRIPT_MARKER = "maia_script"
FAKE_TOKEN = "fake-token"  # the fake backend accepts any non-empty bearer token


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("maia", "Maia pipeline testing (pytest-maia)")
    for setting in SETTINGS:
        extra = SECRETS_HELP if setting.name == "backend" else ""
        group.addoption(
            setting.option,
            dest=f"maia_{setting.name}",
            default=None,
            metavar=setting.name.upper(),
            help=f"{setting.help}. Env: {setting.env or '-'}; ini: {setting.ini}.{extra}",
        )
        parser.addini(setting.ini, help=f"{setting.help} (pytest-maia)", default="")
    parser.addini(
        ALLOW_UNUSED_INI,
        type="bool",
        default=False,
        help="fake backend: let a test leave scripted lifecycles unused (off: such a "
        "test fails at teardown, naming them) (pytest-maia)",
    )
    cassettes.addoption(group)


def settings_of(config: pytest.Config) -> MaiaSettings:
    """The resolved settings; a UsageError when they could not be (a test uses Maia)."""
    problem = config.stash.get(PROBLEM_KEY, None)
    if problem is not None:
        raise pytest.UsageError(problem)
    return config.stash[SETTINGS_KEY]


def _settings_problem(config: pytest.Config, env: Mapping[str, str] | None = None) -> str | None:
    """What is wrong with the configuration (never a secret's value), or None; ``env``
    instead of the process environment."""
    try:
        settings = resolve_settings(
            lambda name: config.getoption(f"maia_{name}"),
            lambda key: config.getini(key) or None,
            env,
        )
    except MaiaConfigError as exc:
        return f"pytest-maia: {exc}"
    try:
        settings = cassettes.effective_settings(config, settings)
    except pytest.UsageError as exc:
        return str(exc)
    if settings.backend.reaches_network:
        missing = settings.missing_for_live()
        if missing:
            return "pytest-maia: --maia-backend=live needs " + "; ".join(missing) + " to be set"
    if settings.project_id is not None:
        try:
            check_project_id(settings.project_id)
        except MaiaValidationError as exc:
            source = settings.sources.get("project_id", "--maia-project")
            return f"pytest-maia: {source}: {exc}"
    return None


def uses_maia(item: pytest.Item) -> bool:
    """True when a test uses a maia fixture or marker."""
    names = getattr(item, "fixturenames", ())
    return any(name.startswith("maia_") for name in names) or any(
        mark.name.startswith("maia_") for mark in item.iter_markers()
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{LIVE_MARKER}: the test needs the live Maia API; skipped unless "
        "--maia-backend=live (MAIA_BACKEND=live).",
    )
    config.addinivalue_line(
        "markers",
        f"{SCRIPT_MARKER}(*statuses, every=None, message=None, steps=None): under the fake "
        "backend, the pipeline runs the test starts with maia_pipeline follow these statuses "
        "(one step per poll, or per `every` virtual seconds), end with `message` and list "
        "`steps`.",
    )
    config.addinivalue_line(
        "markers",
        f"{START_MARKER}(pipeline, *, environment=None, variables=None, tag=None, group=None): "
        "start this test's pipeline run right after collection (at most "
        "--maia-max-concurrent at once; a group's runs one after another); maia_run "
        "gives it to the test.",
    )
    # A bad MAIA_* variable must not break a suite that never uses Maia: its problem
    # waits until a collected test uses a maia fixture or marker. Options and ini keys
    # are the suite's own choice: wrong, they stop the run at once.
    problem = _settings_problem(config)
    if problem is not None and _settings_problem(config, env={}) is not None:
        raise pytest.UsageError(problem)
    if problem is None:
        settings = resolve_settings(
            lambda name: config.getoption(f"maia_{name}"),
            lambda key: config.getini(key) or None,
        )
        settings = cassettes.effective_settings(config, settings)
    else:
        settings = resolve_settings(lambda name: None, lambda key: None, env={})
    config.stash[PROBLEM_KEY] = problem
    config.stash[SETTINGS_KEY] = settings
    config.pluginmanager.register(RunTracker(config), RUN_TRACKER)
    start_ahead = StartAheadPlugin(config, settings)
    config.pluginmanager.register(start_ahead, PLUGIN_NAME)
    if problem is None:
        try:
            cassettes.configure(config, settings)
        except pytest.UsageError as exc:
            if settings.sources.get("backend") != "MAIA_BACKEND":
                raise
            config.stash[PROBLEM_KEY] = str(exc)
    if not hasattr(config, "workerinput"):  # xdist workers print nothing
        # JUnit XML is written here (pytest's junitxml: not in an xdist worker).
        summary = WaitSummary(settings, junit=bool(getattr(config.option, "xmlpath", None)))
        config.pluginmanager.register(summary, WAIT_SUMMARY)
        # Its own section lists the runs it cancels at the end: the reports get them too.
        start_ahead.on_cancelled = lambda nodeid, text: summary.add_cancelled(
            nodeid, text, listed=True
        )
        if config.pluginmanager.hasplugin("html"):
            config.pluginmanager.register(HtmlRows(settings), "maia-html-rows")


def _progress(config: pytest.Config) -> Progress | None:
    """The live progress line (made at first use, once the terminal reporter exists):
    live waits only, as a fake's virtual wait takes no real time; never under -q or in
    an xdist worker."""
    if PROGRESS_KEY in config.stash:
        return config.stash[PROGRESS_KEY]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    progress = None
    if (
        settings_of(config).backend.reaches_network
        and reporter is not None
        and config.get_verbosity() >= 0
        and not hasattr(config, "workerinput")
    ):
        from pytest_maia.report.progress import Progress

        capture = config.pluginmanager.get_plugin("capturemanager")

        def uncaptured(action: Callable[[], None]) -> None:
            # A wait runs inside a test, whose output pytest captures: step outside it.
            if capture is None:
                action()
                return
            with capture.global_and_fixture_disabled():
                action()

        progress = Progress(
            lambda text: uncaptured(lambda: reporter.write(text, flush=True)),
            tty=bool(reporter.isatty),
            newline=lambda: uncaptured(reporter.ensure_newline),
        )
    config.stash[PROGRESS_KEY] = progress
    return progress


def pytest_report_header(config: pytest.Config) -> str:
    problem = config.stash.get(PROBLEM_KEY, None)
    if problem is not None:
        return f"maia: not configured, checked when a test uses Maia ({problem})"
    return settings_of(config).header()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(PROBLEM_KEY, None) is not None and any(map(uses_maia, items)):
        settings_of(config)  # the start-up check of a suite that uses Maia: a UsageError
    settings = config.stash[SETTINGS_KEY]
    for item in items:
        marker = item.get_closest_marker(SCRIPT_MARKER)
        if marker is not None:
            marker_script(item.nodeid, marker, SCRIPT_MARKER)
    if settings.backend.replays:  # replay plays a live recording
        return
    if settings.backend.reaches_network:
        problem = missing_environment(settings, items)
        if problem is not None:
            raise pytest.UsageError(f"pytest-maia: {problem}")
        return
    skip = pytest.mark.skip(
        reason="maia_live: needs the live Maia API (--maia-backend=live with "
        "MAIA_PROJECT_ID and MAIA_TOKEN or MAIA_CLIENT_ID/MAIA_CLIENT_SECRET)"
    )
    for item in items:
        if item.get_closest_marker(LIVE_MARKER) is not None:
            item.add_marker(skip)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A rerun (pytest-rerunfailures) runs the same item again: each attempt reports
    # its own waits only, so drop what an earlier attempt recorded.
    item.user_properties[:] = [
        prop
        for prop in item.user_properties
        if not (isinstance(prop[0], str) and prop[0].startswith(PROPERTY_PREFIX))
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # The "every scripted run was used" check, taken when the test body has passed
    # (before teardown cancels, and so reads, what is still going); failed at teardown.
    result = yield
    settings = item.config.stash[SETTINGS_KEY]  # a test without Maia: never a UsageError
    if settings.backend.scripted_by_test and not item.config.getini(ALLOW_UNUSED_INI):
        unused = _unused(item)
        if unused:
            item.stash[UNUSED_KEY] = unused
    return result


def _unused(item: pytest.Item) -> list[str]:
    fake = item.stash.get(FAKE_KEY, None)
    if fake is not None and fake.unused_allowed:
        return []
    lines = [] if fake is None else fake.unused()
    marker = item.get_closest_marker(SCRIPT_MARKER)
    if marker is not None:
        if spec_of(item) is not None:
            line = _runs_plugin(item.config).unused_run(item)
            lines += [line] if line else []
        elif not item.stash.get(RUNS_KEY, None):
            lines.append(
                f"@pytest.mark.{SCRIPT_MARKER}: the test started no pipeline run with "
                "maia_pipeline, so the script was never used"
            )
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    result = yield
    unused = item.stash.get(UNUSED_KEY, None)
    if unused:
        del item.stash[UNUSED_KEY]
        lines = "\n".join(f"  {line}" for line in unused)
        pytest.fail(
            f"pytest-maia: scripted for this test and never used ({len(unused)}):\n{lines}\n"
            "A scripted run the test never starts or polls checks nothing: start it and "
            "wait for it or assert on it, remove it, or call maia_fake.allow_unused() "
            f"(ini: {ALLOW_UNUSED_INI} = true).",
            pytrace=False,
        )
    return result


WAIT_SUMMARY = "maia-wait-summary"
# The 1-based line of the test's own code where it failed (travels with xdist's reports).
FAILURE_LINE = "maia_failure_line"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.excinfo is not None:
        line = _line_in_test(item, call.excinfo)
        if line is not None:
            setattr(report, FAILURE_LINE, line)
    return report


def _line_in_test(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> int | None:
    """The deepest line of the traceback in the test's own file (the failing assertion
    or call, not the library frames under it, nor the decorator), 1-based."""
    path = getattr(item, "path", None)
    found = None
    for entry in excinfo.traceback:
        if path is not None and entry.path == path:
            found = entry.lineno + 1
    return found


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


# -- fixtures ------------------------------------------------------------------------


def _runs_plugin(config: pytest.Config) -> StartAheadPlugin:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(plugin, StartAheadPlugin)
    return plugin


def _live_here(request: pytest.FixtureRequest) -> bool:
    """Under ``--maia-record-mode=once``: this test has no cassette, so it runs live."""
    plugin = cassettes.plugin_of(request.config)
    return plugin is not None and plugin.live_here(request.node.nodeid)


def _client_scope(fixture_name: str, config: pytest.Config) -> Literal["session", "function"]:
    # A live client lives for the session (one token); a fake one follows its test's fake.
    return "session" if config.stash[SETTINGS_KEY].backend.reaches_network else "function"


@pytest.fixture(scope="session")
def maia_settings(pytestconfig: pytest.Config) -> MaiaSettings:
    """The resolved pytest-maia configuration (never shows secrets)."""
    return settings_of(pytestconfig)


@pytest.fixture(scope="session")
def maia_project_id(maia_settings: MaiaSettings) -> str:
    """The project the fixtures use: --maia-project, or a fixed id under the fake."""
    return maia_settings.project_id or FAKE_PROJECT_ID


@pytest.fixture
def maia_fake(request: pytest.FixtureRequest, maia_settings: MaiaSettings) -> Iterator[FakeMaia]:
    """The in-process fake of the Maia API, shared by every Maia fixture of the test."""
    if not maia_settings.backend.offline or _live_here(request):
        pytest.skip("maia_fake scripts the fake backend; this run uses --maia-backend=live")
    from pytest_maia.fake import FakeMaia

    with FakeMaia(base_url=maia_settings.base_url) as fake:
        request.node.stash[FAKE_KEY] = fake
        replay = cassettes.plugin_of(request.config)
        if maia_settings.backend.replays and replay is not None:
            replay.load(request.node, fake, maia_settings.project_id or FAKE_PROJECT_ID)
        yield fake


@pytest.fixture
def maia_fake_server(maia_fake: FakeMaia) -> Iterator[FakeServer]:
    """The test's fake served over loopback HTTP (``.url``), for non-requests clients."""
    with maia_fake.serve() as server:
        yield server


@pytest.fixture(scope=_client_scope)
def maia_client(
    request: pytest.FixtureRequest, maia_settings: MaiaSettings
) -> Iterator[MaiaClient]:
    """A MaiaClient for the configured backend: the test's fake, or the live API."""
    from pytest_maia.client.maia_client import MaiaClient

    recorder = cassettes.plugin_of(request.config)
    live_here = _live_here(request)
    if live_here and maia_settings.missing_for_live():
        pytest.fail(
            f"pytest-maia: {request.node.nodeid} has no cassette, so --maia-record-mode=once "
            "runs it live, which needs " + "; ".join(maia_settings.missing_for_live()),
            pytrace=False,
        )
    if maia_settings.backend.offline and not live_here:
        fake: FakeMaia = request.getfixturevalue("maia_fake")
        # Straight to the fake, past any responses / requests_mock the test starts.
        client = fake.client(token=FAKE_TOKEN)
    else:
        client = MaiaClient.from_settings(
            maia_settings,
            budget=_runs_plugin(request.config).live_budget(),
            observer=recorder.observe if recorder is not None and recorder.record else None,
        )
        if recorder is not None:
            recorder.client = client  # reads each execution's details at the test's end
    try:
        with client:
            yield client
    finally:
        if recorder is not None and live_here:
            recorder.client = None


@pytest.fixture
def maia_status(
    request: pytest.FixtureRequest,
    maia_client: MaiaClient,
    maia_settings: MaiaSettings,
    maia_project_id: str,
) -> StatusChecker:
    """Get, wait for and assert pipeline execution outcomes in the configured project."""
    owner_of = None
    if maia_settings.backend.scripted_by_test:
        owner_of = request.getfixturevalue("maia_fake").project_of
    policy = maia_settings.wait_policy()
    return _status_checker(
        request, maia_client, maia_project_id, owner_of, policy.interval, policy.max_interval
    )


def _status_checker(
    request: pytest.FixtureRequest,
    client: MaiaClient,
    project_id: str,
    owner_of: Callable[[str], str | None] | None,
    interval: float,
    max_interval: float,
) -> StatusChecker:
    """A StatusChecker whose waits reach every report: each wait's one record goes into
    the test's user_properties, which the summary table, JUnit XML, the HTML, JSON and
    GitHub reports and pytest-html read; and the live progress line. ``maia_status``
    and ``maia_run`` both wait through one."""
    from pytest_maia.runs.status_checker import StatusChecker

    settings = settings_of(request.config)

    def record(execution: Execution) -> None:
        from pytest_maia.report.timeline import to_property

        request.node.user_properties.append((TIMELINE_PROPERTY, to_property(execution)))

    def explained(why: FailureExplanation) -> None:
        request.node.user_properties.append((FAILURE_PROPERTY, why.render()))

    return StatusChecker(
        client,
        project_id,
        timeout=settings.wait_policy().timeout,
        backend=Backend.LIVE if _live_here(request) else settings.backend,
        record=record,
        observer=_progress(request.config),
        on_explained=explained,
        owner_of=owner_of,
        interval=interval,
        max_interval=max_interval,
    )


@pytest.fixture
def maia_pipeline(
    request: pytest.FixtureRequest,
    maia_client: MaiaClient,
    maia_status: StatusChecker,
    maia_settings: MaiaSettings,
    maia_project_id: str,
) -> Iterator[PipelineRunner]:
    """Start pipeline runs; at teardown, cancel every run still going and say so."""
    from pytest_maia.runs.pipelines import PipelineRunner

    before_run = None
    environment = maia_settings.environment
    if maia_settings.backend.offline and not _live_here(request):
        environment = environment or FAKE_ENVIRONMENT
        marker = request.node.get_closest_marker(SCRIPT_MARKER)
        # Under replay the cassette scripts the runs; the marker is for the fake only.
        if marker is not None and maia_settings.backend.scripted_by_test:
            script = marker_script(request.node.nodeid, marker, SCRIPT_MARKER)
            fake: FakeMaia = request.getfixturevalue("maia_fake")

            def before_run(name: str) -> None:
                script.apply(fake, name)

    runner = PipelineRunner(
        maia_client,
        maia_status,
        maia_project_id,
        default_environment=environment,
        default_version=maia_settings.version,
        before_run=before_run,
        after_run=lambda run: request.node.stash.setdefault(RUNS_KEY, {}).update({run.id: run}),
    )
    tracker = cast(RunTracker, request.config.pluginmanager.get_plugin(RUN_TRACKER))
    tracker.runners.append(runner)
    try:
        yield runner
    finally:
        tracker.runners.remove(runner)
        for run, outcome in runner.cleanup():
            _report_cancelled(request, f"{run.id} ({run.pipeline_name}): {outcome}")


def _report_cancelled(request: pytest.FixtureRequest, text: str) -> None:
    """List a run a test's teardown cancelled, in its report (or, after Ctrl-C, when no
    teardown report carries properties, straight in the summary and the reports). The
    text may quote the API (a status, an error): escaped and cut."""
    text = api_text(text)
    tracker = cast(RunTracker, request.config.pluginmanager.get_plugin(RUN_TRACKER))
    summary: WaitSummary | None = request.config.pluginmanager.get_plugin(WAIT_SUMMARY)
    if tracker.interrupted and summary is not None:
        summary.add_cancelled(request.node.nodeid, text)
    else:
        request.node.user_properties.append((CANCELLED_PROPERTY, text))


@pytest.fixture
def maia_run(request: pytest.FixtureRequest) -> Iterator[PipelineRun]:
    """The run ``@pytest.mark.maia_start(...)`` started ahead for this test (maybe already
    finished): wait for it and assert on it. Still going at teardown: cancelled."""
    tracker = cast(RunTracker, request.config.pluginmanager.get_plugin(RUN_TRACKER))

    def make_checker(
        client: MaiaClient,
        interval: float,
        max_interval: float,
        owner_of: Callable[[str], str | None] | None,
    ) -> StatusChecker:
        project_id = settings_of(request.config).project_id or FAKE_PROJECT_ID
        return _status_checker(request, client, project_id, owner_of, interval, max_interval)

    for run in _runs_plugin(request.config).run_for(
        request, make_checker, lambda text: _report_cancelled(request, text)
    ):
        request.node.stash.setdefault(RUNS_KEY, {})[run.id] = run
        tracker.runners.append(run._runner)
        try:
            yield run
        finally:
            tracker.runners.remove(run._runner)
