"""``maia-status``: check, wait for and start pipeline executions from a CI shell step.

Exit codes: 0 success, 1 a terminal status that is not success, 2 usage or
configuration error, 3 timeout, or gave up: the API stayed unreachable through
``--max-retries`` retries, 4 API error (HTTP error, bad response, TLS), 130 interrupted
(Ctrl-C). Everything printed has its control characters escaped.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from pytest_maia.client.waiting import DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL, DEFAULT_TIMEOUT
from pytest_maia.core.errors import (
    MaiaApiError,
    MaiaConfigError,
    MaiaConnectionError,
    MaiaError,
    MaiaTimeoutError,
    MaiaValidationError,
)
from pytest_maia.core.models import ExecutionStatus, WaitResult
from pytest_maia.core.text import safe, safe_json
from pytest_maia.version import __version__

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "main",
    "safe",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_API_ERROR = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors exit 2 as well
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for machines")
    common.add_argument("--base-url", help="API base URL (env MAIA_BASE_URL)")
    common.add_argument("--region", help="eu1, us1 or au1 (env MAIA_REGION; default eu1)")
    common.add_argument("--token-url", help="OAuth token endpoint (for a fake server)")
    common.add_argument(
        "--max-retries",
        type=int,
        default=None,
        help="retries of a request that may succeed later (429, 5xx, no connection; "
        "default 5; 0: fail at once)",
    )
    parser = _Parser(
        prog="maia-status",
        description="Check and wait for Maia pipeline executions. Credentials come from "
        "the environment: MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET.",
        epilog="exit codes: 0 success, 1 terminal status that is not success, 2 usage or "
        "configuration error, 3 timeout or unreachable through --max-retries retries, "
        "4 API error, 130 interrupted (Ctrl-C)",
    )
    parser.add_argument(
        "--version", action="version", version=f"maia-status (pytest-maia) {__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    get = sub.add_parser("get", parents=[common], help="print an execution's status")
    get.add_argument("project")
    get.add_argument("execution")
    wait = sub.add_parser("wait", parents=[common], help="wait for a terminal status")
    wait.add_argument("project")
    wait.add_argument("execution")
    _wait_options(wait)
    run = sub.add_parser("run", parents=[common], help="execute a published pipeline")
    run.add_argument("pipeline")
    run.add_argument("--environment", required=True, help="environment name")
    run.add_argument("--project", default=None, help="project id (env MAIA_PROJECT_ID)")
    run.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="scalar variable"
    )
    run.add_argument("--tag", default=None, help="execution tag")
    run.add_argument("--wait", action="store_true", help="wait for the run to finish")
    _wait_options(run)
    serve = sub.add_parser("fake-server", help="serve the fake Maia API on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--script", help="JSON file scripting the fake (control API documents)")
    serve.add_argument(
        "--token", default=None, help="also accept this bearer token (besides issued ones)"
    )
    serve.add_argument(
        "--any-token",
        action="store_true",
        help="accept any well-formed bearer token (default: only issued ones and --token)",
    )
    serve.add_argument(
        "--clock",
        choices=("real", "virtual"),
        default="real",
        help="'every' steps in real seconds (default) or on a virtual clock",
    )
    serve.add_argument("--json", action="store_true", help="print the URLs as JSON")
    cassette = sub.add_parser("cassette", help="read a cassette recorded with --maia-cassettes")
    verbs = cassette.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    show = verbs.add_parser("show", help="print a cassette's timelines, errors and drift")
    show.add_argument("file")
    show.add_argument("--json", action="store_true", help="print the cassette's JSON instead")
    report = sub.add_parser("report", help="work with --maia-report-json timelines")
    report_verbs = report.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    merge = report_verbs.add_parser(
        "merge", help="join the timelines of several shards into one report"
    )
    merge.add_argument("shards", nargs="+", metavar="SHARD.json")
    merge.add_argument("--html", default=None, metavar="OUT", help="write the HTML report")
    merge.add_argument(
        "--timeline-json", default=None, metavar="OUT", help="write the merged timeline JSON"
    )
    return parser


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=float, default=None, help=f"seconds (default {DEFAULT_TIMEOUT:g})"
    )
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL, help="first poll interval"
    )
    parser.add_argument(
        "--max-interval", type=float, default=DEFAULT_MAX_INTERVAL, help="longest interval"
    )


def _client(args: argparse.Namespace) -> MaiaClient:
    from pytest_maia.client.maia_client import ENV_VARIABLES, MaiaClient
    from pytest_maia.core.redact import read_variables

    variables = read_variables(ENV_VARIABLES)  # only what the client reads, secrets wrapped
    for name, value in (
        ("MAIA_BASE_URL", args.base_url),
        ("MAIA_REGION", args.region),
        ("MAIA_TOKEN_URL", args.token_url),
    ):
        if value:
            variables[name] = value
    if not variables.get("MAIA_TOKEN_URL"):
        base_url = variables.get("MAIA_BASE_URL")
        local = loopback_token_url(base_url if isinstance(base_url, str) else None)
        if local is not None:
            variables["MAIA_TOKEN_URL"] = local
    limit = 5 if args.max_retries is None else args.max_retries
    retries = _Retries(limit, sys.stderr)
    args.retries = retries
    if args.max_retries is None:
        client = MaiaClient.from_env(variables, on_retry=retries)
    else:
        client = MaiaClient.from_env(variables, max_retries=args.max_retries, on_retry=retries)
    retries.url = client.base_url
    return client


class _Retries:
    """A line on stderr per retry; past ``limit`` retries in a row a wait gives up (the
    last error ends it: a refused connection is exit 3, naming the URL)."""

    def __init__(self, limit: int, stream: TextIO) -> None:
        self.limit = limit
        self.stream = stream
        self.count = 0
        self.url = ""

    def __call__(self, error: MaiaError, pause: float) -> None:
        self.count += 1
        if self.count > self.limit:
            self.count = self.limit
            raise error
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        line = f"maia-status: {first}; retry {self.count} of {self.limit} in {pause:.1f}s"
        print(safe(line), file=self.stream, flush=True)

    def answered(self) -> None:
        """An answer came: the count of retries in a row starts again."""
        self.count = 0


def loopback_token_url(base_url: str | None) -> str | None:
    """For a loopback base URL (a fake server), the token URL it serves (what
    ``maia-status fake-server`` prints): ``{base_url}/oauth/dpc/token``; else None."""
    from pytest_maia.client.token_endpoint import TOKEN_URL, default_token_url

    if not base_url:
        return None
    url = default_token_url(base_url)
    return None if url == TOKEN_URL else url


def _timeout(args: argparse.Namespace) -> float:
    if args.timeout is not None:
        return float(args.timeout)
    raw = os.environ.get("MAIA_TIMEOUT")
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise MaiaConfigError(f"MAIA_TIMEOUT must be a number of seconds, got {raw!r}") from None


def _exit_for(status: ExecutionStatus) -> int:
    return EXIT_FAILED if status.is_terminal and not status.is_success else EXIT_OK


def _result_json(result: WaitResult) -> dict[str, Any]:
    return {
        "execution_id": result.execution_id,
        "status": result.status.value,
        "elapsed": round(result.elapsed, 3),
        "polls": result.polls,
        "history": [[round(t, 3), s.value] for t, s in result.history],
    }


class _Progress:
    """A live progress line on a terminal; silent elsewhere."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.shown = False

    def __call__(self, result: WaitResult) -> None:
        if not self.enabled:
            return
        minutes, seconds = divmod(int(result.elapsed), 60)
        line = f"{result.execution_id}: {result.status.value} {minutes}m{seconds:02d}s"
        self.stream.write(f"\r{safe(line)} ({result.polls} polls)\x1b[K")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _wait(client: MaiaClient, project: str, execution: str, args: argparse.Namespace) -> WaitResult:
    progress = _Progress(sys.stderr, enabled=not args.json)
    retries: _Retries | None = getattr(args, "retries", None)

    def on_poll(result: WaitResult) -> None:
        if retries is not None:
            retries.answered()
        progress(result)

    try:
        return client.wait_for(
            project,
            execution,
            timeout=_timeout(args),
            interval=args.interval,
            max_interval=args.max_interval,
            on_poll=on_poll,
        )
    finally:
        progress.done()


