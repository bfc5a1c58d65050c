"""The pytest side of cassettes: ``--maia-record``, ``--maia-backend=replay`` and the
``maia API drift`` section. Wiring only; the work is in :mod:`pytest_maia.cassette`.

Imports nothing heavy: the cassette package loads when a test is recorded or replayed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_maia.core.settings import MaiaSettings

if TYPE_CHECKING:
    from pytest_maia.cassette.record import Recorder
    from pytest_maia.client.exchange import Exchange
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.fake import FakeMaia

__all__ = ["PLUGIN_NAME", "CassettePlugin", "addoption", "cassette_path", "configure"]

PLUGIN_NAME = "maia-cassettes"
DRIFT_PROPERTY = "maia_drift"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=\[\]-]")


def addoption(group: pytest.OptionGroup) -> None:
    group.addoption(
        "--maia-record",
        dest="maia_record",
        metavar="DIR",
        default=None,
        help="live backend only: write each test's cassette to DIR/<module>/<test>.json",
    )
    group.addoption(
        "--maia-record-scrub",
        dest="maia_record_scrub",
        metavar="NAME",
        action="append",
        default=[],
        help="with --maia-record: replace the value of pipeline variable NAME (repeatable)",
    )
    group.addoption(
        "--maia-cassettes",
        dest="maia_cassettes",
        metavar="DIR",
        default=None,
        help="with --maia-backend=replay: where the recorded cassettes are",
    )
    group.addoption(
        "--maia-strict-contract",
        dest="maia_strict_contract",
        action="store_true",
        default=False,
        help="fail the run when a recorded response drifted from the API's known shapes",
    )


def cassette_path(directory: str | Path, item: pytest.Item) -> Path:
    """``DIR/<test module path, no .py>/<test name>.json`` for ``item``."""
    module, _, name = item.nodeid.partition("::")
    stem = module[:-3] if module.endswith(".py") else module
    return Path(directory, *stem.split("/"), _UNSAFE.sub("_", name.replace("::", ".")) + ".json")


def configure(config: pytest.Config, settings: MaiaSettings) -> None:
    """Check the options and register the plugin when recording, replaying or strict."""
    record = config.getoption("maia_record")
    scrub: list[str] = config.getoption("maia_record_scrub") or []
    cassettes = config.getoption("maia_cassettes")
    strict = bool(config.getoption("maia_strict_contract"))
    if record and not settings.backend.may_record:
        raise pytest.UsageError(
            "pytest-maia: --maia-record records the live API; use it with --maia-backend=live"
        )
    if scrub and not record:
        raise pytest.UsageError("pytest-maia: --maia-record-scrub needs --maia-record=DIR")
    if settings.backend.replays and not cassettes:
        raise pytest.UsageError(
            "pytest-maia: --maia-backend=replay needs --maia-cassettes=DIR (the directory "
            "a --maia-record run wrote)"
        )
    if cassettes and not settings.backend.replays:
        raise pytest.UsageError("pytest-maia: --maia-cassettes is for --maia-backend=replay")
    if record or cassettes or strict:
        secrets = [
            value
            for value in (
                settings.token.reveal() if settings.token else None,
                settings.client_secret.reveal() if settings.client_secret else None,
                settings.client_id,
            )
            if value
        ]
        plugin = CassettePlugin(record, scrub, secrets, cassettes, strict)
        config.pluginmanager.register(plugin, PLUGIN_NAME)


def plugin_of(config: pytest.Config) -> CassettePlugin | None:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    return plugin if isinstance(plugin, CassettePlugin) else None


class CassettePlugin:
    """Records each test's cassette, loads them for replay, and reports drift."""

    def __init__(
        self,
        record: str | None,
        scrub: list[str],
        secrets: list[str],
        cassettes: str | None,
        strict: bool,
    ) -> None:
        self.record = record
        self.scrub = scrub
        self._secrets = secrets
        self.cassettes = cassettes
        self.strict = strict
        self.client: MaiaClient | None = None
        self.current: Recorder | None = None
        self.drift: dict[str, list[str]] = {}  # finding -> tests (on the controller)

    def __repr__(self) -> str:
        return f"CassettePlugin(record={self.record!r}, cassettes={self.cassettes!r})"

    # -- recording ----------------------------------------------------------------

    def observe(self, exchange: Exchange) -> None:
        """The live client's observer: hands each exchange to the current test."""
        if self.current is not None:
            self.current.observe(exchange)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        if self.record and "maia_client" in getattr(item, "fixturenames", ()):
            from pytest_maia.cassette.record import Recorder

            self.current = Recorder(item.nodeid, scrub=self.scrub, secrets=self._secrets)
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        recorder = self.current
        if recorder is not None and self.client is not None:
            from pytest_maia.cassette.record import fetch_extras

            fetch_extras(self.client, recorder)
        try:
            return (yield)
        finally:
            if recorder is not None and self.record:
                self.current = None
                recorder.write(cassette_path(self.record, item))
                item.user_properties += [(DRIFT_PROPERTY, str(f)) for f in recorder.cassette.drift]

    # -- replay -------------------------------------------------------------------

    def load(self, item: pytest.Item, fake: FakeMaia, project_id: str) -> None:
        """Script ``fake`` from ``item``'s cassette; an error naming the record command
        when there is none. A test that asks for ``maia_fake`` itself is skipped, as it
        was in the live run that recorded the others."""
        if "maia_fake" in getattr(item, "fixturenames", ()):
            pytest.skip(
                "maia_fake scripts the fake itself: skipped under --maia-backend=live, so "
                "there is no recording of it to replay"
            )
        path = cassette_path(self.cassettes or ".", item)
        if not path.is_file():
            command = (
                f"pytest --maia-backend=live --maia-record={shlex.quote(str(self.cassettes))}"
                f" {shlex.quote(item.nodeid)}"
            )
            pytest.fail(
                f"no cassette for {item.nodeid} (looked for {path}); record it against the "
                f"live API with: {command}",
                pytrace=False,
            )
        fake.load_cassette(path, project_id=project_id)

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
