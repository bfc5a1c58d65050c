"""The report's data model: executions waited on, their status segments, and the JSON.

Plain Python (no pytest). :class:`Execution` is the one record of a finished wait:
``maia_status`` makes one per wait, the plugin writes it into the test's
``user_properties`` once, as one compact JSON value (:func:`to_property`, under
:data:`PROPERTY`; xdist carries it from the workers to the controller inside the
reports), and every report reads it back (:func:`executions_from_properties`): the
terminal summary, the HTML, SVG, GitHub and JSON outputs (through :class:`Timeline`),
the pytest-html column, and JUnit XML, whose flat ``maia_status``-style properties
are a view of the same record (:func:`junit_properties`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_maia.core.text import api_text

__all__ = [
    "FORMAT",
    "JUNIT_NAMES",
    "PROPERTY",
    "VERSION",
    "Cancelled",
    "Execution",
    "Segment",
    "Timeline",
    "executions_from_properties",
    "from_property",
    "junit_properties",
    "to_property",
]

FORMAT = "pytest-maia-timeline"
VERSION = 1
PROPERTY = "maia_timeline"  # the user_properties name a wait's JSON travels under
WALL, VIRTUAL = "wall", "virtual"
# Endings that are not a failure of the execution itself.
GOOD_ENDINGS = ("SUCCESS", "SKIPPED", "CANCELLED")


@dataclass(frozen=True)
class Segment:
    """One status held from ``start`` to ``end`` (seconds on the shared axis)."""

    status: str
    start: float
    end: float


@dataclass
class Execution:
    """One execution waited on: who waited, what it went through, how it ended.

    ``start`` is on the shared axis (epoch seconds under live, the fake's virtual clock
    otherwise); ``changes`` holds ``(seconds after start, status)`` at each change.
    ``message`` and ``failing_steps`` explain a failure when something could.
    ``run_start`` and ``run_end``, on the same axis, are for a run started through
    ``maia_pipeline`` or ``maia_start``: when it was started (maybe long before the
    wait), and when its end was seen (None after a timeout or an API error).
    ``nodeid``, ``path``, ``line`` and ``test_failed`` are the test's: the reader of a
    test's report fills them in (the record in ``user_properties`` does not hold them).
    """

    nodeid: str
    execution_id: str
    outcome: str  # the final status, or TIMEOUT (...) / ERROR (HTTP n)
    start: float
    elapsed: float
    polls: int
    changes: list[tuple[float, str]] = field(default_factory=list)
    pipeline: str | None = None
    message: str | None = None
    failing_steps: list[str] = field(default_factory=list)
    path: str | None = None  # the test's file, relative to the rootdir
    line: int | None = None  # 1-based: where the test failed in its file, else its def
    test_failed: bool = False  # the test itself failed (setup, call or teardown)
    run_start: float | None = None
    run_end: float | None = None

    @property
    def end(self) -> float:
        return self.start + self.elapsed

    @property
    def failed(self) -> bool:
        """FAILED, a timeout, an API error: anything but SUCCESS, SKIPPED or CANCELLED."""
        return self.outcome not in GOOD_ENDINGS

    def segments(self) -> list[Segment]:
        """The status segments in order; the last one runs to the end of the wait."""
        points = [(t, s) for t, s in self.changes if t <= self.elapsed] or [(0.0, self.outcome)]
        ends = [t for t, _ in points[1:]] + [self.elapsed]
        return [
            Segment(status, self.start + begin, self.start + max(end, begin))
            for (begin, status), end in zip(points, ends, strict=True)
        ]

    def to_json(self) -> dict[str, object]:
        return {
            "test": self.nodeid,
            "test_failed": self.test_failed,
            "path": self.path,
            "line": self.line,
            "execution_id": self.execution_id,
            "pipeline": self.pipeline,
            "outcome": self.outcome,
            "start": self.start,
            "elapsed": self.elapsed,
            "polls": self.polls,
            "segments": [
                {"status": s.status, "start": s.start, "end": s.end} for s in self.segments()
            ],
            "message": self.message,
            "failing_steps": list(self.failing_steps),
            "run_start": self.run_start,
            "run_end": self.run_end,
        }


@dataclass(frozen=True)
class Cancelled:
    """A run ``maia_pipeline`` cancelled at teardown, and what came of it."""

    nodeid: str
    text: str


@dataclass
class Timeline:
    """Everything one session's reports show."""

    executions: list[Execution] = field(default_factory=list)
    cancelled: list[Cancelled] = field(default_factory=list)
    clock: str = VIRTUAL  # "wall" under live, "virtual" under the fake

    @property
    def virtual(self) -> bool:
        return self.clock != WALL

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "clock": self.clock,
            "executions": [e.to_json() for e in self.executions],
            "cancelled": [{"test": c.nodeid, "text": c.text} for c in self.cancelled],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Timeline:
        """A timeline read back from :meth:`to_json`'s output (segments become changes).

        Every field is checked (:class:`ValueError` naming the row and field): a number
        must be finite and in range, a text a string, escaped and cut like any text
        from the API, for a saved file may have been edited or written by anyone."""
        executions = []
        rows = data["executions"]
        if not isinstance(rows, list):
            raise ValueError("'executions' must be a list")
        for index, row in enumerate(rows):
            try:
                executions.append(_execution_from_json(row))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                raise ValueError(f"execution row {index + 1}: {what}") from None
        cancelled = []
        for index, item in enumerate(data.get("cancelled") or []):
            try:
                cancelled.append(Cancelled(_text(item, "test"), _text(item, "text")))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                raise ValueError(f"cancelled row {index + 1}: {what}") from None
        clock = data.get("clock", VIRTUAL)
        if clock not in (WALL, VIRTUAL):
            raise ValueError(f"'clock' must be {WALL!r} or {VIRTUAL!r}")
        return cls(executions, cancelled, clock)

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


