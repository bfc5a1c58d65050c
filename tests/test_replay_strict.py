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


def live_server_env(monkeypatch: pytest.MonkeyPatch, server: tuple[str, str]) -> None:
    url, token_url = server
    offline(monkeypatch)
    monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    monkeypatch.setenv("MAIA_ENVIRONMENT", "prod")
    monkeypatch.setenv("MAIA_BASE_URL", url)
    monkeypatch.setenv("MAIA_TOKEN_URL", token_url)


@pytest.fixture
def live_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """``maia-status fake-server`` in its own process, and the environment of a live run."""
    with fake_server_process(SERVER_SCRIPT, tmp_path) as (url, token_line):
        server = (url, token_line.removeprefix("token URL: "))
        live_server_env(monkeypatch, server)
        yield server


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """test name -> PASSED/FAILED/SKIPPED/ERROR, from ``-v``'s progress lines."""
    found: dict[str, str] = {}
    for line in result.outlines:
        # "test_suite.py::test_x PASSED", or under xdist "[gw0] [ 20%] PASSED test_suite.py::test_x"
        match = re.match(r"test_suite\.py::(\w+) (PASSED|FAILED|SKIPPED|ERROR)", line)
        spread = re.search(r"\] (PASSED|FAILED|SKIPPED|ERROR) test_suite\.py::(\w+)", line)
        if match is not None:
            found.setdefault(match[1], match[2])
        elif spread is not None:
            found.setdefault(spread[2], spread[1])
    return found


@pytest.mark.e2e
def test_a_suite_recorded_live_replays_offline_and_refuses_an_unrecorded_pipeline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, live_server: tuple[str, str]
) -> None:
    tapes = pytester.path / "cassettes"
    pytester.makepyfile(test_suite=SUITE)
    live = pytester.runpytest_subprocess(
        "--maia-backend=live",
        f"--maia-cassettes={tapes}",
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
    spread = pytester.runpytest_subprocess(
        "--maia-backend=replay", f"--maia-cassettes={tapes}", "-p", "xdist", "-n", "2", "-v"
    )
    assert outcomes(spread) == recorded, spread.stdout.str()  # the same under xdist

    # recorded under xdist too: the start-ahead run may start in the other worker
    spread_tapes = pytester.path / "spread"
    pytester.makeconftest("")
    live_server_env(monkeypatch, live_server)
    live_spread = pytester.runpytest_subprocess(
        "--maia-backend=live",
        f"--maia-cassettes={spread_tapes}",
        "--maia-poll-interval=0.05",
        *("-p", "xdist", "-n", "2", "-v"),
        timeout=120,
    )
    assert outcomes(live_spread) == recorded, live_spread.stdout.str()
    (run,) = read(spread_tapes / "test_suite" / "test_started_ahead.json").executions
    assert run.start_ahead and run.pipeline == "nightly-load"
    offline(monkeypatch)
    pytester.makeconftest(NO_NETWORK)
    again = pytester.runpytest_subprocess(
        "--maia-backend=replay", f"--maia-cassettes={spread_tapes}", "-v"
    )
    assert outcomes(again) == recorded, again.stdout.str()

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
            f"--maia-backend=live --maia-cassettes={tapes} test_suite.py::test_scripted_message*"
        ]
    )


# -- each item on its own, with hand-made cassettes (no server) ------------------------------

RUN_ID = "abababab-0000-4000-8000-000000000001"
OTHER_ID = "abababab-0000-4000-8000-000000000002"
CHILD_ID = "abababab-0000-4000-8000-000000000003"


def write_cassette(directory: Path, test: str, *tapes: object) -> None:
    from pytest_maia.cassette import Cassette, write
    from pytest_maia.plugin.cassettes import cassette_path

    write(cassette_path(directory, test), Cassette(test, list(tapes)))  # type: ignore[arg-type]


def started(pipeline: str, *statuses: str, ahead: bool = False, **kw: object) -> object:
    from pytest_maia.cassette import Event, ExecutionTape

    tape = ExecutionTape(RUN_ID, "fake-project", 0.1, pipeline, "fake-environment", **kw)  # type: ignore[arg-type]
    tape.timeline = [Event(1.0 + i, status=s) for i, s in enumerate(statuses)]
    tape.start_ahead = ahead
    return tape


