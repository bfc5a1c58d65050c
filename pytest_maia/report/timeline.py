"""The report's data model: executions waited on, their status segments, and the JSON.

Plain Python (no pytest): the plugin turns test reports into :class:`Execution` rows,
and the HTML, SVG, GitHub and JSON outputs all read the same :class:`Timeline`.
A wait travels from an xdist worker to the controller as one compact JSON
``user_properties`` value (:func:`to_property` / :func:`from_property`).
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
    "PROPERTY",
    "VERSION",
    "Cancelled",
    "Execution",
    "Segment",
    "Timeline",
    "executions_from_properties",
    "from_property",
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
    )


def to_property(
    execution_id: str,
    *,
    pipeline: str | None,
    start: float,
    changes: list[tuple[float, str]],
    message: str | None = None,
    failing_steps: list[str] | None = None,
) -> str:
    """A wait's timeline as compact JSON (outcome, elapsed and polls travel beside it)."""
    data: dict[str, object] = {
        "id": execution_id,
        "t0": round(start, 3),
        "h": [[round(t, 3), s] for t, s in changes],
    }
    if pipeline:
        data["p"] = pipeline
    if message:
        data["m"] = message
    if failing_steps:
        data["f"] = failing_steps
    return json.dumps(data, separators=(",", ":"))


def from_property(
    nodeid: str, value: object, outcome: str, elapsed: float, polls: int
) -> Execution | None:
    """The :class:`Execution` in a :data:`PROPERTY` value; None when it is not one."""
    try:
        data = json.loads(str(value))
        changes = [(float(t), str(s)) for t, s in data["h"]]
        steps = [str(step) for step in data.get("f", [])]
        return Execution(
            nodeid,
            str(data["id"]),
            outcome,
            float(data["t0"]),
            elapsed,
            polls,
            changes,
            pipeline=data.get("p"),
            message=data.get("m"),
            failing_steps=steps,
        )
    except (ValueError, KeyError, TypeError):
        return None


def executions_from_properties(
    nodeid: str, properties: list[tuple[str, object]] | tuple[tuple[str, object], ...]
) -> list[Execution]:
    """The executions in a test's user_properties: each :data:`PROPERTY` value follows
    its wait's ``maia_status``, ``maia_polls`` and ``maia_elapsed_s``."""
    found: list[Execution] = []
    seen: dict[str, object] = {}
    for name, value in properties:
        if name in ("maia_status", "maia_polls", "maia_elapsed_s"):
            seen[name] = value
        elif name == PROPERTY:
            try:
                elapsed = float(str(seen.get("maia_elapsed_s", 0)))
                polls = int(str(seen.get("maia_polls", 0)))
            except ValueError:
                elapsed, polls = 0.0, 0
            outcome = str(seen.get("maia_status", "UNKNOWN"))
            execution = from_property(nodeid, value, outcome, elapsed, polls)
            if execution is not None:
                found.append(execution)
            seen = {}
    return found
