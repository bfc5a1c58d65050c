"""How the client talks to the API: one fork-safe session, a bearer token on every
request (refreshed once on a 401), deadlines, and retries within a budget."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

import requests
from requests.adapters import HTTPAdapter

from pytest_maia.client import answers, api_errors
from pytest_maia.client.exchange import Exchange
from pytest_maia.client.retry import backoff, retry_delay
from pytest_maia.client.transport import new_session, send
from pytest_maia.core.clock import is_real
from pytest_maia.core.errors import (
    MaiaApiError,
    MaiaConnectionError,
    MaiaError,
    MaiaResponseError,
)
from pytest_maia.core.redact import Secret, SecretFields, scrub_json

if TYPE_CHECKING:
    from pytest_maia.client.auth import TokenProvider
    from pytest_maia.client.budget import RequestBudget
    from pytest_maia.core.clock import Clock

__all__ = ["ApiCalls"]

log = logging.getLogger("pytest_maia.client.maia_client")
T = TypeVar("T")


class _Settings(Protocol):
    base_url: str
    timeout: float
    retry_budget: float
    max_retries: int
    budget: RequestBudget | None

    @property
    def clock(self) -> Clock: ...


class ApiCalls:
    """Requests for one :class:`~pytest_maia.client.maia_client.MaiaClient`, read from its
    settings."""

    provider: TokenProvider
    secrets: tuple[Secret, ...] = ()
    # Sees each answer (for --maia-record); never the request's headers or a token.
    observer: Callable[[Exchange], None] | None = None
    # Told of each retry (the error, the seconds before it) before the pause; may raise.
    on_retry: Callable[[MaiaError, float], None] | None = None

    def __init__(self, settings: _Settings, session: requests.Session | None) -> None:
        self._settings = settings
        self._owns_session = session is None
        self._session = session or new_session()
        self._pid = os.getpid()

    @property
    def session(self) -> requests.Session:
        """The session, with a fresh connection pool in a forked child: a pooled
        socket shared with the parent would hand each process the other's answers."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            if self._owns_session:
                self._session = new_session()
            else:
                for adapter in self._session.adapters.values():
                    if isinstance(adapter, HTTPAdapter):
                        adapter.poolmanager.clear()
                        for manager in adapter.proxy_manager.values():
                            manager.clear()
        return self._session

    def known_secrets(self) -> tuple[Secret, ...]:
        """The credentials and every access token issued to them (kept by the provider),
        to scrub from any text an answer holds."""
        issued: tuple[Secret, ...] = tuple(getattr(self.provider, "issued", ()))
        return (*self.secrets, *issued)

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def request(
        self,
        method: str,
        path: str,
        json_body: object = None,
        remaining: float | None = None,
        *,
        files: Mapping[str, tuple[str, bytes]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One request, refreshing an OAuth token once on a 401. Raises typed errors.

        ``files`` sends a multipart/form-data body (one part per name) instead of JSON,
        with ``headers`` added.

        ``remaining``: seconds until the caller's deadline, shared by the token fetch,
        the wait for the request budget (which raises
        :class:`~pytest_maia.core.errors.BudgetExhaustedError` if it cannot make it) and the answer.
        """
        where = f"{method} {path}"
        budget = self._settings.budget
        clock = self._settings.clock
        end = None if remaining is None else clock.now() + remaining

        def left() -> float | None:
            return None if end is None else end - clock.now()

        # Time left is on the caller's clock: only real seconds may cut a real socket (a
        # virtual wait at its deadline would give its last poll 0.05 s of real time).
        on_real_time = is_real(clock)

        def left_for_sockets() -> float | None:
            return left() if on_real_time else None

        for refresh in (True, False):
            token = self.provider.token(left_for_sockets())
            if budget is not None:
                budget.acquire(left())
            response = send(
                self.session,
                method,
                self._settings.base_url + path,
                where=where,
                timeout=self._settings.timeout,
                remaining=left_for_sockets(),
                headers=SecretFields(
                    Accept="application/json",
                    Authorization="Bearer " + token.reveal(),
                    **(headers or {}),
                ),
                **({"json": json_body} if files is None else {"files": dict(files)}),
            )
            if self.observer is not None:
                self.observer(
                    Exchange.of(
                        method,
                        path,
                        json_body,
                        response.status_code,
                        response.headers,
                        response.content,
                        (token,),
                    )
                )
            log.debug("%s -> HTTP %s", where, response.status_code)
            if response.status_code == 429 and budget is not None:
                # One 429 slows every holder of the budget, not only this request.
                budget.pause(api_errors.parse_retry_after(response.headers.get("Retry-After")))
            if response.status_code == 401 and refresh and self.provider.invalidate(token):
                log.debug("401 on %s; refreshing the access token once", path)
                continue
            break
        if response.status_code >= 400:
            raise api_errors.api_error(
                response.status_code,
                response.content,
                response.headers,
                method,
                path,
                secrets=(token, *self.known_secrets()),
            )
        if not 200 <= response.status_code < 300:
            raise MaiaResponseError(
                f"{where} answered HTTP {response.status_code}, which the API does not send",
                status_code=response.status_code,
            )
        return response

    def retrying(
        self, call: Callable[[float], T], *, idempotent: bool = True, within: float | None = None
    ) -> T:
        """Run ``call(remaining)``, retrying transient failures with capped backoff,
        all within ``retry_budget`` seconds (or ``within``, when less): a wait that
        would not fit raises at once, and so does the request budget's
        (:class:`~pytest_maia.core.errors.BudgetExhaustedError`).

        With ``idempotent=False`` only 429 is retried: the server refused that request,
        whereas after a 5xx or a lost connection it may have acted on it.
        """
        clock = self._settings.clock
        seconds = self._settings.retry_budget
        if within is not None:
            seconds = max(0.0, min(seconds, within))
        deadline = clock.now() + seconds
        for attempt in range(self._settings.max_retries + 1):
            try:
                return call(deadline - clock.now())
            except (MaiaApiError, MaiaConnectionError) as exc:
                delay = retry_delay(exc, backoff(attempt), idempotent=idempotent)
                if delay is None or attempt == self._settings.max_retries:
                    raise
                if clock.now() + delay >= deadline:
                    log.debug("not retrying: %.1fs would pass the retry budget", delay)
                    raise
                log.debug("retrying in %.1fs after: %s", delay, exc)
                if self.on_retry is not None:
                    self.on_retry(exc, delay)
                clock.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def json(
        self, method: str, path: str, body: object = None, remaining: float | None = None
    ) -> tuple[object, int]:
        """One request's decoded JSON body and HTTP status; MaiaResponseError if not JSON."""
        response = self.request(method, path, body, remaining)
        try:
            content_type = response.headers.get("Content-Type")
            decoded = answers.decode_json(response.content, response.status_code, content_type)
            # A success answer may echo a credential too (a details message quoting the
            # request): no text taken from it holds a secret or an issued token.
            decoded = scrub_json(decoded, self.known_secrets())
        except MaiaResponseError as exc:
            raise MaiaResponseError(
                f"{method} {path}: {exc}", status_code=exc.status_code
            ) from None
        except RecursionError:
            raise MaiaResponseError(
                f"{method} {path}: the JSON answer is nested too deep",
                status_code=response.status_code,
            ) from None
        return decoded, response.status_code
