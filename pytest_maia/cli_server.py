"""``maia-status fake-server``: FakeMaia on loopback for other processes and languages.

A script file (JSON) scripts executions and pipelines before the server starts::

    {
      "token": "optional: accept only this bearer token",
      "executions": [
        {"project_id": "p", "execution_id": "<uuid>", "every": 2,
         "statuses": ["RUNNING", {"error": 503, "retry_after": 1}, "SUCCESS"]}
      ],
      "pipelines": [{"name": "nightly", "statuses": ["RUNNING", "FAILED"],
                     "message": "Task 'load' failed",
                     "steps": [{"name": "load", "status": "FAILED", "message": "..."}]}]
    }

A status is one of the eight exactly, or ``{"unrecognised": "PAUSED"}`` for a status
outside the spec; ``{"error": CODE, "detail": ..., "retry_after": ...}`` answers with an
error and ``{"drop": true}`` drops the connection. ``message`` and ``steps`` are as for
``FakeMaia.add_execution``.
"""

from __future__ import annotations

import argparse
import json
import reprlib
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from pytest_maia.clock import Clock, SystemClock, VirtualClock
from pytest_maia.errors import MaiaError, MaiaValidationError
from pytest_maia.models import ErrorStep, ExecutionStatus, Step
from pytest_maia.validation import check_status

__all__ = ["load_script", "serve_forever"]


def _step(raw: object, where: str) -> Step:
    if isinstance(raw, str):
        return check_status(raw, where)
    if isinstance(raw, dict):
        if raw.get("drop") is True:
            return ErrorStep(0)
        other = raw.get("unrecognised")
        if isinstance(other, str) and other.strip():
            return ExecutionStatus.unrecognised(other)
        code = raw.get("error")
        retry_after = raw.get("retry_after")
        detail = raw.get("detail")
        if (
            isinstance(code, int)
            and not isinstance(code, bool)
            and (detail is None or isinstance(detail, str))
            and (retry_after is None or isinstance(retry_after, (int, float)))
        ):
            return ErrorStep(code, detail=detail, retry_after=retry_after)
    raise MaiaValidationError(
        f"{where}: a step is a status, {{'unrecognised': str}}, {{'error': CODE, "
        f"'detail': str, 'retry_after': seconds}} or {{'drop': true}}, got {reprlib.repr(raw)}"
    )


def _steps(entry: dict[str, Any], where: str) -> list[Step]:
    statuses = entry.get("statuses")
    if not isinstance(statuses, list) or not statuses:
        raise MaiaValidationError(f"{where}: 'statuses' must be a non-empty list")
    return [_step(raw, f"{where}.statuses[{i}]") for i, raw in enumerate(statuses)]


def _entries(script: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = script.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MaiaValidationError(f"script: '{key}' must be a list of objects")
    return entries


def load_script(fake: Any, script: object) -> None:
    """Apply a parsed script (see the module doc) to ``fake``."""
    if not isinstance(script, dict):
        raise MaiaValidationError("script: the file must hold a JSON object")
    for i, entry in enumerate(_entries(script, "executions")):
        where = f"executions[{i}]"
        project = entry.get("project_id")
        if not isinstance(project, str):
            raise MaiaValidationError(f"{where}: 'project_id' must be a string")
        fake.add_execution(
            project,
            _steps(entry, where),
            execution_id=entry.get("execution_id"),
            every=entry.get("every"),
            message=entry.get("message"),
            steps=entry.get("steps"),
        )
    for i, entry in enumerate(_entries(script, "pipelines")):
        where = f"pipelines[{i}]"
        name = entry.get("name")
        if not isinstance(name, str):
            raise MaiaValidationError(f"{where}: 'name' must be a string")
        fake.script_pipeline(
            name,
            _steps(entry, where),
            every=entry.get("every"),
            message=entry.get("message"),
            steps=entry.get("steps"),
        )


def _read_script(path: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MaiaValidationError(f"cannot read script {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise MaiaValidationError(f"script {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MaiaValidationError(f"script {path} is nested too deeply to be a script") from None


def serve_forever(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print the base URL first, then block."""
    from pytest_maia.fake import FakeMaia

    clock: Clock = VirtualClock() if args.clock == "virtual" else SystemClock()
    try:
        script = _read_script(args.script) if args.script else {}
        token = args.token or (script.get("token") if isinstance(script, dict) else None)
        fake = FakeMaia(token=token, clock=clock)
        load_script(fake, script)
        server_cm = fake.serve(args.host, args.port)
        server = server_cm.__enter__()
    except (MaiaError, OSError) as exc:
        print(f"maia-status fake-server: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    token_url = getattr(server, "token_url", None)
    if args.json:
        print(json.dumps({"url": server.url, "token_url": token_url}), flush=True)
    else:
        # The base URL alone on the first line (scripts read it), then the token URL.
        print(server.url, flush=True)
        print(f"token URL: {token_url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server_cm.__exit__(None, None, None)
    return 0
