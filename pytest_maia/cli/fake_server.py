"""``maia-status fake-server``: FakeMaia on loopback for other processes and languages.

Strict by default: only tokens its token endpoint issued (any client id and secret get
one) and the ``--token`` value pass; ``--any-token`` accepts any well-formed bearer
token. The ``--script`` file is a control API document (docs/fake.md, "Control API"),
applied through the same code as ``POST /_fake/script``, plus an optional ``"token"``::

    {
      "token": "optional: also accept this bearer token",
      "projects": [{"id": "p", "environments": [{"name": "prod", "pipelines": ["nightly"]}]}],
      "pipelines": [{"name": "nightly", "statuses": ["RUNNING", "FAILED"],
                     "message": "Task 'load' failed",
                     "steps": [{"name": "load", "status": "FAILED", "message": "..."}]}],
      "executions": [{"project_id": "p", "execution_id": "<uuid>", "every": 2,
                      "statuses": ["RUNNING", {"error": 503, "retry_after": 1}, "SUCCESS"]}]
    }
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_maia.core.clock import Clock, SystemClock, VirtualClock
from pytest_maia.core.errors import MaiaError, MaiaValidationError
from pytest_maia.core.validation import is_loopback_host

if TYPE_CHECKING:
    from pytest_maia.fake import FakeMaia


def load_script(fake: FakeMaia, script: object) -> None:
    """Apply a parsed script document to ``fake`` (as ``POST /_fake/script`` would)."""
    from pytest_maia.fake import Request

    if isinstance(script, dict):
        script = {key: value for key, value in script.items() if key != "token"}
    body = json.dumps(script).encode()
    answer = fake.handle(
        Request("POST", "/_fake/script", {"Content-Type": "application/json"}, body), control=True
    )
    if answer.status != 200:
        detail = json.loads(answer.body).get("detail", "not a script")
        raise MaiaValidationError(f"script: {detail}")


def _read_script(path: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MaiaValidationError(f"cannot read script {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise MaiaValidationError(f"script {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MaiaValidationError(f"script {path} is nested too deeply to be a script") from None


def _token(args: argparse.Namespace, script: object) -> Any:
    if args.token:
        return args.token
    return script.get("token") if isinstance(script, dict) else None


def _check_address(host: str, port: int) -> None:
    """``--host`` and ``--port`` checked in the command line's words."""
    if not is_loopback_host(host):
        raise MaiaValidationError(
            f"--host must be a loopback address (127.0.0.1, ::1, localhost), got {host!r}"
        )
    if not 0 <= port <= 65535:
        raise MaiaValidationError(
            f"--port must be 0..65535 (--port 0 picks a free port), got {port}"
        )


def serve_forever(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print the base URL first, then block."""
    from pytest_maia.fake import FakeMaia
    from pytest_maia.fake.server import ListenError

    clock: Clock = VirtualClock() if args.clock == "virtual" else SystemClock()
    try:
        _check_address(args.host, args.port)
        script = _read_script(args.script) if args.script else {}
        strict = not getattr(args, "any_token", False)
        fake = FakeMaia(token=_token(args, script), clock=clock, strict=strict)
        load_script(fake, script)
        server_cm = fake.serve(args.host, args.port)
        server = server_cm.__enter__()
    except ListenError as exc:  # in the command line's words: --port 0, not port=0
        print(f"maia-status fake-server: {exc.hint('--port {}')}", file=sys.stderr, flush=True)
        return 2
    except (MaiaError, OSError) as exc:
        print(f"maia-status fake-server: {exc}", file=sys.stderr, flush=True)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.json:
        urls = {"url": server.url, "token_url": server.token_url}
        print(json.dumps({**urls, "control_url": server.control_url}), flush=True)
    else:
        # The base URL alone on the first line (scripts read it), then the other URLs.
        print(server.url, flush=True)
        print(f"token URL: {server.token_url}", flush=True)
        print(f"control API: {server.control_url}", flush=True)
    # POSIX interrupts a blocked wait for a signal handler: stop at once on SIGTERM. Windows
    # delivers Ctrl-C only between waits, so poll there.
    poll = 0.2 if os.name == "nt" else None
    try:
        while not stop.wait(poll):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server_cm.__exit__(None, None, None)
    return 0