def replay(pytester: pytest.Pytester, tapes: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--maia-backend=replay", f"--maia-cassettes={tapes}", "-p", "no:cacheprovider", *args
    )


def test_a_start_ahead_test_with_no_cassette_fails_in_replay(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline(monkeypatch)
    tapes = pytester.mkdir("empty")
    pytester.makepyfile(
        test_ahead="""
import pytest

@pytest.mark.maia_start("nightly")
def test_ahead(maia_run):
    maia_run.assert_success()

def test_no_request(maia_client):
    pass
"""
    )
    result = replay(pytester, tapes)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes().get("passed", 0) == 0
    result.stdout.fnmatch_lines(
        [
            "*maia_start('nightly'): could not start: no cassette for test_ahead.py::test_ahead*"
            "pytest --maia-backend=live --maia-cassettes=* test_ahead.py::test_ahead*",
            "*no cassette for test_ahead.py::test_no_request*",
        ]
    )


def test_a_start_ahead_run_replays_from_its_cassette_and_refuses_another_pipeline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline(monkeypatch)
    tapes = pytester.mkdir("tapes")
    for name in ("test_ahead", "test_renamed"):
        write_cassette(tapes, f"test_ahead.py::{name}", started("nightly", "FAILED", ahead=True))
    pytester.makepyfile(
        test_ahead="""
import pytest

@pytest.mark.maia_start("nightly")
def test_ahead(maia_run):
    maia_run.assert_success()  # FAILED live: fails here too

@pytest.mark.maia_start("nightly-v2")
def test_renamed(maia_run):
    pass
"""
    )
    result = replay(pytester, tapes)
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*not recorded: POST */pipeline-executions (pipeline 'nightly-v2', started ahead)*"
            "Re-record the test with: pytest --maia-backend=live*test_ahead.py::test_renamed*",
            "*ended FAILED, expected SUCCESS*",
        ]
    )


def test_a_read_the_cassette_does_not_hold_fails_the_test_even_when_caught(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline(monkeypatch)
    tapes = pytester.mkdir("tapes")
    write_cassette(tapes, "test_reads.py::test_other", started("load", "SUCCESS"))
    pytester.makepyfile(
        test_reads=f"""
import pytest
from pytest_maia import MaiaApiError

def test_other(maia_client, maia_project_id):
    with pytest.raises(MaiaApiError):
        maia_client.get_status(maia_project_id, "{OTHER_ID}")
"""
    )
    result = replay(pytester, tapes)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the test made requests its cassette does not hold:*",
            f"*not recorded: GET */pipeline-executions/{OTHER_ID}/status: the cassette holds no "
            f"execution {OTHER_ID}*test_reads.py::test_other*",
        ]
    )


def test_one_execution_more_than_recorded_is_an_error_not_the_default_lifecycle(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline(monkeypatch)
    tapes = pytester.mkdir("tapes")
    write_cassette(tapes, "test_twice.py::test_twice", started("load", "SUCCESS"))
    pytester.makepyfile(
        test_twice="""
def test_twice(maia_pipeline):
    maia_pipeline.run("load").assert_success()
    maia_pipeline.run("load").assert_success()
"""
    )
    result = replay(pytester, tapes)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the cassette holds 1 execution(s) of pipeline 'load' and this would be one more*"]
    )


def test_a_child_pipelines_steps_are_served_in_replay(tmp_path: Path) -> None:
    from pytest_maia.cassette import Cassette, Event, ExecutionTape, write
    from pytest_maia.fake import FakeMaia
    from pytest_maia.runs.explain import explain_failure

    parent = started(
        "orchestrate",
        "RUNNING",
        "FAILED",
        steps=[
            {
                "id": "1",
                "name": "call child",
                "result": {"status": "FAILED", "message": "child failed"},
                "childPipeline": {"id": CHILD_ID, "name": "child-load"},
            }
        ],
    )
    child = ExecutionTape(CHILD_ID, "fake-project", None, None, None)
    child.timeline = [Event(3.0, status="FAILED")]
    child.steps = [
        {"id": "1", "name": "write", "result": {"status": "FAILED", "message": "disk full"}}
    ]
    path = write(tmp_path / "c.json", Cassette("t.py::t", [parent, child]))  # type: ignore[list-item]
    with FakeMaia() as fake:
        fake.load_cassette(path)
        client = fake.client()
        run = client.execute_pipeline("fake-project", "orchestrate", "fake-environment")
        client.wait_for("fake-project", run, interval=1, max_interval=1)
        why = explain_failure(client, "fake-project", run)
        assert fake.replay_misses == []
    assert "disk full" in why.render()


