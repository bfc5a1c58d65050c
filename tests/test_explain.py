"""Why an execution failed (pytest_maia.runs.explain), read from the fake. The assertions'
use of it is in test_assertions.py."""

from __future__ import annotations

from typing import Any

from pytest_maia import FakeMaia
from pytest_maia.runs.explain import explain_failure


def test_an_explanation_stops_at_the_child_depth_limit() -> None:
    def nested(depth: int) -> dict[str, Any]:
        step: dict[str, Any] = {"name": f"level {depth}", "status": "FAILED"}
        if depth < 7:
            step["child"] = {"statuses": ["FAILED"], "steps": [nested(depth + 1)]}
        return step

    with FakeMaia() as fake:
        eid = fake.add_execution("p", "FAILED", steps=[nested(0)])
        client = fake.client()
        why = explain_failure(client, "p", eid)
        shallow = explain_failure(client, "p", eid, max_depth=0)
    assert [len(path) for path, _, _ in why.failing_steps] == [1, 2, 3, 4, 5, 6]
    assert [len(path) for path, _, _ in shallow.failing_steps] == [1]
    assert why.render().splitlines()[-1].startswith("            level 0 > level 1 > ")
