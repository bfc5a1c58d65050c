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

This module wires the hooks; which tests plan a run and the pieces the queue is built
from are in :mod:`pytest_maia.plugin.start_ahead_plan`, the journal and the cancelling
of leftovers in :mod:`pytest_maia.runs.leftovers`.

Light at import: the client, the fake and ``filelock`` load when first needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_maia.core.settings import MaiaSettings
from pytest_maia.plugin.start_ahead_plan import (
    RUN_FIXTURE,
    SCRIPT_MARKER,
    START_MARKER,
    StartAheadSession,
    check_takes_run,
    shared_dir,
    spec_of,
    will_run,
)
from pytest_maia.plugin.startup_checks import marker_script

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.runs.pipelines import PipelineRun, RunSpec
    from pytest_maia.runs.status_checker import StatusChecker

    # (client, first poll interval, longest poll interval, owner_of) -> the test's checker
    CheckerFactory = Callable[
        [MaiaClient, float, float, Callable[[str], str | None] | None], StatusChecker
    ]

__all__ = ["START_MARKER", "StartAheadPlugin", "spec_of"]

PLUGIN_NAME = "maia-start-ahead"
CANCELLED_PROPERTY = "maia_cancelled"
# A test's scripted start-ahead run: (execution id, its polls when claimed, polls reader).
SCRIPTED_RUN = pytest.StashKey[tuple[str, int, Callable[[str], int]]]()


class StartAheadPlugin(StartAheadSession):
    """The session's start-ahead queue, its poller thread and the request budget."""

    def __init__(self, config: pytest.Config, settings: MaiaSettings) -> None:
        super().__init__(config, settings)
        self.cancelled: list[str] = []
        # Told of each run cancelled at the end, as (test node id, text): the reports.
        self.on_cancelled: Callable[[str, str], None] | None = None
        self.interrupted = False
        self.problems: list[str] = []  # why the end could not read the shared state
        self._all_never_ran = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
            from pytest_maia.runs.leftovers import shared_reader

            queue = shared_reader(shared_dir(self.config))
        if queue is None:
            return  # nothing was planned: a suite without maia_start loads nothing more
        from pytest_maia.core.shared_state import SharedStateError
        from pytest_maia.runs.leftovers import (
            JOURNAL,
            NEVER_RAN,
            cancel_leftover,
            journaled_leftovers,
        )
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
            leftovers, journaled = journaled_leftovers(queue, shared_dir(self.config)), True
        if not leftovers:
            return
        # All workers are done: with the shared state damaged (the request budget lives
        # there too), the controller's few cancels take a budget of their own.
        client = self.client or self.live_client(own_budget=journaled)
        try:
            for left in leftovers:
                text = cancel_leftover(
                    client,
                    left,
                    journaled,
                    queue,
                    project_id=self.project_id,
                    environment=self.environment,
                    # A run started live under replay (record mode once) is cancelled live.
                    target_of=lambda execution_id: (
                        self.client_of(execution_id) if execution_id in self._live_ids else client
                    ),
                )
                if text is None:
                    continue
                self.cancelled.append(f"{left.key}: {text}")
                self._all_never_ran = self._all_never_ran and left.why == NEVER_RAN
                if self.on_cancelled is not None:
                    self.on_cancelled(left.key, text)
        finally:
            if client is not self.client:
                client.close()

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
