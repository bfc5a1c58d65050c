"""The typed errors (pytest_maia.core.errors): classes by status, messages, history."""

from __future__ import annotations

from pytest_maia import ExecutionStatus
from pytest_maia.core.errors import MaiaApiError, MaiaTimeoutError, ServerError, error_for_status
from pytest_maia.core.models import WaitResult

S = ExecutionStatus


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
