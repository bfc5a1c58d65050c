"""DataHub's ``matillion-dpc`` ingestion source (acryl-datahub 1.7.0.17, unchanged) reads a
scripted account from ``maia-status fake-server``: projects, environments, published
pipelines, a schedule, and a succeeded and a failed execution listed account-wide.

acryl-datahub is heavy, so it lives in its own venv, which ``bash .ci/datahub-venv``
makes (CI runs it as a step of its own, then ``pytest -m slow``); this test reads
``.venv-datahub`` or ``MAIA_DATAHUB_PYTHON``. Without it the test is skipped, unless
``MAIA_DATAHUB_REQUIRED=1`` (as in CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import fake_server_process
from pytest_maia import ExecutionStatus, MaiaClient

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "datahub_ingest.py"
SCRIPT = {
    "clients": [{"client_id": "datahub", "client_secret": "s3cret-for-datahub"}],
    "projects": [
        {
            "id": "p-sales",
            "name": "Sales",
            "description": "Sales marts",
            "environments": [{"name": "prod", "pipelines": ["nightly", "hourly"]}],
        },
        {"id": "p-ops", "name": "Ops", "environments": [{"name": "dev", "pipelines": ["load"]}]},
    ],
    "pipelines": [
        {"name": "nightly", "statuses": ["RUNNING", "SUCCESS"]},
        {"name": "hourly", "statuses": ["RUNNING", "FAILED"], "message": "Table not found"},
    ],
    "schedules": [
        {
            "project_id": "p-sales",
            "pipeline": "nightly",
            "environment": "prod",
            "cron": "0 0 2 ? * * *",
        }
    ],
}


def datahub_python() -> str:
    configured = os.environ.get("MAIA_DATAHUB_PYTHON")
    python = Path(configured) if configured else ROOT / ".venv-datahub" / "bin" / "python"
    if not python.exists():
        message = f"no DataHub venv at {python}: make one with `bash .ci/datahub-venv`"
        if os.environ.get("MAIA_DATAHUB_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return str(python)


@pytest.fixture
def account(tmp_path: Path) -> Iterator[str]:
    """The fake server's base URL, once a nightly run has succeeded and an hourly failed."""
    with fake_server_process(SCRIPT, tmp_path) as (url, _):
        client = MaiaClient(
            url,
            client_id="datahub",
            client_secret="s3cret-for-datahub",
            token_url=url + "/oauth/dpc/token",
        )
        for pipeline, final in (("nightly", "SUCCESS"), ("hourly", "FAILED")):
            run = client.execute_pipeline("p-sales", pipeline, "prod")
            result = client.wait_for("p-sales", run, timeout=30, interval=0.05)
            assert result.status is ExecutionStatus(final)
        yield url


def aspects(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("aspectName") == name]


def test_datahub_ingests_the_fake_account_unchanged(account: str, tmp_path: Path) -> None:
    python = datahub_python()
    output = tmp_path / "mces.json"
    recipe = {
        "source": {
            "type": "matillion-dpc",
            "config": {
                "api_config": {
                    "client_id": "datahub",
                    "client_secret": "s3cret-for-datahub",
                    "custom_base_url": account,
                    "custom_oauth_token_url": account + "/oauth/dpc/token",
                },
                # Streaming pipelines are out of the fake's scope (official-api.md): 404.
                "include_streaming_pipelines": False,
                "start_time": "2025-01-01T00:00:00Z",
                "end_time": "2030-01-01T00:00:00Z",
            },
        },
        "sink": {"type": "file", "config": {"filename": str(output)}},
    }
    recipe_path, summary_path = tmp_path / "recipe.json", tmp_path / "summary.json"
    recipe_path.write_text(json.dumps(recipe))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "DATAHUB_TELEMETRY_ENABLED": "false",
        # Anything that would leave this machine goes to a closed loopback port instead.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    done = subprocess.run(
        [python, str(RUNNER), str(recipe_path), str(summary_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["failures"] == []
    assert summary["projects_scanned"] == 2
    assert summary["executions_scanned"] == 2  # listed account-wide: no projectId
    records = json.loads(output.read_text())
    flows = {
        r["aspect"]["json"]["name"]: r["aspect"]["json"]["customProperties"]
        for r in aspects(records, "dataFlowInfo")
    }
    assert set(flows) == {"nightly", "hourly"}
    assert flows["nightly"]["project_name"] == "Sales"
    assert flows["nightly"]["environment_name"] == "prod"
    assert flows["nightly"]["is_published"] == "true"
    assert flows["nightly"]["schedule_cron"] == "0 0 2 ? * * *"
    results = {
        r["aspect"]["json"]["result"]["nativeResultType"]
        for r in aspects(records, "dataProcessInstanceRunEvent")
    }
    assert results == {"SUCCESS", "FAILED"}
    containers = {
        r["aspect"]["json"]["name"]: r["aspect"]["json"]["customProperties"]
        for r in aspects(records, "containerProperties")
    }
    assert containers["Sales"]["project_id"] == "p-sales"
    assert containers["Ops"]["project_id"] == "p-ops"
    assert containers["prod"]["environment_name"] == "prod"
    assert containers["dev"]["environment_name"] == "dev"
    assert "s3cret-for-datahub" not in done.stdout + done.stderr
