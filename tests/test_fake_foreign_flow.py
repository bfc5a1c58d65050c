"""Foreign clients against ``maia-status fake-server``, unchanged: the official flow in the
style of public clients (plain requests, no pytest_maia), scripted through the control
API with curl (urllib when curl is missing). Loopback only."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

CURL = shutil.which("curl")
FAKE_SERVER = (sys.executable, "-m", "pytest_maia", "fake-server")
SCRIPT = {
    "projects": [
        {
            "id": "proj-1",
            "name": "Analytics",
            "environments": [{"name": "prod", "pipelines": ["nightly-load", "broken-load"]}],
        }
    ],
    "pipelines": [
        {"name": "nightly-load", "statuses": ["RUNNING", "SUCCESS"]},
        {
            "name": "broken-load",
            "statuses": ["RUNNING", "FAILED"],
            "message": "Task 'load' failed",
            "steps": [
                {"name": "extract", "status": "SUCCESS"},
                {"name": "load", "status": "FAILED", "message": "Table ORDERS not found"},
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    script = tmp_path_factory.mktemp("foreign") / "script.json"
    script.write_text(json.dumps(SCRIPT))
    proc = subprocess.Popen(
        [*FAKE_SERVER, "--json", "--clock", "virtual", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    yield json.loads(line)
    proc.terminate()
    proc.communicate(timeout=10)


def control(server: dict[str, str], method: str, name: str, body: object = None) -> object:
    """Call the control API the way a shell script would: curl, else urllib."""
    url = f"{server['control_url']}/{name}"
    data = None if body is None else json.dumps(body)
    if CURL:
        args = [CURL, "-sS", "--fail-with-body", "-X", method, url]
        if data is not None:
            args += ["-H", "Content-Type: application/json", "--data", data]
        out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
        return json.loads(out.stdout)
    request = urllib.request.Request(
        url,
        data=None if data is None else data.encode(),
        method=method,
        headers={} if data is None else {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# -- a public client's code, in its own style ------------------------------------------


def get_token(server: dict[str, str], style: str) -> str:
    form = {"grant_type": "client_credentials"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if style == "basic":
        pair = base64.b64encode(b"my-client:my-secret").decode()
        headers["Authorization"] = f"Basic {pair}"
    else:
        form.update(client_id="my-client", client_secret="my-secret")
        if style == "form+audience":
            form["audience"] = "https://api.matillion.com"
    response = requests.post(server["token_url"], data=form, headers=headers, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def paged(session: requests.Session, url: str, **params: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    page = 0
    while True:
        body = session.get(url, params={**params, "page": page, "size": 1}, timeout=30).json()
        items += body["results"]
        if not body["results"] or (body["page"] + 1) * body["size"] >= body["total"]:
            return items
        page += 1


def run_pipeline(server: dict[str, str], token: str, pipeline: str) -> dict[str, object]:
    with requests.Session() as session:  # closed: urllib3 1.26 leaves its sockets to the GC
        return _run_pipeline(session, server["url"], token, pipeline)


def _run_pipeline(
    session: requests.Session, base: str, token: str, pipeline: str
) -> dict[str, object]:
    session.headers["Authorization"] = f"Bearer {token}"
    projects = paged(session, f"{base}/v1/projects")
    project = next(p for p in projects if p["name"] == "Analytics")["id"]
    envs = paged(session, f"{base}/v1/projects/{project}/environments")
    env = str(envs[0]["name"])
    published = paged(
        session, f"{base}/v1/projects/{project}/published-pipelines", environmentName=env
    )
    assert pipeline in [p["name"] for p in published]
    started = session.post(
        f"{base}/v1/projects/{project}/pipeline-executions",
        json={"pipelineName": pipeline, "environmentName": env},
        timeout=30,
    )
    assert started.status_code in (200, 201, 202), started.text
    execution = started.json()["pipelineExecutionId"]
    status = "RUNNING"
    for _ in range(20):
        status_url = f"{base}/v1/projects/{project}/pipeline-executions/{execution}/status"
        status = session.get(status_url, timeout=30).json()["status"]
        if status not in ("RUNNING", "CANCELLING", "UNKNOWN"):
            break
        time.sleep(0.01)
    out: dict[str, object] = {"execution": execution, "status": status}
    if status != "SUCCESS":
        steps_url = f"{base}/v1/projects/{project}/pipeline-executions/{execution}/steps"
        out["failed_steps"] = [
            (s["name"], s["result"]["message"])  # type: ignore[index]
            for s in paged(session, steps_url)
            if s["result"]["status"] == "FAILED"  # type: ignore[index]
        ]
    listed = session.get(
        f"{base}/v1/pipeline-executions", params={"projectId": project, "limit": 1}, timeout=30
    ).json()
    out["latest"] = listed["results"][0]["pipelineExecutionId"]
    return out


# -- the tests ----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("style", ["form+audience", "form", "basic"])
def test_the_official_flow_succeeds(server: dict[str, str], style: str) -> None:
    result = run_pipeline(server, get_token(server, style), "nightly-load")
    assert result["status"] == "SUCCESS"
    assert result["latest"] == result["execution"]


@pytest.mark.e2e
def test_the_official_flow_reads_steps_on_failure(server: dict[str, str]) -> None:
    result = run_pipeline(server, get_token(server, "form"), "broken-load")
    assert result["status"] == "FAILED"
    assert result["failed_steps"] == [("load", "Table ORDERS not found")]


@pytest.mark.e2e
def test_the_server_is_strict_about_tokens(server: dict[str, str]) -> None:
    url = f"{server['url']}/v1/projects"
    for value in ("None", "made-up-token"):
        response = requests.get(url, headers={"Authorization": f"Bearer {value}"}, timeout=30)
        assert response.status_code == 401


@pytest.mark.e2e
def test_a_shell_script_drives_the_control_api(server: dict[str, str]) -> None:
    token = get_token(server, "form")
    auth = {"Authorization": f"Bearer {token}"}
    added = control(
        server,
        "POST",
        "executions",
        {"project_id": "proj-1", "statuses": ["RUNNING", "SUCCESS"], "every": 60},
    )
    execution = added["pipelineExecutionId"]  # type: ignore[index]
    status_url = f"{server['url']}/v1/projects/proj-1/pipeline-executions/{execution}/status"
    assert requests.get(status_url, headers=auth, timeout=30).json()["status"] == "RUNNING"
    assert control(server, "POST", "clock/advance", {"seconds": 60})["now"] >= 60  # type: ignore[index]
    assert requests.get(status_url, headers=auth, timeout=30).json()["status"] == "SUCCESS"
    control(server, "POST", "faults", {"error": 503, "retry_after": 2, "detail": "busy"})
    busy = requests.get(status_url, headers=auth, timeout=30)
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "2")
    assert busy.json()["detail"] == "busy"
    control(server, "POST", "faults", {"drop": True})
    with pytest.raises(requests.ConnectionError):
        requests.get(status_url, headers=auth, timeout=30)
    calls = control(server, "GET", "calls")
    assert isinstance(calls, list) and calls[-1]["status_code"] == 0
    assert token not in json.dumps(calls)
    assert any(c["headers"].get("Authorization") == "Bearer ***" for c in calls)
    executions = control(server, "GET", "executions")
    assert execution in [e["pipelineExecutionId"] for e in executions]  # type: ignore[union-attr]


@pytest.mark.e2e
def test_control_api_errors_are_problem_details(server: dict[str, str]) -> None:
    url = f"{server['control_url']}/executions"
    bad = requests.post(url, json={"project_id": "proj-1", "statuses": ["DONE"]}, timeout=30)
    assert bad.status_code == 400 and "DONE" in bad.json()["detail"]
    assert requests.post(f"{server['control_url']}/nowhere", timeout=30).status_code == 404


@pytest.mark.e2e
def test_script_files_and_the_control_api_take_the_same_documents(
    server: dict[str, str], tmp_path: Path
) -> None:
    document = {"pipelines": [{"name": "extra", "statuses": ["FAILED"]}]}
    assert control(server, "POST", "script", document) == {"executions": []}
    path = tmp_path / "same.json"
    path.write_text(json.dumps(document))
    check = subprocess.run(
        [sys.executable, "-m", "pytest_maia", "fake-server", "--script", str(path), "--port", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "script" not in check.stderr  # the document was accepted; the port was not
