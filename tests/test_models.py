"""The plain data of pytest_maia.core.models: statuses, problems, details, timestamps."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_maia import ExecutionStatus, ProblemDetail
from pytest_maia.core.models import TERMINAL_STATUSES, ExecutionDetails, parse_timestamp

S = ExecutionStatus

# -- ExecutionStatus ------------------------------------------------------------------


def test_status_has_exactly_the_spec_values() -> None:
    assert [s.value for s in S] == [
        "RUNNING",
        "SUCCESS",
        "FAILED",
        "CANCELLING",
        "CANCELLED",
        "FORBIDDEN",
        "SKIPPED",
        "UNKNOWN",
    ]
    assert issubclass(S, str)


@pytest.mark.parametrize(
    ("status", "terminal", "success"),
    [
        (S.RUNNING, False, False),
        (S.CANCELLING, False, False),
        (S.UNKNOWN, False, False),
        (S.SUCCESS, True, True),
        (S.FAILED, True, False),
        (S.CANCELLED, True, False),
        (S.SKIPPED, True, False),
        (S.FORBIDDEN, True, False),
    ],
)
def test_status_semantics_table(status: S, terminal: bool, success: bool) -> None:
    assert status.is_terminal is terminal
    assert status.is_success is success
    assert status.is_known
    assert (status in TERMINAL_STATUSES) is terminal


def test_unknown_strings_are_kept_and_behave_like_unknown() -> None:
    paused = S("PAUSED")
    assert paused.value == "PAUSED" == str(paused)
    assert paused == "PAUSED"
    assert not paused.is_known
    assert not paused.is_terminal
    assert not paused.is_success
    assert "PAUSED" not in S.__members__
    assert len(S) == 8


def test_non_string_status_is_rejected() -> None:
    with pytest.raises(ValueError, match="is not a valid"):
        S(3)  # type: ignore[arg-type]


def test_status_str_is_the_value() -> None:
    assert str(S.SUCCESS) == "SUCCESS"
    assert f"{S.FAILED}" == "FAILED"


# -- ProblemDetail ------------------------------------------------------------------


def test_problem_detail_full() -> None:
    body = {
        "type": "https://api.matillion.com/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "no execution",
        "instance": "/v1/x",
        "violations": ["a", "b"],
        "extra": {"ignored": True},
    }
    problem = ProblemDetail.from_json(body)
    assert problem == ProblemDetail(
        type="https://api.matillion.com/problems/not-found",
        title="Not Found",
        status=404,
        detail="no execution",
        instance="/v1/x",
        violations=("a", "b"),
    )
    assert problem.to_json() == {k: v for k, v in body.items() if k != "extra"}


@pytest.mark.parametrize(
    "body",
    [
        {"title": 1, "status": "x", "detail": None, "violations": "nope"},
        {"status": True},
        {"status": 4.5, "violations": [None, 1, {"a": 1}]},
        {},
    ],
)
def test_problem_detail_wrong_types_never_crash(body: dict[str, object]) -> None:
    problem = ProblemDetail.from_json(body)
    assert problem is not None
    assert problem.title is None
    assert problem.status is None
    assert all(isinstance(v, str) for v in problem.violations)


@pytest.mark.parametrize("body", [None, [], "text", 3, True])
def test_problem_detail_non_object_is_none(body: object) -> None:
    assert ProblemDetail.from_json(body) is None


def test_problem_detail_object_violations_and_summary() -> None:
    problem = ProblemDetail.from_json(
        {"title": "Bad Request", "violations": [{"field": "id", "message": "must be a UUID"}]}
    )
    assert problem is not None
    assert problem.violations == ("id: must be a UUID",)
    assert problem.summary() == "Bad Request (violations: id: must be a UUID)"
    assert ProblemDetail().summary() == ""


def test_problem_detail_is_frozen() -> None:
    problem = ProblemDetail(title="x")
    with pytest.raises(AttributeError):
        problem.title = "y"  # type: ignore[misc]


# -- ExecutionDetails and timestamps ------------------------------------------------------

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", dt.datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00z", dt.datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00", dt.datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01 00:00", dt.datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T00:00:00.5Z", dt.datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2026-01-01T00:00:00.123456789Z", dt.datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        (
            "2026-01-01T02:00:00+02:00",
            dt.datetime(2026, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        ),
        (
            "2026-01-01T02:00:00-0130",
            dt.datetime(2026, 1, 1, 2, tzinfo=dt.timezone(-dt.timedelta(hours=1, minutes=30))),
        ),
        ("2026-13-01T00:00:00Z", None),
        ("2026-01-01", None),
        ("soon", None),
        ("", None),
        (None, None),
        (1767225600, None),
    ],
)
def test_parse_timestamp(text: object, expected: dt.datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_details_from_json_prefers_the_top_level_and_ignores_unknown_keys() -> None:
    body = {"status": "RUNNING", "result": {"status": "FAILED", "message": "m"}, "extra": [1]}
    details = ExecutionDetails.from_json(body)
    assert details is not None
    assert details.status is ExecutionStatus.RUNNING
    assert details.message == "m"
    assert ExecutionDetails.from_json(None) is None
    assert ExecutionDetails.from_json({"status": "  "}) is None


@pytest.mark.parametrize("status", ["²", "٣", "1" * 5000, "4o4"])
def test_a_problem_status_that_is_not_ascii_digits_keeps_the_problem(status: str) -> None:
    problem = ProblemDetail.from_json({"status": status, "title": "Kept", "detail": "here"})
    assert problem is not None
    assert problem.status is None
    assert problem.title == "Kept"
