"""The strategies against pytest-maia's own client and fake: what they generate is
what the client must handle, and what the fake serves is what a waiter observes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BASE, EXECUTION
from pytest_maia import FakeMaia, MaiaClient
from pytest_maia import strategies as ms
from pytest_maia.core.clock import VirtualClock
from pytest_maia.core.errors import MaiaApiError, MaiaResponseError, error_for_status
from pytest_maia.core.models import ErrorStep, ExecutionStatus, ProblemDetail

STATUS_URL = re.compile(re.escape(BASE) + r"/v1/projects/[^/]+/pipeline-executions/[^/]+/status")
PROJECT = "project-1"


def client(**kwargs: Any) -> MaiaClient:
    return MaiaClient(BASE, token="t0ken", clock=VirtualClock(), **kwargs)


def serve_once(body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add(
        responses.Response(
            "GET",
            STATUS_URL,
            body=body,
            status=status,
            headers=headers or {},
            content_type=None if headers else "application/json",
        )
    )
    return mock


@settings(deadline=None)
@given(ms.status_payloads())
def test_client_reads_every_valid_payload(payload: dict[str, Any]) -> None:
    with serve_once(json.dumps(payload).encode()):
        status = client().get_status(PROJECT, EXECUTION)
    assert status is ExecutionStatus(payload["status"])
    assert status.is_known


@settings(deadline=None)
@given(ms.invalid_status_payloads())
def test_client_rejects_invalid_payloads_or_keeps_unknown_statuses(
    payload: ms.InvalidPayload,
) -> None:
    with serve_once(payload.body):
        if payload.must_fail:
            with pytest.raises(MaiaResponseError):
                client().get_status(PROJECT, EXECUTION)
            return
        status = client().get_status(PROJECT, EXECUTION)
    assert status.value == payload.kept_status
    assert not status.is_known
    assert not status.is_terminal


@settings(deadline=None)
@given(ms.error_responses())
def test_client_raises_the_typed_error_for_every_error_response(
    response: ms.ErrorResponse,
) -> None:
    mock = serve_once(response.body, status=response.status, headers=response.headers)
    with mock, pytest.raises(MaiaApiError) as caught:
        client(max_retries=0).get_status(PROJECT, EXECUTION)
    error = caught.value
    assert type(error) is error_for_status(response.status)
    assert error.status_code == response.status
    assert error.problem == ProblemDetail.from_json(json.loads(response.body))
    if response.status == 429:
        assert error.retry_after == float(response.headers["Retry-After"])
    assert error.is_transient == (response.status in (429, 500, 504))


@settings(max_examples=50, deadline=None)
@given(ms.status_sequences(), ms.project_ids())
def test_wait_for_observes_every_sequence_step_by_step(seq: list[Any], project: str) -> None:
    with FakeMaia(BASE) as fake:
        execution_id = fake.add_execution(project, seq)
        result = fake.client().wait_for(project, execution_id)
        polls = fake.polls(execution_id)
    expected = [step for step in seq if not isinstance(step, ErrorStep)]
    assert [status for _, status in result.history] == expected
    assert result.status is seq[-1]
    assert len(result.errors) == len(seq) - len(expected)
    assert result.polls == polls == len(seq)


@settings(max_examples=25, deadline=None)
@given(ms.status_sequences(final="CANCELLED", errors=False), st.data())
def test_get_status_walks_a_sequence_one_poll_at_a_time(seq: list[Any], data: Any) -> None:
    project = data.draw(ms.project_ids())
    with FakeMaia(BASE) as fake:
        execution_id = fake.add_execution(project, seq, execution_id=data.draw(ms.execution_ids()))
        maia = fake.client()
        seen = [maia.get_status(project, execution_id) for _ in range(len(seq) + 1)]
    assert seen == [*seq, seq[-1]]  # the last step repeats
