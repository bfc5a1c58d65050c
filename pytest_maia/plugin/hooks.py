"""The pytest plugin (entry point ``maia``): options, markers and hooks. It registers the
report objects (plugin/report_wiring.py) and exposes the fixtures (plugin/fixtures.py).

Only wiring lives here. It imports nothing heavy: the client (requests), the fake
(responses, the loopback server) and Hypothesis load when a fixture first needs them.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping

import pytest

from pytest_maia.core.errors import MaiaConfigError, MaiaValidationError
from pytest_maia.core.settings import (
    SETTINGS,
    resolve_settings,
)
from pytest_maia.core.validation import check_project_id
from pytest_maia.plugin import cassettes

# The fixtures live in plugin/fixtures.py: pytest finds a plugin's fixtures in its
# module's namespace, so the entry point imports them.
from pytest_maia.plugin.fixtures import (  # noqa: F401
    maia_client,
    maia_fake,
    maia_fake_server,
    maia_pipeline,
    maia_project_id,
    maia_run,
    maia_settings,
    maia_status,
)
from pytest_maia.plugin.interrupts import RUN_TRACKER, RunTracker
from pytest_maia.plugin.report_wiring import (
    FAILURE_LINE,
    PROPERTY_PREFIX,
    WAIT_SUMMARY,
    HtmlRows,
    WaitSummary,
)
from pytest_maia.plugin.shared import (
    FAKE_KEY,
    PROBLEM_KEY,
    RUNS_KEY,
    SCRIPT_MARKER,
    SETTINGS_KEY,
    runs_plugin,
    settings_of,
)
from pytest_maia.plugin.start_ahead import (
    PLUGIN_NAME,
    START_MARKER,
    StartAheadPlugin,
    spec_of,
)
from pytest_maia.plugin.startup_checks import marker_script, missing_environment

UNUSED_KEY = pytest.StashKey[list[str]]()  # what the test scripted and never used
ALLOW_UNUSED_INI = "maia_allow_unused"
SECRETS_HELP = (
    " Live credentials come from the environment only: MAIA_TOKEN, or MAIA_CLIENT_ID "
    "and MAIA_CLIENT_SECRET."
)
LIVE_MARKER = "maia_live"


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
            line = runs_plugin(item.config).unused_run(item)
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
