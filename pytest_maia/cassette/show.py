"""A cassette as text: each execution's timeline, then errors and drift. No I/O."""

from __future__ import annotations

from pytest_maia.cassette.model import Cassette, Event, ExecutionTape, HttpError
from pytest_maia.core.text import safe, safe_json

__all__ = ["describe", "show_file"]


def _error(error: HttpError) -> str:
    text = f"HTTP {error.code}"
    if error.retry_after is not None:
        text += f" (Retry-After {error.retry_after:g}s)"
    problem = error.problem or {}
    said = [str(problem[k]) for k in ("title", "detail") if isinstance(problem.get(k), str)]
    return text + (": " + " - ".join(said) if said else "")


def _what(event: Event) -> str:
    if event.error is not None:
        return _error(event.error)
    if event.cancel is not None:
        return "cancel requested" + (" (forced)" if event.cancel else "")
    return str(event.status)


def _timeline(tape: ExecutionTape) -> list[str]:
    lines: list[str] = []
    run: list[Event] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0], run[-1]
        line = f"  {first.at:9.3f}s  {_what(first)}"
        if len(run) > 1:
            line += f"  (seen {len(run)} times, until {last.at:.3f}s)"
        lines.append(line)
        run.clear()

    for event in tape.timeline:
        if run and _what(run[-1]) != _what(event):
            flush()
        run.append(event)
    flush()
    return lines


def _heading(tape: ExecutionTape) -> str:
    head = f"execution {tape.execution_id} in project {tape.project_id!r}"
    if tape.pipeline is not None:
        head += f": pipeline {tape.pipeline!r} in {tape.environment!r}"
    if tape.started_at is not None:
        head += f", started at {tape.started_at:.3f}s"
    if tape.start_ahead:
        head += " (started ahead by maia_start)"
    return head


def describe(cassette: Cassette) -> str:
    """The cassette's timelines, errors and drift, one fact a line (times in seconds
    since the test began)."""
    lines = [f"cassette of {cassette.test} (format version {cassette.version})"]
    for tape in cassette.executions:
        lines.append(_heading(tape))
        variables = {**tape.variables, **tape.grid_variables}
        if variables:
            shown = ", ".join(f"{name}={value!r}" for name, value in sorted(variables.items()))
            lines.append(f"  variables: {shown}")
        lines += _timeline(tape) or ["  (no status seen)"]
        details = tape.details or {}
        message = details.get("message")
        if isinstance(message, str):
            lines.append(f"  message: {message}")
        if tape.steps is not None:
            lines.append(f"  steps: {len(tape.steps)}")
    if cassette.errors:
        lines.append("errors outside an execution's polls:")
        for error in cassette.errors:
            http = HttpError.from_json(error)
            lines.append(f"  {error.get('at', 0):9.3f}s  {error.get('endpoint')}: {_error(http)}")
    if cassette.drift:
        lines.append(f"API drift ({len(cassette.drift)}):")
        lines += [f"  {finding}" for finding in cassette.drift]
    # A cassette holds what the API said: each line escaped (a newline in a message too).
    return "\n".join(safe(line) for line in lines) + "\n"


def show_file(path: str, *, as_json: bool = False) -> str:
    """``maia-status cassette show``: the cassette at ``path`` as text (or its JSON)."""
    from pytest_maia.cassette.model import read

    cassette = read(path)
    if not as_json:
        return describe(cassette)
    # Every non-ASCII character escaped too (no bidi override shows), ``##[`` broken up.
    return safe_json(cassette.to_json(), indent=2, sort_keys=True) + "\n"
