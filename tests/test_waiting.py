"""wait_for: history, backoff, Retry-After, transient errors and timeouts on a virtual clock."""

from __future__ import annotations

import itertools
import logging
import socket
import threading

import pytest
import requests
import responses
from hostile_server import HostileServer, respond

from conftest import EXECUTION, PROJECT, STATUS_URL
from pytest_maia import (
    BudgetExhaustedError,
    ExecutionStatus,
    FakeMaia,
    ForbiddenError,
    MaiaClient,
    MaiaResponseError,
    MaiaTimeoutError,
    MaiaValidationError,
    NotFoundError,
    VirtualClock,
    WaitResult,
)
from pytest_maia.client.budget import RequestBudget
from pytest_maia.client.waiting import WaitPolicy, wait

S = ExecutionStatus
TOKEN = "tok-CLIENT-SEKRIT"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=1000.0)


@pytest.fixture
def client(clock: VirtualClock) -> MaiaClient:
    return MaiaClient(token="t", clock=clock)


def script(api: responses.RequestsMock, *statuses: str) -> None:
    for status in statuses:
        api.get(STATUS_URL, json={"status": status})


def test_wait_returns_history_of_every_poll(
    api: responses.RequestsMock, client: MaiaClient, clock: VirtualClock
) -> None:
    script(api, "RUNNING", "RUNNING", "RUNNING", "SUCCESS")
    result = client.wait_for(PROJECT, EXECUTION, interval=2, max_interval=10)
    assert isinstance(result, WaitResult)
    assert result.execution_id == EXECUTION
    assert result.status is S.SUCCESS
    assert result.is_success
    assert result.polls == 4
    # backoff 2, 3, 4.5 seconds between polls
    assert result.history == [
        (0.0, S.RUNNING),
        (2.0, S.RUNNING),
        (5.0, S.RUNNING),
        (pytest.approx(9.5), S.SUCCESS),
    ]
    assert result.elapsed == pytest.approx(9.5)
    assert clock.now() == pytest.approx(1009.5)
    assert result.timeline() == [(0.0, S.RUNNING), (pytest.approx(9.5), S.SUCCESS)]


def test_backoff_is_capped_at_max_interval(api: responses.RequestsMock, client: MaiaClient) -> None:
    script(api, *["RUNNING"] * 12, "FAILED")
    result = client.wait_for(PROJECT, EXECUTION, interval=5, max_interval=30)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(result.history)]
    assert gaps[:4] == pytest.approx([5, 7.5, 11.25, 16.875])
    assert max(gaps) == pytest.approx(30)
    assert all(g <= 30 + 1e-9 for g in gaps)
    assert result.status is S.FAILED


@pytest.mark.parametrize("final", ["FAILED", "CANCELLED", "SKIPPED", "FORBIDDEN"])
def test_terminal_failures_end_the_wait(
    api: responses.RequestsMock, client: MaiaClient, final: str
) -> None:
    script(api, "RUNNING", final)
    result = client.wait_for(PROJECT, EXECUTION)
    assert result.status.value == final
    assert not result.is_success


