"""The fake Maia API as plain Python: a request in, a response out. No I/O.

State (scripted executions per project, queued faults, the request log) lives here and
changes only through requests and explicit calls, timed by an injected clock. Routes are
a table of (path pattern, method -> handler); a new endpoint is one more row.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from pytest_maia.clock import Clock, VirtualClock
from pytest_maia.errors import MaiaValidationError
from pytest_maia.fake._http import (
    DROPPED,
    Call,
    Request,
    Response,
    canonical_headers,
    problem,
    redacted,
)
from pytest_maia.fake._lifecycle import (
    Execution,
    ScriptedStep,
    check_every,
    make_error_step,
    script,
)
from pytest_maia.fake._pipelines import ExecutionRecord, RunInfo
from pytest_maia.fake._routes import ROUTES, TOKEN_ROUTE, UUID_PATTERN, Route
from pytest_maia.fake._steps import StepScript, check_message, parse_steps, spawn_children
from pytest_maia.fake._token import (
    DEFAULT_TOKEN_LIFETIME,
    TOKEN_PATH,
    TokenIssuer,
    is_token_shaped,
)
from pytest_maia.models import ErrorStep, ExecutionStatus, Step
from pytest_maia.redact import Secret
from pytest_maia.validation import check_base_url, check_execution_id, check_project_id

__all__ = [
    "DEFAULT_BASE_URL",
    "Call",
    "ExecutionRecord",
    "FakeBackend",
    "Request",
    "Response",
    "Route",
]

DEFAULT_BASE_URL = "https://eu1.api.matillion.com/dpc"
# What an executed pipeline does unless scripted: one step per poll.
# Lifecycle, seconds per step (None: per poll), message, scripted steps.
PipelineScript = tuple[
    tuple[ScriptedStep, ...], float | None, str | None, tuple[StepScript, ...] | None
]
DEFAULT_PIPELINE_SCRIPT = script([ExecutionStatus.RUNNING, ExecutionStatus.SUCCESS])


class FakeBackend:
    """A stateful, clock-driven fake of the Maia API that turns requests into responses.

    Thread-safe: one lock guards all state, so threaded servers may share it.
    """

    routes: ClassVar[tuple[Route, ...]] = ROUTES

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        base = check_base_url(base_url)
        parts = urlsplit(base)
        self.origin = f"{parts.scheme}://{parts.netloc}".lower()
        self.base_path = parts.path.rstrip("/")
        self.base_url = self.origin + self.base_path
        if token is not None and (not isinstance(token, str) or not is_token_shaped(token)):
            # The value is a secret: never shown.
            raise MaiaValidationError(
                "token must be None or a string a real token can be: visible ASCII with no"
                " whitespace or control character, and not a placeholder such as 'None'"
            )
        self._token = Secret(token) if token is not None else None
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self._lock = threading.Lock()
        self._projects: dict[str, dict[str, Execution]] = {}
        self._faults: deque[ErrorStep] = deque()
        self._calls: list[Call] = []
        self._polls: dict[str, int] = {}
        # Execution ids are unique across projects, like real UUIDs; id -> project.
        self._owners: dict[str, str] = {}
        self.tokens = TokenIssuer(token_lifetime)
        self._scripts: dict[str, PipelineScript] = {}
        self._disabled: set[str] = set()
        # Scripts for the next executions of a pipeline, one each (queue_pipeline).
        self._queued: dict[str, deque[PipelineScript]] = {}

    # -- scripting ------------------------------------------------------------

    @staticmethod
    def error(
        code: int, *, detail: str | None = None, retry_after: float | None = None
    ) -> ErrorStep:
        """A step answering its poll with HTTP ``code`` (a ProblemDetail body)."""
        return make_error_step(code, detail=detail, retry_after=retry_after)

    @staticmethod
    def dropped_connection() -> ErrorStep:
        """A step that closes the connection without any response."""
        return ErrorStep(0)

    def add_execution(
        self,
        project_id: str,
        statuses: Step | Iterable[Step],
        *,
        execution_id: str | None = None,
        every: float | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
    ) -> str:
        """Script an execution's lifecycle and return its id (a fresh uuid4 by default).

        Each status poll moves one step on, or with ``every`` one step per ``every``
        clock seconds since now; the last step repeats. ``message`` is served in the
        details once it has finished; ``steps`` (``{"name", "status", "message"?,
        "child"?}``) are what its ``/steps`` lists then (default: one step named after
        the pipeline with its final status and message).
        """
        check_project_id(project_id)
        lifecycle = script(statuses)
        seconds = check_every(every)
        text = check_message(message)
        plan = parse_steps(steps)
        fresh = execution_id is None
        canonical = str(uuid.uuid4()) if fresh else check_execution_id(execution_id)
        with self._lock:
            owner = self._owners.get(canonical)
            if owner is not None:
                raise MaiaValidationError(
                    f"execution {canonical} is already scripted (in project {owner!r})"
                )
            now = self.clock.now()
            execution = Execution(project_id, canonical, lifecycle, seconds, now, message=text)
            self.register(execution)
            spawn_children(self, execution, plan, now)
        return canonical

    def script_pipeline(
        self,
        pipeline_name: str,
        statuses: Step | Iterable[Step],
        *,
        every: float | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
    ) -> None:
        """Script what executing ``pipeline_name`` does from now on (in any project).

        Each execution follows ``statuses`` like :meth:`add_execution` (one step per
        poll of its status or details, or one per ``every`` seconds from its start);
        ``message`` and ``steps`` as for :meth:`add_execution`. Unscripted pipelines
        go RUNNING, then SUCCESS.
        """
        if not isinstance(pipeline_name, str) or not pipeline_name:
            raise MaiaValidationError("pipeline_name must be a non-empty string")
        text = check_message(message)
        lifecycle = script(statuses)
        seconds = check_every(every)
        plan = parse_steps(steps)
        with self._lock:
            self._scripts[pipeline_name] = (lifecycle, seconds, text, plan)

    def queue_pipeline(
        self,
        pipeline_name: str,
        statuses: Step | Iterable[Step],
        *,
        every: float | None = None,
        message: str | None = None,
        steps: Iterable[Mapping[str, object]] | None = None,
    ) -> None:
        """Script only the next execution of ``pipeline_name`` (queued in call order;
        each execution takes one script, before :meth:`script_pipeline`'s applies)."""
        if not isinstance(pipeline_name, str) or not pipeline_name:
            raise MaiaValidationError("pipeline_name must be a non-empty string")
        entry = (script(statuses), check_every(every), check_message(message), parse_steps(steps))
        with self._lock:
            self._queued.setdefault(pipeline_name, deque()).append(entry)

    def disable_pipeline(self, pipeline_name: str, disabled: bool = True) -> None:
        """Make executing ``pipeline_name`` answer 410 Gone (``disabled=False`` undoes it)."""
        if not isinstance(pipeline_name, str) or not pipeline_name:
            raise MaiaValidationError("pipeline_name must be a non-empty string")
        with self._lock:
            (self._disabled.add if disabled else self._disabled.discard)(pipeline_name)

    def add_credentials(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth client for the token endpoint.

        Until one is registered, the token endpoint accepts any non-empty pair.
        """
        with self._lock:
            self.tokens.add(client_id, client_secret)

    # -- used by the endpoint handlers, under the lock -----------------------------

    def register(self, execution: Execution) -> None:
        """Add ``execution`` to its project (the caller holds the lock)."""
        self._owners[execution.execution_id] = execution.project_id
        self._projects.setdefault(execution.project_id, {})[execution.execution_id] = execution

    def runs(self, project_id: str | None = None) -> list[tuple[Execution, RunInfo]]:
        """Executions started through the API, oldest first, with what they were asked."""
        out = []
        for execution_id, owner in self._owners.items():
            if project_id is None or owner == project_id:
                execution = self._projects[owner][execution_id]
                if execution.info is not None:
                    out.append((execution, execution.info))
        return out

    def is_disabled(self, pipeline_name: str) -> bool:
        """Whether executing ``pipeline_name`` answers 410."""
        return pipeline_name in self._disabled

    def pipeline_script(self, pipeline_name: str) -> PipelineScript:
        """The lifecycle, ``every``, message and steps an execution of ``pipeline_name``
        follows."""
        queued = self._queued.get(pipeline_name)
        if queued:
            return queued.popleft()
        return self._scripts.get(pipeline_name, (DEFAULT_PIPELINE_SCRIPT, None, None, None))

    def project_of(self, execution_id: str) -> str | None:
        """The project an execution is scripted in, or None when it is nowhere."""
        try:
            canonical = check_execution_id(execution_id)
        except MaiaValidationError:
            return None
        with self._lock:
            return self._owners.get(canonical)

    def fail_next(
        self,
        code: int,
        *,
        times: int = 1,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` requests (any route) with ``code``; 0 drops them.

        Faults queue up in order and come before authentication and routing.
        """
        step = make_error_step(code, detail=detail, retry_after=retry_after)
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise MaiaValidationError(f"times must be an integer >= 1, got {times!r}")
        with self._lock:
            self._faults.extend([step] * times)

    def drop_next(self, times: int = 1) -> None:
        """Close the connection of the next ``times`` requests without a response."""
        self.fail_next(0, times=times)

    def reset(self) -> None:
        """Forget executions, pipeline scripts, disabled pipelines, queued faults, calls,
        poll counts and issued tokens. The clock and registered credentials stay."""
        with self._lock:
            self._scripts.clear()
            self._queued.clear()
            self._disabled.clear()
            self.tokens.reset()
            self._projects.clear()
            self._faults.clear()
            self._calls.clear()
            self._polls.clear()
            self._owners.clear()

    # -- inspection -----------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """A copy of the request log, oldest first, credentials redacted."""
        with self._lock:
            return list(self._calls)

    def executions(self, project_id: str | None = None) -> list[ExecutionRecord]:
        """Executions started through the execute endpoint (in ``project_id``, or all),
        oldest first: what was asked for and where each stands now."""
        with self._lock:
            now = self.clock.now()
            return [ExecutionRecord.of(e, info, now) for e, info in self.runs(project_id)]

    def polls(self, execution_id: str) -> int:
        """How many status or details GETs named ``execution_id`` in its project,
        whatever the answer (faults and 401s included), since the last reset."""
        canonical = check_execution_id(execution_id)
        with self._lock:
            return self._polls.get(canonical, 0)

    # -- serving ----------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request and log it.

        Order: queued faults, then authentication (401; the token endpoint needs
        none), then routing (404 unknown path, 405 other method), then the
        endpoint's own checks (400, 404, 409, 410).
        """
        headers = canonical_headers(request.headers)
        with self._lock:
            now = self.clock.now()
            response = self._answer(request, headers, now)
            self._calls.append(
                Call(request.method, request.path, response.status, redacted(headers), now)
            )
        return response

    def _answer(self, request: Request, headers: Mapping[str, str], now: float) -> Response:
        path = request.path
        route, match = self._route(path)
        if (
            match is not None
            and route is not None
            and route.counts_polls
            and request.method == "GET"
        ):
            self._count_poll(match)
        if self._faults:
            return self.error_response(self._faults.popleft(), path)
        public = route is not None and route.public
        bearer = headers.get("Authorization")
        if not public and not self.tokens.authorizes(bearer, now, self._token):
            return problem(401, path, headers=(("WWW-Authenticate", "Bearer"),))
        if route is None or match is None:
            return problem(404, path, f"No API endpoint at {path}")
        handler = route.handlers.get(request.method)
        if handler is None:
            return problem(
                405,
                path,
                f"{request.method} is not allowed here; allowed: {route.allow}",
                headers=(("Allow", route.allow),),
            )
        return handler(self, request, match, now)

    def lookup(self, project_id: str, execution_id: str) -> tuple[bool, Execution | None]:
        """Whether ``project_id`` is known, and its execution ``execution_id`` (lower-case)."""
        executions = self._projects.get(project_id)
        if executions is None:
            return False, None
        return True, executions.get(execution_id)

    def _count_poll(self, match: re.Match[str]) -> None:
        execution_id = match["execution_id"]
        if not UUID_PATTERN.match(execution_id):
            return
        key = execution_id.lower()
        owner = self._owners.get(key)
        # A request naming the id under another project is not a poll of this execution.
        if owner is not None and owner != unquote(match["project_id"]):
            return
        self._polls[key] = self._polls.get(key, 0) + 1

    def _route(self, path: str) -> tuple[Route | None, re.Match[str] | None]:
        if path == TOKEN_PATH:  # in-process, the token URL's own path
            return TOKEN_ROUTE, TOKEN_ROUTE.pattern.match(path)
        base = self.base_path
        if not path.startswith(base) or path[len(base) : len(base) + 1] != "/":
            return None, None
        rest = path[len(base) :]
        for route in self.routes:
            match = route.pattern.match(rest)
            if match is not None:
                return route, match
        return None, None

    def error_response(self, step: ErrorStep, path: str) -> Response:
        """The answer to an error step: a ProblemDetail, or a dropped connection."""
        if step.code == 0:
            return DROPPED
        return problem(step.code, path, step.detail, retry_after=step.retry_after)

    def _client_token(self) -> str:
        # A token this fake accepts, for clients it builds; never shown anywhere.
        return self._token.reveal() if self._token is not None else "fake-maia-token"

    def __repr__(self) -> str:
        # No lock: a repr may be asked for while the lock is held (debuggers, tracebacks).
        executions = len(self._owners)
        calls = len(self._calls)
        token = "'***'" if self._token is not None else "None"
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, token={token}, "
            f"executions={executions}, calls={calls}, clock={self.clock!r})"
        )
