"""pytest_maia.strategies on its own: options, schema validity, shrinking, registration."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_maia import strategies as ms
from pytest_maia.core.models import ErrorStep, ExecutionStatus, ProblemDetail
from pytest_maia.core.validation import check_execution_id, check_project_id

S = ExecutionStatus
HERE = Path(__file__).resolve().parent
SPEC_NAME = "pipeline-execution-status.openapi.yaml"
SPEC = HERE / "spec" / SPEC_NAME
if not SPEC.exists():  # pragma: no cover - the repo carries tests/spec
    SPEC = HERE.parent.parent / "shared" / "spec" / SPEC_NAME
SCHEMAS: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
# The spec's schema does not list `status` as required; a 200 without it tells a
# waiter nothing, so pytest-maia (and these tests) treat it as required.
STATUS_SCHEMA = {**SCHEMAS["PipelineExecutionStatusOnly"], "required": ["status"]}
STATUS_VALIDATOR = jsonschema.Draft202012Validator(STATUS_SCHEMA)
PROBLEM_VALIDATOR = jsonschema.Draft202012Validator(SCHEMAS["ProblemDetail"])
# RFC 3986 absolute URI: scheme ":" then only URI characters, %-escapes well formed.
URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)
INT32 = range(-(2**31), 2**31)


# -- options ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: ms.statuses(terminal=False, success=True),
        lambda: ms.statuses(terminal="yes"),  # type: ignore[arg-type]
        lambda: ms.status_payloads(status="PAUSED"),
        lambda: ms.status_payloads(status=3),  # type: ignore[arg-type]
        lambda: ms.invalid_status_payloads(reasons=["nope"]),  # type: ignore[list-item]
        lambda: ms.invalid_status_payloads(reasons=[]),
        lambda: ms.problem_details(status=2**31),
        lambda: ms.problem_details(status=True),
        lambda: ms.error_responses(codes=[200]),
        lambda: ms.error_responses(codes=[]),
        lambda: ms.status_sequences(final=S.RUNNING),
        lambda: ms.status_sequences(final="CANCELLING"),
        lambda: ms.status_sequences(final="DONE"),
        lambda: ms.status_sequences(max_polls=0),
        lambda: ms.status_sequences(errors=None),  # type: ignore[arg-type]
    ],
)
def test_bad_options_raise_invalid_argument(call: Any) -> None:
    with pytest.raises(InvalidArgument):
        call()


@pytest.mark.parametrize("terminal", [None, True, False])
@pytest.mark.parametrize("success", [None, True, False])
def test_statuses_obey_their_options(terminal: bool | None, success: bool | None) -> None:
    if terminal is False and success is True:
        return
    values: set[ExecutionStatus] = set()

    @settings(max_examples=60, database=None)
    @given(ms.statuses(terminal=terminal, success=success))
    def check(status: ExecutionStatus) -> None:
        assert status.is_known
        assert terminal is None or status.is_terminal == terminal
        assert success is None or status.is_success == success
        values.add(status)

    check()
    expected = {
        s
        for s in S
        if (terminal is None or s.is_terminal == terminal)
        and (success is None or s.is_success == success)
    }
    assert values == expected


# -- schema validity ----------------------------------------------------------------


@given(ms.status_payloads())
def test_status_payloads_validate_against_the_spec(payload: dict[str, Any]) -> None:
    STATUS_VALIDATOR.validate(json.loads(json.dumps(payload)))
    assert S(payload["status"]).is_known


@given(ms.status_payloads(status=ms.statuses(terminal=True), extra_keys=False))
def test_status_payload_options(payload: dict[str, Any]) -> None:
    assert list(payload) == ["status"]
    assert S(payload["status"]).is_terminal


@given(ms.invalid_status_payloads())
def test_invalid_status_payloads_never_validate(payload: ms.InvalidPayload) -> None:
    assert payload.reason in ms.INVALID_REASONS
    assert (payload.kept_status is not None) == (payload.reason == "unknown-status")
    assert payload.must_fail == (payload.kept_status is None)
    try:
        document = payload.document()
    except ValueError:
        assert payload.reason == "not-json"
        return
    assert payload.reason != "not-json"
    assert not STATUS_VALIDATOR.is_valid(document)
    if payload.kept_status is not None:
        assert document["status"] == payload.kept_status
        assert payload.kept_status.strip()
        assert not S(payload.kept_status).is_known


def assert_valid_problem(body: dict[str, Any]) -> None:
    PROBLEM_VALIDATOR.validate(body)
    if "type" in body:
        assert URI.fullmatch(body["type"]), body["type"]
    if "status" in body:
        assert body["status"] in INT32  # format: int32, which jsonschema does not assert


@given(ms.problem_details())
def test_problem_details_validate_against_the_spec(body: dict[str, Any]) -> None:
    assert_valid_problem(json.loads(json.dumps(body)))
    assert ProblemDetail.from_json(body) == ProblemDetail.from_json(
        ProblemDetail.from_json(body).to_json()  # type: ignore[union-attr]
    )


@given(ms.problem_details(status=418))
def test_problem_details_status_option(body: dict[str, Any]) -> None:
    assert body["status"] == 418


@given(ms.error_responses())
def test_error_responses_are_documented_problems(response: ms.ErrorResponse) -> None:
    status, headers, body = response
    assert status in ms.DOCUMENTED_ERROR_CODES
    assert headers["Content-Type"] == "application/problem+json"
    assert ("Retry-After" in headers) == (status == 429)
    if status == 429:
        assert headers["Retry-After"].isdigit()
    problem = json.loads(body)
    assert_valid_problem(problem)
    assert problem["status"] == status


@pytest.mark.parametrize("code", ms.DOCUMENTED_ERROR_CODES)
def test_error_responses_reach_every_documented_code(code: int) -> None:
    # find() searches until it meets the code: no luck of a 100-draw sample involved.
    found = find(
        ms.error_responses(),
        lambda response: response.status == code,
        settings=settings(database=None, derandomize=True, max_examples=1000),
    )
    assert found.status == code


# -- sequences and identifiers -------------------------------------------------------


@given(ms.status_sequences())
def test_status_sequences_are_realistic_lifecycles(seq: list[Any]) -> None:
    assert 1 <= len(seq) <= 10
    *head, last = seq
    assert isinstance(last, S) and last.is_terminal
    assert all(isinstance(s, ErrorStep) or not s.is_terminal for s in head)
    statuses = [s for s in head if isinstance(s, S)]
    if S.CANCELLING in statuses:
        assert last is S.CANCELLED
        first = statuses.index(S.CANCELLING)
        assert set(statuses[first:]) == {S.CANCELLING}
    run = 0
    for step in head:
        run = run + 1 if isinstance(step, ErrorStep) else 0
        assert run <= 2
        if isinstance(step, ErrorStep):
            assert step.code == 0 or 400 <= step.code <= 599


@given(ms.status_sequences(final="FAILED", max_polls=3, errors=False, unknown=False))
def test_status_sequence_options(seq: list[Any]) -> None:
    assert seq[-1] is S.FAILED
    assert seq[:-1] == [S.RUNNING] * (len(seq) - 1)
    assert len(seq) <= 3


@given(ms.execution_ids(), ms.project_ids())
def test_identifiers_pass_validation(execution_id: str, project_id: str) -> None:
    assert check_execution_id(execution_id) == execution_id
    quoted = check_project_id(project_id)
    assert "/" not in quoted and quoted not in (".", "..")


# -- registration --------------------------------------------------------------------


@given(st.from_type(ExecutionStatus), st.from_type(ProblemDetail))
def test_from_type_uses_the_registered_strategies(
    status: ExecutionStatus, problem: ProblemDetail
) -> None:
    assert status.is_known
    assert isinstance(problem, ProblemDetail)
    assert_valid_problem(problem.to_json())


def test_status_payloads_reject_a_strategy_of_unknown_statuses() -> None:
    @settings(max_examples=5, database=None)
    @given(ms.status_payloads(status=st.just("PAUSED")))  # type: ignore[arg-type]
    def check(payload: dict[str, Any]) -> None:
        raise AssertionError("unreachable")

    with pytest.raises(InvalidArgument):
        check()
