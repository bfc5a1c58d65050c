"""Models, settings resolution and identifier validation: plain, no I/O."""

from __future__ import annotations

import pickle

import pytest

from pytest_maia import ExecutionStatus, MaiaConfigError, MaiaValidationError, ProblemDetail
from pytest_maia.config import FAKE_PROJECT_ID, resolve_settings
from pytest_maia.errors import (
    MaiaApiError,
    MaiaTimeoutError,
    ServerError,
    error_for_status,
)
from pytest_maia.models import TERMINAL_STATUSES, WaitResult
from pytest_maia.redact import Secret
from pytest_maia.validation import check_execution_id, check_project_id

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


# -- errors ---------------------------------------------------------------------------


def test_error_for_status_mapping() -> None:
    assert error_for_status(502) is ServerError
    assert error_for_status(418) is MaiaApiError
    assert error_for_status(504).__name__ == "GatewayTimeoutError"


def test_api_error_message_without_problem() -> None:
    err = MaiaApiError(418, None, method="GET", path="/v1/x")
    assert str(err) == "HTTP 418 from GET /v1/x"


def test_timeout_error_carries_history() -> None:
    result = WaitResult("e", S.RUNNING, history=[(0.0, S.RUNNING)], polls=1, elapsed=5)
    err = MaiaTimeoutError(result, 5)
    assert err.history == [(0.0, S.RUNNING)]
    assert "timed out after 5s" in str(err)


# -- identifiers ------------------------------------------------------------------------


def test_execution_id_canonicalised() -> None:
    upper = "3FA85F64-5717-4562-B3FC-2C963F66AFA6"
    assert check_execution_id(upper) == upper.lower()


def test_project_id_quoting() -> None:
    assert check_project_id("a b%c") == "a%20b%25c"
    with pytest.raises(MaiaValidationError):
        check_project_id("..")


# -- settings -------------------------------------------------------------------------


def resolve(
    options: dict[str, str] | None = None,
    ini: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    opts = options or {}
    inis = ini or {}
    return resolve_settings(opts.get, inis.get, env or {})


def test_defaults() -> None:
    settings = resolve()
    assert settings.backend == "fake"
    assert settings.region == "eu1"
    assert settings.base_url == "https://eu1.api.matillion.com/dpc"
    assert settings.project_id is None
    assert settings.timeout == 1800
    assert settings.sources["backend"] == "default"
    assert f"project={FAKE_PROJECT_ID}" in settings.header()


def test_precedence_option_over_env_over_ini() -> None:
    settings = resolve(
        options={"timeout": "10"},
        env={"MAIA_TIMEOUT": "20", "MAIA_PROJECT_ID": "env-proj"},
        ini={"maia_timeout": "30", "maia_project_id": "ini-proj", "maia_region": "us1"},
    )
    assert settings.timeout == 10
    assert settings.sources["timeout"] == "--maia-timeout"
    assert settings.project_id == "env-proj"
    assert settings.sources["project_id"] == "MAIA_PROJECT_ID"
    assert settings.region == "us1"
    assert settings.base_url == "https://us1.api.matillion.com/dpc"
    assert settings.sources["region"] == "maia_region"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"options": {"backend": "mock"}}, "--maia-backend: backend must be 'fake' or 'live'"),
        ({"env": {"MAIA_TIMEOUT": "soon"}}, "MAIA_TIMEOUT: timeout must be a positive number"),
        ({"ini": {"maia_timeout": "-3"}}, "maia_timeout: timeout"),
        ({"options": {"timeout": "nan"}}, "timeout"),
        ({"options": {"region": "mars"}}, "unknown region 'mars'"),
        ({"options": {"base_url": "http://example.com"}}, "--maia-base-url: base_url"),
    ],
)
def test_bad_settings_name_their_source(kwargs: dict[str, dict[str, str]], needle: str) -> None:
    with pytest.raises(MaiaConfigError, match=needle.replace("(", r"\(")):
        resolve(**kwargs)


def test_secrets_come_from_env_only_and_never_show() -> None:
    settings = resolve(
        env={"MAIA_TOKEN": "tok-SEKRIT", "MAIA_CLIENT_SECRET": "cs-SEKRIT", "MAIA_CLIENT_ID": "i"}
    )
    assert settings.token == Secret("tok-SEKRIT")
    assert settings.auth_kind == "bearer token"
    for text in (repr(settings), str(settings), settings.header(), repr(settings.token)):
        assert "SEKRIT" not in text


def test_secret_survives_pickling_for_xdist() -> None:
    secret = pickle.loads(pickle.dumps(Secret("abc")))
    assert secret.reveal() == "abc"
    assert repr(secret) == "Secret('***')"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        (
            {},
            [
                "MAIA_PROJECT_ID (or --maia-project)",
                "MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET",
            ],
        ),
        ({"MAIA_PROJECT_ID": "p", "MAIA_CLIENT_ID": "i"}, ["MAIA_CLIENT_SECRET"]),
        ({"MAIA_PROJECT_ID": "p", "MAIA_CLIENT_SECRET": "s"}, ["MAIA_CLIENT_ID"]),
        ({"MAIA_PROJECT_ID": "p", "MAIA_TOKEN": "t"}, []),
    ],
)
def test_missing_for_live(env: dict[str, str], missing: list[str]) -> None:
    assert resolve(env=env).missing_for_live() == missing
