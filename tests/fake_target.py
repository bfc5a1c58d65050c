"""A fake behind one adapter, driven with plain ``requests``: the ``Target`` that the tests
of the fake's endpoints (test_fake_executions.py, test_fake_oauth.py) get from conftest's
``target`` fixture, in front of its ``served`` fake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from pytest_maia import MaiaClient
from pytest_maia.client.token_endpoint import AUDIENCE
from pytest_maia.fake import FakeMaia

AUTH = {"Authorization": "Bearer any-token"}
SECRET = "cs-SEKRIT-5e1f"
FORM = {
    "grant_type": "client_credentials",
    "client_id": "ci-bot",
    "client_secret": SECRET,
    "audience": AUDIENCE,
}


@dataclass
class Target:
    """One adapter in front of a fake: ``base`` and ``token_url`` are where requests go."""

    fake: FakeMaia
    base: str
    token_url: str

    def send(self, method: str, rel: str, body: object = None, **kwargs: Any) -> Any:
        kwargs.setdefault("headers", AUTH)
        return requests.request(method, self.base + rel, json=body, timeout=10, **kwargs)

    def execute(self, project: str = "proj", **body: Any) -> str:
        body = {"pipelineName": "load", "environmentName": "dev", **body}
        response = self.send("POST", f"/v1/projects/{project}/pipeline-executions", body)
        assert response.status_code == 201, response.text
        assert response.headers["Content-Type"] == "application/json"
        return str(response.json()["pipelineExecutionId"])

    def details(self, execution: str, project: str = "proj") -> Any:
        response = self.send("GET", f"/v1/projects/{project}/pipeline-executions/{execution}")
        assert response.status_code == 200, response.text
        return response.json()

    def status(self, execution: str, project: str = "proj") -> str:
        rel = f"/v1/projects/{project}/pipeline-executions/{execution}/status"
        return str(self.send("GET", rel).json()["status"])

    def cancel(self, execution: str, body: object = None, project: str = "proj") -> Any:
        body = {"status": "CANCELLED", "forceUpdate": False} if body is None else body
        return self.send("PATCH", f"/v1/projects/{project}/pipeline-executions/{execution}", body)

    def client(self, **kwargs: Any) -> MaiaClient:
        kwargs.setdefault("token_url", self.token_url)
        kwargs.setdefault("clock", self.fake.clock)
        if "client_id" not in kwargs:
            kwargs.setdefault("token", "any-token")
        return MaiaClient(self.base, **kwargs)
