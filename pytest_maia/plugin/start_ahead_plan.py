"""Start-ahead planning: what a ``maia_start`` marker asks for, and the session's pieces.

:func:`spec_of` reads a test's marker, :func:`will_run` and :func:`check_takes_run` say
which tests plan a run; :class:`StartAheadSession` holds what the queue needs (the state
store, the live budget and clients, the session fake) and builds the
:class:`~pytest_maia.runs.startahead.StartAhead` queue. The hooks that use them are in
:mod:`pytest_maia.plugin.start_ahead`.

Light at import: the client, the fake and ``filelock`` load when first needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.settings import MaiaSettings

if TYPE_CHECKING:
    from pytest_maia.client.budget import RequestBudget
    from pytest_maia.client.exchange import Exchange
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.core.shared_state import StateStore
    from pytest_maia.plugin.script_marker import MarkerScript
    from pytest_maia.runs.pipelines import RunSpec
    from pytest_maia.runs.startahead import StartAhead

__all__ = [
    "RUN_FIXTURE",
    "SCRIPT_MARKER",
    "START_MARKER",
    "StartAheadSession",
    "check_takes_run",
    "shared_dir",
    "spec_of",
    "will_run",
]

START_MARKER = "maia_start"
SCRIPT_MARKER = "maia_script"
RUN_FIXTURE = "maia_run"
_SPEC_KEYS = {"environment", "variables", "tag", "group"}


def spec_of(item: pytest.Item) -> RunSpec | None:
    """The run ``item``'s ``maia_start`` marker asks for, if it has one."""
    marker = item.get_closest_marker(START_MARKER)
    if marker is None:
        return None
    if len(marker.args) != 1 or set(marker.kwargs) - _SPEC_KEYS:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.{START_MARKER} takes a pipeline name and optional "
            "environment=, variables=, tag=, group=, e.g. maia_start('daily-load')"
        )
    try:
        from pytest_maia.runs.pipelines import RunSpec  # a test with the marker only

        return RunSpec(marker.args[0], **marker.kwargs)
    except MaiaValidationError as exc:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{START_MARKER}: {exc}") from None


def will_run(item: pytest.Item) -> bool:
    """False for a test pytest will not run: ``skip``, ``skipif`` with a true condition,
    ``xfail(run=False)`` (unless ``--runxfail``). A condition that cannot be evaluated
    counts as will-run: pytest reports it when it reaches the test."""
    from _pytest.skipping import evaluate_skip_marks, evaluate_xfail_marks

    try:
        if evaluate_skip_marks(item) is not None:
            return False
        xfailed = None if item.config.option.runxfail else evaluate_xfail_marks(item)
    except (Exception, pytest.fail.Exception):  # a bad condition: pytest's to report
        return True
    return xfailed is None or xfailed.run


def check_takes_run(item: pytest.Item) -> None:
    """A ``maia_start`` test must take ``maia_run``: else its run would start ahead and
    never be waited on (a usage error naming the test)."""
    if RUN_FIXTURE not in getattr(item, "fixturenames", ()):
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.{START_MARKER} starts a run ahead for the test's "
            f"{RUN_FIXTURE} fixture, and the test does not take {RUN_FIXTURE}: add "
            f"{RUN_FIXTURE} to its arguments (or start the run with maia_pipeline.run() and "
            "drop the marker)"
        )


def shared_dir(config: pytest.Config) -> Path:
    """The session's temp directory that every xdist worker shares."""
    base = Path(config._tmp_path_factory.getbasetemp())  # type: ignore[attr-defined]
    return base.parent if hasattr(config, "workerinput") else base


