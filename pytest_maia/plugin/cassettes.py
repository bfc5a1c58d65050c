"""The pytest side of cassettes: ``--maia-cassettes`` and ``--maia-record-mode`` (record
under ``--maia-backend=live``, replay under ``--maia-backend=replay``), the deprecated
``--maia-record`` and the ``maia API drift`` section. Wiring only; the work is in
:mod:`pytest_maia.cassette`.

Imports nothing heavy: the cassette package loads when a test is recorded or replayed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shlex
import threading
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest

from pytest_maia.core.backend import Backend
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.settings import MaiaSettings
from pytest_maia.plugin.start_ahead import PLUGIN_NAME as START_AHEAD

if TYPE_CHECKING:
    from pytest_maia.cassette.record import Recorder
    from pytest_maia.client.exchange import Exchange
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.fake import FakeMaia
    from pytest_maia.runs.pipelines import RunSpec

__all__ = ["PLUGIN_NAME", "CassettePlugin", "addoption", "cassette_path", "configure"]

PLUGIN_NAME = "maia-cassettes"
RECORD_MODES = ("none", "once", "all")
# A test that uses one of these (maia_status and maia_pipeline use maia_client) is
# recorded.
RECORDED_FIXTURES = frozenset({"maia_client", "maia_run"})
SKIPPED_KEY = pytest.StashKey[bool]()
NO_CASSETTE_KEY = pytest.StashKey[str]()  # replay: why the test has no cassette
SEEN_KEY = pytest.StashKey[int]()  # replay: the session fake's misses before the test
FAKE_KEY = pytest.StashKey["FakeMaia"]()
DRIFT_PROPERTY = "maia_drift"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=\[\]-]")


def addoption(group: pytest.OptionGroup) -> None:
    group.addoption(
        "--maia-cassettes",
        dest="maia_cassettes",
        metavar="DIR",
        default=None,
        help="the cassette folder (DIR/<module>/<test>.json): with --maia-backend=live, "
        "record every test into it; with --maia-backend=replay, replay from it",
    )
    group.addoption(
        "--maia-record-mode",
        dest="maia_record_mode",
        metavar="MODE",
        choices=RECORD_MODES,
        default=None,
        help="what happens to --maia-cassettes: none (replay only, strict: the default "
        "under --maia-backend=replay), once (run a test with no cassette live and record "
        "it, replay the others), all (run every test live and record it: the default, "
        "and the only mode, under --maia-backend=live); once and all need live credentials",
    )
    group.addoption(
        "--maia-record-scrub",
        dest="maia_record_scrub",
        metavar="NAME",
        action="append",
        default=[],
        help="when recording: replace the value of pipeline variable NAME (repeatable)",
    )
    group.addoption(
        "--maia-record",
        dest="maia_record",
        metavar="DIR",
        default=None,
        help="deprecated: use --maia-backend=live --maia-cassettes=DIR (records every test "
        "into DIR)",
    )
    group.addoption(
        "--maia-strict-contract",
        dest="maia_strict_contract",
        action="store_true",
        default=False,
        help="fail the run when a recorded response drifted from the API's known shapes",
    )


def cassette_path(directory: str | Path, item: pytest.Item | str) -> Path:
    """``DIR/<test module path, no .py>/<test name>.json`` for ``item`` (or a node id)."""
    nodeid = item if isinstance(item, str) else item.nodeid
    module, _, name = nodeid.partition("::")
    stem = module[:-3] if module.endswith(".py") else module
    return Path(directory, *stem.split("/"), cassette_name(name))


# A file name stays well under the usual 255-byte limit, with room for ".json".
MAX_NAME = 120


def cassette_name(name: str) -> str:
    """The file name of test ``name``'s cassette (the node id after the module), unique
    per name: a class's ``::`` becomes ``.``; a name that needed other characters
    replaced (``a/b``, ``a b``, ``a:b`` all give ``a_b``), or that is longer than
    ``MAX_NAME``, is cut and given a short hash of the name, so no two tests share a
    file and none is too long to write."""
    head, bracket, params = name.partition("[")
    plain = head.replace("::", ".") + bracket + params
    safe = _UNSAFE.sub("_", plain)
    if safe == plain and len(safe) <= MAX_NAME:
        return safe + ".json"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{safe[: MAX_NAME - 17]}-{digest}.json"


def record_mode(config: pytest.Config) -> str | None:
    """``--maia-record-mode`` (None when not given)."""
    mode = config.getoption("maia_record_mode", None)
    return mode if isinstance(mode, str) else None


def effective_settings(config: pytest.Config, settings: MaiaSettings) -> MaiaSettings:
    """The settings the session runs with: ``--maia-backend=replay
    --maia-record-mode=all`` runs every test live (recording into ``--maia-cassettes``)."""
    mode = record_mode(config)
    if mode is not None and not settings.backend.replays:
        if not settings.backend.may_record:
            raise pytest.UsageError(
                f"pytest-maia: --maia-record-mode={mode} is for --maia-backend=replay "
                "(or live, where every test is recorded)"
            )
        if mode != "all":
            raise pytest.UsageError(
                f"pytest-maia: --maia-record-mode={mode} replays cassettes: use it with "
                "--maia-backend=replay (under --maia-backend=live every test runs live, "
                "and --maia-cassettes=DIR records them all)"
            )
    if mode == "all" and settings.backend.replays:
        sources = {**settings.sources, "backend": "--maia-record-mode=all"}
        return dataclasses.replace(settings, backend=Backend.LIVE, sources=sources)
    return settings


DEPRECATED_RECORD = (
    "--maia-record=DIR is deprecated: use --maia-cassettes=DIR, which under "
    "--maia-backend=live records every test into DIR as --maia-record did "
    "(--maia-record-mode=once under --maia-backend=replay records only what is missing)"
)


def configure(config: pytest.Config, settings: MaiaSettings) -> None:
    """Check the options and register the plugin when recording, replaying or strict.

    One folder (``--maia-cassettes``), one mode (``--maia-record-mode``): under
    ``--maia-backend=live`` every test is recorded into the folder (mode ``all``, the
    only one there; ``effective_settings`` turns replay with ``all`` into live); under
    ``--maia-backend=replay`` ``none`` replays, ``once`` records what is missing.
    ``--maia-record=DIR`` is the deprecated spelling of live with ``--maia-cassettes=DIR``.
    """
    legacy = config.getoption("maia_record")
    scrub: list[str] = config.getoption("maia_record_scrub") or []
    cassettes = config.getoption("maia_cassettes")
    strict = bool(config.getoption("maia_strict_contract"))
    mode = record_mode(config)
    if legacy:
        if cassettes:
            raise pytest.UsageError(
                "pytest-maia: --maia-record (deprecated) and --maia-cassettes both name the "
                "cassette folder; keep --maia-cassettes"
            )
        if mode is not None:
            raise pytest.UsageError(
                f"pytest-maia: --maia-record-mode={mode} goes with --maia-cassettes=DIR; "
                "leave out --maia-record (deprecated)"
            )
        if not settings.backend.may_record:
            raise pytest.UsageError(
                "pytest-maia: --maia-record records the live API; use it with "
                "--maia-backend=live (or rather --maia-backend=live --maia-cassettes=DIR)"
            )
        if not hasattr(config, "workerinput"):  # once per run: not in xdist workers
            try:
                config.issue_config_time_warning(
                    pytest.PytestDeprecationWarning(DEPRECATED_RECORD), stacklevel=2
                )
            except pytest.PytestDeprecationWarning:  # filterwarnings = error: no traceback
                raise pytest.UsageError(
                    f"pytest-maia: {DEPRECATED_RECORD} (an error here, as filterwarnings "
                    "makes warnings errors)"
                ) from None
        cassettes = legacy
    live = settings.backend.may_record
    replays = settings.backend.replays
    if mode is not None and not cassettes:
        raise pytest.UsageError(
            f"pytest-maia: --maia-record-mode={mode} needs --maia-cassettes=DIR (the "
            "cassette folder)"
        )
    if replays and not cassettes:
        raise pytest.UsageError(
            "pytest-maia: --maia-backend=replay needs --maia-cassettes=DIR (the folder a "
            "--maia-backend=live --maia-cassettes=DIR run recorded)"
        )
    if cassettes and not (live or replays):
        raise pytest.UsageError(
            "pytest-maia: --maia-cassettes is for --maia-backend=live (record every test "
            "into it) or --maia-backend=replay (replay from it)"
        )
    record: str | None = cassettes if live or mode == "once" else None
    if scrub and not record:
        raise pytest.UsageError(
            "pytest-maia: --maia-record-scrub needs a run that records: "
            "--maia-backend=live --maia-cassettes=DIR, or --maia-backend=replay "
            "--maia-cassettes=DIR --maia-record-mode=once"
        )
    if replays and not Path(cassettes).is_dir():
        raise pytest.UsageError(
            f"pytest-maia: --maia-cassettes={cassettes}: no such directory; record the "
            f"cassettes first: pytest --maia-backend=live --maia-cassettes={cassettes}"
        )
    replay_from: str | None = cassettes if replays else None
    if record or replay_from or strict:
        secrets = [
            value
            for value in (
                settings.token.reveal() if settings.token else None,
                settings.client_secret.reveal() if settings.client_secret else None,
                settings.client_id,
            )
            if value
        ]
        plugin = CassettePlugin(record, scrub, secrets, replay_from, strict, mode=mode)
        config.pluginmanager.register(plugin, PLUGIN_NAME)
        ahead = config.pluginmanager.get_plugin(START_AHEAD)
        if ahead is not None and record:
            ahead.observer = plugin.observe_ahead
            ahead.on_claim = plugin.claimed
        if ahead is not None and replay_from:
            ahead.replay_start = plugin.replay_start
        if ahead is not None and mode == "once":
            ahead.live_key = plugin.live_here


def plugin_of(config: pytest.Config) -> CassettePlugin | None:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    return plugin if isinstance(plugin, CassettePlugin) else None


def rerecord_command(cassettes: str | None, nodeid: str) -> str:
    """The command that records test ``nodeid`` again into ``cassettes``."""
    return (
        f"pytest --maia-backend=live --maia-cassettes={shlex.quote(str(cassettes))}"
        f" {shlex.quote(nodeid)}"
    )


class CassettePlugin:
    """Records each test's cassette, loads them for replay, and reports drift."""

    def __init__(
        self,
        record: str | None,
        scrub: list[str],
        secrets: list[str],
        cassettes: str | None,
        strict: bool,
        *,
        mode: str | None = None,
    ) -> None:
        self.record = record
        self.mode = mode
        self.scrub = scrub
        self._secrets = secrets
        self.cassettes = cassettes
        self.strict = strict
        self.client: MaiaClient | None = None
        self.current: Recorder | None = None
        self.drift: dict[str, list[str]] = {}  # finding -> tests (on the controller)
        # Start-ahead runs: the recorder of each test whose run started before it ran,
        # and the recorder each started execution's reads go to.
        self.ahead: dict[str, Recorder] = {}
        self.by_execution: dict[str, Recorder] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"CassettePlugin(record={self.record!r}, cassettes={self.cassettes!r})"

    def live_here(self, nodeid: str) -> bool:
        """``--maia-record-mode=once``: test ``nodeid`` has no cassette, so it runs live
        (and is recorded); every other test replays."""
        return self.mode == "once" and self.missing(nodeid) is not None

    # -- recording ----------------------------------------------------------------

    def _recorder(self, nodeid: str) -> Recorder:
        from pytest_maia.cassette.record import Recorder

        return Recorder(nodeid, scrub=self.scrub, secrets=self._secrets)

    def observe(self, exchange: Exchange) -> None:
        """The live client's observer: hands each exchange to the current test."""
        with self._lock:
            if self.current is not None:
                self.current.observe(exchange)

    def observe_ahead(self, exchange: Exchange, key: str | None) -> None:
        """The start-ahead clients' observer: a start goes to the cassette of the test
        it is for (``key``), a later read of that run to the same cassette, anything
        else to the current test's."""
        from pytest_maia.cassette.drift import route_of

        with self._lock:
            if key is not None:
                recorder = self.ahead.get(key)
                if recorder is None:
                    current = self.current
                    if current is not None and current.cassette.test == key:
                        recorder = current
                    else:
                        recorder = self.ahead[key] = self._recorder(key)
                recorder.observe(exchange)
                execution_id = recorder.started_id(exchange)
                if execution_id is not None:
                    recorder.mark_start_ahead(execution_id)
                    self.by_execution[execution_id] = recorder
                return
            route = route_of(exchange.method, exchange.path)
            target = self.by_execution.get(route.execution_id or "") or self.current
            if target is not None:
                target.observe(exchange)

    def claimed(self, nodeid: str, spec: RunSpec, execution_id: str, project_id: str) -> None:
        """A test claimed its start-ahead run: its cassette holds the run, even when
        another process (an xdist worker) started it."""
        with self._lock:
            recorder = self.current
            if recorder is None or recorder.cassette.test != nodeid:
                return
            recorder.adopt_start(
                execution_id,
                project_id,
                pipeline=spec.pipeline,
                environment=spec.environment,
                variables=dict(spec.variables) if spec.variables else {},
                tag=spec.tag,
            )
            self.by_execution[execution_id.lower()] = recorder

    def _session_fake(self, item: pytest.Item) -> FakeMaia | None:
        """Replay: the session fake the runs started ahead go to (made at collection)."""
        ahead = item.config.pluginmanager.get_plugin(START_AHEAD)
        fake = getattr(ahead, "fake", None) if self.cassettes else None
        return cast("FakeMaia | None", fake)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        session_fake = self._session_fake(item)
        if session_fake is not None:  # its misses from now on are this test's
            item.stash[SEEN_KEY] = len(session_fake.replay_misses)
            session_fake.strict_replay(rerecord_command(self.cassettes, item.nodeid))
        fixtures = set(getattr(item, "fixturenames", ()))
        recording = self.mode != "once" or self.live_here(item.nodeid)
        if self.record and recording and fixtures & RECORDED_FIXTURES:
            with self._lock:
                self.current = self.ahead.pop(item.nodeid, None) or self._recorder(item.nodeid)
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.skipped:
            item.stash[SKIPPED_KEY] = True  # skipped live: nothing to write
        if call.when != "call" or not report.passed:
            return report
        missing = item.stash.get(NO_CASSETTE_KEY, None)
        if missing is not None:
            # It made no request (else it would have failed on the first): still unchecked.
            report.outcome = "failed"
            report.longrepr = missing
            return report
        fake = item.stash.get(FAKE_KEY, None)
        misses = list(fake.replay_misses) if fake is not None else []
        session_fake = self._session_fake(item)
        if session_fake is not None:  # its runs started ahead
            misses += session_fake.replay_misses[item.stash.get(SEEN_KEY, 0) :]
        if misses:
            # The test caught the error (or never looked): it still did not replay.
            report.outcome = "failed"
            report.longrepr = "\n".join(
                ["the test made requests its cassette does not hold:", *misses]
            )
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        recorder = self.current
        client = self.client or self._ahead_client(item)
        if recorder is not None and client is not None:
            from pytest_maia.cassette.record import fetch_extras

            fetch_extras(client, recorder)
        try:
            return (yield)
        finally:
            if recorder is not None and self.record:
                with self._lock:
                    self.current = None
                    for key, value in list(self.by_execution.items()):
                        if value is recorder:
                            del self.by_execution[key]
                if not item.stash.get(SKIPPED_KEY, False):
                    recorder.write(cassette_path(self.record, item))
                    item.user_properties += [
                        (DRIFT_PROPERTY, str(f)) for f in recorder.cassette.drift
                    ]

    def _ahead_client(self, item: pytest.Item) -> MaiaClient | None:
        ahead = item.config.pluginmanager.get_plugin(START_AHEAD)
        client = getattr(ahead, "client", None)
        return cast("MaiaClient | None", client)

    # -- replay -------------------------------------------------------------------

    def missing(self, nodeid: str) -> str | None:
        """Why test ``nodeid`` cannot be replayed (no cassette), or None."""
        path = cassette_path(self.cassettes or ".", nodeid)
        if path.is_file():
            return None
        return (
            f"no cassette for {nodeid} (looked for {path}); record it against the live "
            f"API with: {rerecord_command(self.cassettes, nodeid)}"
        )

    def load(self, item: pytest.Item, fake: FakeMaia, project_id: str) -> None:
        """Script ``fake`` from ``item``'s cassette, strictly. With no cassette the fake
        holds nothing: the test's first request fails naming the record command, and a
        test that passes without a request fails all the same (one that skips before
        any request stays skipped, as it wrote no cassette live). A test that asks for
        ``maia_fake`` itself is skipped, as it was in the live run."""
        from pytest_maia.cassette.model import Cassette

        if "maia_fake" in getattr(item, "fixturenames", ()):
            pytest.skip(
                "maia_fake scripts the fake itself: skipped under --maia-backend=live, so "
                "there is no recording of it to replay"
            )
        command = rerecord_command(self.cassettes, item.nodeid)
        missing = self.missing(item.nodeid)
        if missing is not None:
            item.stash[NO_CASSETTE_KEY] = missing
            path = cassette_path(self.cassettes or ".", item.nodeid)
            fake.load_cassette(Cassette(item.nodeid), rerecord=f"{command} (no cassette at {path})")
        else:
            fake.load_cassette(
                cassette_path(self.cassettes or ".", item.nodeid),
                project_id=project_id,
                rerecord=command,
            )
        item.stash[FAKE_KEY] = fake

    def replay_start(self, fake: FakeMaia, key: str, spec: RunSpec) -> None:
        """Script the session fake's start of test ``key``'s run from its cassette;
        MaiaValidationError naming the request and the record command when the
        cassette does not hold it (the test then fails with it)."""
        from pytest_maia.cassette.model import read
        from pytest_maia.cassette.replay import load_start_ahead

        path = cassette_path(self.cassettes or ".", key)
        command = rerecord_command(self.cassettes, key)
        missing = self.missing(key)
        if missing is not None:
            raise MaiaValidationError(missing)
        fake.strict_replay(command)  # strict from the first start on
        if not load_start_ahead(fake, read(path), spec.pipeline):
            raise MaiaValidationError(
                f"not recorded: POST /v1/projects/{{projectId}}/pipeline-executions "
                f"(pipeline {spec.pipeline!r}, started ahead): the cassette of {key} holds "
                f"no start-ahead run of it; replay serves only what the cassette holds. "
                f"Re-record the test with: {command}"
            )

    # -- drift report -------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            for name, value in report.user_properties:
                if name == DRIFT_PROPERTY:
                    self.drift.setdefault(str(value), []).append(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.drift:
            return
        strict = " (--maia-strict-contract: the run fails)" if self.strict else ""
        terminalreporter.write_sep("-", f"maia API drift: {len(self.drift)} finding(s){strict}")
        for finding, tests in sorted(self.drift.items()):
            terminalreporter.write_line(f"{finding}  [{len(tests)} test(s), first {tests[0]}]")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.strict and self.drift and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
