"""The fake account's ledger of executions: every execution and its reads. No HTTP.

Executions are kept by canonical id in the order they were registered (a scripted
child right after its parent), with the count of status and details reads of each.
The ledger answers lookups and lists; what the API allows or refuses (an unknown
project, a second running execution with one tag) is the account's
(:mod:`._account`). Not thread-safe alone: the account holds the lock around every call.
"""

from __future__ import annotations

import uuid

from pytest_maia.fake._execution import Execution, ExecutionRecord
from pytest_maia.fake._script import StepScript


class Ledger:
    """Executions by id, oldest first, and how often each was read; not thread-safe alone."""

    def __init__(self) -> None:
        self._executions: dict[str, Execution] = {}  # id -> execution, oldest first
        self._polls: dict[str, int] = {}

    def add(self, execution: Execution, plan: tuple[StepScript, ...] | None, now: float) -> None:
        """Register ``execution``, and a child execution for each step of ``plan`` that
        starts one (recursively, each right after its parent)."""
        self._executions[execution.execution_id] = execution
        if plan is None:
            return
        attached: list[tuple[StepScript, Execution | None]] = []
        for step in plan:
            child_execution = None
            if step.child is not None:
                child = step.child
                child_execution = Execution(
                    execution.project_id,
                    str(uuid.uuid4()),
                    child.statuses,
                    None,
                    now,
                    name=child.pipeline_name,
                    message=child.message,
                )
                self.add(child_execution, child.steps, now)
            attached.append((step, child_execution))
        execution.step_plan = tuple(attached)

    def get(self, execution_id: str) -> Execution | None:
        """The execution ``execution_id`` (canonical), in whatever project, or None."""
        return self._executions.get(execution_id)

    def running_with_tag(
        self, project_id: str, environment: str, tag: str | None, now: float
    ) -> Execution | None:
        """An execution tagged ``tag`` (never when None), started through the API in
        that project and environment, that has not finished at ``now``; or None."""
        if tag is None:
            return None
        for other in self._executions.values():
            if (
                other.info is not None
                and other.project_id == project_id
                and other.info.execution_tag == tag
                and other.info.environment_name == environment
                and not other.current(now).is_terminal
            ):
                return other
        return None

    def newest_first(self) -> list[Execution]:
        """Every execution, most recent first (of two started at one instant, the one
        registered later first)."""
        found = list(self._executions.values())
        found.reverse()
        found.sort(key=lambda e: e.started, reverse=True)  # stable
        return found

    def count_poll(self, project_id: str, execution_id: str) -> None:
        """Count a status or details read of an execution (whatever it is answered)."""
        execution = self._executions.get(execution_id)
        if execution is not None and execution.project_id == project_id:
            self._polls[execution_id] = self._polls.get(execution_id, 0) + 1

    def polls(self, execution_id: str) -> int:
        """Reads of an execution's status or details since the last reset."""
        return self._polls.get(execution_id, 0)

    def records(self, project_id: str | None, now: float) -> list[ExecutionRecord]:
        """Executions started through the API, oldest first."""
        return [
            ExecutionRecord.of(e, e.info, now)
            for e in self._executions.values()
            if e.info is not None and (project_id is None or e.project_id == project_id)
        ]

    def project_of(self, execution_id: str) -> str | None:
        """The project an execution is in, or None."""
        execution = self._executions.get(execution_id)
        return None if execution is None else execution.project_id

    def all(self) -> list[Execution]:
        """Every execution, oldest first."""
        return list(self._executions.values())

    def __len__(self) -> int:
        return len(self._executions)

    def reset(self) -> None:
        """Forget every execution and every count of reads."""
        self._executions.clear()
        self._polls.clear()