class StartAheadSession:
    """The session's start-ahead pieces: state store, live budget and clients, the
    session fake, and the queue built from them (the plugin adds the hooks)."""

    def __init__(self, config: pytest.Config, settings: MaiaSettings) -> None:
        self.config = config
        self.settings = settings
        self.worker: str | None = getattr(config, "workerinput", {}).get("workerid")
        self.xdist = self.worker is not None or bool(getattr(config.option, "numprocesses", 0))
        self.queue: StartAhead | None = None
        self.client: MaiaClient | None = None
        self.fake: Any = None  # the session fake (fake backend without xdist)
        self._store: StateStore | None = None
        self._budget: RequestBudget | None = None
        self._scripts: dict[str, MarkerScript] = {}
        self._closers: list[Callable[[], object]] = []
        # Set by the cassette plugin while recording: each live exchange, with the key
        # of the test whose run is being started (None for any other request).
        self.observer: Callable[[Exchange, str | None], None] | None = None
        # ... and a claimed run, so that the test's cassette has it wherever it started.
        self.on_claim: Callable[[str, RunSpec, str, str], None] | None = None
        # Under replay: scripts the session fake for a test's run, from its cassette.
        self.replay_start: Callable[[Any, str, RunSpec], None] | None = None
        # Under replay with --maia-record-mode=once: the tests whose runs start live
        # (they have no cassette), and the ids of the runs started so.
        self.live_key: Callable[[str], bool] | None = None
        self._live_ids: set[str] = set()
        self.client_of: Callable[[str], MaiaClient] = lambda _: cast("MaiaClient", self.client)
        self._local = threading.local()

    # -- shared pieces ----------------------------------------------------------------

    def store(self) -> StateStore:
        if self._store is None:
            from pytest_maia.core.shared_state import FileState, MemoryState

            self._store = FileState(shared_dir(self.config)) if self.xdist else MemoryState()
        return self._store

    def live_budget(self) -> RequestBudget:
        """The live suite's one budget (real clock; shared by xdist workers)."""
        if self._budget is None:
            from pytest_maia.client.budget import RequestBudget
            from pytest_maia.core.clock import SystemClock

            limit = self.settings.max_requests_per_minute
            self._budget = RequestBudget(limit, clock=SystemClock(), state=self.store())
        return self._budget

    def live_client(self, *, own_budget: bool = False) -> MaiaClient:
        """A live client on the suite's shared budget (``own_budget``: one of its own)."""
        from pytest_maia.client.budget import RequestBudget
        from pytest_maia.client.maia_client import MaiaClient
        from pytest_maia.core.clock import SystemClock

        budget = self.live_budget()
        if own_budget:
            limit = self.settings.max_requests_per_minute
            budget = RequestBudget(limit, clock=SystemClock())
        return MaiaClient.from_settings(
            self.settings,
            budget=budget,
            observer=self._observe if self.observer is not None else None,
        )

    def _observe(self, exchange: Exchange) -> None:
        if self.observer is not None:
            self.observer(exchange, getattr(self._local, "key", None))

    @property
    def project_id(self) -> str:
        return self.settings.project_id or FAKE_PROJECT_ID

    @property
    def environment(self) -> str | None:
        env = self.settings.environment
        # The fake's default environment, for runs the fake or a replay starts.
        return env or (FAKE_ENVIRONMENT if self.settings.backend.offline else None)

    def _make_queue(self) -> StartAhead:
        from pytest_maia.runs.startahead import StartAhead

        s = self.settings
        limit = s.max_concurrent
        store: StateStore | None = None
        if s.backend.reaches_network:
            # One client per thread: the poller thread and the tests never share one.
            per_thread = _PerThread(self.live_client)
            self._closers.append(per_thread.close)
            client = cast("MaiaClient", per_thread)
            store = self.store()
            script = None
        else:
            client, script = self._fake_session()
            if self.xdist:
                limit = 0  # each worker's fake is its own: start each run with its test
        self.client = client
        project = self.project_id
        live_key = self.live_key
        live: MaiaClient | None = None
        if live_key is not None:  # a test with no cassette starts its run live
            per_thread = _PerThread(self.live_client)
            self._closers.append(per_thread.close)
            live = cast("MaiaClient", per_thread)

        def client_of(execution_id: str) -> MaiaClient:
            return live if live is not None and execution_id in self._live_ids else client

        def start(key: str, spec: RunSpec) -> str:
            if live is not None and live_key is not None and live_key(key):
                environment = environment_of(
                    spec, s.environment, f" (started live: {key} has no cassette)"
                )
                execution_id = execute(live, key, spec, environment)
                self._live_ids.add(execution_id)
                return execution_id
            environment = environment_of(spec, self.environment, "")
            if script is not None:
                script(key, spec)
            return execute(client, key, spec, environment)

        def environment_of(spec: RunSpec, default: str | None, why: str) -> str:
            environment = spec.environment or default
            if not environment:
                raise MaiaValidationError(
                    f"no environment for {spec.pipeline!r}{why}: pass environment= to "
                    "maia_start, or set --maia-environment"
                )
            return environment

        def execute(via: MaiaClient, key: str, spec: RunSpec, environment: str) -> str:
            self._local.key = key  # the recorder files this start under the test
            try:
                return via.execute_pipeline(
                    project,
                    spec.pipeline,
                    environment,
                    scalar_variables=dict(spec.variables) if spec.variables else None,
                    execution_tag=spec.tag,
                    version=s.version,
                )
            finally:
                self._local.key = None

        self.client_of = client_of
        policy = s.wait_policy()
        return StartAhead(
            start,
            lambda execution_id, within: client_of(execution_id).get_status(
                project, execution_id, within=within
            ),
            max_concurrent=limit,
            clock=client.clock,
            policy=policy,
            state=store,
            owner=self.worker or "main",
            on_started=self._journal if store is not None else None,
        )

    def _journal(self, key: str, spec: RunSpec, execution_id: str) -> None:
        """Note a run this process started, beside the shared state: if that file is
        damaged, the controller still finds every run to cancel."""
        from pytest_maia.runs.leftovers import note_started

        note_started(shared_dir(self.config), key, spec, execution_id)

    def _fake_session(self) -> tuple[MaiaClient, Callable[[str, RunSpec], None]]:
        from pytest_maia.client.budget import RequestBudget
        from pytest_maia.core.clock import VirtualClock
        from pytest_maia.fake import FakeMaia

        fake = self.fake = FakeMaia(clock=VirtualClock())
        # Only its own client reaches it (past any HTTP mock of the tests): the tests'
        # maia_fake may serve the same base URL.
        fake.start(intercept_requests=False)
        self._closers.append(fake.stop)
        budget = RequestBudget(self.settings.max_requests_per_minute, clock=fake.clock)
        client = fake.client(budget=budget)
        self._closers.append(client.close)

        def script(key: str, spec: RunSpec) -> None:
            if self.replay_start is not None:
                self.replay_start(fake, key, spec)  # the test's cassette, strictly
                return
            # The test's maia_script, for this execution only (once=True): another
            # test's run of the pipeline gets its own script, or the default lifecycle.
            marker = self._scripts.get(key)
            if marker is not None:
                marker.apply(fake, spec.pipeline, once=True)

        return client, script


class _PerThread:
    """A MaiaClient per thread, made on first use by ``factory``; closes them all."""

    def __init__(self, factory: Callable[[], MaiaClient]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._all: list[MaiaClient] = []
        self._lock = threading.Lock()

    def _here(self) -> MaiaClient:
        client: MaiaClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
            with self._lock:
                self._all.append(client)
        return client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._here(), name)

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            client.close()
