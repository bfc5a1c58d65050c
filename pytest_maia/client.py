"""A minimal, hardened ``requests`` client for the Maia pipeline-execution API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import requests

from pytest_maia import endpoints, listing, waiting
from pytest_maia.auth import TOKEN_URL, BearerAuth, ClientCredentials, StaticToken, TokenProvider
from pytest_maia.cassette.exchange import Exchange
from pytest_maia.clock import Clock, SystemClock, clock_for_url
from pytest_maia.config import Secret, resolve_settings
from pytest_maia.endpoints import parse_retry_after
from pytest_maia.errors import (
    MaiaApiError,
    MaiaConfigError,
    MaiaConnectionError,
    MaiaResponseError,
    MaiaValidationError,
)
from pytest_maia.listing import Environment, Project, PublishedPipeline
from pytest_maia.models import ExecutionDetails, ExecutionStatus, WaitResult
from pytest_maia.transport import read_body
from pytest_maia.validation import (
    base_url_for_region,
    check_base_url,
    check_execution_id,
    is_loopback_host,
)

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["MaiaClient", "parse_retry_after"]

log = logging.getLogger("pytest_maia.client")
T = TypeVar("T")

USER_AGENT = "pytest-maia/0.1"
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


class MaiaClient:
    """Client for the Maia public REST API (pipeline executions).

    Authenticate with a static ``token`` or with ``client_id`` and ``client_secret``
    (OAuth client credentials). Transient failures (429, 5xx, connection errors,
    read timeouts) are retried up to ``max_retries`` times with capped backoff and
    ``Retry-After``; other 4xx fail at once with a typed :class:`MaiaApiError`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        region: str = "eu1",
        token: str | Secret | None = None,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        token_url: str = TOKEN_URL,
        observer: Callable[[Exchange], None] | None = None,
    ) -> None:
        # Wrap secrets first: a later error must not show them in a traceback's locals.
        token = Secret(token) if isinstance(token, str) else token
        client_secret = Secret(client_secret) if isinstance(client_secret, str) else client_secret
        self.base_url = check_base_url(
            base_url_for_region(region) if base_url is None else base_url
        )
        if not isinstance(timeout, (int, float)) or not timeout > 0:
            raise MaiaValidationError(f"timeout must be a positive number, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise MaiaValidationError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self._clock = clock
        self._observer = observer  # sees each answer (for --maia-record), never a secret
        self._owns_session = session is None
        self._session = session or requests.Session()
        host = urlsplit(self.base_url).hostname or ""
        if self._session.verify is False and not is_loopback_host(host):
            raise MaiaValidationError("TLS verification is off on the session; it must stay on")
        self._session.headers.setdefault("User-Agent", USER_AGENT)
        provider: TokenProvider
        if token:
            provider = StaticToken(token)
        elif client_id and client_secret:
            provider = ClientCredentials(
                client_id,
                client_secret,
                session=self._session,
                clock=self.clock,
                token_url=token_url,
                timeout=self.timeout,
            )
        else:
            raise MaiaConfigError(
                "no credentials: pass token=, or client_id= and client_secret= "
                "(from_env reads MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET)"
            )
        self._provider = provider
        self._auth = BearerAuth(provider)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: object) -> MaiaClient:
        """A client configured from MAIA_BASE_URL / MAIA_REGION and MAIA_TOKEN, or
        MAIA_CLIENT_ID and MAIA_CLIENT_SECRET (and MAIA_TOKEN_URL). Raises
        MaiaConfigError naming what is missing."""
        settings = resolve_settings(lambda _: None, lambda _: None, env)
        if settings.auth_kind == "none":
            missing = [m for m in settings.missing_for_live() if not m.startswith("MAIA_PROJ")]
            raise MaiaConfigError(f"missing environment variables: {', '.join(missing)}")
        if settings.token_url:
            kwargs.setdefault("token_url", settings.token_url)
        return cls(
            settings.base_url,
            token=settings.token,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            **kwargs,  # type: ignore[arg-type]
        )

    # -- plumbing -----------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The explicit clock, else the clock of an active fake serving this URL."""
        return self._clock or clock_for_url(self.base_url) or _SYSTEM_CLOCK

    def __repr__(self) -> str:
        # getattr: a traceback may show a client whose __init__ failed half-way.
        provider = getattr(self, "_provider", None)
        kind = "token" if isinstance(provider, StaticToken) else "client credentials"
        if provider is None:
            kind = "none"
        return f"MaiaClient(base_url={getattr(self, 'base_url', None)!r}, auth={kind})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> MaiaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, json_body: object = None) -> requests.Response:
        """One request, refreshing an OAuth token once on a 401. Raises typed errors."""
        for refresh in (True, False):
            self._provider.token()  # fetch outside requests, so its errors surface plainly
            try:
                response = self._session.request(
                    method,
                    self.base_url + path,
                    json=json_body,
                    auth=self._auth,
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
                # `timeout` bounds each socket read, so a server trickling its body a
                # byte at a time could hold a request (and a wait) for ever: bound it.
                read_body(response, time.monotonic() + self.timeout)
            except requests.RequestException as exc:
                raise MaiaConnectionError(
                    f"{method} {path} failed: {type(exc).__name__} (connection dropped, "
                    "refused or timed out)"
                ) from None
            except UnicodeError:  # e.g. requests decoding a Location header that is not UTF-8
                raise MaiaResponseError(
                    f"{method} {path}: the answer's headers could not be decoded"
                ) from None
            if self._observer is not None:
                self._observer(
                    Exchange.of(
                        method,
                        path,
                        json_body,
                        response.status_code,
                        response.headers,
                        response.content,
                    )
                )
            log.debug("%s %s -> HTTP %s", method, path, response.status_code)
            if response.status_code == 401 and refresh and self._provider.invalidate():
                log.debug("401 on %s; refreshing the access token once", path)
                continue
            break
        if response.status_code >= 400:
            raise endpoints.api_error(
                response.status_code, response.content, response.headers, method, path
            )
        if not 200 <= response.status_code < 300:
            raise MaiaResponseError(
                f"{method} {path} answered HTTP {response.status_code}, which the API "
                "does not send",
                status_code=response.status_code,
            )
        return response

    def _retrying(self, call: Callable[[], T], *, idempotent: bool = True) -> T:
        """Run ``call``, retrying transient failures with capped backoff.

        With ``idempotent=False`` only 429 is retried: the server refused that request,
        whereas after a 5xx or a lost connection it may have acted on it.
        """
        clock = self.clock
        for attempt in range(self.max_retries + 1):
            try:
                return call()
            except (MaiaApiError, MaiaConnectionError) as exc:
                if isinstance(exc, MaiaApiError):
                    transient = exc.is_transient if idempotent else exc.status_code == 429
                else:
                    transient = idempotent
                if not transient or attempt == self.max_retries:
                    raise
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
                if isinstance(exc, MaiaApiError) and exc.retry_after is not None:
                    delay = exc.retry_after
                log.debug("retrying in %.1fs after: %s", delay, exc)
                clock.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, path: str, body: object = None) -> tuple[object, int]:
        """One request's decoded JSON body and HTTP status; MaiaResponseError if not JSON."""
        response = self._request(method, path, body)
        try:
            content_type = response.headers.get("Content-Type")
            decoded = endpoints.decode_json(response.content, response.status_code, content_type)
        except MaiaResponseError as exc:
            raise MaiaResponseError(
                f"{method} {path}: {exc}", status_code=exc.status_code
            ) from None
        return decoded, response.status_code

    # -- the API ------------------------------------------------------------------

    def _fetch_status(self, path: str) -> ExecutionStatus:
        body, code = self._json("GET", path)
        return endpoints.parse_status(body, f"GET {path}", code)

    def get_status(self, project_id: str, execution_id: str) -> ExecutionStatus:
        """The current status of a pipeline execution.

        A status string the spec does not list comes back as a non-canonical
        ``ExecutionStatus`` holding it verbatim (``is_known`` False).
        """
        path = endpoints.status_path(project_id, execution_id)
        return self._retrying(lambda: self._fetch_status(path))

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
        ``wait_result`` attached. Raises :class:`MaiaTimeoutError` when time runs out.
        """
        path = endpoints.status_path(project_id, execution_id)
        policy = waiting.WaitPolicy.checked(
            timeout=timeout,
            interval=interval,
            max_interval=max_interval,
            unknown_is_terminal=unknown_is_terminal,
        )
        return waiting.wait(
            lambda: self._fetch_status(path),
            execution_id=check_execution_id(execution_id),
            policy=policy,
            clock=self.clock,
            on_poll=on_poll,
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
    ) -> str:
        """Start a published pipeline and return the new execution's id (a UUID).

        Arguments are checked before anything is sent (:class:`MaiaValidationError`
        names the field). Starting a run is not idempotent, so only 429 is retried
        (the API refused the request); a 5xx or a lost connection raises at once,
        because the run may have started: look before you start it again. 409
        (:class:`ConflictError`): the ``execution_tag`` is already running in that
        environment; 410 (:class:`GoneError`): the pipeline is disabled.
        """
        path = endpoints.executions_path(project_id)
        body = endpoints.execute_body(
            pipeline_name,
            environment_name,
            scalar_variables=scalar_variables,
            grid_variables=grid_variables,
            agent_id=agent_id,
            execution_tag=execution_tag,
            version_name=version_name,
        )
        # Fetching a token has no side effect: get it (with retries) before the POST.
        self._retrying(self._provider.token)

        def start() -> str:
            answer, code = self._json("POST", path, body)
            return endpoints.parse_execution_id(answer, f"POST {path}", code)

        return self._retrying(start, idempotent=False)

    def get_execution(self, project_id: str, execution_id: str) -> ExecutionDetails:
        """The details of a pipeline execution: status, timestamps, message, and more.

        Accepts the flat body and one with ``status``/``message`` nested in
        ``result``; transient failures are retried like :meth:`get_status`.
        """
        path = endpoints.execution_path(project_id, execution_id)

        def fetch() -> ExecutionDetails:
            answer, code = self._json("GET", path)
            return endpoints.parse_details(answer, f"GET {path}", code)

        return self._retrying(fetch)

    def cancel_execution(self, project_id: str, execution_id: str, *, force: bool = False) -> None:
        """Ask the API to cancel an execution (``force=True``: a hard cancel).

        The execution moves through CANCELLING to CANCELLED; poll it to see the end.
        Idempotent, so transient failures are retried like :meth:`get_status`.
        """
        path = endpoints.execution_path(project_id, execution_id)
        body = endpoints.cancel_body(force)
        self._retrying(lambda: self._request("PATCH", path, body))

    # -- lists: every page, each page retried like a read ---------------------------

    def _page(self, path: str) -> tuple[object, int, str]:
        body, code = self._retrying(lambda: self._json("GET", path))
        return body, code, f"GET {path}"

    def list_projects(self) -> list[Project]:
        """Every project the credentials can see (``GET /v1/projects``, all pages)."""
        pages = listing.all_numbered_pages(
            lambda page: self._page(listing.projects_path(page)), listing.Project.from_json
        )
        return list(pages)

    def list_environments(self, project_id: str) -> list[Environment]:
        """Every environment of a project (all pages)."""
        listing.environments_path(project_id, 0)  # a bad id fails before any request
        pages = listing.all_numbered_pages(
            lambda page: self._page(listing.environments_path(project_id, page)),
            listing.Environment.from_json,
        )
        return list(pages)

    def list_published_pipelines(
        self, project_id: str, environment: str
    ) -> list[PublishedPipeline]:
        """Every pipeline published in ``environment`` of a project (all pages)."""
        listing.published_pipelines_path(project_id, environment, 0)
        pages = listing.all_numbered_pages(
            lambda page: self._page(
                listing.published_pipelines_path(project_id, environment, page)
            ),
            listing.PublishedPipeline.from_json,
        )
        return list(pages)

    def list_executions(
        self, project_id: str, *, pipeline_name: str | None = None, limit: int | None = None
    ) -> list[ExecutionDetails]:
        """A project's executions, most recent first (``GET /v1/pipeline-executions``).

        ``pipeline_name`` filters by pipeline; ``limit`` caps how many are returned
        (and is the page size asked for), else every page is read.
        """
        wanted = listing.check_limit(limit)
        page_size = min(wanted or listing.PAGE_SIZE, listing.PAGE_SIZE)
        out: list[ExecutionDetails] = []
        token: str | None = None
        for _ in range(listing.MAX_PAGES):
            path = listing.executions_list_path(
                project_id, pipeline_name=pipeline_name, limit=page_size, token=token
            )
            body, code, where = self._page(path)
            results, token = listing.token_page(body, where, code)
            out += listing.items(results, listing.execution_summary, where, code)
            if token is None or (wanted is not None and len(out) >= wanted):
                return out[:wanted]
        raise MaiaResponseError(f"the executions list did not end after {listing.MAX_PAGES} pages")


_SYSTEM_CLOCK = SystemClock()
