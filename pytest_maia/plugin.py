"""The pytest plugin (entry point ``maia``): options, fixtures, markers and reports.

Only wiring lives here. It imports nothing heavy: the client (requests), the fake
(responses, the loopback server) and Hypothesis load when a fixture first needs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import pytest

from pytest_maia import plugin_cassettes as cassettes
from pytest_maia.config import (
    FAKE_ENVIRONMENT,
    FAKE_PROJECT_ID,
    OFFLINE_BACKENDS,
    SETTINGS,
    MaiaSettings,
    resolve_settings,
)
from pytest_maia.errors import MaiaConfigError
from pytest_maia.reporting import WaitRow, format_summary, rows_from_properties, to_properties

if TYPE_CHECKING:
    from pytest_maia.assertions import StatusChecker, WaitRecord
    from pytest_maia.client import MaiaClient
    from pytest_maia.fake import FakeMaia
    from pytest_maia.fake.server import FakeServer
    from pytest_maia.pipelines import PipelineRunner

SETTINGS_KEY = pytest.StashKey[MaiaSettings]()
CANCELLED_PROPERTY = "maia_cancelled"
LIVE_MARKER = "maia_live"
SCRIPT_MARKER = "maia_script"
FAKE_TOKEN = "fake-token"  # the fake backend accepts any non-empty bearer token


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("maia", "Maia pipeline testing (pytest-maia)")
    for setting in SETTINGS:
        group.addoption(
            setting.option,
            dest=f"maia_{setting.name}",
            default=None,
            metavar=setting.name.upper(),
            help=f"{setting.help}. Env: {setting.env}; ini: {setting.ini}.",
        )
        parser.addini(setting.ini, help=f"{setting.help} (pytest-maia)", default="")
    cassettes.addoption(group)


def settings_of(config: pytest.Config) -> MaiaSettings:
    return config.stash[SETTINGS_KEY]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{LIVE_MARKER}: the test needs the live Maia API; skipped unless "
        "--maia-backend=live (MAIA_BACKEND=live).",
    )
    config.addinivalue_line(
        "markers",
        f"{SCRIPT_MARKER}(*statuses, every=None): under the fake backend, the pipeline runs "
        "the test starts with maia_pipeline follow these statuses (one step per poll, or "
        "per `every` virtual seconds).",
    )
    try:
        settings = resolve_settings(
            lambda name: config.getoption(f"maia_{name}"),
            lambda key: config.getini(key) or None,
        )
    except MaiaConfigError as exc:
        raise pytest.UsageError(f"pytest-maia: {exc}") from None
    if settings.backend == "live":
        missing = settings.missing_for_live()
        if missing:
            raise pytest.UsageError(
                "pytest-maia: --maia-backend=live needs " + "; ".join(missing) + " to be set"
            )
    config.stash[SETTINGS_KEY] = settings
    cassettes.configure(config, settings)
    if not hasattr(config, "workerinput"):  # xdist workers print nothing
        config.pluginmanager.register(WaitSummary(), "maia-wait-summary")


def pytest_report_header(config: pytest.Config) -> str:
    return settings_of(config).header()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if settings_of(config).backend in ("live", "replay"):  # replay plays a live recording
        return
    skip = pytest.mark.skip(
        reason="maia_live: needs the live Maia API (--maia-backend=live with "
        "MAIA_PROJECT_ID and MAIA_TOKEN or MAIA_CLIENT_ID/MAIA_CLIENT_SECRET)"
    )
    for item in items:
        if item.get_closest_marker(LIVE_MARKER) is not None:
            item.add_marker(skip)


class WaitSummary:
    """Collects the waits from every test's report (xdist workers included)."""

    def __init__(self) -> None:
        self.rows: list[WaitRow] = []
        self.cancelled: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.rows += rows_from_properties(report.nodeid, report.user_properties)
            self.cancelled += [
                f"{report.nodeid}: {value}"
                for name, value in report.user_properties
                if name == CANCELLED_PROPERTY
            ]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.rows:
            terminalreporter.write_sep("-", f"maia executions waited on: {len(self.rows)}")
            for line in format_summary(self.rows):
                terminalreporter.write_line(line)
        if self.cancelled:
            terminalreporter.write_sep(
                "-", f"maia pipeline runs cancelled at teardown: {len(self.cancelled)}"
            )
            for line in self.cancelled:
                terminalreporter.write_line(line)


