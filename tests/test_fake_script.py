"""Scripting the fake (pytest_maia.fake._script, ._execution): lifecycles advance one step
per poll or per ``every`` clock seconds, error and dropped-connection steps answer their
poll, and what is scripted is checked (statuses, error steps, ids, faults) before any
request; requests go straight into FakeMaia.handle."""

from __future__ import annotations

import pytest
from fake_handle import get, poll, problem_of, status_path

from pytest_maia import ErrorStep, ExecutionStatus, MaiaValidationError, VirtualClock
from pytest_maia.fake import FakeMaia

# -- lifecycles -------------------------------------------------------------------------


def test_per_poll_lifecycle_advances_one_step_per_poll_and_repeats_the_last() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", ["RUNNING", ExecutionStatus.CANCELLING, "CANCELLED"])
    assert [poll(fake, "p", eid) for _ in range(5)] == [
        "RUNNING",
        "CANCELLING",
        "CANCELLED",
        "CANCELLED",
        "CANCELLED",
    ]
    assert fake.polls(eid) == 5


def test_timed_lifecycle_follows_the_clock_not_the_polls() -> None:
    clock = VirtualClock(100.0)
    fake = FakeMaia(clock=clock)
    eid = fake.add_execution("p", ["RUNNING", "RUNNING", "SUCCESS"], every=60)
    assert [poll(fake, "p", eid) for _ in range(3)] == ["RUNNING"] * 3
    clock.advance(119.9)
    assert poll(fake, "p", eid) == "RUNNING"
    clock.advance(0.1)
    assert poll(fake, "p", eid) == "SUCCESS"
    clock.advance(10_000)
    assert poll(fake, "p", eid) == "SUCCESS"


def test_timed_lifecycle_counts_from_when_the_execution_was_added() -> None:
    clock = VirtualClock()
    fake = FakeMaia(clock=clock)
    clock.advance(500)
    eid = fake.add_execution("p", ["RUNNING", "FAILED"], every=0.1)
    assert poll(fake, "p", eid) == "RUNNING"
    clock.advance(0.1)
    assert poll(fake, "p", eid) == "FAILED"


def test_error_steps_answer_their_poll_with_a_problem() -> None:
    fake = FakeMaia()
    eid = fake.add_execution(
        "p",
        ["RUNNING", FakeMaia.error(503, detail="busy", retry_after=2.5), "SUCCESS"],
    )
    assert poll(fake, "p", eid) == "RUNNING"
    response = get(fake, status_path("p", eid))
    assert response.status == 503
    assert dict(response.headers)["Retry-After"] == "3"  # whole seconds, rounded up
    body = problem_of(response)
    assert body["detail"] == "busy"
    assert body["status"] == 503
    assert body["title"] == "Service Unavailable"
    assert body["instance"] == status_path("p", eid)
    assert poll(fake, "p", eid) == "SUCCESS"


def test_dropped_connection_step() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", [FakeMaia.dropped_connection(), "SUCCESS"])
    response = get(fake, status_path("p", eid))
    assert response.dropped
    assert response.status == 0
    assert poll(fake, "p", eid) == "SUCCESS"
    assert [c.status_code for c in fake.calls] == [0, 200]


def test_unrecognised_statuses_are_served_verbatim() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", ExecutionStatus.unrecognised("PAUSED"))
    assert poll(fake, "p", eid) == "PAUSED"


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [("SUCESS", "SUCCESS"), ("success", "SUCCESS"), ("Failed", "FAILED"), ("RUNING", "RUNNING")],
)
def test_a_misspelt_status_is_refused_with_a_suggestion(written: str, suggestion: str) -> None:
    fake = FakeMaia()
    with pytest.raises(MaiaValidationError, match=f"did you mean '{suggestion}'"):
        fake.add_execution("p", ["RUNNING", written])
    with pytest.raises(MaiaValidationError, match=f"did you mean '{suggestion}'"):
        fake.script_pipeline("nightly", [written])


def test_a_status_outside_the_spec_says_how_to_write_it_on_purpose() -> None:
    with pytest.raises(MaiaValidationError, match=r"ExecutionStatus.unrecognised\('PAUSED'\)"):
        FakeMaia().add_execution("p", "PAUSED")


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"statuses": []}, "at least one step"),
        ({"statuses": ["RUNNING", ""]}, "statuses[1]"),
        ({"statuses": ["RUNNING", 3]}, "statuses[1]: a step must be"),
        ({"statuses": 3}, "statuses must be"),
        ({"statuses": [ErrorStep(200)]}, "statuses[0]: code must be"),
        ({"statuses": [ErrorStep(0, detail="x")]}, "dropped connection"),
        ({"statuses": [ErrorStep(500, retry_after=-1)]}, "retry_after"),
        ({"statuses": "SUCCESS", "every": 0}, "every must be"),
        ({"statuses": "SUCCESS", "every": float("nan")}, "every must be"),
        ({"statuses": "SUCCESS", "every": True}, "every must be"),
        ({"statuses": "SUCCESS", "execution_id": "nope"}, "not a UUID"),
        ({"statuses": "SUCCESS", "project_id": ""}, "project id"),
        ({"statuses": "SUCCESS", "project_id": "a/b"}, "single path segment"),
    ],
)
def test_add_execution_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    fake = FakeMaia()
    project = kwargs.pop("project_id", "p")
    with pytest.raises(MaiaValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        fake.add_execution(project, **kwargs)  # type: ignore[arg-type]
    assert fake.calls == []
    assert "executions=0" in repr(fake)


def test_add_execution_rejects_a_duplicate_id() -> None:
    fake = FakeMaia()
    eid = fake.add_execution("p", "SUCCESS")
    for project in ("p", "q"):
        with pytest.raises(MaiaValidationError, match="already scripted"):
            fake.add_execution(project, "FAILED", execution_id=eid)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((200,), {}), ((600,), {}), (("500",), {}), ((500,), {"times": 0}), ((500,), {"times": 1.5})],
)
def test_fail_next_rejects_bad_input(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(MaiaValidationError):
        FakeMaia().fail_next(*args, **kwargs)  # type: ignore[arg-type]


def test_error_validates_its_arguments() -> None:
    assert FakeMaia.error(429, retry_after=1) == ErrorStep(429, None, 1)
    assert FakeMaia.dropped_connection() == ErrorStep(0)
    with pytest.raises(MaiaValidationError, match="code must be"):
        FakeMaia.error(302)
    with pytest.raises(MaiaValidationError, match="detail"):
        FakeMaia.error(500, detail=5)  # type: ignore[arg-type]
