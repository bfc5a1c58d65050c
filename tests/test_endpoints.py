"""The pipeline-execution endpoints as plain data (pytest_maia.client.paths, bodies,
answers, api_errors): paths, bodies, header parsing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from conftest import EXECUTION, PROJECT
from pytest_maia import MaiaResponseError, MaiaValidationError
from pytest_maia.client.answers import parse_execution_id
from pytest_maia.client.api_errors import parse_retry_after
from pytest_maia.client.paths import status_path


def test_status_path_checks_and_quotes_the_ids() -> None:
    path = status_path(PROJECT, EXECUTION.upper())
    assert path == f"/v1/projects/{PROJECT}/pipeline-executions/{EXECUTION}/status"
    assert status_path("a b", EXECUTION).startswith("/v1/projects/a%20b/")
    with pytest.raises(MaiaValidationError):
        status_path(PROJECT, "not-a-uuid")


@pytest.mark.parametrize(
    "raw", [EXECUTION.replace("-", ""), "not-a-uuid", 5, None, f"{{{EXECUTION}}}"], ids=repr
)
def test_an_execute_answer_without_a_36_character_uuid_is_a_response_error(raw: object) -> None:
    with pytest.raises(MaiaResponseError, match="pipelineExecutionId"):
        parse_execution_id({"pipelineExecutionId": raw}, "POST /x", 201)
    assert parse_execution_id({"pipelineExecutionId": f" {EXECUTION.upper()} "}, "", 201) == (
        EXECUTION
    )


def test_retry_after_http_date_and_garbage() -> None:
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    assert parse_retry_after(later) == pytest.approx(120, abs=3)
    assert parse_retry_after("soon") is None
    assert parse_retry_after("inf") is None
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("99999") == 300.0
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 01 Jan 2020 00:00:00 +9999999999999", None),
        ("Mon, 01 Jan 2020 00:00:00 +2400", None),
        ("1e400", None),
        ("nan", None),
        ("-3", 0.0),
        ("12", 12.0),
        ("999999", 300.0),
    ],
)
def test_parse_retry_after_never_raises(value: str, expected: float | None) -> None:
    assert parse_retry_after(value) == expected
