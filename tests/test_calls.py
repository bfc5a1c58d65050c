"""How the client talks to the API (pytest_maia.client.session): retries within a budget, a
backoff that survives thousands of retries, and one fork-safe session (issue 10, items
7, 8 and 11)."""

from __future__ import annotations

import os
import warnings

import pytest
import responses

from conftest import EXECUTION
from pytest_maia import MaiaClient, VirtualClock
from pytest_maia.core.errors import MaiaValidationError, RateLimitedError, ServerError
from pytest_maia.fake import FakeMaia

PROJECT = "hardening-project"
TOKEN = "tok-CLIENT-SEKRIT"


# -- 7. a call outside a wait has a retry budget -----------------------------------------


def test_a_retry_after_past_the_retry_budget_raises_at_once() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, "RUNNING")
    fake.fail_next(429, times=2, retry_after=300)
    with fake.serve() as server:
        with pytest.raises(RateLimitedError) as info:
            server.client().get_status(PROJECT, run)
        assert info.value.retry_after == 300
        assert fake.clock.now() == 0  # no sleep at all: 300 s would not fit in 120
        assert fake.polls(run) == 1
        # A budget that fits the advice waits it out.
        assert server.client(retry_budget=1000).get_status(PROJECT, run) == "RUNNING"


def test_a_retry_storm_stops_within_the_retry_budget() -> None:
    fake = FakeMaia(token=TOKEN)
    run = fake.add_execution(PROJECT, FakeMaia.error(503))
    with fake.serve() as server, pytest.raises(ServerError):
        server.client(max_retries=100, retry_budget=60).get_status(PROJECT, run)
    assert fake.clock.now() <= 60


@pytest.mark.parametrize("budget", [0, -1, float("nan"), float("inf"), "120", True])
def test_retry_budget_must_be_a_positive_number(budget: object) -> None:
    with pytest.raises(MaiaValidationError, match="retry_budget"):
        MaiaClient("http://127.0.0.1:9/dpc", token=TOKEN, retry_budget=budget)  # type: ignore[arg-type]


# -- 8. a steady 503 and thousands of retries: the backoff exponent is capped -----------


def test_a_steady_503_with_thousands_of_retries_is_a_server_error_not_an_overflow() -> None:
    with responses.RequestsMock() as api:
        api.get(
            f"https://eu1.api.matillion.com/dpc/v1/projects/{PROJECT}/pipeline-executions/"
            f"{EXECUTION}/status",
            json={"title": "Unavailable", "status": 503},
            status=503,
        )
        # 2**1024 overflows a float: 1100 retries pass where the exponent once broke.
        client = MaiaClient(token=TOKEN, clock=VirtualClock(), max_retries=1100, retry_budget=1e9)
        with pytest.raises(ServerError):
            client.get_status(PROJECT, EXECUTION)
        assert len(api.calls) == 1101


# -- 11. a forked child gets its own connections -------------------------------------------


def _ask(client: MaiaClient, run: str, expected: str, times: int) -> int:
    wrong = 0
    for _ in range(times):
        try:
            wrong += client.get_status(PROJECT, run) != expected
        except Exception:
            wrong += 1
    return wrong


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_and_its_parent_each_get_their_own_answers() -> None:
    fake = FakeMaia(token=TOKEN)
    mine = fake.add_execution(PROJECT, ["SUCCESS"])
    childs = fake.add_execution(PROJECT, ["FAILED"])
    with fake.serve() as server:
        client = server.client()
        assert client.get_status(PROJECT, mine) == "SUCCESS"  # a pooled, kept-alive socket
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            code = 1
            try:
                os.write(write_end, str(_ask(client, childs, "FAILED", 150)).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        parent_wrong = _ask(client, mine, "SUCCESS", 150)
        _, status = os.waitpid(pid, 0)
        child_wrong = int(os.read(read_end, 100) or b"150")
        os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (parent_wrong, child_wrong) == (0, 0)
