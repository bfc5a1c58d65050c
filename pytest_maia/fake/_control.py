"""The control API under ``/_fake/`` on the loopback server (moto's ``/moto-api/`` shape).

Other processes script the running fake with JSON: reset it; add projects, pipelines,
executions and faults; publish and promote artifacts, add and run schedules, script audit
events; advance its virtual clock; read the redacted call log, the executions, the audit
log and the test executions. Bodies are the documents of :mod:`._documents`; errors
are ProblemDetail answers. Control requests need no token and are not in the call log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.fake import _documents as documents
from pytest_maia.fake import _documents_official as official
from pytest_maia.fake import _views as views
from pytest_maia.fake._account import Account
from pytest_maia.fake._http import JSON_HEADERS, Call, CallLog, Request, Response, problem
from pytest_maia.fake._routes_official import event_view
from pytest_maia.fake._testruns import TestExecution

PREFIX = "/_fake/"


def _json(body: object, code: int = 200) -> Response:
    return Response(code, JSON_HEADERS, views.encode(body))


def _calls(calls: Iterable[Call]) -> list[dict[str, object]]:
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


def _test_execution(item: TestExecution) -> dict[str, object]:
    return {
        "testExecutionId": item.test_execution_id,
        "projectId": item.project_id,
        "environmentName": item.environment_name,
        "scope": item.scope,
        "pipelines": list(item.pipelines),
        "tests": list(item.tests),
        "versionName": item.version_name,
        "executionTag": item.execution_tag,
        "agentId": item.agent_id,
        "cancelForce": item.cancel_force,
    }


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
    "artifacts": lambda a, body: {"ignoredResources": official.add_artifact(a, body)},
    "promotions": _done(official.add_promotion),
    "schedules": lambda a, body: {"scheduleId": official.add_schedule(a, body)},
    "schedules/run": lambda a, body: {"pipelineExecutionId": official.run_schedule(a, body)},
    "events": lambda a, body: {"eventId": official.add_event(a, body)},
    "clock/start": _start,
}
_GETS = ("calls", "executions", "clock", "events", "test-executions")

# What to send to each endpoint: shown with every 400, in the caller's language (JSON).
EXAMPLES: dict[str, str] = {
    "reset": "{}",
    "script": '{"pipelines": [{"name": "nightly", "statuses": ["RUNNING", "SUCCESS"]}]}',
    "projects": '{"id": "my-project", "environments": [{"name": "test"}, {"name": "prod"}]}',
    "pipelines": '{"name": "nightly", "statuses": ["RUNNING", "FAILED"], "message": "boom"}',
    "executions": '{"project_id": "my-project", "statuses": ["RUNNING", "SUCCESS"]}',
    "faults": '{"error": 503, "retry_after": 1, "times": 2} or {"drop": true}',
    "clients": '{"client_id": "ci", "client_secret": "s3cret"}',
    "clock/advance": '{"seconds": 60}',
    "clock/start": '{"at": "2026-01-01T00:00:00Z"}',
    "artifacts": '{"project_id": "my-project", "environment": "test", "version": "v1", '
    '"files": {"nightly.orch.yaml": "..."}}',
    "promotions": '{"project_id": "my-project", "version": "v1", "source": "test", '
    '"target": "prod"}',
    "schedules": '{"project_id": "my-project", "pipeline": "nightly", "environment": "prod", '
    '"cron": "0 0 2 ? * * *"}',
    "schedules/run": '{"schedule_id": "<the scheduleId POST /_fake/schedules answered>"}',
    "events": '{"name": "pipeline published", "type": "PUBLISH"}',
}


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json"


def _bad(request: Request, name: str, detail: str) -> Response:
    """A 400 whose detail ends with the JSON to send to this endpoint."""
    return problem(400, request.path, f"{detail}; send JSON like {_example(name)}")


def _example(name: str) -> str:
    return EXAMPLES.get(name, "{...} (see docs/fake.md, Control API)")


def handle(account: Account, calls: CallLog, request: Request) -> Response:
    """Answer one control request (``request.path`` starts with :data:`PREFIX`)."""
    name = request.path[len(PREFIX) :].rstrip("/")
    method = request.method
    if method == "POST" and (name in _POSTS or name == "reset"):
        # A web page can POST text/plain or a form with no CORS preflight; only a program
        # sends application/json (see docs/security.md).
        content_type = next(
            (v for k, v in request.headers.items() if k.lower() == "content-type"), None
        )
        if not _is_json(content_type):
            return problem(
                415,
                request.path,
                f"the control API takes Content-Type: application/json, got "
                f"{(content_type or 'none')[:100]!r}; send JSON like {_example(name)} "
                "(curl: -H 'Content-Type: application/json' -d '...')",
            )
    with account.lock:
        if method in ("GET", "HEAD") and name in _GETS:
            if name == "calls":
                body: object = _calls(calls)
            elif name == "executions":
                body = _executions(account)
            elif name == "events":
                body = [event_view(e, account.epoch) for e in account.events.all()]
            elif name == "test-executions":
                body = [_test_execution(t) for t in account.test_runs.all()]
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
            return _bad(request, name, "The request body must be JSON")
        try:
            return _json(post(account, document))
        except MaiaValidationError as error:
            return _bad(request, name, str(error))
