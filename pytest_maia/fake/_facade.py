"""FakeMaia, the fake's public face: composes the account, the HTTP mapping, the adapters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.core.clock import Clock, VirtualClock
from pytest_maia.core.models import ErrorStep, Step
from pytest_maia.core.validation import check_execution_id, check_project_id
from pytest_maia.fake import _official
from pytest_maia.fake._account import Account
from pytest_maia.fake._api import HttpApi
from pytest_maia.fake._execution import ExecutionRecord
from pytest_maia.fake._hosting import DEFAULT_BASE_URL, Hosting
from pytest_maia.fake._http import Call, Request, Response
from pytest_maia.fake._script import DROP, fault_step, make_error_step
from pytest_maia.fake._tokens import DEFAULT_TOKEN_LIFETIME, Tokens, check_static_token

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from pytest_maia.cassette.model import Cassette
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.fake._events import Event
    from pytest_maia.fake._testruns import TestExecution
    from pytest_maia.fake.server import FakeServer


class FakeMaia:
    """The fake Maia API: script an account and executions, inject faults, inspect calls.

    As a context manager it intercepts `requests` calls to ``base_url`` and to the OAuth
    token URL (other URLs pass through); ``serve`` runs it on a loopback HTTP server
    instead (or as well: the state is shared). ``client`` builds a
    ``MaiaClient`` that waits on this fake's ``clock``.

    Zero-config, every project, environment and pipeline name exists; ``add_project``,
    ``add_environment`` and ``publish_pipeline`` make a realistic account
    instead. Any token-shaped bearer token is accepted unless ``token`` is given (then
    only it and issued tokens) or ``strict`` is true (then only issued tokens, and
    ``token``). Issued tokens expire after ``token_lifetime`` clock seconds.

    Times it serves (``startedAt``, ``finishedAt``, ...) are real UTC date-times: under
    a real clock the wall clock's; under a virtual clock its first instant is ``start``
    (an aware ``datetime`` or an ISO 8601 string), by default the wall clock when the
    fake is made, and it moves with the clock.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        strict: bool = False,
        start: datetime | str | None = None,
    ) -> None:
        self._hosting = Hosting(base_url)
        self.base_url = self._hosting.base_url
        """The base URL this fake answers in-process (scheme and host lower-cased)."""
        self.token_url = TOKEN_URL
        """The OAuth token URL it answers in-process."""
        self.clock: Clock = clock if clock is not None else VirtualClock()
        """The clock of its lifecycles and tokens: a ``VirtualClock`` unless given."""
        tokens = Tokens(token_lifetime, check_static_token(token), strict=strict)
        self._account = Account(self.clock, tokens, start)
        self._api = HttpApi(self._account, self._hosting.base_path)
        self._allow_unused = False

    # -- scripting ------------------------------------------------------------------

    @staticmethod
    def error(
        code: int, *, detail: str | None = None, retry_after: float | None = None
    ) -> ErrorStep:
        """A step answering with HTTP ``code`` (400..599, a ProblemDetail body), with
        ``detail`` and a ``Retry-After`` header of ``retry_after`` seconds."""
        return make_error_step(code, detail=detail, retry_after=retry_after)

    @staticmethod
    def dropped_connection() -> ErrorStep:
        """A step that closes the connection without any response: the one way to script
        a drop, in a lifecycle or in ``fail_next`` (JSON: ``{"drop": true}``)."""
        return DROP

    def add_execution(
        self,
        project_id: str,
        statuses: Step | Iterable[Step],
        *,
        execution_id: str | None = None,
        every: float | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
        pipeline_name: str | None = None,
        environment: str | None = None,
        trigger: str | None = None,
        user: str | None = None,
        schedule_id: str | None = None,
    ) -> str:
        """Script an execution's lifecycle and return its id (a fresh uuid4 by default).

        Each read of its status or details moves one step on, or with ``every`` one step
        per ``every`` clock seconds from now; the last step repeats. A step is a status
        or ``error`` / ``dropped_connection``. ``message`` is served in the
        details once it has finished; ``steps`` (``{"name", "status", "message"?,
        "child"?}``) are what its ``/steps`` lists then (default: one step named after the
        pipeline with its final status and message). ``pipeline_name`` and
        ``environment`` are what the details and the executions list show (default
        ``scripted-execution`` in ``default``); ``trigger`` (DESIGNER, API, SCHEDULE,
        SCHEDULE_RUN_NOW or UNKNOWN: the default, or SCHEDULE with a ``schedule_id``),
        ``user`` (the person who started it) and ``schedule_id`` go in the details too.
        """
        return self._account.add_execution(
            project_id,
            statuses,
            execution_id=execution_id,
            every=every,
            message=message,
            steps=steps,
            pipeline_name=pipeline_name,
            environment=environment,
            trigger=trigger,
            user=user,
            schedule_id=schedule_id,
        )

    def script_pipeline(
        self,
        pipeline_name: str,
        statuses: Step | Iterable[Step],
        *,
        every: float | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
        once: bool = False,
    ) -> None:
        """Script what executing ``pipeline_name`` does from now on (in any project),
        as for ``add_execution`` (``every`` counts from each start). Unscripted
        pipelines go RUNNING, then SUCCESS. With ``once=True`` the script is for the
        next execution only (several queue up in call order, before the standing one)."""
        self._account.script_pipeline(
            pipeline_name, statuses, every=every, message=message, steps=steps, once=once
        )

    def load_cassette(
        self,
        path: str | Path | Cassette,
        *,
        project_id: str | None = None,
        strict: bool = True,
        rerecord: str | None = None,
    ) -> Cassette:
        """Script this fake from a cassette recorded with ``--maia-cassettes``: each
        execution answers its reads as it did live, poll for poll (see the cassettes
        page); runs the test started are queued per pipeline. Returns the cassette
        (``path`` may be one already read).

        ``strict`` (the default): from now on this fake serves only what the cassette
        holds. Any other request (a pipeline not recorded, one execution more than
        recorded, a read of an execution the cassette lacks, a list endpoint) is
        answered 404 with a detail naming it and ``rerecord`` (the command that
        records the test again), and is kept in ``replay_misses``.
        """
        from pytest_maia.cassette.replay import load_into

        cassette = load_into(self, path, project_id=project_id)
        if strict:
            self.strict_replay(rerecord)
        return cassette

    def strict_replay(self, rerecord: str | None = None) -> None:
        """From now on serve only what is scripted from cassettes: any other request is
        a 404 naming it and ``rerecord`` (the command that records the test again, which
        a later call may change), kept in ``replay_misses``."""
        with self._account.lock:
            self._account.replay_hint = rerecord or (
                "pytest --maia-backend=live --maia-cassettes=DIR <the test>"
            )

    @property
    def replay_misses(self) -> list[str]:
        """Under strict replay (``load_cassette``), each request the cassette had
        no answer for, oldest first: what was asked and how to re-record."""
        with self._account.lock:
            return list(self._account.replay_misses)

    def add_project(
        self, project_id: str, *, name: str | None = None, description: str | None = None
    ) -> None:
        """Add a project. From the first one on, only added projects exist: any other
        is a 404, to execute into as to read from."""
        self._account.add_project(project_id, name, description)

    def add_environment(
        self,
        project_id: str,
        name: str,
        *,
        default_agent_id: str | None = None,
        default_agent_name: str | None = None,
    ) -> None:
        """Add an environment to a project. From the first one on, the project has only
        its added environments (executing into another is a 404)."""
        self._account.add_environment(
            project_id,
            name,
            default_agent_id=default_agent_id,
            default_agent_name=default_agent_name,
        )

    def publish_pipeline(
        self,
        project_id: str,
        environment: str,
        pipeline_name: str,
        *,
        published_at: float | None = None,
    ) -> None:
        """Publish a pipeline in an environment (at clock time ``published_at``, default
        now). From the first one on, executing an unpublished pipeline there is a 404."""
        self._account.publish_pipeline(
            project_id, environment, pipeline_name, published_at=published_at
        )

    def disable_pipeline(self, pipeline_name: str, disabled: bool = True) -> None:
        """Make executing ``pipeline_name`` answer 410 Gone (``disabled=False`` undoes it)."""
        self._account.disable_pipeline(pipeline_name, disabled)

    def add_credentials(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth client for the token endpoint. Until one is registered, the
        token endpoint accepts any non-empty pair."""
        self._account.add_client(client_id, client_secret)

    # -- the official API's newer families: artifacts, schedules, events, tests ----------

    def publish_artifact(
        self,
        project_id: str,
        environment: str,
        version: str,
        files: Mapping[str, str | bytes],
        *,
        branch: str | None = None,
        commit_hash: str | None = None,
    ) -> list[tuple[str, str]]:
        """Publish artifact ``version`` of ``files`` (relative path -> text) to an
        environment, as ``POST .../artifacts`` does: it runs there by default from now
        on, and its ``.orch.yaml``/``.tran.yaml`` files are the pipelines listed there.
        Returns the files ignored (path, reason): binary files and archives."""
        return _official.publish_artifact(
            self._account, project_id, environment, version, files, branch, commit_hash
        )

    def promote_artifact(self, project_id: str, version: str, *, source: str, target: str) -> None:
        """Promote ``version`` from environment ``source`` to ``target`` (where it then
        runs by default), as ``POST .../artifacts/promotions`` does."""
        _official.promote_artifact(self._account, project_id, version, source, target)

    def add_schedule(
        self,
        project_id: str,
        pipeline_name: str,
        environment: str,
        cron: str | None = "0 0 2 ? * * *",
        *,
        name: str | None = None,
        timezone: str = "UTC",
        enabled: bool = True,
        allow_concurrent: bool = True,
        version: str | None = None,
        variables: Mapping[str, str] | None = None,
        grid_variables: Mapping[str, list[list[str]]] | None = None,
        effective_from: float | None = None,
    ) -> str:
        """Add a schedule (a Quartz cron of seven fields in ``timezone``; ``version``
        pins an artifact version) and return its id. It runs when a virtual clock
        reaches its ``nextRunAt`` (checked at each request) or on ``run_schedule``."""
        return _official.add_schedule(
            self._account,
            project_id,
            {
                "name": name if name is not None else f"{pipeline_name} schedule",
                "pipelineName": pipeline_name,
                "environmentName": environment,
                "cronExpression": cron,
                "cronTimezone": timezone,
                "scheduleEnabled": enabled,
                "allowConcurrentExecutions": allow_concurrent,
                "versionName": version,
                "scalarVariables": dict(variables) if variables is not None else None,
                "gridVariables": dict(grid_variables) if grid_variables is not None else None,
            },
            effective_from,
        )

    def run_schedule(self, schedule_id: str) -> str:
        """Run a schedule now, as its trigger firing would: the new execution's id (its
        details say ``trigger: SCHEDULE`` and its ``scheduleId``). With
        ``allow_concurrent=False`` while its previous run is going, the run is recorded
        as SKIPPED instead."""
        return _official.run_schedule(self._account, schedule_id)

    def add_event(self, name: str, **fields: Any) -> str:
        """Script an audit event ``GET /v1/events`` serves (``type``, ``description``,
        ``at`` clock seconds, ``project_id``, ``subject_id``, ``subject_name``,
        ``subject_type``, ``actor_id``, ``actor_email``, ``source``,
        ``additional_info``); its ``eventId``. The fake logs its own state changes too."""
        with self._account.lock:
            return self._account.events.script(self.clock.now(), name, **fields).event_id

    def events(self) -> list[Event]:
        """The audit log, in the order logged: every state change the fake made
        (executions started and cancelled, artifacts published and promoted, schedules
        created, changed and deleted, test executions) and the scripted events."""
        with self._account.lock:
            return self._account.events.all()

    def test_executions(self, project_id: str | None = None) -> list[TestExecution]:
        """Test executions started through the API (in ``project_id``, or all), oldest
        first, as they were asked for (the API has no call that reads their results)."""
        with self._account.lock:
            return self._account.test_runs.all(project_id)

    def fail_next(
        self,
        code: int | ErrorStep,
        *,
        times: int = 1,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` requests (any route, the token endpoint included)
        with HTTP ``code``, or with a step (``fail_next(FakeMaia.dropped_connection())``).

        Faults queue up in order and come before authentication and routing.
        """
        self._account.fail_next(fault_step(code, detail=detail, retry_after=retry_after), times)

    def allow_unused(self, allowed: bool = True) -> None:
        """Let this fake's scripts go unused: the pytest plugin's "every scripted run was
        used" check (see ``unused``) passes over it (``allowed=False`` turns it back on)."""
        self._allow_unused = bool(allowed)

    @property
    def unused_allowed(self) -> bool:
        """True once ``allow_unused`` was called."""
        return self._allow_unused

    def unused(self) -> list[str]:
        """What was scripted and never used, one line each naming it: a
        ``script_pipeline`` no execution was started from (each ``once=True`` script
        counts), an ``add_execution`` execution, or one started from a script, whose
        status or details were never read. Executions the API started unscripted and
        the child executions of scripted steps are not counted. ``[]`` when all was used."""
        return self._account.unused()

    def reset(self) -> None:
        """Forget the account (projects, environments, pipelines, scripts), executions,
        queued faults, calls, poll counts and issued tokens (and so what ``unused``
        lists). The clock, the static token and registered credentials stay."""
        with self._account.lock:
            self._account.reset()
            self._api.reset()

    # -- inspection ---------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A copy of the request log, oldest first, credentials redacted: the most
        recent 10,000 calls (within 4 MiB of paths and headers, 4 KiB of headers a call)."""
        with self._account.lock:
            return list(self._api.calls)

    def executions(self, project_id: str | None = None) -> list[ExecutionRecord]:
        """Executions started through the execute endpoint (in ``project_id``, or all),
        oldest first: what was asked for and where each stands now."""
        with self._account.lock:
            return self._account.ledger.records(project_id, self.clock.now())

    def polls(self, execution_id: str) -> int:
        """How many status or details reads named ``execution_id`` in its project,
        whatever the answer (faults and 401s included), since the last reset."""
        canonical = check_execution_id(execution_id)
        with self._account.lock:
            return self._account.ledger.polls(canonical)

    def project_of(self, execution_id: str) -> str | None:
        """The project an execution is in, or None when it is nowhere (or not a UUID)."""
        try:
            canonical = check_execution_id(execution_id)
        except Exception:
            return None
        with self._account.lock:
            return self._account.ledger.project_of(canonical)

    @property
    def tokens_issued(self) -> int:
        """How many tokens the token endpoint has issued since the last reset."""
        with self._account.lock:
            return self._account.tokens.issued_count

    # -- serving ------------------------------------------------------------------------

    def handle(self, request: Request, *, control: bool = False) -> Response:
        """Answer one request without any transport (what the adapters call).
        ``control``: also answer the control API under ``/_fake/``."""
        return self._api.handle(request, control=control)

    def start(self, *, intercept_requests: bool = True) -> FakeMaia:
        """Start answering in-process (what ``with`` does); returns self.

        The fake's own clients (``client``, the ``maia_client`` fixture) reach it
        whatever HTTP mocks the test has started. With ``intercept_requests`` (the
        default) any other `requests` call to the base URL is answered too; pass False
        to leave `requests` untouched for everyone else."""
        self._hosting.start(self.handle, intercept_requests=intercept_requests)
        return self

    def stop(self) -> None:
        """Stop intercepting; a no-op when not started."""
        self._hosting.stop()

    @property
    def active(self) -> bool:
        """True while intercepting `requests` in-process."""
        return self._hosting.active

    def __enter__(self) -> FakeMaia:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[FakeServer]:
        """A context manager running this fake on a loopback HTTP server, with the
        control API under ``/_fake/``. It yields a ``FakeServer`` whose ``url`` is
        the base URL, path prefix included (``http://127.0.0.1:PORT/dpc``)."""
        return self._hosting.serve(self, host, port)

    def client(self, **kwargs: Any) -> MaiaClient:
        """A MaiaClient for this fake: its base URL, a token it accepts, its clock.

        Keywords go to ``MaiaClient`` (``base_url=`` included); pass
        ``client_id=`` and ``client_secret=`` to use the token endpoint instead.
        """
        from pytest_maia.client.maia_client import MaiaClient
        from pytest_maia.client.transport import new_session

        base_url = kwargs.pop("base_url", self.base_url)
        if kwargs.get("client_id") is None:
            kwargs.setdefault("token", self._account.tokens.own_token())
        kwargs.setdefault("token_url", self.token_url)
        kwargs.setdefault("clock", self.clock)
        if kwargs.get("session") is None and base_url.rstrip("/") == self.base_url:
            # Straight to this fake, past any responses / requests_mock of the test.
            session = new_session()
            self._hosting.mount(self.handle, session)
            kwargs["session"] = session
        return MaiaClient(base_url, **kwargs)

    def status_url(self, project_id: str, execution_id: str) -> str:
        """The full URL of an execution's status endpoint on this fake."""
        return (
            f"{self.base_url}/v1/projects/{check_project_id(project_id)}"
            f"/pipeline-executions/{check_execution_id(execution_id)}/status"
        )

    def __repr__(self) -> str:
        # No lock: a repr may be asked for while the lock is held (debuggers, tracebacks).
        token = "'***'" if self._account.tokens.static is not None else "None"
        return (
            f"FakeMaia(base_url={self.base_url!r}, token={token}, "
            f"executions={len(self._account.ledger)}, calls={len(self._api.calls)}, "
            f"clock={self.clock!r})"
        )
