"""A minimal, hardened ``requests`` client for the Maia pipeline-execution API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from pytest_maia.client import answers, artifacts, bodies, listing, paths, token_endpoint, waiting
from pytest_maia.client.artifacts import PublishedArtifact
from pytest_maia.client.auth import ClientCredentials, StaticToken, TokenProvider
from pytest_maia.client.exchange import Exchange
from pytest_maia.client.listing import Environment, Project, PublishedPipeline
from pytest_maia.client.session import ApiCalls
from pytest_maia.client.transport import DEFAULT_REQUEST_TIMEOUT
from pytest_maia.core.clock import Clock, SystemClock
from pytest_maia.core.errors import (
    MaiaConfigError,
    MaiaError,
    MaiaResponseError,
    MaiaValidationError,
)
from pytest_maia.core.models import ExecutionDetails, ExecutionStatus, WaitResult
from pytest_maia.core.redact import (
    CREDENTIAL_VARIABLES,
    Secret,
    check_credential,
    credentials_from,
    missing_credentials,
    read_variables,
    scrub_json,
)
from pytest_maia.core.steps import ExecutionStep
from pytest_maia.core.validation import (
    base_url_for_region,
    check_base_url,
    check_environment_name,
    check_execution_id,
    check_project_id,
    check_within,
    is_loopback_host,
    positive_seconds,
)

if TYPE_CHECKING:
    from datetime import datetime

    from pytest_maia.client.budget import RequestBudget
    from pytest_maia.core.settings import MaiaSettings

__all__ = ["MaiaClient"]

# How long a call outside a wait may spend on retries (Retry-After included).
DEFAULT_RETRY_BUDGET = 120.0

# The environment variables from_env reads (and no others: a pytest setting such as
# MAIA_TIMEOUT or MAIA_BACKEND is not the client's business).
ENV_VARIABLES = ("MAIA_BASE_URL", "MAIA_REGION", "MAIA_TOKEN_URL", *CREDENTIAL_VARIABLES)


class MaiaClient:
    """Client for the Maia public REST API (pipeline executions).

    Authenticate with a static ``token`` or with ``client_id`` and ``client_secret``
    (OAuth client credentials). Transient failures (429, 5xx, connection errors,
    read timeouts) are retried up to ``max_retries`` times with capped backoff and
    ``Retry-After``, within ``retry_budget`` seconds per call; other 4xx and permanent
    failures (TLS verification, an invalid URL) fail at once with a typed error.
    Each request's whole answer must arrive within ``timeout`` seconds (and within
    the time a wait has left); with your own ``session``, headers only per read.
    ``on_retry(error, seconds)`` hears of each retry, in calls and in waits, before its
    pause (it may raise to give up). Without ``token_url``, client credentials go to
    the official token endpoint, or for a loopback ``base_url`` (a fake server) to that
    server's own ``/oauth/dpc/token``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        region: str = "eu1",
        token: str | Secret | None = None,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_retries: int = 5,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        token_url: str | None = None,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
        budget: RequestBudget | None = None,
        observer: Callable[[Exchange], None] | None = None,
        on_retry: Callable[[MaiaError, float], None] | None = None,
    ) -> None:
        # Wrap secrets first: a later error must not show them in a traceback's locals.
        token = Secret(token) if isinstance(token, str) else token
        client_secret = Secret(client_secret) if isinstance(client_secret, str) else client_secret
        self.base_url = check_base_url(
            base_url_for_region(region) if base_url is None else base_url
        )
        self.timeout = positive_seconds(timeout, "timeout")
        self.retry_budget = positive_seconds(retry_budget, "retry_budget")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise MaiaValidationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self._clock = clock
        # Every API request takes a token first; a 429 pauses every holder of it.
        self.budget = budget
        host = urlsplit(self.base_url).hostname or ""
        if session is not None and session.verify is False and not is_loopback_host(host):
            raise MaiaValidationError("TLS verification is off on the session; it must stay on")
        self._calls = ApiCalls(self, session)
        self._calls.observer = observer  # sees each answer (for --maia-record), never a secret
        self._calls.on_retry = on_retry
        provider: TokenProvider
        if token:
            provider = StaticToken(check_credential(token, "token", bearer=True))
        elif client_id and client_secret:
            provider = ClientCredentials(
                str(check_credential(Secret(client_id), "client_id").reveal()),
                check_credential(client_secret, "client_secret"),
                session=lambda: self._calls.session,
                clock=self.clock,
                token_url=check_base_url(
                    token_endpoint.default_token_url(self.base_url)
                    if token_url is None
                    else token_url
                ),
                timeout=self.timeout,
            )
        else:
            raise MaiaConfigError(
                "no credentials: pass token=, or client_id= and client_secret= "
                "(from_env reads MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET)"
            )
        self._provider = provider
        self._known_secrets: tuple[Secret, ...] = tuple(s for s in (token, client_secret) if s)
        self._calls.provider = provider
        self._calls.secrets = self._known_secrets

    @classmethod
    def from_env(
        cls, env: Mapping[str, str | Secret] | None = None, **kwargs: object
    ) -> MaiaClient:
        """A client configured from MAIA_BASE_URL / MAIA_REGION and MAIA_TOKEN, or
        MAIA_CLIENT_ID and MAIA_CLIENT_SECRET (and MAIA_TOKEN_URL); no other variable
        is read. Raises MaiaConfigError naming what is missing or wrong, never a value."""
        # No frame may keep the environment as a local: read what we need and let go.
        variables = read_variables(ENV_VARIABLES, env)
        del env
        token, client_id, client_secret = credentials_from(variables)
        missing = missing_credentials(token, client_id, client_secret)
        if missing:
            raise MaiaConfigError(f"missing environment variables: {', '.join(missing)}")
        base_url, region, token_url = (
            str(variables.get(name) or "") or None
            for name in ("MAIA_BASE_URL", "MAIA_REGION", "MAIA_TOKEN_URL")
        )
        checks: list[tuple[str, Callable[[str], str], str | None]] = [
            ("MAIA_BASE_URL", check_base_url, base_url),
            ("MAIA_REGION", base_url_for_region, None if base_url else region),
            ("MAIA_TOKEN_URL", check_base_url, token_url),
        ]
        for name, check, value in checks:
            try:
                if value is not None:
                    check(value)
            except MaiaValidationError as exc:
                raise MaiaConfigError(f"{name}: {exc}") from None
        if token_url:
            kwargs.setdefault("token_url", token_url)
        return cls(
            base_url,
            region=region or "eu1",
            token=token,
            client_id=client_id,
            client_secret=client_secret,
            **kwargs,  # type: ignore[arg-type]
        )

    @classmethod
    def from_settings(
        cls,
        settings: MaiaSettings,
        *,
        budget: RequestBudget | None = None,
        observer: Callable[[Exchange], None] | None = None,
    ) -> MaiaClient:
        """The live client the plugin's settings describe: the one place the plugin's
        fixtures and start-ahead build it."""
        return cls(
            settings.base_url,
            token=settings.token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            token_url=settings.token_url,  # None: a loopback server's own, else TOKEN_URL
            budget=budget,
            observer=observer,
        )

    # -- plumbing -----------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The clock this client waits on: the one it was given, else the system clock."""
        return self._clock or _SYSTEM_CLOCK

    @property
    def _session(self) -> requests.Session:
        return self._calls.session

    def __repr__(self) -> str:
        # getattr: a traceback may show a client whose __init__ failed half-way.
        provider = getattr(self, "_provider", None)
        kind = "token" if isinstance(provider, StaticToken) else "client credentials"
        if provider is None:
            kind = "none"
        return f"MaiaClient(base_url={getattr(self, 'base_url', None)!r}, auth={kind})"

    def close(self) -> None:
        self._calls.close()

    def __enter__(self) -> MaiaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the API ------------------------------------------------------------------

    def _fetch_status(self, path: str, remaining: float | None = None) -> ExecutionStatus:
        body, code = self._calls.json("GET", path, None, remaining)
        return answers.parse_status(body, f"GET {path}", code)

    def get_status(
        self, project_id: str, execution_id: str, *, within: float | None = None
    ) -> ExecutionStatus:
        """The current status of a pipeline execution.

        A status string the spec does not list comes back as a non-canonical
        ``ExecutionStatus`` holding it verbatim (``is_known`` False). ``within``: the
        seconds the call may take, retries and the request budget included, when that
        is less than ``retry_budget`` (a wait passes the time it has left).
        """
        path = paths.status_path(project_id, execution_id)
        return self._calls.retrying(
            lambda left: self._fetch_status(path, left), within=check_within(within)
        )

    def wait_for(
        self,
        project_id: str,
        execution_id: str,
        *,
        timeout: float = waiting.DEFAULT_TIMEOUT,
        interval: float = waiting.DEFAULT_INTERVAL,
        max_interval: float = waiting.DEFAULT_MAX_INTERVAL,
        unknown_is_terminal: bool = False,
        on_poll: Callable[[WaitResult], None] | None = None,
    ) -> WaitResult:
        """Poll until the execution reaches a terminal status and return what was seen.

        Polls back off from ``interval`` to ``max_interval`` seconds; transient
        failures are ridden out within ``timeout``; other errors raise at once with
        ``wait_result`` attached. Raises ``MaiaTimeoutError`` when time runs out.
        """
        __tracebackhide__ = True  # a failed wait shows the caller's line, not ours
        path = paths.status_path(project_id, execution_id)
        policy = waiting.WaitPolicy.checked(
            timeout=timeout,
            interval=interval,
            max_interval=max_interval,
            unknown_is_terminal=unknown_is_terminal,
        )
        clock = self.clock
        deadline = clock.now() + policy.timeout
        # Every poll's request (and a token fetch) must end by the wait's deadline.
        return waiting.wait(
            lambda: self._fetch_status(path, deadline - clock.now()),
            execution_id=check_execution_id(execution_id),
            policy=policy,
            clock=clock,
            on_poll=on_poll,
            on_retry=self._calls.on_retry,
        )

    def execute_pipeline(
        self,
        project_id: str,
        pipeline_name: str,
        environment_name: str,
        *,
        scalar_variables: Mapping[str, str] | None = None,
        grid_variables: Mapping[str, Sequence[Sequence[str]]] | None = None,
        agent_id: str | None = None,
        execution_tag: str | None = None,
        version_name: str | None = None,
        version: str | None = None,
    ) -> str:
        """Start a published pipeline and return the new execution's id (a UUID).

        ``version`` (or ``version_name``) runs that artifact version (the API answers
        404 when the environment has no such version); without it the API runs the
        latest version published to the environment.

        Arguments are checked before anything is sent (``MaiaValidationError``
        names the field). Starting a run is not idempotent, so only 429 is retried
        (the API refused the request); a 5xx or a lost connection raises at once,
        because the run may have started: look before you start it again. 409
        (``ConflictError``): the ``execution_tag`` is already running in that
        environment; 410 (``GoneError``): the pipeline is disabled.
        """
        if version is not None and version_name is not None and version != version_name:
            raise MaiaValidationError(
                f"version={version!r} and version_name={version_name!r} differ: pass one"
            )
        version_name = version if version is not None else version_name
        path = paths.executions_path(project_id)
        body = bodies.execute_body(
            pipeline_name,
            environment_name,
            scalar_variables=scalar_variables,
            grid_variables=grid_variables,
            agent_id=agent_id,
            execution_tag=execution_tag,
            version_name=version_name,
        )
        # Fetching a token has no side effect: get it (with retries) before the POST.
        self._calls.retrying(self._provider.token)

        def start(remaining: float) -> str:
            answer, code = self._calls.json("POST", path, body, remaining)
            return answers.parse_execution_id(answer, f"POST {path}", code)

        return self._calls.retrying(start, idempotent=False)

    def publish_artifact(
        self,
        project_id: str,
        environment: str,
        version: str,
        files: Mapping[str, str | bytes],
        *,
        branch: str | None = None,
        commit_hash: str | None = None,
    ) -> PublishedArtifact:
        """Publish artifact ``version`` of a project's ``files`` (relative path -> text)
        to ``environment`` (``POST /v1/projects/{projectId}/artifacts``, one form part
        per file). A version is immutable: publishing one again is a
        ``ConflictError``. The answer lists the files the API ignored (binary
        files, archives). Only 429 is retried: after a 5xx the version may exist.
        """
        path = artifacts.artifacts_path(project_id)
        headers = {
            "versionName": artifacts.check_name(version, "version"),
            "environmentName": artifacts.check_name(environment, "environment"),
        }
        if branch is not None:
            headers["branch"] = artifacts.check_name(branch, "branch")
        if commit_hash is not None:
            headers["commitHash"] = artifacts.check_name(commit_hash, "commit_hash")
        parts = artifacts.publish_parts(files)
        self._calls.retrying(self._provider.token)

        def publish(remaining: float) -> PublishedArtifact:
            response = self._calls.request(
                "POST", path, None, remaining, files=parts, headers=headers
            )
            answer = answers.decode_json(
                response.content, response.status_code, response.headers.get("Content-Type")
            )
            answer = scrub_json(answer, self._calls.known_secrets())  # as every answer
            return artifacts.parse_published(answer, f"POST {path}", response.status_code)

        return self._calls.retrying(publish, idempotent=False)

    def promote_artifact(self, project_id: str, version: str, *, source: str, target: str) -> None:
        """Promote artifact ``version`` from environment ``source`` to ``target``
        (``POST .../artifacts/promotions``), where it then runs by default. Retried
        like a read: promoting twice leaves the same state."""
        path = artifacts.artifacts_path(project_id) + "/promotions"
        body = artifacts.promotion_body(version, source, target)
        self._calls.retrying(lambda left: self._calls.request("POST", path, body, left))

    def get_execution(self, project_id: str, execution_id: str) -> ExecutionDetails:
        """The details of a pipeline execution: status, timestamps, message, and more.

        Accepts the flat body and one with ``status``/``message`` nested in
        ``result``; transient failures are retried like ``get_status``.
        """
        path = paths.execution_path(project_id, execution_id)

        def fetch(remaining: float) -> ExecutionDetails:
            answer, code = self._calls.json("GET", path, None, remaining)
            return answers.parse_details(answer, f"GET {path}", code)

        return self._calls.retrying(fetch)

    def get_steps(self, project_id: str, execution_id: str) -> list[ExecutionStep]:
        """Every step of an execution, reading every page of its ``/steps`` list.

        Transient failures are retried like ``get_status``. A step with a
        ``child_execution_id`` started another execution, whose steps are read the
        same way.
        """
        check_project_id(project_id)
        check_execution_id(execution_id)
        pages = listing.all_numbered_pages(
            lambda page: self._page(
                paths.steps_path(project_id, execution_id, page, listing.PAGE_SIZE)
            ),
            ExecutionStep.from_json,
        )
        return list(pages)

    def cancel_execution(self, project_id: str, execution_id: str, *, force: bool = False) -> None:
        """Ask the API to cancel an execution (``force=True``: a hard cancel).

        The execution moves through CANCELLING to CANCELLED; poll it to see the end.
        Idempotent, so transient failures are retried like ``get_status``.
        """
        path = paths.execution_path(project_id, execution_id)
        body = bodies.cancel_body(force)
        self._calls.retrying(lambda left: self._calls.request("PATCH", path, body, left))

    # -- lists: every page, each page retried like a read ---------------------------

    def _page(self, path: str) -> tuple[object, int, str]:
        body, code = self._calls.retrying(lambda left: self._calls.json("GET", path, None, left))
        return body, code, f"GET {path}"

    def list_projects(self) -> list[Project]:
        """Every project the credentials can see (``GET /v1/projects``, all pages)."""
        pages = listing.all_numbered_pages(
            lambda page: self._page(listing.projects_path(page)), listing.Project.from_json
        )
        return list(pages)

    def list_environments(self, project_id: str) -> list[Environment]:
        """Every environment of a project (all pages)."""
        check_project_id(project_id)
        pages = listing.all_numbered_pages(
            lambda page: self._page(listing.environments_path(project_id, page)),
            listing.Environment.from_json,
        )
        return list(pages)

    def list_published_pipelines(
        self, project_id: str, environment: str
    ) -> list[PublishedPipeline]:
        """Every pipeline published in ``environment`` of a project (all pages)."""
        check_project_id(project_id)
        check_environment_name(environment)
        pages = listing.all_numbered_pages(
            lambda page: self._page(
                listing.published_pipelines_path(project_id, environment, page)
            ),
            listing.PublishedPipeline.from_json,
        )
        return list(pages)

    def list_executions(
        self,
        project_id: str | None = None,
        *,
        pipeline_name: str | None = None,
        environment: str | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        status: ExecutionStatus | str | Iterable[ExecutionStatus | str] | None = None,
        schedule_id: str | None = None,
        limit: int | None = None,
    ) -> list[ExecutionDetails]:
        """Executions, most recent first (``GET /v1/pipeline-executions``): the whole
        account's, or ``project_id``'s.

        Filters (all optional, combined): ``pipeline_name`` matches part of the name,
        ignoring case; ``environment`` exactly; ``started_after`` / ``started_before``
        (aware datetimes) are inclusive; ``status`` is one status or several (any of
        them); ``schedule_id`` the runs a schedule started. ``limit`` caps how many
        are returned, else every page is read. A wrong argument is a
        ``MaiaValidationError`` before anything is sent.
        """
        query = listing.ExecutionsQuery.checked(
            project_id,
            pipeline_name=pipeline_name,
            environment=environment,
            started_after=started_after,
            started_before=started_before,
            status=status,
            schedule_id=schedule_id,
        )
        wanted = listing.check_limit(limit)
        page_size = min(wanted or listing.PAGE_SIZE, listing.PAGE_SIZE)
        out: list[ExecutionDetails] = []
        token: str | None = None
        for _ in range(listing.MAX_PAGES):
            body, code, where = self._page(query.path(page_size, token))
            results, token = listing.token_page(body, where, code)
            out += listing.items(results, listing.execution_summary, where, code)
            if token is None or (wanted is not None and len(out) >= wanted):
                return out[:wanted]
        raise MaiaResponseError(f"the executions list did not end after {listing.MAX_PAGES} pages")


_SYSTEM_CLOCK = SystemClock()
