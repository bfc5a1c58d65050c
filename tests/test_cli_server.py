"""``maia-status fake-server`` (pytest_maia.cli.fake_server) as other processes meet it: the URLs
it prints, what its ``--script`` serves, script mistakes (a deeply nested one included)
that exit 2; and maia-status against that scripted server: the loopback token URL and
plain error text."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import fake_server_process
from pytest_maia import FakeMaia, MaiaClient
from pytest_maia.cli.fake_server import load_script
from pytest_maia.cli.main import loopback_token_url, main

PROJECT = "cli-why"
BAD = "cccccccc-0000-4000-8000-000000000002"
SCRIPT = {
    "token": "why-token-7c1e",  # the server is strict: only this and issued tokens pass
    "executions": [
        {
            "project_id": PROJECT,
            "execution_id": BAD,
            "statuses": ["FAILED"],
            "message": "Task 'load' failed",
            "steps": [{"name": "load", "status": "FAILED", "message": "disk full"}],
        },
    ],
    "pipelines": [
        {"name": "paused", "statuses": [{"unrecognised": "PAUSED"}, "SUCCESS"]},
    ],
}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MAIA_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest_maia", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=60,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with fake_server_process(SCRIPT, tmp_path_factory.mktemp("cli-why")) as served:
        yield served


@pytest.mark.e2e
def test_fake_server_prints_its_base_and_token_urls_in_text_mode(
    server: tuple[str, str],
) -> None:
    url, token_line = server
    assert url.startswith("http://127.0.0.1:") and url.endswith("/dpc")
    assert token_line == f"token URL: {url}/oauth/dpc/token"


@pytest.mark.e2e
def test_a_loopback_base_url_gets_its_own_token_url(server: tuple[str, str]) -> None:
    url, _ = server
    assert loopback_token_url(url) == f"{url}/oauth/dpc/token"
    assert loopback_token_url("https://eu1.api.matillion.com/dpc") is None
    result = run(
        "get",
        PROJECT,
        BAD,
        env={"MAIA_BASE_URL": url, "MAIA_CLIENT_ID": "ci", "MAIA_CLIENT_SECRET": "s3cr3t"},
    )
    assert (result.returncode, result.stdout.strip()) == (1, "FAILED"), result.stderr


@pytest.mark.e2e
def test_error_text_does_not_repeat_the_title(server: tuple[str, str]) -> None:
    url, _ = server
    # A realistic token: the CLI scrubs known secrets from server text, so "t" would hide ts.
    missing = run("get", "nope", BAD, "--base-url", url, env={"MAIA_TOKEN": "why-token-7c1e"})
    assert missing.returncode == 4
    assert "NotFoundError: HTTP 404 Not Found from GET" in missing.stderr
    assert "Not Found: Not Found" not in missing.stderr


@pytest.mark.e2e
def test_error_text_of_a_401_names_the_status_once(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"token": "right"}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_maia", "fake-server", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        result = run("get", PROJECT, BAD, "--base-url", url, env={"MAIA_TOKEN": "wrong"})
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert result.returncode == 4
    assert "UnauthorizedError: HTTP 401 Unauthorized from GET" in result.stderr
    assert "Unauthorized: Unauthorized" not in result.stderr


@pytest.mark.e2e
def test_the_script_serves_messages_steps_and_unrecognised_statuses(
    server: tuple[str, str],
) -> None:
    url, _ = server
    with MaiaClient(url, token="why-token-7c1e") as client:
        details = client.get_execution(PROJECT, BAD)
        (step,) = client.get_steps(PROJECT, BAD)
        run_id = client.execute_pipeline(PROJECT, "paused", "prod")
        assert client.get_status(PROJECT, run_id).value == "PAUSED"
    assert details.message == "Task 'load' failed"
    assert (step.name, step.status, step.message) == ("load", "FAILED", "disk full")


@pytest.mark.parametrize(
    ("script", "needle"),
    [
        ({"pipelines": [{"name": "p", "statuses": ["Sucess"]}]}, "did you mean 'SUCCESS'?"),
        (
            {"executions": [{"project_id": "p", "statuses": ["FAILED"], "steps": "x"}]},
            "must be a list of steps",
        ),
        (
            {"pipelines": [{"name": "p", "statuses": ["FAILED"], "steps": [{"name": "a"}]}]},
            "needs a 'status'",
        ),
        # The default clock is real: its times are the wall clock's, and take no start.
        ({"start": "2026-01-01T00:00:00Z"}, "a start instant is for a virtual clock"),
    ],
)
def test_script_mistakes_exit_2_with_the_fix(
    tmp_path: Path, script: dict[str, object], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(script))
    assert main(["fake-server", "--script", str(path)]) == 2  # refused before serving
    assert needle in capsys.readouterr().err


def test_a_virtual_clock_script_sets_where_time_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "start.json"
    path.write_text(json.dumps({"start": "soon"}))
    assert main(["fake-server", "--clock", "virtual", "--script", str(path)]) == 2
    assert "start must be" in capsys.readouterr().err
    fake = FakeMaia()
    load_script(
        fake,
        {
            "start": "2027-02-03T04:05:06Z",
            "executions": [{"project_id": "p", "statuses": ["SUCCESS"]}],
        },
    )
    with fake:
        (run,) = fake.client().list_executions("p")
    assert run.started_at == dt.datetime(2027, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)


# -- issue 10, item 8: a deeply nested script is a usage error ----------------------------


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_a_deeply_nested_fake_server_script_is_a_usage_error(
    depth: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "deep.json"
    script.write_text('{"executions": [{"project_id": "p", "statuses": [' + "[" * depth)
    script.write_text(script.read_text() + "]" * depth + "]}]}")
    assert main(["fake-server", "--port", "0", "--script", str(script)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "RecursionError" not in err
    assert "script" in err


# -- issue 21, item 20: hints in the caller's language ---------------------------------------


def test_fake_server_errors_speak_in_command_line_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["fake-server", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "--port 0 for a free one" in err
    assert "port=0" not in err
    assert main(["fake-server", "--port", "70000"]) == 2
    assert (
        "--port must be 0..65535 (--port 0 picks a free port), got 70000" in capsys.readouterr().err
    )
    assert main(["fake-server", "--host", "0.0.0.0"]) == 2
    assert "--host must be a loopback address" in capsys.readouterr().err


def test_the_python_api_keeps_its_own_words() -> None:
    import socket

    from pytest_maia import FakeMaia, MaiaValidationError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(MaiaValidationError, match=r"port=0 for a free one"):
            FakeMaia().serve(port=taken.getsockname()[1]).__enter__()


@pytest.mark.parametrize(
    ("endpoint", "body", "example"),
    [
        ("faults", {"error": 200}, '{"error": 503, "retry_after": 1, "times": 2}'),
        ("executions", {"statuses": ["RUNNING"]}, '{"project_id": "my-project", "statuses"'),
        ("clock/advance", {"seconds": -1}, '{"seconds": 60}'),
        ("pipelines", [], '{"name": "nightly", "statuses"'),
    ],
)
def test_control_api_errors_show_the_json_to_send(
    endpoint: str, body: object, example: str
) -> None:
    import requests

    from pytest_maia import FakeMaia

    with FakeMaia().serve() as server:
        answer = requests.post(f"{server.control_url}/{endpoint}", json=body, timeout=30)
        plain = requests.post(f"{server.control_url}/{endpoint}", data=json.dumps(body), timeout=30)
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "send JSON like " + example in detail
    assert json.loads(detail.split("send JSON like ", 1)[1].split(" or ")[0])  # valid JSON
    assert plain.status_code == 415  # no Content-Type: what curl -d sends is a form
    assert "-H 'Content-Type: application/json'" in plain.json()["detail"]


def test_every_control_api_example_is_a_document_the_fake_takes() -> None:
    import requests

    from pytest_maia import FakeMaia
    from pytest_maia.fake._control import EXAMPLES

    with FakeMaia().serve() as server:
        answers = {}
        for name, example in EXAMPLES.items():
            document = example.split(" or ")[0]
            if name == "schedules/run":
                document = json.dumps({"schedule_id": answers["schedules"]["scheduleId"]})
            answer = requests.post(
                f"{server.control_url}/{name}",
                data=document,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            assert answer.status_code == 200, (name, answer.text)
            answers[name] = answer.json()
