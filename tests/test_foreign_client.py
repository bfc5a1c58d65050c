"""A client written by someone else works against the fake unchanged.

tests/foreign_ci_script.py is a CI script in the style of public ones (plain `requests`,
a form POST for the token, execute, poll the details). It runs here against FakeMaia
in-process and over the loopback server, sleeping on the fake's virtual clock, and once
as a separate process.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from conftest import Served
from pytest_maia.fake import FakeMaia

SCRIPT = Path(__file__).with_name("foreign_ci_script.py")
SECRET = "cs-SEKRIT-foreign"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("foreign_ci_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


foreign = _load()


@dataclass
class Where:
    fake: FakeMaia
    base_url: str
    token_url: str

    def run(self, pipeline: str, **kwargs: object) -> str:
        sleep: Callable[[float], None] = self.fake.clock.sleep
        return str(
            foreign.main(
                self.base_url,
                self.token_url,
                project_id="analytics",
                pipeline_name=pipeline,
                environment="prod",
                client_id="ci-bot",
                client_secret=SECRET,
                sleep=sleep,
                **kwargs,
            )
        )


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    fake = FakeMaia(token_lifetime=600)
    fake.add_credentials("ci-bot", SECRET)
    return fake


@pytest.fixture
def where(served: Served) -> Where:  # served: in-process and loopback (tests/conftest.py)
    return Where(served.fake, served.base_url, served.token_url)


def test_foreign_script_runs_a_pipeline_to_success(
    where: Where, capsys: pytest.CaptureFixture[str]
) -> None:
    assert where.run("daily load") == "SUCCESS"
    (record,) = where.fake.executions()
    assert (record.pipeline_name, record.environment_name) == ("daily load", "prod")
    assert record.status.value == "SUCCESS"
    assert f"{record.execution_id}: SUCCESS" in capsys.readouterr().out
    assert where.fake.clock.now() == 20  # two polls, 10 virtual seconds apart


def test_foreign_script_sees_a_scripted_failure(where: Where) -> None:
    where.fake.script_pipeline(
        "broken", ["RUNNING"] * 5 + ["FAILED"], every=60, message="Table not found"
    )
    assert where.run("broken", poll_seconds=15) == "FAILED"
    assert where.fake.executions()[0].finished_at == 300


def test_foreign_script_rides_out_token_expiry_on_a_long_run(where: Where) -> None:
    """A 30-minute run, 10-minute tokens: the script gets a 401 and fetches a new token."""
    where.fake.script_pipeline("long", ["RUNNING"] * 30 + ["SUCCESS"], every=60)
    assert where.run("long", poll_seconds=20) == "SUCCESS"
    codes = [call.status_code for call in where.fake.calls]
    assert codes.count(401) >= 2
    assert where.fake.tokens_issued == codes.count(401) + 1


def test_foreign_script_gives_up_on_a_stuck_run(where: Where) -> None:
    where.fake.script_pipeline("stuck", ["RUNNING"])
    with pytest.raises(SystemExit, match="gave up"):
        where.run("stuck", max_polls=5)


@pytest.mark.e2e
def test_foreign_script_as_another_process() -> None:
    fake = FakeMaia()
    with fake.serve() as server:
        env = {**os.environ, "MAIA_CLIENT_ID": "ci-bot", "MAIA_CLIENT_SECRET": SECRET}

        def run_script(pipeline: str) -> subprocess.CompletedProcess[str]:
            args = [server.url, server.token_url, "analytics", pipeline, "prod"]
            return subprocess.run(
                [sys.executable, str(SCRIPT), *args, "--poll-seconds", "0.01"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        done = run_script("daily load")
        assert done.returncode == 0, done.stderr
        fake.script_pipeline("broken", ["FAILED"])
        failed = run_script("broken")
        assert failed.returncode == 1, failed.stderr
    assert [r.status.value for r in fake.executions()] == ["SUCCESS", "FAILED"]
    assert SECRET not in done.stdout + failed.stdout
