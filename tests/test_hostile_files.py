"""Hostile files and values are typed errors, never tracebacks (issue 25, item 12):
timelines with NaN or non-string fields, JSON nested 5,000 deep, a 400-digit request
budget, and a cassette whose messages hold terminal controls and workflow commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_maia import FakeMaia
from pytest_maia.cassette.model import Cassette, Event, ExecutionTape, write
from pytest_maia.core.errors import MaiaValidationError

ID = "eeeeeeee-0000-4000-8000-000000000001"
DEEP = "[" * 5000 + "]" * 5000


def maia_status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_maia", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def timeline_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "test": "t.py::test_a",
        "execution_id": ID,
        "outcome": "FAILED",
        "start": 0.0,
        "elapsed": 1.0,
        "polls": 1,
        "segments": [{"status": "FAILED", "start": 0.0, "end": 1.0}],
        "message": "m",
        "failing_steps": [],
    }
    row.update(changes)
    return row


def timeline_text(row: dict[str, object]) -> str:
    data = {"format": "pytest-maia-timeline", "version": 1, "clock": "virtual"}
    data |= {"executions": [row], "cancelled": []}
    # json.dumps writes NaN and Infinity as the bare words Python's json reads back
    return json.dumps(data)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"start": float("nan")}, "'start' must be a finite number"),
        ({"elapsed": float("inf")}, "'elapsed' must be a finite number"),
        ({"polls": 1.5}, "'polls' must be a whole number"),
        ({"message": {"x": 1}}, "'message' must be a string, got dict"),
        ({"pipeline": 5}, "'pipeline' must be a string, got int"),
        ({"test": None}, "'test' must be a string, got NoneType"),
        ({"failing_steps": [1, 2]}, "'failing_steps' must be a list of strings"),
        ({"segments": [{"status": 3, "start": 0}]}, "'status' must be a string"),
        ({"start": True}, "'start' must be a number, got bool"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_report_merge_of_a_malformed_timeline_is_a_usage_error_naming_the_field(
    tmp_path: Path, changes: dict[str, object], named: str
) -> None:
    shard = tmp_path / "shard.json"
    shard.write_text(timeline_text(timeline_row(**changes)), encoding="utf-8")
    result = maia_status("report", "merge", str(shard), "--html", str(tmp_path / "out.html"))
    assert result.returncode == 2, result.stderr  # not 1: that means a FAILED run
    assert "Traceback" not in result.stderr
    assert "MaiaValidationError" in result.stderr and "execution row 1" in result.stderr
    assert named in result.stderr
    assert not (tmp_path / "out.html").exists()


@pytest.mark.e2e
def test_drawing_a_malformed_timeline_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    shard = tmp_path / "shard.json"
    shard.write_text(timeline_text(timeline_row(elapsed=float("inf"))), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_maia.report", str(shard), str(tmp_path / "out.svg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'elapsed' must be a finite number" in result.stderr


@pytest.mark.e2e
def test_cassette_show_of_json_nested_5000_deep_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(DEEP, encoding="utf-8")
    result = maia_status("cassette", "show", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "nested" in result.stderr and "deep.json" in result.stderr


def test_load_cassette_of_json_nested_5000_deep_is_a_validation_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"test": "t", "executions": ' + DEEP + "}", encoding="utf-8")
    with FakeMaia() as fake, pytest.raises(MaiaValidationError, match="nested"):
        fake.load_cassette(path)


@pytest.mark.e2e
def test_cassette_show_escapes_what_the_api_said(tmp_path: Path) -> None:
    tape = ExecutionTape(ID, "p", 0.0, "load\x1b[2K", "prod", {})
    tape.timeline = [Event(0.0, status="FAILED\r\x1b[2KSUCCESS")]
    tape.details = {"message": "boom\n::add-mask::x\r\x1b[2KSUCCESS \u202eevil"}
    path = write(tmp_path / "c.json", Cassette("t.py::test_a\x1b[2K", [tape]))
    for extra in ((), ("--json",)):
        result = maia_status("cassette", "show", str(path), *extra)
        assert result.returncode == 0, result.stderr
        assert not any(ch in result.stdout for ch in "\r\x1b\u202e"), extra
        assert all(not line.lstrip().startswith("::") for line in result.stdout.splitlines())
    human = maia_status("cassette", "show", str(path)).stdout
    assert "FAILED\\r\\x1b[2KSUCCESS" in human
    assert "message: boom\\n::add-mask::x" in human


@pytest.mark.parametrize("option", ["--maia-max-requests-per-minute", "--maia-max-concurrent"])
def test_a_400_digit_count_is_a_usage_error_not_an_internal_error(
    pytester: pytest.Pytester, option: str
) -> None:
    pytester.makepyfile("def test_a(maia_status):\n    pass\n")
    result = pytester.runpytest(f"{option}={'9' * 400}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text and "Traceback" not in text
    assert "must be an integer from" in text and "(400 characters)" in text