def test_cancelling_and_unknown_keep_polling(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    script(api, "UNKNOWN", "PAUSED", "CANCELLING", "CANCELLED")
    result = client.wait_for(PROJECT, EXECUTION, interval=1, max_interval=1)
    assert [s.value for _, s in result.history] == ["UNKNOWN", "PAUSED", "CANCELLING", "CANCELLED"]


def test_unknown_can_be_terminal(api: responses.RequestsMock, client: MaiaClient) -> None:
    script(api, "RUNNING", "PAUSED", "SUCCESS")
    result = client.wait_for(PROJECT, EXECUTION, unknown_is_terminal=True)
    assert result.status.value == "PAUSED"
    assert result.polls == 2


def test_timeout_raises_with_history_on_the_virtual_clock(
    api: responses.RequestsMock, client: MaiaClient, clock: VirtualClock
) -> None:
    api.get(STATUS_URL, json={"status": "RUNNING"})
    with pytest.raises(MaiaTimeoutError) as info:
        client.wait_for(PROJECT, EXECUTION, timeout=120, interval=10, max_interval=20)
    exc = info.value
    assert exc.timeout == 120
    assert exc.result.status is S.RUNNING
    assert exc.history == exc.result.history
    # polls at 0, 10, 25, 45, 65, 85, 105 and a last one at the deadline
    assert [t for t, _ in exc.history] == pytest.approx([0, 10, 25, 45, 65, 85, 105, 120])
    assert clock.now() == pytest.approx(1120)
    message = str(exc)
    assert "timed out after 120s" in message
    assert EXECUTION in message
    assert "last status: RUNNING" in message
    assert "8 poll(s)" in message


def test_transient_errors_are_ridden_out(
    api: responses.RequestsMock, client: MaiaClient, clock: VirtualClock
) -> None:
    api.get(STATUS_URL, json={"status": "RUNNING"})
    api.get(
        STATUS_URL, json={"title": "Too Many Requests"}, status=429, headers={"Retry-After": "40"}
    )
    api.get(STATUS_URL, json={"title": "Gateway Timeout"}, status=504)
    api.get(STATUS_URL, body=requests.ConnectionError("reset"))
    api.get(STATUS_URL, body=requests.ReadTimeout("slow"))
    api.get(STATUS_URL, json={"status": "SUCCESS"})
    result = client.wait_for(PROJECT, EXECUTION, interval=1, max_interval=1)
    assert result.status is S.SUCCESS
    assert result.polls == 6
    assert [s for _, s in result.history] == [S.RUNNING, S.SUCCESS]
    assert len(result.errors) == 4
    # the 429's Retry-After of 40 s replaced the 1 s interval once
    assert result.elapsed == pytest.approx(1 + 40 + 1 + 1 + 1)


@pytest.mark.parametrize(("code", "error"), [(404, NotFoundError), (403, ForbiddenError)])
def test_other_4xx_raise_at_once_with_the_wait_so_far(
    api: responses.RequestsMock, client: MaiaClient, code: int, error: type[Exception]
) -> None:
    script(api, "RUNNING")
    api.get(STATUS_URL, json={"title": "nope", "detail": "gone away"}, status=code)
    with pytest.raises(error) as info:
        client.wait_for(PROJECT, EXECUTION, interval=1)
    wait_result = info.value.wait_result  # type: ignore[attr-defined]
    assert wait_result is not None
    assert wait_result.history == [(0.0, S.RUNNING)]
    assert len(api.calls) == 2


def test_transient_errors_until_timeout_end_in_timeout(
    api: responses.RequestsMock, client: MaiaClient
) -> None:
    api.get(STATUS_URL, json={"title": "down"}, status=503)
    with pytest.raises(MaiaTimeoutError) as info:
        client.wait_for(PROJECT, EXECUTION, timeout=60, interval=10, max_interval=10)
    assert info.value.result.polls == 7
    assert "no status read" in str(info.value)
    assert "HTTP 503" in str(info.value)


def test_retry_after_longer_than_timeout_still_ends_on_time(
    api: responses.RequestsMock, client: MaiaClient, clock: VirtualClock
) -> None:
    api.get(STATUS_URL, json={"title": "slow"}, status=429, headers={"Retry-After": "250"})
    with pytest.raises(MaiaTimeoutError):
        client.wait_for(PROJECT, EXECUTION, timeout=100)
    assert clock.now() == pytest.approx(1100)


def test_a_paused_request_budget_ends_the_wait_at_its_deadline(clock: VirtualClock) -> None:
    with FakeMaia(clock=clock) as fake:
        budget = RequestBudget(600, clock=clock)
        client = fake.client(budget=budget)
        run = fake.add_execution(
            PROJECT, ["RUNNING", FakeMaia.error(429, retry_after=600), "SUCCESS"]
        )
        with pytest.raises(MaiaTimeoutError) as info:
            client.wait_for(PROJECT, run, timeout=30, interval=5)
        calls = [c.status_code for c in fake.calls]
    # The 429 at 5 s held the budget until 305 s (Retry-After is capped at 300 s): the
    # wait ended at its deadline, 30 s, instead of sleeping in the budget until 305 s.
    assert clock.now() == pytest.approx(1030)
    assert calls == [200, 429]
    exc = info.value
    assert exc.wait_result is exc.result
    assert exc.history == [(0.0, S.RUNNING)]
    assert isinstance(exc.__cause__, BudgetExhaustedError)
    assert str(exc).splitlines()[0] == (
        f"timed out waiting for execution {run} (timeout 30s, last status: RUNNING, "
        "2 poll(s)): the request budget (600 requests per 60s) has no free request before "
        "the wait's deadline, 0s away; the next one is free in 275s (held after a 429 until "
        "then)"
    )


def test_a_wait_that_cannot_poll_before_its_deadline_ends_at_once(clock: VirtualClock) -> None:
    with FakeMaia(clock=clock) as fake:
        budget = RequestBudget(600, clock=clock)
        run = fake.add_execution(PROJECT, ["RUNNING"])
        budget.pause(3600)  # another client of the budget met a 429 asking for an hour
        with pytest.raises(MaiaTimeoutError, match="no status read") as info:
            fake.client(budget=budget).wait_for(PROJECT, run, timeout=60)
        assert fake.calls == []
    assert clock.now() == 1000.0  # nothing could be learnt before the deadline: no sleep
    assert info.value.result.polls == 0
    assert "the next one is free in 3600s" in str(info.value)


def test_a_budget_refusal_the_wait_can_outlast_is_ridden_out(clock: VirtualClock) -> None:
    # A fetch bound tighter than the wait (wait_all's calls): the budget frees in 40 s.
    refusals = [BudgetExhaustedError(600, 60.0, left=10, retry_after=40, paused=True)]

    def fetch() -> ExecutionStatus:
        if refusals:
            raise refusals.pop()
        return S.SUCCESS

    policy = WaitPolicy.checked(timeout=120, interval=5, max_interval=30)
    result = wait(fetch, execution_id=EXECUTION, policy=policy, clock=clock)
    assert result.status is S.SUCCESS
    assert result.polls == 1  # the refusal sent nothing
    assert result.elapsed == pytest.approx(40)
    assert len(result.errors) == 1


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"interval": 0}, "interval"),
        ({"interval": float("nan")}, "interval"),
        ({"max_interval": float("inf")}, "max_interval"),
        ({"interval": 10, "max_interval": 5}, "must not be below"),
        ({"timeout": True}, "timeout"),
        ({"timeout": "60"}, "timeout"),
    ],
)
def test_bad_wait_options_are_rejected_before_polling(
    api: responses.RequestsMock, client: MaiaClient, kwargs: dict[str, object], needle: str
) -> None:
    with pytest.raises(MaiaValidationError, match=needle):
        client.wait_for(PROJECT, EXECUTION, **kwargs)  # type: ignore[arg-type]
    assert len(api.calls) == 0