# The range of a saved time: epoch seconds (about 1.7e9) or virtual ones, and a wait's length.
_MAX_TIME = 1e11
_MAX_ELAPSED = 1e9


def _number(row: dict[str, Any], name: str, *, least: float = -_MAX_TIME) -> float:
    value = row[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name!r} must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and least <= value <= _MAX_TIME):
        raise ValueError(f"{name!r} must be a finite number from {least:g} to {_MAX_TIME:g}")
    return float(value)


def _text(row: dict[str, Any], name: str, *, optional: bool = False) -> str:
    value = row.get(name) if optional else row[name]
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string, got {type(value).__name__}")
    return api_text(value)


def _execution_from_json(row: dict[str, Any]) -> Execution:
    if not isinstance(row, dict):
        raise ValueError(f"must be an object, got {type(row).__name__}")
    start = _number(row, "start")
    elapsed = _number(row, "elapsed", least=0.0)
    if elapsed > _MAX_ELAPSED:
        raise ValueError(f"'elapsed' must be at most {_MAX_ELAPSED:g} seconds")
    polls = row["polls"]
    if isinstance(polls, bool) or not isinstance(polls, int) or not 0 <= polls < 2**53:
        raise ValueError("'polls' must be a whole number >= 0")
    segments = row["segments"]
    if not isinstance(segments, list):
        raise ValueError("'segments' must be a list")
    changes = [(_number(s, "start") - start, _text(s, "status")) for s in segments]
    optional = {name: row.get(name) for name in ("pipeline", "message", "path")}
    for name, value in optional.items():
        if value is not None:
            optional[name] = _text(row, name)
    steps = row.get("failing_steps") or []
    if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
        raise ValueError("'failing_steps' must be a list of strings")
    line = row.get("line")
    if line is not None and (isinstance(line, bool) or not isinstance(line, int) or line < 0):
        raise ValueError("'line' must be a whole number >= 0")
    run = {name: row.get(name) for name in ("run_start", "run_end")}
    for name, value in run.items():
        if value is not None:
            run[name] = _number(row, name)
    return Execution(
        _text(row, "test"),
        _text(row, "execution_id"),
        _text(row, "outcome"),
        start,
        elapsed,
        polls,
        changes,
        pipeline=optional["pipeline"],
        message=optional["message"],
        failing_steps=[api_text(step) for step in steps],
        path=optional["path"],
        line=line,
        test_failed=bool(row.get("test_failed", False)),
        run_start=run["run_start"],
        run_end=run["run_end"],
    )


def to_property(execution: Execution) -> str:
    """The record of a wait as compact JSON, the :data:`PROPERTY` value (times to the
    millisecond; the test's own fields are left out: its report knows them)."""
    data: dict[str, object] = {
        "id": execution.execution_id,
        "o": execution.outcome,
        "e": round(execution.elapsed, 3),
        "n": execution.polls,
        "t0": round(execution.start, 3),
        "h": [[round(t, 3), s] for t, s in execution.changes],
    }
    if execution.pipeline:
        data["p"] = execution.pipeline
    if execution.message:
        data["m"] = execution.message
    if execution.failing_steps:
        data["f"] = execution.failing_steps
    if execution.run_start is not None:
        data["rs"] = round(execution.run_start, 3)
    if execution.run_end is not None:
        data["re"] = round(execution.run_end, 3)
    return json.dumps(data, separators=(",", ":"))


def _maybe_seconds(value: object) -> float | None:
    return None if value is None else float(str(value))


def from_property(nodeid: str, value: object) -> Execution | None:
    """The :class:`Execution` in a :data:`PROPERTY` value; None when it is not one."""
    try:
        data = json.loads(str(value))
        changes = [(float(t), str(s)) for t, s in data["h"]]
        steps = [str(step) for step in data.get("f", [])]
        return Execution(
            nodeid,
            str(data["id"]),
            str(data["o"]),
            float(data["t0"]),
            float(data["e"]),
            int(data["n"]),
            changes,
            pipeline=data.get("p"),
            message=data.get("m"),
            failing_steps=steps,
            run_start=_maybe_seconds(data.get("rs")),
            run_end=_maybe_seconds(data.get("re")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def executions_from_properties(
    nodeid: str, properties: list[tuple[str, object]] | tuple[tuple[str, object], ...]
) -> list[Execution]:
    """The waits recorded in a test's user_properties (one :data:`PROPERTY` each), in order."""
    found = (from_property(nodeid, value) for name, value in properties if name == PROPERTY)
    return [execution for execution in found if execution is not None]


# The flat JUnit XML properties of a wait, in the order they are written.
JUNIT_NAMES = (
    "maia_execution_id",
    "maia_started_s",
    "maia_ended_s",
    "maia_status",
    "maia_polls",
    "maia_elapsed_s",
)


def junit_properties(execution: Execution) -> list[tuple[str, object]]:
    """The flat JUnit XML view of one record: id, the run's start and end (when known,
    on the record's axis), the summary cell, polls and elapsed seconds. Derived when
    the JUnit file is written; never stored beside the record."""
    values: tuple[object, ...] = (
        execution.execution_id,
        None if execution.run_start is None else round(execution.run_start, 3),
        None if execution.run_end is None else round(execution.run_end, 3),
        execution.outcome,
        execution.polls,
        round(execution.elapsed, 3),
    )
    return [
        (name, value) for name, value in zip(JUNIT_NAMES, values, strict=True) if value is not None
    ]
