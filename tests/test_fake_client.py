"""MaiaClient against FakeMaia: virtual-time waits, retries, errors, Hypothesis, secrets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_maia import (
    ExecutionStatus,
    ForbiddenError,
    MaiaClient,
    MaiaConnectionError,
    MaiaTimeoutError,
    NotFoundError,
    UnauthorizedError,
    VirtualClock,
)
from pytest_maia.fake import FakeMaia

TOKEN = "tok-SEKRIT-123"


# No wall-clock assertion: the virtual clock's figures below are the promise; the speed
# budget of a 1000-step wait is bench/run.py's "waiting" row, and a hang meets the timeout.
@pytest.mark.timeout(120)
def test_thousand_step_lifecycle_runs_on_the_virtual_clock() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", [*(["RUNNING"] * 999), "SUCCESS"])
        result = fake.client().wait_for("p", eid, timeout=10_000, interval=1, max_interval=1)
    assert result.status is ExecutionStatus.SUCCESS
    assert result.polls == 1000
    assert len(result.history) == 1000
    assert fake.polls(eid) == 1000
    assert fake.clock.now() == pytest.approx(999.0)  # one 1 s sleep between polls
    assert result.elapsed == pytest.approx(999.0)


@pytest.mark.timeout(120)
def test_thirty_minute_lifecycle_completes_in_virtual_time() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", [*(["RUNNING"] * 30), "SUCCESS"], every=60)
        result = fake.client().wait_for("p", eid, timeout=3600, interval=30, max_interval=30)
    assert result.status is ExecutionStatus.SUCCESS
    assert result.elapsed == pytest.approx(1800.0)
    assert result.polls == 61  # t = 0, 30, ..., 1800
    assert result.timeline() == [(0.0, ExecutionStatus.RUNNING), (1800.0, ExecutionStatus.SUCCESS)]


def test_a_client_waits_on_the_clock_it_is_passed() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", ["RUNNING", "SUCCESS"], every=600)
        assert MaiaClient(fake.base_url, token=TOKEN).clock is not fake.clock  # not looked up
        client = MaiaClient(fake.base_url, token=TOKEN, clock=fake.clock)
        assert client.clock is fake.clock
        result = client.wait_for("p", eid, timeout=3600, interval=60, max_interval=60)
    assert result.elapsed == pytest.approx(600.0)


def test_wait_rides_out_scripted_transient_errors() -> None:
    with FakeMaia(token=TOKEN) as fake:
        lifecycle = [
            "RUNNING",
            FakeMaia.error(429, retry_after=20),
            FakeMaia.error(500),
            FakeMaia.dropped_connection(),
            FakeMaia.error(504),
            "SUCCESS",
        ]
        eid = fake.add_execution("p", lifecycle)
        result = fake.client().wait_for("p", eid, timeout=600, interval=1, max_interval=1)
    assert result.status is ExecutionStatus.SUCCESS
    assert [status.value for _, status in result.history] == ["RUNNING", "SUCCESS"]
    assert result.polls == fake.polls(eid) == 6
    assert [c.status_code for c in fake.calls] == [200, 429, 500, 0, 504, 200]
    # The 429's Retry-After (20 s) was obeyed on the fake's clock.
    assert fake.calls[2].time - fake.calls[1].time == pytest.approx(20.0)


def test_get_status_retries_fail_next_faults() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", "SUCCESS")
        fake.fail_next(503, times=2)
        fake.fail_next(FakeMaia.dropped_connection())
        assert fake.client().get_status("p", eid) is ExecutionStatus.SUCCESS
    assert [c.status_code for c in fake.calls] == [503, 503, 0, 200]


def test_get_status_gives_up_after_max_retries() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", "SUCCESS")
        fake.fail_next(FakeMaia.dropped_connection(), times=3)
        with pytest.raises(MaiaConnectionError):
            fake.client(max_retries=2).get_status("p", eid)


def test_non_transient_errors_fail_fast_with_the_fakes_problem() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", ["RUNNING", FakeMaia.error(403, detail="no access")])
        with pytest.raises(ForbiddenError, match="no access") as info:
            fake.client().wait_for("p", eid, timeout=60, interval=1, max_interval=1)
        with pytest.raises(NotFoundError, match="not found"):
            fake.client().get_status("other", eid)
    assert info.value.problem is not None
    assert info.value.problem.status == 403
    assert fake.polls(eid) == 2


def test_wait_times_out_in_virtual_time() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", "RUNNING")
        with pytest.raises(MaiaTimeoutError):
            fake.client().wait_for("p", eid, timeout=120, interval=10, max_interval=10)
    assert fake.clock.now() == pytest.approx(120.0)


def test_client_over_the_loopback_server() -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", ["RUNNING", FakeMaia.dropped_connection(), "SUCCESS"])
    with fake.serve() as server:
        result = server.client().wait_for("p", eid, timeout=60, interval=1, max_interval=1)
    assert result.status is ExecutionStatus.SUCCESS
    assert fake.polls(eid) == 3


def test_works_without_pytest_fixtures() -> None:
    with FakeMaia(clock=VirtualClock(1000)) as fake:
        eid = fake.add_execution("p", ["RUNNING", "FAILED"])
        result = fake.client().wait_for("p", eid, timeout=60, interval=5, max_interval=5)
    assert result.status is ExecutionStatus.FAILED
    assert not result.is_success
    assert fake.clock.now() == pytest.approx(1005.0)


ACTIVE = st.sampled_from(["RUNNING", "CANCELLING", "UNKNOWN"])
TERMINAL = st.sampled_from(["SUCCESS", "FAILED", "CANCELLED", "SKIPPED", "FORBIDDEN"])


@settings(max_examples=30, deadline=None)
@given(active=st.lists(ACTIVE, max_size=20), final=TERMINAL, every=st.none() | st.integers(1, 90))
def test_hypothesis_lifecycles_end_in_their_terminal_status(
    active: list[str], final: str, every: int | None
) -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", [*active, final], every=every)
        result = fake.client().wait_for("p", eid, timeout=10**6, interval=5, max_interval=30)
    assert result.status.value == final
    seen = [status.value for _, status in result.history]
    assert seen[-1] == final
    assert all(value in active for value in seen[:-1])
    if every is None:
        assert seen == [*active, final]


def test_secrets_stay_out_of_calls_reprs_and_errors() -> None:
    with FakeMaia(token=TOKEN) as fake:
        eid = fake.add_execution("p", [FakeMaia.error(401)])
        client = fake.client()
        with pytest.raises(UnauthorizedError) as info:
            client.get_status("p", eid)
        wrong = MaiaClient(fake.base_url, token="tok-WRONG-456")
        with pytest.raises(UnauthorizedError) as wrong_info:
            wrong.get_status("p", eid)
        with fake.serve() as server:
            shown = [repr(server), repr(server.client())]
    texts = [
        repr(fake),
        str(fake),
        repr(fake.calls),
        *(str(dict(call.headers)) for call in fake.calls),
        str(info.value),
        repr(info.value),
        str(wrong_info.value),
        repr(client),
        *shown,
    ]
    for text in texts:
        assert TOKEN not in text
        assert "tok-WRONG-456" not in text
    assert all(call.headers["Authorization"] == "Bearer ***" for call in fake.calls)


def test_secret_stays_out_of_a_failing_tests_showlocals(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_leak="""
        import os
        from pytest_maia.fake import FakeMaia

        def test_fails():
            fake = FakeMaia(token=os.environ["LEAK_TOKEN"])
            with fake:
                eid = fake.add_execution("p", [FakeMaia.error(403)])
                fake.client().get_status("p", eid)
        """
    )
    monkeypatch.setenv("LEAK_TOKEN", TOKEN)
    result = pytester.runpytest("--showlocals", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    output = result.stdout.str() + result.stderr.str()
    assert "ForbiddenError" in output
    assert TOKEN not in output
