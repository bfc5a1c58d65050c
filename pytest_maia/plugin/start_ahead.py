"""Start-ahead wiring: ``@pytest.mark.maia_start``, ``maia_run`` and the suite's budget.

After collection, the selected tests marked ``maia_start`` are planned in a
:class:`~pytest_maia.runs.startahead.StartAhead` queue and the first runs start at once.
Without xdist the queue lives in memory. Under xdist every worker plans the same runs
in a file store in the session's shared temp directory, so the workers share one
queue (a run starts once, in whichever worker gets to it) and one request budget;
the controller cancels the leftovers at the end, and the runs a worker held when it
died. Under the fake backend the runs go to one session fake on loopback with a
virtual clock; with xdist each worker has its own fake, so runs start when their tests
do (nothing to gain offline). A test's ``maia_script`` marker scripts its run.

Only tests that will run are planned: not those marked ``skip``, ``skipif`` with a
true condition or ``xfail(run=False)``. After Ctrl-C nothing new starts.

Light at import: the client, the fake and ``filelock`` load when first needed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID
from pytest_maia.core.errors import MaiaError, MaiaValidationError
from pytest_maia.core.settings import MaiaSettings
from pytest_maia.plugin.startup_checks import marker_script

if TYPE_CHECKING:
    from pytest_maia.client.budget import RequestBudget
    from pytest_maia.client.exchange import Exchange
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.core.shared_state import StateStore
    from pytest_maia.plugin.script_marker import MarkerScript
    from pytest_maia.runs.pipelines import PipelineRun, RunSpec
    from pytest_maia.runs.startahead import Leftover, StartAhead
    from pytest_maia.runs.status_checker import StatusChecker

    # (client, first poll interval, longest poll interval, owner_of) -> the test's checker
    CheckerFactory = Callable[
        [MaiaClient, float, float, Callable[[str], str | None] | None], StatusChecker
    ]

__all__ = ["START_MARKER", "StartAheadPlugin", "spec_of"]

START_MARKER = "maia_start"
SCRIPT_MARKER = "maia_script"
PLUGIN_NAME = "maia-start-ahead"
CANCELLED_PROPERTY = "maia_cancelled"
RUN_FIXTURE = "maia_run"
NEVER_RAN = "its test never ran"  # pytest_maia.runs.startahead's word for a leftover
JOURNAL = "maia-started.jsonl"  # every run a process started, for a damaged shared state
_SPEC_KEYS = {"environment", "variables", "tag", "group"}
# A test's scripted start-ahead run: (execution id, its polls when claimed, polls reader).
SCRIPTED_RUN = pytest.StashKey[tuple[str, int, Callable[[str], int]]]()


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
        # Told of each run cancelled at the end, as (test node id, text): the reports.
        self.on_cancelled: Callable[[str, str], None] | None = None
        self.interrupted = False
        self.problems: list[str] = []  # why the end could not read the shared state
        self._all_never_ran = True
        self._store: StateStore | None = None
        self._budget: RequestBudget | None = None
        self._scripts: dict[str, MarkerScript] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
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

    # -- collection: plan and start -------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_pycollect_makeitem(
        self, collector: pytest.Collector
    ) -> Generator[None, object, object]:
        # A maia_start test that does not take maia_run is an error collecting its
        # module: reported as such, under xdist too (a worker's UsageError is lost).
        made = yield
        for item in made if isinstance(made, list) else [made]:
            if isinstance(item, pytest.Function) and item.get_closest_marker(START_MARKER):
                try:
                    check_takes_run(item)
                except pytest.UsageError as exc:
                    raise collector.CollectError(str(exc)) from None
        return made

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
        planned: list[tuple[str, RunSpec]] = []
        for item in session.items:
            spec = spec_of(item)
            if spec is None:
                continue
            check_takes_run(item)
            # A test that will not run (skip, skipif, xfail(run=False)) starts nothing.
            if not self.config.option.collectonly and will_run(item):
                planned.append((item.nodeid, spec))
                script = item.get_closest_marker(SCRIPT_MARKER)
                if script is not None:
                    self._scripts[item.nodeid] = marker_script(item.nodeid, script, SCRIPT_MARKER)
        if not planned:
            return  # --collect-only starts nothing
        if session.testsfailed and not self.config.option.continue_on_collection_errors:
            return  # collection errors stop the session before any test: start nothing
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
        line = json.dumps({"key": key, "pipeline": spec.pipeline, "id": execution_id})
        path = shared_dir(self.config) / JOURNAL
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

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

    # -- tests ------------------------------------------------------------------------------

    def run_for(
        self,
        request: pytest.FixtureRequest,
        make_checker: CheckerFactory,
        report_cancelled: Callable[[str], None],
    ) -> Iterator[PipelineRun]:
        """What ``maia_run`` yields: the test's started-ahead run; released at teardown.

        ``make_checker`` builds the test's StatusChecker (wired to every report, as
        ``maia_status`` is); ``report_cancelled`` lists a run its teardown cancelled.
        """
        from pytest_maia.core.shared_state import SharedStateError
        from pytest_maia.core.wait_policy import delay_after
        from pytest_maia.runs.pipelines import PipelineRun, PipelineRunner

        node = request.node
        spec = spec_of(node)
        if spec is None or self.queue is None or self.client is None:
            raise pytest.UsageError(
                f"{node.nodeid}: maia_run needs @pytest.mark.{START_MARKER}(pipeline, ...) "
                "on the test"
            )
        queue, client, s = self.queue, self.client, self.settings
        damaged: SharedStateError | None = None
        try:
            claim = queue.claim(node.nodeid, timeout=s.timeout)
        except SharedStateError as exc:
            damaged = exc
        if damaged is not None:
            pytest.fail(f"maia_start({spec.pipeline!r}): {damaged}", pytrace=False)
        if claim.execution_id is None:
            queue.release(node.nodeid, start_next=not self._stopping(request))
            pytest.fail(f"maia_start({spec.pipeline!r}): {claim.error}", pytrace=False)
        client = self.client_of(claim.execution_id)
        started_live = client is not self.client  # under replay, for a test to record
        if self.on_claim is not None:
            self.on_claim(node.nodeid, claim.spec, claim.execution_id, self.project_id)
        # The test's waits go on with the backoff the run has reached since it started,
        # as if it had been polled from its start: a run claimed late is not polled
        # from the first, short interval again.
        elapsed = queue.clock.now() - (claim.started or queue.clock.now())
        fake = None if started_live else self.fake
        checker = make_checker(
            client,
            delay_after(queue.policy, elapsed),
            queue.policy.max_interval,
            None if fake is None else fake.project_of,
        )
        default = s.environment if started_live else self.environment
        environment = claim.spec.environment or default or ""
        runner = PipelineRunner(client, checker, self.project_id, default_environment=environment)
        run = PipelineRun(
            claim.execution_id, spec.pipeline, environment, runner, started_at=claim.started
        )
        runner.runs.append(run)
        checker.pipeline_names[run.id] = run.pipeline_name  # for the reports
        if run.started_at is not None:
            checker.run_started[run.id] = run.started_at
        if fake is not None and node.nodeid in self._scripts:
            # For the "every scripted run was used" check: polls by the test from here.
            node.stash[SCRIPTED_RUN] = (run.id, fake.polls(run.id), fake.polls)
        try:
            yield run
        finally:
            try:
                for left, outcome in runner.cleanup():
                    report_cancelled(f"{left.id} ({left.pipeline_name}): {outcome}")
            finally:
                queue.release(node.nodeid, start_next=not self._stopping(request))

    def _stopping(self, request: pytest.FixtureRequest) -> bool:
        """-x, --maxfail or Ctrl-C has stopped the session: start nothing more."""
        session = request.session
        return bool(self.interrupted or session.shouldstop or session.shouldfail)

    def unused_run(self, item: pytest.Item) -> str | None:
        """The line naming ``item``'s scripted start-ahead run if the test never polled
        it (status or details), else None."""
        scripted = item.stash.get(SCRIPTED_RUN, None)
        if scripted is None:
            return None
        execution_id, before, polls = scripted
        if polls(execution_id) > before:
            return None
        spec = spec_of(item)
        pipeline = spec.pipeline if spec is not None else "?"
        return (
            f"@pytest.mark.{SCRIPT_MARKER} on a {START_MARKER} test: execution "
            f"{execution_id} ({pipeline}) was never polled (wait for it or assert on "
            f"{RUN_FIXTURE})"
        )

    def pytest_keyboard_interrupt(self) -> None:
        # Ctrl-C: nothing new starts, here or in any worker sharing the queue.
        self.interrupted = True
        if self.queue is not None:
            self.queue.stop()

    # -- the end ------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # trylast: after pytest's own teardown of the fixtures still set up (a test that
        # Ctrl-C stopped), so that its run is cancelled by its teardown, not left over.
        self._stop.set()
        if self.queue is not None and self.worker is None:
            # The whole session is over. (Not from a worker: another may still be
            # running tests that claim queued runs.)
            self.queue.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            if self.worker is None:
                self._cancel_leftovers()
        finally:
            for close in reversed(self._closers):
                close()
            self._closers.clear()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        # xdist, on the controller: a worker went down. If it died (kill -9, a crash),
        # cancel at once the runs it held; its queued runs go on in the other workers.
        if error and self.settings.backend.reaches_network:
            self._cancel_leftovers(lost_only=True)

    def _cancel_leftovers(self, *, lost_only: bool = False) -> None:
        queue = self.queue
        if queue is None and self.xdist and self.settings.backend.reaches_network:
            queue = self._reader()
        if queue is None:
            return  # nothing was planned: a suite without maia_start loads nothing more
        from pytest_maia.core.shared_state import SharedStateError
        from pytest_maia.runs.startahead import damaged_error as _damaged

        journaled = False
        try:
            if not queue.has_plan() and (shared_dir(self.config) / JOURNAL).exists():
                raise _damaged(queue.state, "has lost its plan of start-ahead runs")
            leftovers = queue.leftovers(lost_only=lost_only)
        except SharedStateError as exc:
            if lost_only:
                return  # said once, at the end
            self.problems.append(f"pytest-maia: {exc}")
            leftovers, journaled = self._journaled(queue), True
        if not leftovers:
            return
        # All workers are done: with the shared state damaged (the request budget lives
        # there too), the controller's few cancels take a budget of their own.
        client = self.client or self.live_client(own_budget=journaled)
        try:
            for left in leftovers:
                text = self._cancel(client, left, journaled, queue)
                if text is None:
                    continue
                self.cancelled.append(f"{left.key}: {text}")
                self._all_never_ran = self._all_never_ran and left.why == NEVER_RAN
                if self.on_cancelled is not None:
                    self.on_cancelled(left.key, text)
        finally:
            if client is not self.client:
                client.close()

    def _cancel(
        self, client: MaiaClient, left: Leftover, journaled: bool, queue: StartAhead
    ) -> str | None:
        """Cancel one leftover; the line that lists it (None: nothing to list)."""
        from pytest_maia.core.errors import ConflictError

        spec, execution_id = left.spec, left.execution_id
        if execution_id is None:
            outcome = "no execution id to cancel" + self._unknown_runs(
                client, spec, queue.known_ids()
            )
        else:
            # A run started live under replay (record mode once) is cancelled live.
            target = self.client_of(execution_id) if execution_id in self._live_ids else client
            try:
                target.cancel_execution(self.project_id, execution_id)
                outcome = "cancel requested"
            except ConflictError:
                if journaled:
                    return None  # its test saw it to the end
                outcome = "had already finished"
            except MaiaError as exc:
                outcome = f"could not cancel: {exc}"
        why = "" if left.why == NEVER_RAN else f"{left.why}, "
        return f"{execution_id or '(unknown)'} ({spec.pipeline}): {why}{outcome}"

    def _unknown_runs(self, client: MaiaClient, spec: RunSpec, known: set[str]) -> str:
        """For a run whose start request its worker never saw answered: the executions
        of its pipeline still going that the suite did not start knowingly. They are
        named, not cancelled: nothing says they are the suite's, not a colleague's."""
        try:
            found = client.list_executions(self.project_id, pipeline_name=spec.pipeline, limit=20)
        except MaiaError as exc:
            return f" (the API may have started it; listing {spec.pipeline!r} failed: {exc})"
        environment = spec.environment or self.environment
        going = [
            d.pipeline_execution_id
            for d in found
            if d.pipeline_execution_id
            and d.pipeline_execution_id not in known
            and not d.status.is_terminal
            and (environment is None or d.environment_name in (None, environment))
        ]
        if not going:
            return f" (the API may have started it: no run of {spec.pipeline!r} is going now)"
        return (
            f" (the API may have started it; runs of {spec.pipeline!r} going now that the "
            f"suite did not record, not cancelled: {', '.join(going)})"
        )

    def _journaled(self, queue: StartAhead) -> list[Leftover]:
        """The shared state is damaged: every run a process noted starting (the journal
        beside it, and this process's own), each to cancel (a finished one says so)."""
        from pytest_maia.runs.pipelines import RunSpec
        from pytest_maia.runs.startahead import Leftover

        found: dict[str, Leftover] = {}
        why = "listed in the start-ahead journal (the shared state was damaged)"
        for key, execution_id in queue.started.items():
            found[execution_id] = Leftover(key, RunSpec("?"), execution_id, why)
        path = shared_dir(self.config) / JOURNAL
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                item = json.loads(line)
                left = Leftover(str(item["key"]), RunSpec(str(item["pipeline"])), item["id"], why)
            except (ValueError, KeyError, TypeError, MaiaError):
                continue  # a torn line: the others still count
            if isinstance(left.execution_id, str):
                found[left.execution_id] = left
        return list(found.values())

    def _reader(self) -> StartAhead | None:
        from pytest_maia.client.waiting import WaitPolicy
        from pytest_maia.core.shared_state import FileState
        from pytest_maia.runs.startahead import StartAhead

        directory = shared_dir(self.config)
        if not any((directory / name).exists() for name in ("maia-shared.json", JOURNAL)):
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
        for line in self.problems:
            terminalreporter.write_line(line)
        if self.cancelled:
            what = "whose tests never ran" if self._all_never_ran else "left over"
            terminalreporter.write_sep(
                "-",
                f"maia start-ahead runs {what}, cancelled at session end: {len(self.cancelled)}",
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
