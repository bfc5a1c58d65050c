"""Why an execution failed: read its details' message and its failing steps.

Knows nothing of pytest. :func:`explain_failure` reads the details and the steps
(following child executions) through any object with ``get_execution`` and
``get_steps`` into a :class:`~pytest_maia.core.models.FailureExplanation`; reading is best
effort, so an API error becomes one line of the explanation instead of replacing the
assertion that asked for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pytest_maia.core.errors import MaiaError
from pytest_maia.core.models import FailingStep, FailureExplanation

if TYPE_CHECKING:
    from pytest_maia.core.models import ExecutionDetails
    from pytest_maia.core.steps import ExecutionStep

__all__ = ["MAX_CHILD_DEPTH", "explain_failure"]

# How many child executions deep the failing steps are followed.
MAX_CHILD_DEPTH = 5


class _Reader(Protocol):
    def get_execution(self, project_id: str, execution_id: str) -> ExecutionDetails: ...

    def get_steps(self, project_id: str, execution_id: str) -> list[ExecutionStep]: ...


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