# -- record modes, as pytest-recording users expect ------------------------------------------

MODES_SUITE = """
import pytest


def test_a(maia_pipeline):
    maia_pipeline.run("a").assert_success()


def test_b(maia_pipeline):
    maia_pipeline.run("b").assert_success()


@pytest.mark.maia_start("c")
def test_c(maia_run):
    maia_run.assert_success()
"""


def test_record_modes_once_records_what_is_missing_and_all_records_everything(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_maia.fake import FakeMaia

    fake = FakeMaia()
    fake.script_pipeline("a", ["RUNNING", "SUCCESS"])
    fake.script_pipeline("b", ["RUNNING", "SUCCESS"])
    fake.script_pipeline("c", ["RUNNING", "SUCCESS"])
    tapes = pytester.path / "tapes"
    pytester.makepyfile(test_modes=MODES_SUITE)
    args = ("-p", "no:cacheprovider", "--maia-poll-interval=0.05")
    with fake.serve() as server:
        offline(monkeypatch)
        monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
        monkeypatch.setenv("MAIA_ENVIRONMENT", "prod")
        monkeypatch.setenv("MAIA_BASE_URL", server.url)
        monkeypatch.setenv("MAIA_TOKEN_URL", server.token_url)
        first = pytester.runpytest(
            "--maia-backend=live", f"--maia-cassettes={tapes}", "-k", "test_a", *args
        )
        first.assert_outcomes(passed=1)
        assert [p.name for p in (tapes / "test_modes").iterdir()] == ["test_a.json"]

        # the API changed: a live test_a would fail now, its cassette still passes
        fake.script_pipeline("a", ["RUNNING", "FAILED"])
        # (--maia-record-scrub applies to what once records)
        scrub = "--maia-record-scrub=region"
        once = replay(pytester, tapes, "--maia-record-mode=once", scrub, *args)
        once.assert_outcomes(passed=3)
        # only b and the run started ahead for c went live
        assert sorted(r.pipeline_name for r in fake.executions()) == ["a", "b", "c"]
        assert sorted(p.name for p in (tapes / "test_modes").iterdir()) == [
            "test_a.json",
            "test_b.json",
            "test_c.json",
        ]
        (run,) = read(tapes / "test_modes" / "test_c.json").executions
        assert run.start_ahead and run.statuses[-1] == "SUCCESS"

        everything = replay(pytester, tapes, "--maia-record-mode=all", *args)
        everything.assert_outcomes(passed=2, failed=1)  # test_a ran live again and failed
        assert len(fake.executions()) == 6
        assert "backend=live" in everything.stdout.str()

    offline(monkeypatch)
    none = replay(pytester, tapes, "--maia-record-mode=none")
    none.assert_outcomes(passed=2, failed=1)  # the re-recorded cassette of test_a: FAILED
    assert read(tapes / "test_modes" / "test_a.json").executions[0].statuses[-1] == "FAILED"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--maia-record-mode=once"], "--maia-record-mode=once is for --maia-backend=replay"),
        (
            ["--maia-backend=replay", "--maia-record-mode=once"],
            "--maia-record-mode=once needs --maia-cassettes=DIR",
        ),
        (
            ["--maia-backend=live", "--maia-cassettes=.", "--maia-record-mode=none"],
            "--maia-record-mode=none replays cassettes: use it with --maia-backend=replay",
        ),
        (
            ["--maia-backend=live", "--maia-cassettes=.", "--maia-record-mode=once"],
            "--maia-record-mode=once replays cassettes",
        ),
        (
            ["--maia-backend=replay", "--maia-cassettes=.", "--maia-record=."],
            "--maia-record (deprecated) and --maia-cassettes both name the cassette folder",
        ),
        (
            ["--maia-backend=replay", "--maia-record=.", "--maia-record-mode=none"],
            "--maia-record-mode=none goes with --maia-cassettes=DIR; leave out --maia-record",
        ),
        (
            ["--maia-backend=replay", "--maia-cassettes=nowhere"],
            "--maia-cassettes=nowhere: no such directory",
        ),
        (
            ["--maia-backend=replay", "--maia-cassettes=.", "--maia-record-mode=sometimes"],
            "invalid choice",
        ),
        (
            ["--maia-backend=replay", "--maia-cassettes=.", "--maia-record-mode=all"],
            "--maia-backend=live needs MAIA_PROJECT_ID",
        ),
    ],
)
def test_record_mode_and_cassette_folder_mistakes_are_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    offline(monkeypatch)
    pytester.makepyfile(
        test_x="def test_x(maia_client):\n    pass\n\n\ndef test_y(maia_client):\n    pass\n"
    )
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().count(needle) == 1, result.stderr.str()


