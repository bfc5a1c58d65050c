"""Start-ahead: start many planned runs early, at most N at once, and hand each to its test.

A plan is an ordered list of ``(key, RunSpec)``. ``pump()`` starts queued runs, in plan
order, while fewer than ``max_concurrent`` are going and no other run of the same
``group`` is going (a group's runs never overlap). A slot frees when the poller sees a
run terminal (``sweep()``, for runs no test has claimed yet) or when the test that
claimed it is done with it (``release()``). ``claim(key)`` gives a test its run; a run
still queued then is started at once (its test needs it now), after waiting for its
group to be free. ``leftovers()`` are the runs started but never claimed, and the runs
whose process died holding them: the caller cancels them at the end. After ``stop()``
(Ctrl-C, the session ending) nothing new starts, in any process.

The plan and each run's state live in a :mod:`pytest_maia.core.shared_state` store, so the
processes of one suite (xdist workers, given a file store) share one queue: a run is
started once, by whichever process gets to it, and the cap holds for the whole suite.
Each process polls the unclaimed runs it started itself. Each entry names the process
(pid) that holds it (starting it, or its claiming test): a run held by a process that
has died is marked lost, so that no claim waits on it and the cap and its group free up;
``leftovers()`` lists it for cancelling. Knows nothing of pytest.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_maia.client.retry import retry_delay
from pytest_maia.core.clock import Clock
from pytest_maia.core.errors import (
    BudgetExhaustedError,
    MaiaApiError,
    MaiaConnectionError,
    MaiaError,
    MaiaTimeoutError,
)
from pytest_maia.core.models import ExecutionStatus, WaitResult
from pytest_maia.core.shared_state import MemoryState, SharedStateError, StateStore
from pytest_maia.core.wait_policy import PollSchedule, WaitPolicy
from pytest_maia.runs.pipelines import RunSpec

__all__ = ["Claim", "Leftover", "StartAhead", "alive", "damaged_error"]

log = logging.getLogger("pytest_maia")
_RUNS = "runs"
_ORDER = "order"
_STOPPED = "stopped"
GOING = ("starting", "active")
DIED = "its worker process died"
NEVER_RAN = "its test never ran"
# How long a waiting claim naps when it has nothing of its own to poll.
NAP = 0.2


@dataclass(frozen=True)
class Claim:
    """A test's run: its execution id (None if it could not start) and when it started."""

    key: str
    spec: RunSpec
    execution_id: str | None
    started: float | None
    error: str | None = None


@dataclass(frozen=True)
class Leftover:
    """A run to cancel at the end: started and never claimed, or held by a process that
    died (``execution_id`` None when it died while starting it: the id is unknown)."""

    key: str
    spec: RunSpec
    execution_id: str | None
    why: str


