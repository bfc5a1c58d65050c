"""Issue 21 (items 1-5) and issue 25 (item 7): replay proves what it replays.

The user's steps: a suite recorded live against ``maia-status fake-server`` (a separate
process, client credentials), replayed offline with the same outcomes, then a test edited
to run a pipeline the cassette never saw, which the replay must refuse by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import fake_server_process
from pytest_maia.cassette import read

PROJECT = "strict-project"
CLIENT_ID = "strict-client"
CLIENT_SECRET = "sécret-ü-%2F"

SERVER_SCRIPT = {
    "pipelines": [
        {"name": "nightly-load", "statuses": ["RUNNING", "RUNNING", "SUCCESS"]},
        {
            "name": "orchestrate",
            "statuses": ["RUNNING", "FAILED"],
            "message": "a child pipeline failed",
            "steps": [
                {"name": "prepare", "status": "SUCCESS"},
                {
                    "name": "call child-load",
                    "status": "FAILED",
                    "child": {
                        "pipeline": "child-load",
                        "statuses": ["RUNNING", "FAILED"],
                        "steps": [
                            {"name": "write", "status": "FAILED", "message": "disk full on child"}
                        ],
                    },
                },
            ],
        },
        {
            "name": "transform",
            "statuses": ["RUNNING", "FAILED"],
            "message": "bad row 17 in sales",
            "steps": [{"name": "clean", "status": "FAILED", "message": "bad row 17 in sales"}],
        },
        {"name": "broken", "statuses": ["RUNNING", "FAILED"], "message": "it broke"},
    ]
}

SUITE = """
import pytest


@pytest.mark.maia_start("nightly-load")
def test_started_ahead(maia_run):
    maia_run.assert_success()


def test_child_pipeline_fails(maia_pipeline):
    run = maia_pipeline.run("orchestrate")
    run.assert_failed(match="disk full on child")


def test_scripted_message(maia_pipeline):
    run = maia_pipeline.run("transform")
    run.assert_failed(match="bad row 17")


def test_failed_live(maia_pipeline):
    maia_pipeline.run("broken").assert_success()


def test_skipped_live(maia_client):
    pytest.skip("not today")
"""

# Start-ahead runs offline go to a session fake on loopback: only that is allowed.
NO_NETWORK = """
import socket

_connect = socket.socket.connect


def _loopback_only(self, address):
    if not (isinstance(address, tuple) and address[0] in ("127.0.0.1", "::1")):
        raise OSError("the replay run must not touch the network")
    return _connect(self, address)


socket.socket.connect = _loopback_only
"""

CREDENTIALS = (
    "MAIA_TOKEN",
    "MAIA_CLIENT_ID",
    "MAIA_CLIENT_SECRET",
    "MAIA_PROJECT_ID",
    "MAIA_TOKEN_URL",
    "MAIA_BASE_URL",
    "MAIA_BACKEND",
    "MAIA_ENVIRONMENT",
)


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def live_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``maia-status fake-server`` in its own process, and the environment of a live run."""
    with fake_server_process(SERVER_SCRIPT, tmp_path) as (url, token_line):
        offline(monkeypatch)
        monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
        monkeypatch.setenv("MAIA_ENVIRONMENT", "prod")
        monkeypatch.setenv("MAIA_BASE_URL", url)
        monkeypatch.setenv("MAIA_TOKEN_URL", token_line.removeprefix("token URL: "))
        yield url


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """test name -> PASSED/FAILED/SKIPPED/ERROR, from ``-v``'s progress lines."""
    found: dict[str, str] = {}
    for line in result.outlines:
        match = re.match(r"test_suite\.py::(\w+) (PASSED|FAILED|SKIPPED|ERROR)", line)
        if match is not None:
            found.setdefault(match[1], match[2])
    return found


def test_a_suite_recorded_live_replays_offline_and_refuses_an_unrecorded_pipeline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, live_server: str
) -> None:
    tapes = pytester.path / "cassettes"
    pytester.makepyfile(test_suite=SUITE)
    live = pytester.runpytest_subprocess(
        "--maia-backend=live",
        f"--maia-record={tapes}",
        "--maia-poll-interval=0.05",
        "-v",
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    live.assert_outcomes(passed=3, failed=1, skipped=1)
    recorded = outcomes(live)
    assert recorded == {
        "test_started_ahead": "PASSED",
        "test_child_pipeline_fails": "PASSED",
        "test_scripted_message": "PASSED",
        "test_failed_live": "FAILED",
        "test_skipped_live": "SKIPPED",
    }
    files = sorted(p.name for p in (tapes / "test_suite").iterdir())
    # the skipped test wrote nothing; the start-ahead run is in its test's cassette
    assert files == [
        "test_child_pipeline_fails.json",
        "test_failed_live.json",
        "test_scripted_message.json",
        "test_started_ahead.json",
    ]
    ahead = read(tapes / "test_suite" / "test_started_ahead.json")
    (run,) = ahead.executions
    assert run.start_ahead and run.pipeline == "nightly-load"
    assert run.statuses[-1] == "SUCCESS"
    for path in (tapes / "test_suite").iterdir():
        text = path.read_text(encoding="utf-8")
        assert CLIENT_SECRET not in text and "s\\u00e9cret" not in text, path.name

    # offline: no credentials, no network, the same outcomes
    offline(monkeypatch)
    pytester.makeconftest(NO_NETWORK)
    replay = pytester.runpytest_subprocess(
        "--maia-backend=replay", f"--maia-cassettes={tapes}", "-v", "-p", "no:cacheprovider"
    )
    assert outcomes(replay) == recorded, replay.stdout.str()
    assert "it broke" in replay.stdout.str()  # the live failure, replayed

    # a test edited to run a pipeline the cassette never saw: the replay names it
    pytester.makepyfile(test_suite=SUITE.replace('run("transform")', 'run("transform-v2")'))
    edited = pytester.runpytest_subprocess(
        "--maia-backend=replay", f"--maia-cassettes={tapes}", "-v", "-p", "no:cacheprovider"
    )
    assert outcomes(edited)["test_scripted_message"] == "FAILED"
    assert {k: v for k, v in outcomes(edited).items() if k != "test_scripted_message"} == {
        k: v for k, v in recorded.items() if k != "test_scripted_message"
    }
    edited.stdout.fnmatch_lines(
        [
            "*not recorded: POST */v1/projects/fake-project/pipeline-executions: the cassette "
            "holds no execution of pipeline 'transform-v2'*Re-record the test with: pytest "
            f"--maia-backend=live --maia-record={tapes} test_suite.py::test_scripted_message*"
        ]
    )
