"""A minimal, hardened ``requests`` client for the Maia pipeline-execution API."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import requests

from pytest_maia import waiting
from pytest_maia.auth import TOKEN_URL, BearerAuth, ClientCredentials, StaticToken, TokenProvider
from pytest_maia.clock import Clock, SystemClock, clock_for_url
from pytest_maia.config import Secret, resolve_settings
from pytest_maia.errors import (
    MaiaApiError,
    MaiaConfigError,
    MaiaConnectionError,
    MaiaResponseError,
    MaiaValidationError,
    error_for_status,
)
from pytest_maia.models import ExecutionStatus, ProblemDetail, WaitResult
from pytest_maia.validation import (
    base_url_for_region,
    check_base_url,
    check_execution_id,
    check_project_id,
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
# Longest Retry-After we obey; a larger value is a server bug, not advice.
RETRY_AFTER_CAP = 300.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        import datetime as _dt

        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _body_json(response: requests.Response) -> object:
    """The decoded JSON body, or a marker string saying why there is none."""
    if not response.content:
        raise MaiaResponseError("the body is empty", status_code=response.status_code)
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        kind = response.headers.get("Content-Type", "no Content-Type")
        raise MaiaResponseError(
            f"the body is not JSON ({kind}, {len(response.content)} bytes)",
            status_code=response.status_code,
        ) from None


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
        MAIA_CLIENT_ID and MAIA_CLIENT_SECRET. Raises MaiaConfigError naming what is missing."""
        settings = resolve_settings(lambda _: None, lambda _: None, env)
        if settings.auth_kind == "none":
            missing = [m for m in settings.missing_for_live() if not m.startswith("MAIA_PROJ")]
            raise MaiaConfigError(f"missing environment variables: {', '.join(missing)}")
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
                )
            except requests.RequestException as exc:
                raise MaiaConnectionError(
                    f"{method} {path} failed: {type(exc).__name__} (connection dropped, "
                    "refused or timed out)"
                ) from None
            log.debug("%s %s -> HTTP %s", method, path, response.status_code)
            if response.status_code == 401 and refresh and self._provider.invalidate():
                log.debug("401 on %s; refreshing the access token once", path)
                continue
            break
        if response.status_code >= 400:
            raise self._api_error(response, method, path)
        if not 200 <= response.status_code < 300:
            raise MaiaResponseError(
                f"{method} {path} answered HTTP {response.status_code}, which the API "
                "does not send",
                status_code=response.status_code,
            )
        return response

    @staticmethod
    def _api_error(response: requests.Response, method: str, path: str) -> MaiaApiError:
        note = None
        try:
            problem = ProblemDetail.from_json(json.loads(response.content))
            if problem is None:
                note = "the body is JSON but not a ProblemDetail object"
        except (ValueError, UnicodeDecodeError, RecursionError):
            problem = None
            kind = response.headers.get("Content-Type", "no Content-Type")
            note = f"the body is not a ProblemDetail: {kind}, {len(response.content)} bytes"
        return error_for_status(response.status_code)(
            response.status_code,
            problem,
            method=method,
            path=path,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            note=note,
        )

    def _retrying(self, call: Callable[[], T]) -> T:
        """Run ``call``, retrying transient failures with capped backoff."""
        clock = self.clock
        for attempt in range(self.max_retries + 1):
            try:
                return call()
            except (MaiaApiError, MaiaConnectionError) as exc:
                transient = isinstance(exc, MaiaConnectionError) or exc.is_transient
                if not transient or attempt == self.max_retries:
                    raise
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
                if isinstance(exc, MaiaApiError) and exc.retry_after is not None:
                    delay = exc.retry_after
                log.debug("retrying in %.1fs after: %s", delay, exc)
                clock.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the API ------------------------------------------------------------------

    def _status_path(self, project_id: str, execution_id: str) -> str:
        project = check_project_id(project_id)
        execution = check_execution_id(execution_id)
        return f"/v1/projects/{project}/pipeline-executions/{execution}/status"

    def _fetch_status(self, path: str) -> ExecutionStatus:
        response = self._request("GET", path)
        try:
            body = _body_json(response)
        except MaiaResponseError as exc:
            raise MaiaResponseError(f"GET {path}: {exc}", status_code=exc.status_code) from None
        if not isinstance(body, dict):
            raise MaiaResponseError(
                f"GET {path}: expected a JSON object with 'status', got {type(body).__name__}",
                status_code=response.status_code,
            )
        if "status" not in body:
            keys = ", ".join(sorted(map(str, body))[:10]) or "none"
            raise MaiaResponseError(
                f"GET {path}: the JSON object has no 'status' (keys: {keys})",
                status_code=response.status_code,
            )
        raw = body["status"]
        if not isinstance(raw, str) or not raw.strip():
            raise MaiaResponseError(
                f"GET {path}: 'status' must be a non-empty string, got {raw!r:.80}",
                status_code=response.status_code,
            )
        status = ExecutionStatus(raw)
        if not status.is_known:
            log.warning("execution status %r is not in the spec; treated like UNKNOWN", raw)
        return status

    def get_status(self, project_id: str, execution_id: str) -> ExecutionStatus:
        """The current status of a pipeline execution.

        A status string the spec does not list comes back as a non-canonical
        ``ExecutionStatus`` holding it verbatim (``is_known`` False).
        """
        path = self._status_path(project_id, execution_id)
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
        path = self._status_path(project_id, execution_id)
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


_SYSTEM_CLOCK = SystemClock()
