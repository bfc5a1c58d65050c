"""Start-ahead wiring: ``@pytest.mark.maia_start``, ``maia_run`` and the suite's budget.

After collection, the selected tests marked ``maia_start`` are planned in a
:class:`~pytest_maia.runs.startahead.StartAhead` queue and the first runs start at once.
Without xdist the queue lives in memory. Under xdist every worker plans the same runs
in a file store in the session's shared temp directory, so the workers share one
queue (a run starts once, in whichever worker gets to it) and one request budget;
the controller cancels the leftovers at the end. Under the fake backend the runs go
to one session fake on loopback with a virtual clock; with xdist each worker has its
own fake, so runs start when their tests do (nothing to gain offline).

Light at import: the client, the fake and ``filelock`` load when first needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID
from pytest_maia.core.errors import MaiaError, MaiaValidationError
from pytest_maia.core.settings import MaiaSettings
from pytest_maia.plugin.wait_records import to_properties
from pytest_maia.runs.pipelines import PipelineRun, RunSpec

if TYPE_CHECKING:
    from pytest_maia.client.budget import RequestBudget
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.core.models import WaitResult
    from pytest_maia.core.shared_state import StateStore
    from pytest_maia.runs.startahead import StartAhead

__all__ = ["START_MARKER", "StartAheadPlugin", "spec_of"]

START_MARKER = "maia_start"
PLUGIN_NAME = "maia-start-ahead"
CANCELLED_PROPERTY = "maia_cancelled"
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
        return RunSpec(marker.args[0], **marker.kwargs)
    except MaiaValidationError as exc:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{START_MARKER}: {exc}") from None


def shared_dir(config: pytest.Config) -> Path:
    """The session's temp directory that every xdist worker shares."""
    base = Path(config._tmp_path_factory.getbasetemp())  # type: ignore[attr-defined]
    return base.parent if hasattr(config, "workerinput") else base


