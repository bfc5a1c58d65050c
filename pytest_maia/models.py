"""Plain data of the Maia pipeline-execution API: statuses, problems, wait results.

No I/O and no third-party imports: every other layer (client, fake, strategies,
plugin) builds on these.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TERMINAL_STATUSES",
    "ErrorStep",
    "ExecutionStatus",
    "ProblemDetail",
    "Step",
    "WaitResult",
]


class ExecutionStatus(str, enum.Enum):
    """The status of a pipeline execution, as the spec's enum lists it.

    A status string the spec does not list is kept verbatim as a non-canonical
    value (``ExecutionStatus("PAUSED").value == "PAUSED"``) and behaves like
    ``UNKNOWN``: not terminal, not success, never a crash.
    """

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    FORBIDDEN = "FORBIDDEN"
    SKIPPED = "SKIPPED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def _missing_(cls, value: object) -> ExecutionStatus | None:
        # Keep what a newer server says instead of failing; such values are not members.
        if not isinstance(value, str):
            return None
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value
        pseudo._value_ = value
        return pseudo

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_known(self) -> bool:
        """True for the eight values of the spec's enum."""
        return self._value_ in type(self).__members__

    @property
    def is_terminal(self) -> bool:
        """True when the execution has finished and its status will not change."""
        return self._value_ in _TERMINAL_VALUES

    @property
    def is_success(self) -> bool:
        """True only for SUCCESS."""
        return self._value_ == "SUCCESS"


_TERMINAL_VALUES = frozenset({"SUCCESS", "FAILED", "CANCELLED", "SKIPPED", "FORBIDDEN"})
TERMINAL_STATUSES: frozenset[ExecutionStatus] = frozenset(
    ExecutionStatus(v) for v in _TERMINAL_VALUES
)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _violation_text(item: object) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        field_name = item.get("field") or item.get("fieldName") or item.get("path")
        message = item.get("message") or item.get("detail")
        if isinstance(field_name, str) and isinstance(message, str):
            return f"{field_name}: {message}"
        if isinstance(message, str):
            return message
    return json.dumps(item, sort_keys=True, default=str)


@dataclass(frozen=True)
class ProblemDetail:
    """An RFC 7807 problem body as the Maia API sends it on errors.

    Build it with :meth:`from_json`, which accepts any JSON value: unknown keys are
    ignored and fields of the wrong type are dropped, never a crash.
    """

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    violations: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: object) -> ProblemDetail | None:
        """The ProblemDetail in ``data``, or None when ``data`` is not a JSON object."""
        if not isinstance(data, Mapping):
            return None
        status = data.get("status")
        if isinstance(status, bool) or not isinstance(status, (int, str)):
            status = None
        elif isinstance(status, str):
            status = int(status) if status.strip().isdigit() else None
        raw_violations = data.get("violations")
        violations: tuple[str, ...] = ()
        if isinstance(raw_violations, list):
            violations = tuple(_violation_text(v) for v in raw_violations)
        return cls(
            type=_text(data.get("type")),
            title=_text(data.get("title")),
            status=status,
            detail=_text(data.get("detail")),
            instance=_text(data.get("instance")),
            violations=violations,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this problem, omitting absent fields."""
        body: dict[str, Any] = {}
        for name in ("type", "title", "status", "detail", "instance"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if self.violations:
            body["violations"] = list(self.violations)
        return body

    def summary(self) -> str:
        """One line for messages: title, detail and violations, whichever are present."""
        parts = [p for p in (self.title, self.detail) if p]
        text = ": ".join(parts)
        if self.violations:
            listed = "; ".join(self.violations)
            text = f"{text} (violations: {listed})" if text else f"violations: {listed}"
        return text


@dataclass(frozen=True)
class ErrorStep:
    """A scripted step that answers a poll with an error instead of a status.

    ``code`` is an HTTP status (answered with a ProblemDetail body), or 0 for a
    dropped connection (no response at all). Build it with ``FakeMaia.error(...)``.
    """

    code: int
    detail: str | None = None
    retry_after: float | None = None

    @property
    def is_drop(self) -> bool:
        return self.code == 0

    def __str__(self) -> str:
        if self.is_drop:
            return "<dropped connection>"
        return f"<HTTP {self.code}>"


# One step of a scripted lifecycle: a status (or its string) or an error step.
Step = ExecutionStatus | str | ErrorStep


@dataclass
class WaitResult:
    """What a wait saw: the final status, every poll's status and how long it took.

    ``history`` holds one ``(elapsed_seconds, status)`` entry per successful poll;
    ``errors`` holds transient API errors ridden out during the wait.
    """

    execution_id: str
    status: ExecutionStatus
    history: list[tuple[float, ExecutionStatus]] = field(default_factory=list)
    polls: int = 0
    elapsed: float = 0.0
    errors: list[Exception] = field(default_factory=list)

    @property
    def is_success(self) -> bool:
        return self.status.is_success

    def timeline(self) -> list[tuple[float, ExecutionStatus]]:
        """The history reduced to status changes: the first poll and each change."""
        changes: list[tuple[float, ExecutionStatus]] = []
        for elapsed, status in self.history:
            if not changes or changes[-1][1].value != status.value:
                changes.append((elapsed, status))
        return changes

    def describe(self) -> str:
        """A multi-line account for failure messages: id, status, timeline, polls."""
        lines = [
            f"execution {self.execution_id}: {self.status.value} after "
            f"{self.elapsed:.1f}s and {self.polls} poll(s)",
            "timeline:",
        ]
        lines += [f"  {elapsed:>9.1f}s  {status.value}" for elapsed, status in self.timeline()]
        if len(lines) == 2:
            lines.append("  (no status was read)")
        if self.errors:
            lines.append(f"last error: {self.errors[-1]}")
        return "\n".join(lines)