def _print(args: argparse.Namespace, human: str, data: dict[str, Any]) -> None:
    # JSON escapes control characters itself; human text is escaped here.
    print(safe_json(data) if args.json else safe(human), flush=True)


def _cmd_get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        status = client.get_status(args.project, args.execution)
    _print(args, status.value, {"execution_id": args.execution, "status": status.value})
    return _exit_for(status)


def _cmd_wait(args: argparse.Namespace) -> int:
    with _client(args) as client:
        result = _wait(client, args.project, args.execution, args)
    human = f"{result.execution_id}: {result.status.value} after {result.elapsed:.1f}s"
    _print(args, f"{human} ({result.polls} polls)", _result_json(result))
    return _exit_for(result.status)


def _variables(pairs: Sequence[str]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise MaiaValidationError(f"--var takes NAME=VALUE, got {pair!r}")
        variables[name] = value
    return variables


def _cmd_run(args: argparse.Namespace) -> int:
    project = args.project or os.environ.get("MAIA_PROJECT_ID")
    if not project:
        raise MaiaConfigError("no project: pass --project or set MAIA_PROJECT_ID")
    with _client(args) as client:
        execution_id = client.execute_pipeline(
            project,
            args.pipeline,
            args.environment,
            scalar_variables=_variables(args.var) or None,
            execution_tag=args.tag,
        )
        if not args.wait:
            _print(args, execution_id, {"execution_id": execution_id, "status": "RUNNING"})
            return EXIT_OK
        result = _wait(client, project, execution_id, args)
    human = f"{execution_id}: {result.status.value} after {result.elapsed:.1f}s"
    _print(args, f"{human} ({result.polls} polls)", _result_json(result))
    return _exit_for(result.status)


def _error_json(exc: BaseException) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, MaiaApiError):
        data["status_code"] = exc.status_code
        data["problem"] = exc.problem.to_json() if exc.problem else None
    if isinstance(exc, MaiaTimeoutError):
        data["result"] = _result_json(exc.result)
    return {"error": data}


