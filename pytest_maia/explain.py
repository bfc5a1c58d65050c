"""Why an execution failed: its details' message and its failing steps, as data and text.

Knows nothing of pytest. :func:`explain_failure` reads the details and the steps
(following child executions) through any object with ``get_execution`` and
``get_steps``; reading is best effort, so an API error becomes one line of the
explanation instead of replacing the assertion that asked for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pytest_maia.errors import MaiaError

if TYPE_CHECKING:
    from pytest_maia.execution_steps import ExecutionStep
    from pytest_maia.models import ExecutionDetails

__all__ = ["MAX_CHILD_DEPTH", "FailingStep", "FailureExplanation", "explain_failure"]

# How many child executions deep the failing steps are followed.
MAX_CHILD_DEPTH = 5
PATH_SEPARATOR = " > "

# (path of step names from the top pipeline down, status, message) of one failing step.
FailingStep = tuple[tuple[str, ...], str, "str | None"]


class _Reader(Protocol):
    def get_execution(self, project_id: str, execution_id: str) -> ExecutionDetails: ...

    def get_steps(self, project_id: str, execution_id: str) -> list[ExecutionStep]: ...


@dataclass(frozen=True)
class FailureExplanation:
    """What the API says about why an execution ended as it did.

    ``failing_steps`` lists every step whose status is not SUCCESS, parents before
    their children; ``error`` says what could not be read (None when all was read).
    """

    execution_id: str
    pipeline_name: str | None = None
    environment: str | None = None
    message: str | None = None
    failing_steps: tuple[FailingStep, ...] = ()
    error: str | None = None
    steps_read: bool = False

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
        """The explanation as indented text lines for a failure message."""
        lines: list[str] = []
        if self.pipeline_name or self.environment:
            where = f" (environment: {self.environment})" if self.environment else ""
            lines.append(f"pipeline: {self.pipeline_name or '?'}{where}")
        if self.message:
            lines.append(f"message: {self.message}")
        if self.failing_steps:
            lines.append("failing steps:")
            for path, status, message in self.failing_steps:
                indent = "  " * len(path)
                text = f": {message}" if message else ""
                lines.append(f"{indent}{PATH_SEPARATOR.join(path)}: {status}{text}")
        elif self.steps_read:
            lines.append("failing steps: none listed")
        if self.error:
            lines.append(f"could not read why it failed: {self.error}")
        return "\n".join(lines)


def _describe(exc: MaiaError) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def explain_failure(
    reader: _Reader, project_id: str, execution_id: str, *, max_depth: int = MAX_CHILD_DEPTH
) -> FailureExplanation:
    """Read the details and the failing steps (children up to ``max_depth`` deep)."""
    try:
        details = reader.get_execution(project_id, execution_id)
    except MaiaError as exc:
        return FailureExplanation(execution_id, error=_describe(exc))
    failing: list[FailingStep] = []
    error = None
    try:
        _collect(reader, project_id, execution_id, (), max_depth, failing, {execution_id})
    except MaiaError as exc:
        error = _describe(exc)
    return FailureExplanation(
        execution_id,
        pipeline_name=details.pipeline_name,
        environment=details.environment_name,
        message=details.message,
        failing_steps=tuple(failing),
        error=error,
        steps_read=error is None,
    )


def _collect(
    reader: _Reader,
    project_id: str,
    execution_id: str,
    parent: tuple[str, ...],
    depth: int,
    out: list[FailingStep],
    seen: set[str],
) -> None:
    for step in reader.get_steps(project_id, execution_id):
        if step.status.is_success:
            continue
        path = (*parent, step.name or step.id or "?")
        out.append((path, step.status.value, step.message))
        child = step.child_execution_id
        if child and depth > 0 and child not in seen:
            seen.add(child)
            _collect(reader, project_id, child, path, depth - 1, out, seen)
