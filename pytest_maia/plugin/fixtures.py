"""The plugin's fixtures: maia_settings, maia_project_id, maia_fake, maia_fake_server,
maia_client, maia_status, maia_pipeline and maia_run. The entry point (plugin/hooks.py)
imports them, so pytest finds them as the ``maia`` plugin's own. The client, the fake,
the runs and the reports load when a fixture first needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal, cast

import pytest

from pytest_maia.core.backend import Backend
from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID
from pytest_maia.core.settings import MaiaSettings
from pytest_maia.core.text import api_text
from pytest_maia.plugin import cassettes
from pytest_maia.plugin.interrupts import RUN_TRACKER, RunTracker
from pytest_maia.plugin.report_wiring import (
    FAILURE_PROPERTY,
    TIMELINE_PROPERTY,
    WAIT_SUMMARY,
    WaitSummary,
)
from pytest_maia.plugin.shared import (
    FAKE_KEY,
    RUNS_KEY,
    SCRIPT_MARKER,
    SETTINGS_KEY,
    runs_plugin,
    settings_of,
)
from pytest_maia.plugin.start_ahead import CANCELLED_PROPERTY
from pytest_maia.plugin.startup_checks import marker_script

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.core.models import FailureExplanation
    from pytest_maia.fake import FakeMaia
    from pytest_maia.fake.server import FakeServer
    from pytest_maia.report.progress import Progress
    from pytest_maia.report.timeline import Execution
    from pytest_maia.runs.pipelines import PipelineRun, PipelineRunner
    from pytest_maia.runs.status_checker import StatusChecker

PROGRESS_KEY = pytest.StashKey["Progress | None"]()
FAKE_TOKEN = "fake-token"  # the fake backend accepts any non-empty bearer token


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
            budget=runs_plugin(request.config).live_budget(),
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

    for run in runs_plugin(request.config).run_for(
        request, make_checker, lambda text: _report_cancelled(request, text)
    ):
        request.node.stash.setdefault(RUNS_KEY, {})[run.id] = run
        tracker.runners.append(run._runner)
        try:
            yield run
        finally:
            tracker.runners.remove(run._runner)
