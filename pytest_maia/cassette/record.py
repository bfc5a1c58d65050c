"""Building one test's cassette from what its client did. No pytest, no network.

A :class:`Recorder` is handed every :class:`Exchange` of the test's client (through
``MaiaClient(observer=...)``) and turns them into executions with timelines, errors
and drift findings. :func:`fetch_extras` reads the details and steps of every execution
seen, once, at the end of the test.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus

from pytest_maia.cassette import drift
from pytest_maia.cassette.model import Cassette, Event, ExecutionTape, Finding, HttpError, dumps
from pytest_maia.client.exchange import Exchange
from pytest_maia.core.redact import LONG_SECRET, Finder, finder, masked, masked_json

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient

__all__ = ["REDACTED", "SCRUBBED", "Recorder", "fetch_extras", "fetch_steps", "forms_of"]

SCRUBBED = "<scrubbed>"
MIN_ECHO = 4
REDACTED = "<redacted>"


def _json(body: bytes) -> object:
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _status_of(body: object) -> str | None:
    """The status of a status or details body, flat or nested in ``result``."""
    if not isinstance(body, dict):
        return None
    status = body.get("status")
    result = body.get("result")
    if status is None and isinstance(result, dict):
        status = result.get("status")
    return status if isinstance(status, str) else None


def _http_error(exchange: Exchange) -> HttpError:
    from pytest_maia.client.api_errors import parse_retry_after

    body = _json(exchange.body)
    retry_after = parse_retry_after(exchange.headers.get("Retry-After"))
    return HttpError(exchange.status_code, retry_after, body if isinstance(body, dict) else None)


class Recorder:
    """Builds the cassette of one test. ``scrub``: variable names whose values are
    replaced; ``secrets``: values redacted wherever they appear when written."""

    def __init__(
        self,
        test: str,
        *,
        scrub: Iterable[str] = (),
        secrets: Iterable[str] = (),
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cassette = Cassette(test)
        self._now = now
        self._start = now()
        self._scrub = frozenset(scrub)
        self._secrets = tuple(s for s in secrets if s)
        self._extras = False
        self._scrubbed_values: set[str] = set()
        self._tokens: set[str] = set()  # the bearer tokens the requests were sent with
        self._findings: set[Finding] = set()  # the drift found so far, for a linear check

    @contextlib.contextmanager
    def extras(self) -> Iterator[None]:
        """Exchanges inside are read for details and steps, not added to timelines."""
        self._extras = True
        try:
            yield
        finally:
            self._extras = False

    def _tape(self, project_id: str, execution_id: str) -> ExecutionTape:
        tape = self.cassette.execution(execution_id)
        if tape is None:
            tape = ExecutionTape(execution_id, project_id)
            self.cassette.executions.append(tape)
        return tape

    def _scrubbed(self, variables: object) -> dict[str, Any]:
        if not isinstance(variables, dict):
            return {}
        out: dict[str, Any] = {}
        for name, value in variables.items():
            if name in self._scrub:
                self._remember(value)
                value = (
                    [[SCRUBBED for _ in row] for row in value]
                    if isinstance(value, list)
                    else SCRUBBED
                )
            out[str(name)] = value
        return out

    def _remember(self, value: object) -> None:
        # A scrubbed value is also taken out of anything the API echoed (a problem's
        # detail, a message); very short ones would hit unrelated text, so not those.
        if isinstance(value, str) and len(value) >= MIN_ECHO:
            self._scrubbed_values.add(value)
        elif isinstance(value, list):
            for item in value:
                self._remember(item)

    def _unecho(self, data: object) -> object:
        finders = _finders(forms_of(self._scrubbed_values), anywhere=True)
        return masked_json(data, finders, SCRUBBED)

    def observe(self, exchange: Exchange) -> None:
        """Take in one exchange of the test's client."""
        at = self._now() - self._start
        for secret in exchange.secrets:
            if secret:
                self._tokens.add(secret.reveal())
        if not self._extras:
            for finding in drift.check(exchange):
                if finding not in self._findings:
                    self._findings.add(finding)
                    self.cassette.drift.append(finding)
        if exchange.status_code == 401:
            return  # an expired token, refreshed by the client: not the pipeline's doing
        route = drift.route_of(exchange.method, exchange.path)
        code, body = exchange.status_code, _json(exchange.body)
        ok = 200 <= code < 300
        if route.kind == "execute":
            self._execute(exchange, route, at, body)
        elif route.execution_id is None or route.project_id is None:
            if not ok and not self._extras:
                self._other_error(exchange, route, at)
        elif route.kind in ("status", "details"):
            tape = self._tape(route.project_id, route.execution_id)
            if ok and route.kind == "details" and isinstance(body, dict):
                tape.details = body
            if self._extras:
                return
            if ok:
                tape.timeline.append(Event(at, status=_status_of(body) or "<no status>"))
            else:
                tape.timeline.append(Event(at, error=_http_error(exchange)))
        elif route.kind == "cancel" and not self._extras:
            tape = self._tape(route.project_id, route.execution_id)
            request = exchange.request_body if isinstance(exchange.request_body, dict) else {}
            if ok:
                tape.timeline.append(Event(at, cancel=bool(request.get("forceUpdate"))))
            else:
                tape.timeline.append(Event(at, error=_http_error(exchange)))
        elif route.kind == "steps" and ok:
            items = body.get("results") if isinstance(body, dict) else body
            if isinstance(items, list):
                tape = self._tape(route.project_id, route.execution_id)
                # Page 0 starts the list afresh; later pages add to it.
                first = "page=0" in exchange.path or "page=" not in exchange.path
                tape.steps = items if first or tape.steps is None else [*tape.steps, *items]

    def _execute(self, exchange: Exchange, route: drift.Route, at: float, body: object) -> None:
        request = exchange.request_body if isinstance(exchange.request_body, dict) else {}
        execution_id = body.get("pipelineExecutionId") if isinstance(body, dict) else None
        if not 200 <= exchange.status_code < 300 or not isinstance(execution_id, str):
            self._other_error(exchange, route, at, pipeline=request.get("pipelineName"))
            return
        tape = self._tape(route.project_id or "", execution_id.lower())
        tape.started_at = at
        tape.pipeline = request.get("pipelineName")
        tape.environment = request.get("environmentName")
        tape.variables = self._scrubbed(request.get("scalarVariables"))
        tape.grid_variables = self._scrubbed(request.get("gridVariables"))
        tape.execution_tag = request.get("executionTag")

    def started_id(self, exchange: Exchange) -> str | None:
        """The id of the execution ``exchange`` started (an answered execute request)."""
        if drift.route_of(exchange.method, exchange.path).kind != "execute":
            return None
        body = _json(exchange.body)
        execution_id = body.get("pipelineExecutionId") if isinstance(body, dict) else None
        ok = 200 <= exchange.status_code < 300
        return execution_id.lower() if ok and isinstance(execution_id, str) else None

    def mark_start_ahead(self, execution_id: str) -> None:
        """The execution was the test's run started ahead (``maia_start``)."""
        tape = self.cassette.execution(execution_id.lower())
        if tape is not None:
            tape.start_ahead = True

    def adopt_start(
        self,
        execution_id: str,
        project_id: str,
        *,
        pipeline: str,
        environment: str | None,
        variables: dict[str, str],
        tag: str | None,
    ) -> None:
        """The test claimed its start-ahead run ``execution_id``: the cassette holds it
        as started (at the claim, when this recorder did not see the start itself)."""
        tape = self._tape(project_id, execution_id.lower())
        tape.start_ahead = True
        if tape.started_at is None:
            tape.started_at = max(0.0, self._now() - self._start)
            tape.pipeline = pipeline
            tape.environment = environment
            tape.variables = self._scrubbed(variables)
            tape.execution_tag = tag

    def _other_error(
        self, exchange: Exchange, route: drift.Route, at: float, *, pipeline: object = None
    ) -> None:
        error = _http_error(exchange).to_json()
        error.update({"at": round(at, 3), "endpoint": route.endpoint})
        if pipeline is not None:
            error["pipeline"] = pipeline
        self.cassette.errors.append(error)

    def text(self) -> str:
        """The cassette's JSON, with every known secret value redacted: the configured
        credentials and every token a request was sent with, in each form an answer
        may echo them (as sent, URL-encoded, JSON-escaped, percent-decoded). As
        everywhere (:func:`pytest_maia.core.redact.scrub`), a form of 8 characters or
        more is masked wherever it appears, a shorter one only as a whole token."""
        data: object = self.cassette.to_json()
        if self._scrubbed_values:
            data = self._unecho(data)
        found = _finders(forms_of([*self._secrets, *self._tokens]))
        if found:
            data = masked_json(data, found, REDACTED)
        text = dumps(Cassette.from_json(data))
        # Belt and braces: any form as the JSON text spells it (escaped).
        return masked(text, _finders([json.dumps(form)[1:-1] for form, _ in found]), REDACTED)

    def write(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.text(), encoding="utf-8")
        return target