class StartAheadPlugin:
    """The session's start-ahead queue, its poller thread and the request budget."""

    def __init__(self, config: pytest.Config, settings: MaiaSettings) -> None:
        self.config = config
        self.settings = settings
        self.worker: str | None = getattr(config, "workerinput", {}).get("workerid")
        self.xdist = self.worker is not None or bool(getattr(config.option, "numprocesses", 0))
        self.queue: StartAhead | None = None
        self.client: MaiaClient | None = None
        self.fake: Any = None  # the session fake (fake backend without xdist)
        self.cancelled: list[str] = []
        self._store: StateStore | None = None
        self._budget: RequestBudget | None = None
        self._scripts: dict[str, tuple[list[str], float | None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closers: list[Callable[[], object]] = []

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

    def live_client(self) -> MaiaClient:
        from pytest_maia.client.maia_client import MaiaClient

        return MaiaClient.from_settings(self.settings, budget=self.live_budget())

    @property
    def project_id(self) -> str:
        return self.settings.project_id or FAKE_PROJECT_ID

    @property
    def environment(self) -> str | None:
        env = self.settings.environment
        return env or (FAKE_ENVIRONMENT if self.settings.backend.scripted_by_test else None)

    # -- collection: plan and start -------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Before xdist's own hook: --dist loadgroup then keeps a group on one worker.
        if not self.config.pluginmanager.hasplugin("xdist"):
            return
        for item in items:
            spec = spec_of(item)
            if spec is not None and spec.group is not None:
                item.add_marker(pytest.mark.xdist_group(f"maia-{spec.group}"))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.config.option.collectonly:
            return  # --collect-only starts nothing
        planned: list[tuple[str, RunSpec]] = []
        for item in session.items:
            spec = spec_of(item)
            # A test marked skip will not run: its pipeline is not started ahead.
            if spec is not None and item.get_closest_marker("skip") is None:
                planned.append((item.nodeid, spec))
                script = item.get_closest_marker("maia_script")
                if script is not None and script.args:
                    self._scripts[item.nodeid] = (list(script.args), script.kwargs.get("every"))
        if not planned:
            return
        self.queue = self._make_queue()
        self.queue.plan(planned)
        self.queue.pump()
        if self.settings.backend.reaches_network:
            self._thread = threading.Thread(
                target=self.queue.run_poller, args=(self._stop,), name="maia-poller", daemon=True
            )
            self._thread.start()

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

        def start(key: str, spec: RunSpec) -> str:
            environment = spec.environment or self.environment
            if not environment:
                raise MaiaValidationError(
                    f"no environment for {spec.pipeline!r}: pass environment= to "
                    "maia_start, or set --maia-environment"
                )
            if script is not None:
                script(key, spec)
            return client.execute_pipeline(
                project,
                spec.pipeline,
                environment,
                scalar_variables=dict(spec.variables) if spec.variables else None,
                execution_tag=spec.tag,
            )

        policy = s.wait_policy()
        return StartAhead(
            start,
            lambda execution_id, within: client.get_status(project, execution_id, within=within),
            max_concurrent=limit,
            clock=client.clock,
            policy=policy,
            state=store,
            owner=self.worker or "main",
        )

    def _fake_session(self) -> tuple[MaiaClient, Callable[[str, RunSpec], None]]:
        from pytest_maia.client.budget import RequestBudget
        from pytest_maia.core.clock import VirtualClock
        from pytest_maia.fake import FakeMaia

        fake = self.fake = FakeMaia(clock=VirtualClock())
        serving = fake.serve()
        server = serving.__enter__()
        self._closers.append(lambda: serving.__exit__(None, None, None))
        budget = RequestBudget(self.settings.max_requests_per_minute, clock=fake.clock)
        client = server.client(budget=budget)
        self._closers.append(client.close)

        def script(key: str, spec: RunSpec) -> None:
            statuses, every = self._scripts.get(key, (["RUNNING", "SUCCESS"], None))
            fake.script_pipeline(spec.pipeline, statuses, every=every)

        return client, script

    # -- tests ------------------------------------------------------------------------------

    def run_for(self, request: pytest.FixtureRequest) -> Iterator[PipelineRun]:
        """What ``maia_run`` yields: the test's started-ahead run; released at teardown."""
        from pytest_maia.core.wait_policy import delay_after
        from pytest_maia.runs.pipelines import PipelineRunner
        from pytest_maia.runs.status_checker import StatusChecker

        node = request.node
        spec = spec_of(node)
        if spec is None or self.queue is None or self.client is None:
            raise pytest.UsageError(
                f"{node.nodeid}: maia_run needs @pytest.mark.{START_MARKER}(pipeline, ...) "
                "on the test"
            )
        queue, client, s = self.queue, self.client, self.settings
        claim = queue.claim(node.nodeid, timeout=s.timeout)
        if claim.execution_id is None:
            queue.release(node.nodeid)
            pytest.fail(f"maia_start({spec.pipeline!r}): {claim.error}", pytrace=False)
        holder: list[PipelineRun] = []

        def record(result: WaitResult, outcome: str) -> None:
            ended = None if outcome.startswith(("TIMEOUT", "ERROR")) else client.clock.now()
            started = holder[0].started_at
            node.user_properties.extend(
                to_properties(result, outcome, started=started, ended=ended)
            )

        # The test's waits go on with the backoff the run has reached since it started,
        # as if it had been polled from its start: a run claimed late is not polled
        # from the first, short interval again.
        elapsed = client.clock.now() - (claim.started or client.clock.now())
        checker = StatusChecker(
            client,
            self.project_id,
            timeout=s.timeout,
            backend=s.backend,
            record=record,
            interval=delay_after(queue.policy, elapsed),
            max_interval=queue.policy.max_interval,
        )
        environment = claim.spec.environment or self.environment or ""
        runner = PipelineRunner(client, checker, self.project_id, default_environment=environment)
        run = PipelineRun(
            claim.execution_id, spec.pipeline, environment, runner, started_at=claim.started
        )
        runner.runs.append(run)
        holder.append(run)
        try:
            yield run
        finally:
            try:
                for left, outcome in runner.cleanup():
                    node.user_properties.append(
                        (CANCELLED_PROPERTY, f"{left.id} ({left.pipeline_name}): {outcome}")
                    )
            finally:
                # -x or --maxfail has already stopped the session: start nothing more.
                stopping = bool(request.session.shouldstop or request.session.shouldfail)
                queue.release(node.nodeid, start_next=not stopping)

    # -- the end ------------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            if self.worker is None:
                self._cancel_leftovers()
        finally:
            for close in reversed(self._closers):
                close()
            self._closers.clear()

    def _cancel_leftovers(self) -> None:
        queue = self.queue
        if queue is None and self.xdist and self.settings.backend.reaches_network:
            queue = self._reader()
        if queue is None:
            return
        leftovers = queue.leftovers()
        if not leftovers:
            return
        client = self.client or self.live_client()
        from pytest_maia.core.errors import ConflictError

        for key, spec, execution_id in leftovers:
            try:
                client.cancel_execution(self.project_id, execution_id)
                outcome = "cancel requested"
            except ConflictError:
                outcome = "had already finished"
            except MaiaError as exc:
                outcome = f"could not cancel: {exc}"
            self.cancelled.append(f"{key}: {execution_id} ({spec.pipeline}): {outcome}")

    def _reader(self) -> StartAhead | None:
        from pytest_maia.client.waiting import WaitPolicy
        from pytest_maia.core.shared_state import FileState
        from pytest_maia.runs.startahead import StartAhead

        directory = shared_dir(self.config)
        if not (directory / "maia-shared.json").exists():
            return None

        def never(*_: Any) -> Any:
            raise AssertionError("the controller starts and polls nothing")

        from pytest_maia.core.clock import SystemClock

        return StartAhead(
            never,
            never,
            max_concurrent=0,
            clock=SystemClock(),
            policy=WaitPolicy(),
            state=FileState(directory),
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.cancelled:
            terminalreporter.write_sep(
                "-",
                f"maia start-ahead runs whose tests never ran, cancelled at session end: "
                f"{len(self.cancelled)}",
            )
            for line in self.cancelled:
                terminalreporter.write_line(line)


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
