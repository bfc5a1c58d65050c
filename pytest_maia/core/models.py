"""Plain data of the Maia pipeline-execution API: statuses, problems, wait results.

No I/O and no third-party imports: every other layer (client, fake, strategies,
plugin) builds on these.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_maia.core.text import api_text

__all__ = [
    "PATH_SEPARATOR",
    "TERMINAL_STATUSES",
    "ErrorStep",
    "ExecutionDetails",
    "ExecutionStatus",
    "FailingStep",
    "FailureExplanation",
    "ProblemDetail",
    "Step",
    "WaitResult",
    "parse_timestamp",
]


# Characters of a status outside the spec's enum that a message shows (escaped).
STATUS_LIMIT = 100


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

    @classmethod
    def unrecognised(cls, value: str) -> ExecutionStatus:
        """A status outside the spec's eight, written on purpose (``"PAUSED"``).

        Where a user writes a status (scripts, markers, ``expected``), a plain string
        must be one of the eight exactly; this is how to script a newer server's value.
        """
        if (
            not isinstance(value, str)
            or not value.strip()
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
        ):
            raise ValueError(
                "an unrecognised status must be a non-empty string without control "
                f"characters, got {value!r}"
            )
        return cls(value.strip())

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

    Build it with ``from_json``, which accepts any JSON value: unknown keys are
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
            # ASCII digits only: "²" is a digit to str.isdigit but not to int().
            digits = status.strip()
            status = (
                int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 3 else None
            )
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


PATH_SEPARATOR = " > "
# How many failing steps a rendered explanation lists.
RENDERED_STEPS = 50

# (path of step names from the top pipeline down, status, message) of one failing step.
FailingStep = tuple[tuple[str, ...], str, "str | None"]


@dataclass(frozen=True)
class FailureExplanation:
    """What the API says about why an execution ended as it did.

    ``failing_steps`` lists every step whose status is not SUCCESS, parents before
    their children; ``error`` says what could not be read (None when all was read);
    ``cut`` says why reading stopped early (its budget of reads or time), else None.
    """

    execution_id: str
    pipeline_name: str | None = None
    environment: str | None = None
    message: str | None = None
    failing_steps: tuple[FailingStep, ...] = ()
    error: str | None = None
    steps_read: bool = False
    cut: str | None = None

    def messages(self) -> Iterator[tuple[str, str]]:
        """``(where, message)`` for the details' message and each step's message."""
        if self.message:
            yield "execution", self.message
        for path, _status, message in self.failing_steps:
            if message:
                yield PATH_SEPARATOR.join(path), message

    def matches(self, pattern: re.Pattern[str]) -> bool:
        """True when the details' message or a failing step's message matches."""
        return any(pattern.search(message) for _, message in self.messages())

    def render(self) -> str:
        """The explanation as indented text lines for a failure message. Every text
        from the API is escaped (``safe``) and each message
        cut to ``MESSAGE_LIMIT`` characters; at most
        ``RENDERED_STEPS`` failing steps are listed."""
        lines: list[str] = []
        if self.pipeline_name or self.environment:
            where = f" (environment: {api_text(self.environment)})" if self.environment else ""
            lines.append(f"pipeline: {api_text(self.pipeline_name or '?')}{where}")
        if self.message:
            lines.append(f"message: {api_text(self.message, newlines=True)}")
        if self.failing_steps:
            lines.append("failing steps:")
            for path, status, message in self.failing_steps[:RENDERED_STEPS]:
                indent = "  " * len(path)
                text = f": {api_text(message, newlines=True)}" if message else ""
                where = api_text(PATH_SEPARATOR.join(path))
                lines.append(f"{indent}{where}: {api_text(status)}{text}")
            if len(self.failing_steps) > RENDERED_STEPS:
                lines.append(f"  ... and {len(self.failing_steps) - RENDERED_STEPS} more")
        elif self.steps_read:
            lines.append("failing steps: none listed")
        if self.error:
            lines.append(f"could not read why it failed: {api_text(self.error)}")
        if self.cut:
            lines.append(self.cut)
        return "\n".join(lines)


class RiddenOut(Protocol):
    """What ``WaitResult.errors`` holds: a :class:`~pytest_maia.MaiaError` (this module
    comes below the errors module, so it names only what a caller may rely on)."""

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the answer, or None when none came."""
        ...