def _cmd_cassette(args: argparse.Namespace) -> int:
    from pytest_maia.cassette.show import show_file

    print(show_file(args.file, as_json=args.json), end="", flush=True)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from pytest_maia.report.merge import merge_files

    if not (args.html or args.timeline_json):
        raise MaiaValidationError(
            "report merge: say where to write it: --html OUT or --timeline-json OUT"
        )
    merged = merge_files(args.shards, html=args.html, json_out=args.timeline_json)
    written = ", ".join(path for path in (args.html, args.timeline_json) if path)
    print(
        safe(f"{len(merged.executions)} execution(s) from {len(args.shards)} shard(s): {written}")
    )
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "cassette": _cmd_cassette,
    "report": _cmd_report,
    "get": _cmd_get,
    "wait": _cmd_wait,
    "run": _cmd_run,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    error: MaiaError
    if args.command == "fake-server":
        from pytest_maia.cli.fake_server import serve_forever

        return serve_forever(args)
    try:
        return _COMMANDS[args.command](args)
    except (MaiaValidationError, MaiaConfigError) as exc:
        code, error = EXIT_USAGE, exc
    except MaiaTimeoutError as exc:
        code, error = EXIT_TIMEOUT, exc
    except MaiaConnectionError as exc:
        retries: _Retries | None = getattr(args, "retries", None)
        if not exc.is_transient or retries is None:
            code, error = EXIT_API_ERROR, exc
        else:  # unreachable through every retry: give up, naming where
            code, error = EXIT_TIMEOUT, exc
            times = "1 retry" if retries.count == 1 else f"{retries.count} retries"
            gave_up = f"gave up after {times}: {retries.url} is unreachable"
            if getattr(args, "json", False):
                data = _error_json(exc)
                data["error"]["message"] = f"{gave_up}: {exc}"
                print(safe_json(data), flush=True)
            else:
                line = f"maia-status: {gave_up}: {str(exc).splitlines()[0]}"
                print(safe(line), file=sys.stderr, flush=True)
            return code
    except MaiaError as exc:
        code, error = EXIT_API_ERROR, exc
    except KeyboardInterrupt:
        print("maia-status: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    if getattr(args, "json", False):  # `report merge` has no --json
        print(safe_json(_error_json(error)), flush=True)
    else:
        text = safe(f"maia-status: {type(error).__name__}: {error}", newlines=True)
        print(text, file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
