"""Why an execution failed: read its details' message and its failing steps.

Knows nothing of pytest. :func:`explain_failure` reads the details and the steps
(following child executions) through any object with ``get_execution`` and
``get_steps`` into a :class:`~pytest_maia.core.models.FailureExplanation`; reading is best
effort, so an API error becomes one line of the explanation instead of replacing the
assertion that asked for it. Reading has a budget: at most ``max_reads`` steps and child
executions, and ``deadline`` seconds on the reader's clock; past either, what was read is
kept and one line says the explanation was cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pytest_maia.core.clock import Clock, SystemClock
from pytest_maia.core.errors import MaiaError, MaiaValidationError
from pytest_maia.core.models import FailingStep, FailureExplanation

if TYPE_CHECKING:
    from pytest_maia.core.models import ExecutionDetails
    from pytest_maia.core.steps import ExecutionStep

__all__ = ["EXPLAIN_DEADLINE", "MAX_CHILD_DEPTH", "MAX_EXPLAIN_READS", "explain_failure"]

# How many child executions deep the failing steps are followed.
MAX_CHILD_DEPTH = 5
# How many steps and child executions one explanation reads, at most.
MAX_EXPLAIN_READS = 200
# How long (on the reader's clock) one explanation may spend reading.
EXPLAIN_DEADLINE = 30.0


class _Reader(Protocol):
    def get_execution(self, project_id: str, execution_id: str) -> ExecutionDetails: ...

    def get_steps(self, project_id: str, execution_id: str) -> list[ExecutionStep]: ...


class _Cut(Exception):
    """The budget is spent: stop reading, keep what was read."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _Budget:
    def __init__(self, max_reads: int, deadline: float, clock: Clock) -> None:
        self.max_reads = max_reads
        self.left = max_reads
        self.seconds = deadline
        self.clock = clock
        self.ends = clock.now() + deadline

    def spend(self) -> None:
        """Count one step or child execution read; past the budget, cut."""
        if self.left <= 0:
            raise _Cut(f"after {self.max_reads} steps and child executions read")
        self.left -= 1
        self.in_time()

    def in_time(self) -> None:
        if self.clock.now() >= self.ends:
            raise _Cut(f"after {self.seconds:g}s of reading")


def _describe(exc: MaiaError) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MaiaValidationError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def explain_failure(
    reader: _Reader,
    project_id: str,
    execution_id: str,
    *,
    max_depth: int = MAX_CHILD_DEPTH,
    max_reads: int = MAX_EXPLAIN_READS,
    deadline: float = EXPLAIN_DEADLINE,
    clock: Clock | None = None,
) -> FailureExplanation:
    """Read the details and the failing steps (children up to ``max_depth`` deep), at
    most ``max_reads`` steps and child executions within ``deadline`` seconds of
    ``clock`` (default: the reader's ``clock``, else the system clock)."""
    _count(max_reads, "max_reads")
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or deadline < 0:
        raise MaiaValidationError(f"deadline must be seconds >= 0, got {deadline!r}")
    if clock is None:
        found = getattr(reader, "clock", None)
        clock = found if isinstance(found, Clock) else SystemClock()
    budget = _Budget(max_reads, float(deadline), clock)
    try:
        details = reader.get_execution(project_id, execution_id)
    except MaiaError as exc:
        return FailureExplanation(execution_id, error=_describe(exc))
    failing: list[FailingStep] = []
    error = cut = None
    try:
        _collect(reader, project_id, execution_id, (), max_depth, failing, {execution_id}, budget)
    except MaiaError as exc:
        error = _describe(exc)
    except _Cut as stop:
        cut = f"explanation cut {stop.why} ({len(failing)} failing steps shown)"
    return FailureExplanation(
        execution_id,
        pipeline_name=details.pipeline_name,
        environment=details.environment_name,
        message=details.message,
        failing_steps=tuple(failing),
        error=error,
        steps_read=error is None,
        cut=cut,
    )


def _collect(
    reader: _Reader,
    project_id: str,
    execution_id: str,
    parent: tuple[str, ...],
    depth: int,
    out: list[FailingStep],
    seen: set[str],
    budget: _Budget,
) -> None:
    budget.in_time()
    for step in reader.get_steps(project_id, execution_id):
        budget.spend()
        if step.status.is_success:
            continue
        path = (*parent, step.name or step.id or "?")
        out.append((path, step.status.value, step.message))
        child = step.child_execution_id
        if child and depth > 0 and child not in seen:
            seen.add(child)
            budget.spend()
            _collect(reader, project_id, child, path, depth - 1, out, seen, budget)