def forms_of(values: Iterable[str]) -> list[str]:
    """Every form an answer may spell each of ``values`` in, longest first: as it is,
    percent-decoded, URL-encoded (path, query and form style, upper- and lower-case
    hex) and JSON-escaped (``\\u00e9`` for a non-ASCII character)."""
    forms: set[str] = set()
    for value in values:
        if not value:
            continue
        spelled = {value, unquote(value), unquote_plus(value)}
        for text in list(spelled):
            for encoded in (quote(text, safe=""), quote(text), quote_plus(text)):
                spelled.add(encoded)
                spelled.add(_PERCENT.sub(lambda m: m.group().lower(), encoded))
        for text in list(spelled):
            spelled.add(json.dumps(text)[1:-1])
        # A decoded form much shorter than the value ("%2F%2F" is "//") would hit
        # ordinary text: only the value itself is kept whatever its length.
        forms |= {form for form in spelled if len(form) >= MIN_ECHO} | {value}
    return sorted(forms, key=lambda form: (-len(form), form))


_PERCENT = re.compile(r"%[0-9A-F]{2}")


def _finders(forms: Iterable[str], *, anywhere: bool = False) -> list[Finder]:
    """How each of ``forms`` is found: anywhere (``anywhere``, or 8 characters and
    more), else only where no letter, digit, ``_`` or ``-`` touches it."""
    return [
        finder(form, anywhere=anywhere or len(form) >= LONG_SECRET) for form in dict.fromkeys(forms)
    ]


def fetch_steps(client: MaiaClient, project_id: str, execution_id: str) -> None:
    """Read an execution's steps so the recorder sees them; any error (an API without
    the endpoint) is ignored: the cassette then has ``steps: null``."""
    from pytest_maia.core.errors import MaiaError

    with contextlib.suppress(MaiaError):
        client.get_steps(project_id, execution_id)


def fetch_extras(client: MaiaClient, recorder: Recorder) -> None:
    """Read the details and steps of every execution the test saw (once, at its end)."""
    from pytest_maia.core.errors import MaiaError

    with recorder.extras():
        for tape in list(recorder.cassette.executions):
            with contextlib.suppress(MaiaError):
                client.get_execution(tape.project_id, tape.execution_id)
            fetch_steps(client, tape.project_id, tape.execution_id)