def test_wait_logs_changes_and_a_heartbeat(
    api: responses.RequestsMock, client: MaiaClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pytest_maia")
    script(api, *["RUNNING"] * 10, "SUCCESS")
    client.wait_for(PROJECT, EXECUTION, interval=30, max_interval=30)
    messages = [r.getMessage() for r in caplog.records if r.name == "pytest_maia"]
    assert messages[0].startswith(f"execution {EXECUTION}: RUNNING after 0.0s")
    heartbeats = [m for m in messages if "still RUNNING" in m]
    assert len(heartbeats) == 4  # 300 s of RUNNING, one heartbeat a minute
    assert messages[-1].startswith(f"execution {EXECUTION}: SUCCESS after 300.0s")


def test_on_poll_sees_each_poll(api: responses.RequestsMock, client: MaiaClient) -> None:
    script(api, "RUNNING", "SUCCESS")
    seen: list[int] = []
    client.wait_for(PROJECT, EXECUTION, on_poll=lambda r: seen.append(r.polls))
    assert seen == [1, 2]


def test_wait_result_describe_lists_the_timeline() -> None:
    result = WaitResult(
        execution_id=EXECUTION,
        status=S.FAILED,
        history=[(0.0, S.RUNNING), (5.0, S.RUNNING), (12.5, S.FAILED)],
        polls=3,
        elapsed=12.5,
    )
    text = result.describe()
    assert f"execution {EXECUTION}: FAILED after 12.5s and 3 poll(s)" in text
    assert "0.0s  RUNNING" in text
    assert "12.5s  FAILED" in text
    assert text.count("RUNNING") == 1


# -- 10. a wait that ends on a bad answer says what it saw ---------------------------------


def test_a_response_error_during_a_wait_carries_the_wait_result() -> None:
    answers = iter([b'{"status": "RUNNING"}', b'{"status": "RUNNING"}', b"<html>oops</html>"])

    def script(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        respond(conn, 200, next(answers, b"<html>oops</html>"))

    with HostileServer(script) as server:
        client = MaiaClient(server.url, token=TOKEN, clock=VirtualClock())
        with pytest.raises(MaiaResponseError, match="not JSON") as info:
            client.wait_for(PROJECT, EXECUTION, timeout=600, interval=1, max_interval=1)
    result = info.value.wait_result
    assert result is not None
    assert [s for _, s in result.history] == ["RUNNING", "RUNNING"]
    assert result.polls == 3