# -- fixtures ------------------------------------------------------------------------


def _client_scope(fixture_name: str, config: pytest.Config) -> Literal["session", "function"]:
    # A live client lives for the session (one token); a fake one follows its test's fake.
    return "session" if settings_of(config).backend == "live" else "function"


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
    if maia_settings.backend not in OFFLINE_BACKENDS:
        pytest.skip("maia_fake scripts the fake backend; this run uses --maia-backend=live")
    from pytest_maia.fake import FakeMaia

    with FakeMaia(base_url=maia_settings.base_url) as fake:
        replay = cassettes.plugin_of(request.config)
        if maia_settings.backend == "replay" and replay is not None:
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
    from pytest_maia.auth import TOKEN_URL
    from pytest_maia.client import MaiaClient

    recorder = cassettes.plugin_of(request.config)
    if maia_settings.backend in OFFLINE_BACKENDS:
        fake: FakeMaia = request.getfixturevalue("maia_fake")
        client = MaiaClient(fake.base_url, token=FAKE_TOKEN, clock=fake.clock)
    else:
        client = MaiaClient(
            maia_settings.base_url,
            token=maia_settings.token,
            client_id=maia_settings.client_id,
            client_secret=maia_settings.client_secret,
            token_url=maia_settings.token_url or TOKEN_URL,
            observer=recorder.observe if recorder is not None and recorder.record else None,
        )
        if recorder is not None:
            recorder.client = client
    with client:
        yield client


@pytest.fixture
def maia_status(
    request: pytest.FixtureRequest,
    maia_client: MaiaClient,
    maia_settings: MaiaSettings,
    maia_project_id: str,
) -> StatusChecker:
    """Get, wait for and assert pipeline execution outcomes in the configured project."""
    from pytest_maia.assertions import StatusChecker

    def record(wait: WaitRecord) -> None:
        request.node.user_properties.extend(to_properties(*wait))

    return StatusChecker(
        maia_client,
        maia_project_id,
        timeout=maia_settings.timeout,
        backend=maia_settings.backend,
        record=record,
    )


def _script_for(request: pytest.FixtureRequest) -> tuple[list[str], float | None] | None:
    marker = request.node.get_closest_marker(SCRIPT_MARKER)
    if marker is None:
        return None
    unknown = set(marker.kwargs) - {"every"}
    if not marker.args or unknown:
        raise pytest.UsageError(
            f"{request.node.nodeid}: @pytest.mark.{SCRIPT_MARKER} takes statuses and "
            f"an optional every=SECONDS, e.g. {SCRIPT_MARKER}('RUNNING', 'SUCCESS')"
        )
    return list(marker.args), marker.kwargs.get("every")


@pytest.fixture
def maia_pipeline(
    request: pytest.FixtureRequest,
    maia_client: MaiaClient,
    maia_status: StatusChecker,
    maia_settings: MaiaSettings,
    maia_project_id: str,
) -> Iterator[PipelineRunner]:
    """Start pipeline runs; at teardown, cancel every run still going and say so."""
    from pytest_maia.pipelines import PipelineRunner

    before_run = None
    environment = maia_settings.environment
    if maia_settings.backend in OFFLINE_BACKENDS:
        environment = environment or FAKE_ENVIRONMENT
        script = _script_for(request)
        if script is not None and maia_settings.backend == "fake":
            fake: FakeMaia = request.getfixturevalue("maia_fake")
            statuses, every = script

            def before_run(name: str) -> None:
                fake.script_pipeline(name, statuses, every=every)

    runner = PipelineRunner(
        maia_client,
        maia_status,
        maia_project_id,
        default_environment=environment,
        before_run=before_run,
    )
    yield runner
    for run, outcome in runner.cleanup():
        request.node.user_properties.append(
            (CANCELLED_PROPERTY, f"{run.id} ({run.pipeline_name}): {outcome}")
        )