def test_a_caught_miss_of_a_run_started_ahead_fails_its_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A start-ahead run replays on the session's fake, not the test's: its misses count too.
    offline(monkeypatch)
    tapes = pytester.mkdir("tapes")
    write_cassette(tapes, "test_ahead.py::test_ahead", started("nightly", "SUCCESS", ahead=True))
    pytester.makepyfile(
        test_ahead=f"""
import pytest
from pytest_maia import MaiaApiError

@pytest.mark.maia_start("nightly")
def test_ahead(maia_run):
    maia_run.assert_success()
    client = maia_run._runner.client
    with pytest.raises(MaiaApiError):
        client.get_steps(maia_run._runner.project_id, "{OTHER_ID}")

@pytest.mark.maia_start("nightly")
def test_next(maia_run):
    pass
"""
    )
    write_cassette(tapes, "test_ahead.py::test_next", started("nightly", "SUCCESS", ahead=True))
    result = replay(pytester, tapes)
    result.assert_outcomes(failed=1, passed=1)  # the next test is not blamed for it
    result.stdout.fnmatch_lines(
        [f"*not recorded: GET */pipeline-executions/{OTHER_ID}/steps*test_ahead.py::test_ahead*"]
    )


def test_endpoints_cassettes_do_not_record_are_refused_under_strict_replay(
    tmp_path: Path,
) -> None:
    # Nothing falls back to the fake's defaults: lists and the official API's newer
    # families (artifacts, schedules, events) are not in cassettes, so replay refuses them.
    import requests

    from pytest_maia import MaiaApiError
    from pytest_maia.cassette import Cassette, write
    from pytest_maia.fake import FakeMaia

    path = write(tmp_path / "c.json", Cassette("t.py::t"))
    with FakeMaia() as fake:
        fake.load_cassette(path, rerecord="RERECORD-COMMAND")
        client = fake.client()
        for call in (client.list_projects, lambda: client.list_executions("fake-project")):
            with pytest.raises(MaiaApiError, match=r"not recorded: GET .*RERECORD-COMMAND"):
                call()
        answer = requests.get(
            f"{fake.base_url}/v1/events", headers={"Authorization": "Bearer t0ken"}, timeout=5
        )
        assert answer.status_code == 404 and "not recorded: GET" in answer.text
    assert len(fake.replay_misses) == 3


def test_a_run_started_live_without_an_environment_names_the_missing_cassette(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_maia.fake import FakeMaia

    tapes = pytester.mkdir("tapes")
    pytester.makepyfile(
        test_live_start="""
import pytest

@pytest.mark.maia_start("c")
def test_c(maia_run):
    maia_run.assert_success()
"""
    )
    with FakeMaia().serve() as server:
        offline(monkeypatch)
        monkeypatch.delenv("MAIA_ENVIRONMENT", raising=False)
        monkeypatch.setenv("MAIA_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("MAIA_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
        monkeypatch.setenv("MAIA_BASE_URL", server.url)
        monkeypatch.setenv("MAIA_TOKEN_URL", server.token_url)
        result = replay(pytester, tapes, "--maia-record-mode=once")
    result.assert_outcomes(errors=1)  # at set-up, where maia_run hands out the run
    result.stdout.fnmatch_lines(
        [
            "maia_start('c'): could not start: no environment for 'c' (started live: "
            "test_live_start.py::test_c has no cassette): pass environment= to "
            "maia_start, or set --maia-environment*"
        ]
    )
