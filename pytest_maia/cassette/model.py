"""The cassette: what one test's pipeline executions did, as stable JSON.

Dataclasses and their JSON form only, no I/O beyond :func:`read`/:func:`write`. Times
are seconds since the test began (rounded to milliseconds). The JSON is written with
sorted keys, a 2-space indent and a trailing newline, so a re-record diffs cleanly;
``schema.json`` beside this module describes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_maia.core.errors import MaiaValidationError

__all__ = [
    "VERSION",
    "Cassette",
    "Event",
    "ExecutionTape",
    "Finding",
    "HttpError",
    "dumps",
    "loads",
    "read",
    "write",
]

VERSION = 1


def _seconds(value: float) -> float:
    return round(float(value), 3)


@dataclass(frozen=True)
class HttpError:
    """An error answer: HTTP status, the Retry-After seconds, the ProblemDetail object."""

    code: int
    retry_after: float | None = None
    problem: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "problem": self.problem, "retry_after": self.retry_after}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HttpError:
        return cls(int(data["code"]), data.get("retry_after"), data.get("problem"))


@dataclass(frozen=True)
class Event:
    """One thing seen ``at`` seconds into the test: a status, an error, or a cancel."""

    at: float
    status: str | None = None
    error: HttpError | None = None
    cancel: bool | None = None  # the cancel request's forceUpdate

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": _seconds(self.at)}
        if self.status is not None:
            out["status"] = self.status
        if self.error is not None:
            out["error"] = self.error.to_json()
        if self.cancel is not None:
            out["cancel"] = {"force": self.cancel}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        error = data.get("error")
        cancel = data.get("cancel")
        return cls(
            float(data["at"]),
            data.get("status"),
            HttpError.from_json(error) if error is not None else None,
            bool(cancel["force"]) if cancel is not None else None,
        )


@dataclass
class ExecutionTape:
    """One execution the test started or looked at, and everything seen of it.

    ``started_at`` is when the test's execute request was answered (None when the test
    only looked at an execution that already existed); ``details`` is the last details
    object seen and ``steps`` the step objects (``related-endpoints.md``), raw.
    ``start_ahead``: the run ``@pytest.mark.maia_start`` started for the test.
    """

    execution_id: str
    project_id: str
    started_at: float | None = None
    pipeline: str | None = None
    environment: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    grid_variables: dict[str, list[list[str]]] = field(default_factory=dict)
    execution_tag: str | None = None
    timeline: list[Event] = field(default_factory=list)
    details: dict[str, Any] | None = None
    steps: list[Any] | None = None
    start_ahead: bool = False

    @property
    def statuses(self) -> list[str]:
        """The statuses seen, in order (repeats included)."""
        return [event.status for event in self.timeline if event.status is not None]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "details": self.details,
            "environment": self.environment,
            "execution_id": self.execution_id,
            "execution_tag": self.execution_tag,
            "grid_variables": self.grid_variables,
            "pipeline": self.pipeline,
            "project_id": self.project_id,
            "started_at": None if self.started_at is None else _seconds(self.started_at),
            "steps": self.steps,
            "timeline": [event.to_json() for event in self.timeline],
            "variables": self.variables,
        }
        if self.start_ahead:
            out["start_ahead"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionTape:
        started = data.get("started_at")
        return cls(
            execution_id=str(data["execution_id"]),
            project_id=str(data["project_id"]),
            started_at=None if started is None else float(started),
            pipeline=data.get("pipeline"),
            environment=data.get("environment"),
            variables=dict(data.get("variables") or {}),
            grid_variables=dict(data.get("grid_variables") or {}),
            execution_tag=data.get("execution_tag"),
            timeline=[Event.from_json(item) for item in data.get("timeline") or []],
            details=data.get("details"),
            steps=data.get("steps"),
            start_ahead=bool(data.get("start_ahead", False)),
        )


@dataclass(frozen=True)
class Finding:
    """A way a response differed from the shapes the fake serves (API drift)."""

    endpoint: str  # e.g. "GET /v1/projects/{projectId}/pipeline-executions/{id}/status"
    kind: str  # unexpected-status, missing-field, extra-field, nested-result, ...
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"detail": self.detail, "endpoint": self.endpoint, "kind": self.kind}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(str(data["endpoint"]), str(data["kind"]), str(data["detail"]))

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.kind}: {self.detail}"


@dataclass
class Cassette:
    """A test's recording: its node id, executions, other errors and drift findings."""

    test: str
    executions: list[ExecutionTape] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    drift: list[Finding] = field(default_factory=list)
    version: int = VERSION

    def execution(self, execution_id: str) -> ExecutionTape | None:
        return next((e for e in self.executions if e.execution_id == execution_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "drift": [finding.to_json() for finding in self.drift],
            "errors": self.errors,
            "executions": [tape.to_json() for tape in self.executions],
            "test": self.test,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, data: object) -> Cassette:
        if not isinstance(data, dict):
            raise MaiaValidationError("a cassette must be a JSON object")
        if data.get("version") != VERSION:
            raise MaiaValidationError(
                f"cassette version {data.get('version')!r} is not supported "
                f"(this pytest-maia reads version {VERSION}); re-record it"
            )
        try:
            return cls(
                test=str(data["test"]),
                executions=[ExecutionTape.from_json(e) for e in data.get("executions") or []],
                errors=list(data.get("errors") or []),
                drift=[Finding.from_json(f) for f in data.get("drift") or []],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MaiaValidationError(f"not a valid cassette: {exc!r}") from None


def dumps(cassette: Cassette) -> str:
    """The stable JSON text of ``cassette`` (sorted keys, 2-space indent, final newline)."""
    return json.dumps(cassette.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads(text: str) -> Cassette:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MaiaValidationError(f"a cassette must be JSON: {exc}") from None
    except RecursionError:
        raise MaiaValidationError(
            "a cassette must be JSON nested at most a few hundred deep"
        ) from None
    try:
        return Cassette.from_json(data)
    except RecursionError:
        raise MaiaValidationError(
            "a cassette must be JSON nested at most a few hundred deep"
        ) from None


def read(path: str | Path) -> Cassette:
    """The cassette in the file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MaiaValidationError(f"cannot read cassette {str(path)!r}: {exc.strerror}") from None
    try:
        return loads(text)
    except MaiaValidationError as exc:
        raise MaiaValidationError(f"{path}: {exc}") from None


def write(path: str | Path, cassette: Cassette) -> Path:
    """Write ``cassette`` to ``path`` (parents made as needed); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(cassette), encoding="utf-8")
    return target