def alive(pid: int) -> bool:
    """True while process ``pid`` runs on this machine (a zombie counts as dead)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                return stat.read().rpartition(")")[2].split()[:1] != ["Z"]
        except OSError:
            return False
    return True


def damaged_error(state: StateStore, what: str) -> SharedStateError:
    damaged = getattr(state, "damaged", None)
    if damaged is not None:
        error: SharedStateError = damaged(what)
        return error
    return SharedStateError(f"the suite's shared state {state!r} {what}")


def _spec_of(entry: dict[str, Any]) -> RunSpec:
    return RunSpec(
        entry["pipeline"], entry["environment"], entry["variables"], entry["tag"], entry["group"]
    )


class StartAhead:
    """The queue of planned runs; see the module doc."""

    def __init__(
        self,
        start: Callable[[str, RunSpec], str],
        fetch: Callable[[str, float | None], ExecutionStatus],
        *,
        max_concurrent: int,
        clock: Clock,
        policy: WaitPolicy,
        state: StateStore | None = None,
        owner: str = "main",
        on_started: Callable[[str, RunSpec, str], None] | None = None,
    ) -> None:
        self._start = start
        self._fetch = fetch
        self.max_concurrent = max_concurrent
        self.clock = clock
        self.policy = policy
        self.state: StateStore = state if state is not None else MemoryState()
        self.owner = owner
        self.pid = os.getpid()
        self._on_started = on_started
        # The runs this process started (key -> execution id), whatever the store says.
        self.started: dict[str, str] = {}
        self._backoff: dict[str, PollSchedule] = {}
        self._polling = threading.Lock()

    # -- the store ---------------------------------------------------------------------

    def _runs(self, data: dict[str, Any]) -> dict[str, Any]:
        """The planned runs in ``data``, with those held by a dead process marked lost."""
        runs = data.get(_RUNS)
        if not isinstance(runs, dict):
            raise damaged_error(self.state, "has no plan of start-ahead runs")
        for entry in runs.values():
            # Held: being started, or claimed by a test. A run its starter polled, not
            # claimed yet, waits for its test (on whichever process) as before.
            held = entry["state"] == "starting" or (entry["state"] == "active" and entry["claimed"])
            pid = entry.get("pid")
            if held and isinstance(pid, int) and not alive(pid):
                why = DIED if entry["id"] else f"{DIED} while starting it"
                entry.update(state="lost", ended=self.clock.now(), error=why)
        return runs

    def _entry(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        entry = self._runs(data).get(key)
        if not isinstance(entry, dict):
            raise damaged_error(self.state, f"has no start-ahead run planned for {key}")
        return entry

    def has_plan(self) -> bool:
        """True once a plan is in the store (a damaged store raises SharedStateError)."""
        with self.state.transaction() as data:
            return _RUNS in data

    def stop(self) -> None:
        """Start nothing more, in any process sharing the store (Ctrl-C, the end)."""
        try:
            with self.state.transaction() as data:
                data[_STOPPED] = True
        except SharedStateError:
            pass  # a damaged store starts nothing either

    @property
    def stopped(self) -> bool:
        with self.state.transaction() as data:
            return bool(data.get(_STOPPED))

    # -- planning and starting ------------------------------------------------------

    def plan(self, items: Sequence[tuple[str, RunSpec]]) -> None:
        """Queue ``items`` in order; a no-op if the store already holds a plan."""
        with self.state.transaction() as data:
            if _RUNS in data:
                return
            data[_ORDER] = [key for key, _ in items]
            data[_RUNS] = {
                key: {
                    "pipeline": spec.pipeline,
                    "environment": spec.environment,
                    "variables": dict(spec.variables) if spec.variables else None,
                    "tag": spec.tag,
                    "group": spec.group,
                    "state": "queued",
                    "id": None,
                    "owner": None,
                    "pid": None,
                    "claimed": False,
                    "started": None,
                    "ended": None,
                    "error": None,
                }
                for key, spec in items
            }

    @staticmethod
    def _group_busy(runs: dict[str, Any], key: str) -> bool:
        group = runs[key]["group"]
        return group is not None and any(
            k != key and e["group"] == group and e["state"] in GOING for k, e in runs.items()
        )

    def _take(self, key: str | None = None) -> tuple[str, RunSpec] | None:
        """Mark a run 'starting' by us: ``key`` (if queued and its group is free), else
        the next queued run the cap and groups allow."""
        with self.state.transaction() as data:
            if data.get(_STOPPED):
                return None
            runs = self._runs(data)
            if key is None:
                going = sum(1 for e in runs.values() if e["state"] in GOING)
                if going >= self.max_concurrent:
                    return None
                candidates = [
                    k
                    for k in data.get(_ORDER, [])
                    if runs[k]["state"] == "queued" and not self._group_busy(runs, k)
                ]
                if not candidates:
                    return None
                key = candidates[0]
            elif runs[key]["state"] != "queued" or self._group_busy(runs, key):
                return None
            runs[key].update(state="starting", owner=self.owner, pid=self.pid)
            return key, _spec_of(runs[key])

    def _launch(self, key: str, spec: RunSpec) -> None:
        execution_id: str | None = None
        error: str | None = None
        try:
            execution_id = self._start(key, spec)
        except BudgetExhaustedError:
            # Nothing was sent: the run goes back to the queue, to start when it can.
            with self.state.transaction() as data:
                self._entry(data, key).update(state="queued", owner=None, pid=None)
            raise
        except MaiaError as exc:
            error = f"could not start: {exc}"
            log.warning("start-ahead of %r for %s failed: %s", spec.pipeline, key, exc)
        now = self.clock.now()
        if execution_id is not None:
            # Known here first: a damaged store must not lose it (see leftovers_here).
            self.started[key] = execution_id
            if self._on_started is not None:
                self._on_started(key, spec, execution_id)
        with self.state.transaction() as data:
            entry = self._entry(data, key)
            entry.update(id=execution_id, started=now, error=error)
            entry["state"] = "active" if execution_id else "done"
            if execution_id is None:
                entry["ended"] = now
        if execution_id is not None:
            self._backoff[key] = PollSchedule(self.policy, now + self.policy.interval)

    def pump(self) -> list[str]:
        """Start queued runs while the cap, the groups and the request budget (within a
        call's retry budget) allow; returns their keys."""
        started: list[str] = []
        while (taken := self._take()) is not None:
            try:
                self._launch(*taken)
            except BudgetExhaustedError:
                break  # no request free for it yet: a later sweep tries again
            started.append(taken[0])
        return started

    # -- the poller -------------------------------------------------------------------

    def sweep(self, within: float | None = None) -> float | None:
        """Poll our unclaimed going runs that are due, each poll ending within ``within``
        seconds (else a call's retry budget); returns when the next one is due."""
        end = None if within is None else self.clock.now() + within
        with self._polling:
            with self.state.transaction() as data:
                runs = dict(self._runs(data))
            now = self.clock.now()
            due = [
                k
                for k, e in runs.items()
                if e["state"] == "active"
                and e["owner"] == self.owner
                and not e["claimed"]
                and k in self._backoff
            ]
            for key in due:
                backoff = self._backoff.get(key)  # a claim may have taken it meanwhile
                if backoff is None or backoff.due > now:
                    continue
                pause: float | None = None
                try:
                    left = None if end is None else end - self.clock.now()
                    status = self._fetch(runs[key]["id"], left)
                except (MaiaApiError, MaiaConnectionError, BudgetExhaustedError) as exc:
                    pause = retry_delay(exc, backoff.delay, at_least=backoff.delay)
                    if pause is None:
                        # The claiming test will meet it again and say so.
                        self._finish(key, f"poll failed: {exc}")
                        continue
                else:
                    if self.policy.is_done(status):
                        self._finish(key, None)
                        continue
                backoff.polled(self.clock.now(), pause)
            pending = [b.due for k in due if (b := self._backoff.get(k)) is not None]
        self.pump()
        return min(pending) if pending else None

    def _finish(self, key: str, error: str | None) -> None:
        self._backoff.pop(key, None)
        with self.state.transaction() as data:
            entry = self._entry(data, key)
            if entry["state"] == "active":
                entry["state"] = "done"
                entry["ended"] = self.clock.now()
            entry["error"] = entry["error"] or error

    def run_poller(self, stop: threading.Event, *, nap: float = 1.0) -> None:
        """Sweep until ``stop`` is set (a background thread; real clocks only)."""
        while not stop.is_set():
            try:
                next_due = self.sweep()
            except SharedStateError as exc:
                # Every claim says so, naming the file; leftovers come from the journal.
                log.warning("start-ahead poller stopped: %s", exc)
                return
            except Exception:  # never let the poller thread die silently
                log.exception("start-ahead poller")
                next_due = None
            delay = nap if next_due is None else min(nap, next_due - self.clock.now())
            stop.wait(max(delay, 0.01))

    # -- tests ------------------------------------------------------------------------

    def claim(self, key: str, *, timeout: float) -> Claim:
        """The run planned for ``key``, started now if it was still queued.

        Waits (sweeping, on the clock) while another process is starting it, another
        run of its group is going or the request budget is held; its polls end by its
        deadline; :class:`MaiaTimeoutError` after ``timeout``. A start is never cut
        short (the server may have acted on it): it keeps a call's retry budget.
        """
        deadline = self.clock.now() + timeout
        while True:
            with self.state.transaction() as data:
                entry = self._entry(data, key)
                if entry["state"] in ("active", "done", "lost"):
                    if entry["state"] == "active":
                        entry["pid"] = self.pid  # the claiming test holds it now
                    entry["claimed"] = True
                    self._backoff.pop(key, None)
                    return Claim(
                        key, _spec_of(entry), entry["id"], entry["started"], entry["error"]
                    )
                if entry["state"] == "queued" and data.get(_STOPPED):
                    entry.update(state="done", claimed=True, error="not started: stopping")
                    return Claim(key, _spec_of(entry), None, None, entry["error"])
            taken = self._take(key)
            if taken is not None:
                try:
                    self._launch(*taken)
                except BudgetExhaustedError:
                    pass  # back in the queue: the budget has no request for it yet
                else:
                    continue
            next_due = self.sweep(deadline - self.clock.now())
            now = self.clock.now()
            if now >= deadline:
                result = WaitResult(execution_id=key, status=ExecutionStatus.UNKNOWN)
                raise MaiaTimeoutError(result, timeout)
            wake = now + NAP if next_due is None else max(min(next_due, now + NAP), now)
            self.clock.sleep(min(wake, deadline) - now)

    def release(self, key: str, *, start_next: bool = True) -> None:
        """The claiming test is done with its run: free its slot, start what is next
        (unless ``start_next`` is False: the session is stopping)."""
        with self.state.transaction() as data:
            entry = self._entry(data, key)
            if entry["state"] in GOING:
                entry["state"] = "done"
                entry["ended"] = self.clock.now()
            entry["pid"] = None
        if start_next:
            self.sweep()

    def leftovers(self, *, lost_only: bool = False) -> list[Leftover]:
        """Runs to cancel: started and never claimed (still going; not with
        ``lost_only``), and runs whose process died holding them. Each is returned once:
        it is marked as handed over."""
        with self.state.transaction() as data:
            if _RUNS not in data:
                return []
            out: list[Leftover] = []
            for key, entry in self._runs(data).items():
                if lost_only and entry["state"] != "lost":
                    continue
                if entry["state"] == "active" and not entry["claimed"] and entry["id"]:
                    why = NEVER_RAN
                elif entry["state"] == "lost":
                    why = entry["error"] or DIED
                else:
                    continue
                entry.update(state="done", ended=self.clock.now(), claimed=True, pid=None)
                out.append(Leftover(key, _spec_of(entry), entry["id"], why))
            return out

    def known_ids(self) -> set[str]:
        """The execution ids of every planned run started (as the store knows them)."""
        with self.state.transaction() as data:
            runs = data.get(_RUNS, {})
            return {e["id"] for e in runs.values() if isinstance(e, dict) and e.get("id")}

    def counts(self) -> dict[str, int]:
        """How many planned runs are in each state (queued, starting, active, done)."""
        with self.state.transaction() as data:
            out: dict[str, int] = {}
            for entry in (self._runs(data) if _RUNS in data else {}).values():
                out[entry["state"]] = out.get(entry["state"], 0) + 1
            return out
