"""The control API under ``/_fake/`` on the loopback server (moto's ``/moto-api/`` shape).

Other processes script the running fake with JSON: reset it; add projects, pipelines,
executions and faults; advance its virtual clock; read the redacted call log and the
executions. Bodies are the documents of :mod:`._documents`; errors are ProblemDetail
answers. Control requests need no token and are not in the call log.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.fake import _documents as documents
from pytest_maia.fake import _views as views
from pytest_maia.fake._account import Account
from pytest_maia.fake._http import JSON_HEADERS, Call, Request, Response, problem

PREFIX = "/_fake/"


def _json(body: object, code: int = 200) -> Response:
    return Response(code, JSON_HEADERS, views.encode(body))


def _calls(calls: list[Call]) -> list[dict[str, object]]:
    return [
        {
            "method": c.method,
            "path": c.path,
            "status_code": c.status_code,
            "headers": dict(c.headers),
            "time": c.time,
        }
        for c in calls
    ]


def _executions(account: Account) -> list[dict[str, object]]:
    now = account.clock.now()
    out = []
    for execution in account.ledger.all():
        execution.current(now)
        item = views.details(execution, account.epoch)
        item["polls"] = account.ledger.polls(execution.execution_id)
        if execution.info is not None:
            item["scalarVariables"] = execution.info.scalar_variables
            item["gridVariables"] = execution.info.grid_variables
            item["executionTag"] = execution.info.execution_tag
        out.append(item)
    return out


Post = Callable[[Account, object], object]


def _done(action: Callable[[Account, object], None]) -> Post:
    def post(account: Account, body: object) -> object:
        action(account, body)
        return {}

    return post


def _advance(account: Account, body: object) -> object:
    seconds = body.get("seconds") if isinstance(body, dict) else body
    documents.advance(account, seconds, "seconds")
    return _clock(account)


def _start(account: Account, body: object) -> object:
    at = body.get("at") if isinstance(body, dict) else body
    documents.start(account, at, "at")
    return _clock(account)


def _clock(account: Account) -> dict[str, object]:
    """``{"now": clock seconds, "at": the instant they are}``."""
    now = account.clock.now()
    return {"now": now, "at": views.timestamp(account.epoch, now)}


_POSTS: dict[str, Post] = {
    "script": lambda a, body: {"executions": documents.apply(a, body)},
    "projects": _done(documents.add_project),
    "pipelines": _done(documents.add_pipeline),
    "executions": lambda a, body: {"pipelineExecutionId": documents.add_execution(a, body)},
    "faults": _done(documents.add_fault),
    "clients": _done(documents.add_client),
    "clock/advance": _advance,
    "clock/start": _start,
}
_GETS = ("calls", "executions", "clock")


def handle(account: Account, calls: list[Call], request: Request) -> Response:
    """Answer one control request (``request.path`` starts with :data:`PREFIX`)."""
    name = request.path[len(PREFIX) :].rstrip("/")
    method = request.method
    with account.lock:
        if method in ("GET", "HEAD") and name in _GETS:
            if name == "calls":
                body: object = _calls(calls)
            elif name == "executions":
                body = _executions(account)
            else:
                body = _clock(account)
            response = _json(body)
            return Response(200, response.headers, b"") if method == "HEAD" else response
        if method == "POST" and name == "reset":
            account.reset()
            calls.clear()
            return _json({})
        post = _POSTS.get(name)
        if post is None or method != "POST":
            allowed = "GET, HEAD" if name in _GETS else "POST"
            if post is None and name not in _GETS and name != "reset":
                return problem(404, request.path, f"No control endpoint at {request.path}")
            return problem(405, request.path, f"allowed: {allowed}", headers=(("Allow", allowed),))
        try:
            document = json.loads(request.body) if request.body else {}
        except (ValueError, UnicodeDecodeError, RecursionError):
            return problem(400, request.path, "The request body must be JSON")
        try:
            return _json(post(account, document))
        except MaiaValidationError as error:
            return problem(400, request.path, str(error))