@dataclass
class WaitResult:
    """What a wait saw: the final status, every poll's status and how long it took.

    ``history`` holds one ``(elapsed_seconds, status)`` entry per successful poll;
    ``errors`` holds the transient errors ridden out during the wait, each a
    ``MaiaError`` with ``status_code`` (None for a dropped or refused
    connection, a timeout or a spent request budget: no answer came).
    """

    execution_id: str
    status: ExecutionStatus
    history: list[tuple[float, ExecutionStatus]] = field(default_factory=list)
    polls: int = 0
    elapsed: float = 0.0
    errors: list[RiddenOut] = field(default_factory=list)
    # Why it ended as it did (details' message, failing steps), once an assertion asked.
    explanation: FailureExplanation | None = None

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
            f"execution {self.execution_id}: {api_text(self.status.value, STATUS_LIMIT)} after "
            f"{self.elapsed:.1f}s and {self.polls} poll(s)",
            "timeline:",
        ]
        lines += [
            f"  {elapsed:>9.1f}s  {api_text(status.value, STATUS_LIMIT)}"
            for elapsed, status in self.timeline()
        ]
        if len(lines) == 2:
            lines.append("  (no status was read)")
        if self.errors:
            lines.append(f"last error: {self.errors[-1]}")
        return "\n".join(lines)


# ISO 8601 date-time as APIs send it: 'Z' or an offset, any number of fraction digits.
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d+))?"
    r"(Z|z|[+-]\d{2}:?\d{2})?\Z"
)


def parse_timestamp(value: object) -> _dt.datetime | None:
    """An aware datetime from an ISO 8601 string ('Z' accepted), else None.

    A time without an offset is taken as UTC; more than six fraction digits are cut.
    """
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        return None
    date, time, fraction, offset = match.groups()
    text = f"{date}T{time}"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    if offset is None or offset in ("Z", "z"):
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        return _dt.datetime.fromisoformat(text + offset)
    except ValueError:
        return None


def _field(data: Mapping[str, Any], nested: Mapping[str, Any], name: str) -> object:
    value = data.get(name)
    return nested.get(name) if value is None else value


@dataclass(frozen=True)
class ExecutionDetails:
    """One pipeline execution as the details endpoint describes it.

    Build it with ``from_json``, which accepts the flat shape and the shape with
    ``status`` and ``message`` nested in a ``result`` object. Fields of the wrong type
    are dropped (None); only ``status`` is required.
    """

    status: ExecutionStatus
    pipeline_execution_id: str | None = None
    pipeline_name: str | None = None
    pipeline_type: str | None = None
    project_id: str | None = None
    environment_name: str | None = None
    schedule_id: str | None = None
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    message: str | None = None
    trigger: str | None = None
    user: str | None = None

    @classmethod
    def from_json(cls, data: object) -> ExecutionDetails | None:
        """The details in ``data``, or None when it is not an object with a usable status."""
        if not isinstance(data, Mapping):
            return None
        result = data.get("result")
        nested: Mapping[str, Any] = result if isinstance(result, Mapping) else {}
        raw_status = data.get("status")
        if not isinstance(raw_status, str) or not raw_status.strip():
            raw_status = nested.get("status")
        if not isinstance(raw_status, str) or not raw_status.strip():
            return None

        def text(name: str) -> str | None:
            return _text(_field(data, nested, name))

        return cls(
            status=ExecutionStatus(raw_status.strip()),
            pipeline_execution_id=text("pipelineExecutionId"),
            pipeline_name=text("pipelineName"),
            pipeline_type=text("pipelineType"),
            project_id=text("projectId"),
            environment_name=text("environmentName"),
            schedule_id=text("scheduleId"),
            started_at=parse_timestamp(_field(data, nested, "startedAt")),
            finished_at=parse_timestamp(_field(data, nested, "finishedAt")),
            message=text("message"),
            trigger=text("trigger"),
            user=text("user"),
        )

    @property
    def duration(self) -> _dt.timedelta | None:
        """``finished_at - started_at`` when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


def _register_with_hypothesis() -> None:
    # Hypothesis was imported first: its entry point left the registration to us.
    _hypothesis = sys.modules.get("pytest_maia._hypothesis")
    if _hypothesis is not None:
        _hypothesis.register()


_register_with_hypothesis()
