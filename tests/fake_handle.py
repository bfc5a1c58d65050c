"""Requests straight into FakeMaia.handle, no adapter: the helpers of the tests of the
fake's HTTP mapping and of its scripts (test_fake_api.py, test_fake_script.py)."""

from __future__ import annotations

import json

from pytest_maia.fake import FakeMaia, Request

TOKEN = "tok-SEKRIT-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "/dpc"


def status_path(project: str, execution: str) -> str:
    return f"{BASE}/v1/projects/{project}/pipeline-executions/{execution}/status"


def get(fake: FakeMaia, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    return fake.handle(Request(method, path, AUTH if headers is None else headers))


def poll(fake: FakeMaia, project: str, execution: str) -> str | int:
    """The status string of a 200, else the HTTP code (0 when dropped)."""
    response = get(fake, status_path(project, execution))
    if response.status == 200:
        return str(json.loads(response.body)["status"])
    return response.status


def problem_of(response) -> dict[str, object]:
    assert dict(response.headers)["Content-Type"] == "application/problem+json"
    body = json.loads(response.body)
    assert isinstance(body, dict)
    return body
