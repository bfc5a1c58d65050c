"""The fake account's test executions: accepted and recorded, nothing more. No HTTP.

The reference publishes how to start and cancel a test execution and no call that reads
its status or results, so the fake records what was asked (``FakeMaia.test_executions()``)
and answers nothing else about it. Not thread-safe alone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from pytest_maia.fake._errors import NotFound

SCOPES = ("TEST", "PIPELINE", "PROJECT")
MAX_ITEMS = 500


@dataclass(frozen=True)
class TestExecution:
    """A test execution as it was asked for; ``cancel_force`` is None until cancelled."""

    __test__ = False  # not a pytest test class

    test_execution_id: str
    project_id: str
    environment_name: str
    scope: str
    pipelines: tuple[str, ...]
    tests: tuple[str, ...]
    version_name: str | None
    execution_tag: str | None
    agent_id: str | None
    started_at: float
    cancel_force: bool | None = None


class TestRuns:
    """Test executions by id, oldest first; not thread-safe alone."""

    __test__ = False

    def __init__(self) -> None:
        self._items: dict[str, TestExecution] = {}

    def start(self, now: float, **fields: object) -> TestExecution:
        item = TestExecution(str(uuid.uuid4()), started_at=now, **fields)  # type: ignore[arg-type]
        self._items[item.test_execution_id] = item
        return item

    def cancel(self, project_id: str, test_execution_id: str, force: bool) -> TestExecution:
        found = self._items.get(test_execution_id)
        if found is None or found.project_id != project_id:
            raise NotFound(
                f"Test execution {test_execution_id} not found in project {project_id!r}"
            )
        updated = replace(found, cancel_force=bool(found.cancel_force) or force)
        self._items[test_execution_id] = updated
        return updated

    def all(self, project_id: str | None = None) -> list[TestExecution]:
        return [t for t in self._items.values() if project_id is None or t.project_id == project_id]

    def reset(self) -> None:
        self._items.clear()
