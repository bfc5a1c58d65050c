"""Audit events (official-api.md, "Audit events") and test executions ("Test
executions") over both adapters: every state change the fake makes is an event with the
reference's fields; test executions are accepted and recorded, and nothing reads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from fake_target import AUTH, Target

from pytest_maia.fake import FakeMaia

# Clock second 0 of these tests' fakes: their dates are fixed.
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

WINDOW = {"from": "2025-12-31T00:00:00Z", "to": "2026-01-02T00:00:00Z"}
FIELDS = {
    "eventId",
    "eventName",
    "eventType",
    "eventDescription",
    "eventTimestamp",
    "eventSource",
    "eventProjectId",
    "eventSubjectId",
    "eventSubjectName",
    "eventSubjectType",
    "actorId",
    "actorEmail",
    "additionalInfo",
}


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    fake = FakeMaia(start=START)
    fake.add_project("p")
    fake.add_environment("p", "dev")
    fake.add_environment("p", "prod")
    fake.script_pipeline("load", ["RUNNING"])
    return fake


def events(target: Target, **params: Any) -> Any:
    return target.send("GET", "/v1/events", params={**WINDOW, **params})


def names(target: Target) -> list[str]:
    return [e["eventName"] for e in events(target, size=100).json()["results"]]


def test_every_state_change_is_an_audit_event(target: Target) -> None:
    client = target.client()
    client.publish_artifact("p", "dev", "v1", {"load.orch.yaml": "x"})
    client.promote_artifact("p", "v1", source="dev", target="prod")
    run = client.execute_pipeline("p", "load", "prod")
    client.cancel_execution("p", run, force=True)
    body = {
        "pipeline": {"pipelineName": "load", "environmentName": "prod"},
        "schedule": {"name": "n", "cronExpression": "0 0 2 ? * * *"},
    }
    schedule_id = target.send("POST", "/v1/projects/p/schedules", body).json()["scheduleId"]
    change = {"name": "n2", "cronExpression": "0 0 3 ? * * *"}
    target.send("PATCH", f"/v1/projects/p/schedules/{schedule_id}", change)
    target.send("DELETE", f"/v1/projects/p/schedules/{schedule_id}")
    tests = {"environmentName": "dev", "scope": "PROJECT"}
    test_id = target.send("POST", "/v1/projects/p/test-executions", tests).json()["testExecutionId"]
    cancel = {"status": "CANCELLED", "forceUpdate": False}
    target.send("PATCH", f"/v1/projects/p/test-executions/{test_id}", cancel)
    assert names(target) == [
        "ARTIFACT_PUBLISHED",
        "ARTIFACT_PROMOTED",
        "PIPELINE_EXECUTION_STARTED",
        "PIPELINE_EXECUTION_CANCELLED",
        "SCHEDULE_CREATED",
        "SCHEDULE_UPDATED",
        "SCHEDULE_DELETED",
        "TEST_EXECUTION_STARTED",
        "TEST_EXECUTION_CANCELLED",
    ]
    page = events(target).json()
    assert set(page) == {"page", "results", "size", "total"}
    started = page["results"][2]
    assert set(started) == FIELDS
    assert started["eventSubjectId"] == run
    assert started["eventSubjectName"] == "load"
    assert started["eventProjectId"] == "p"
    assert started["eventTimestamp"] == "2026-01-01T00:00:00.000Z"
    assert started["additionalInfo"] == {
        "environmentName": "prod",
        "trigger": "API",
        "versionName": "v1",
    }
    assert len({e["eventId"] for e in page["results"]}) == len(page["results"])


def test_a_scheduled_run_is_an_event_from_the_scheduler(target: Target) -> None:
    schedule_id = target.fake.add_schedule("p", "load", "prod")
    run = target.fake.run_schedule(schedule_id)
    started = events(target).json()["results"][-1]
    assert started["eventName"] == "PIPELINE_EXECUTION_STARTED"
    assert started["eventSource"] == "SCHEDULER"
    assert started["additionalInfo"]["scheduleId"] == schedule_id
    assert started["eventSubjectId"] == run


def test_from_and_to_are_required_date_times_and_pages_hold_at_most_100(
    target: Target,
) -> None:
    answer = target.send("GET", "/v1/events")
    assert answer.status_code == 400
    assert answer.json()["violations"] == ["from: must not be empty", "to: must not be empty"]
    bad = target.send("GET", "/v1/events", params={"from": "yesterday", "to": WINDOW["to"]})
    assert bad.json()["violations"] == ["from: must be a date-time"]
    assert events(target, size=101).status_code == 400
    assert events(target, size=0).status_code == 400


def test_the_window_is_inclusive_and_pages_number_from_zero(target: Target) -> None:
    fake = target.fake
    for second in range(5):
        fake.add_event("USER_LOGGED_IN", at=float(second), actor_email=f"u{second}@example.com")
    window = {"from": "2026-01-01T00:00:01Z", "to": "2026-01-01T00:00:03Z"}
    page = events(target, **window, size=2).json()
    assert page["total"] == 3
    assert [e["actorEmail"] for e in page["results"]] == ["u1@example.com", "u2@example.com"]
    second = events(target, **window, size=2, page=1).json()
    assert [e["actorEmail"] for e in second["results"]] == ["u3@example.com"]


def test_scripted_events_have_the_fields_given_and_age_out_after_90_days(
    target: Target,
) -> None:
    fake = target.fake
    event_id = fake.add_event(
        "USER_ROLE_CHANGED",
        type="USER",
        description="Role changed to admin",
        project_id="p",
        subject_id="u-1",
        subject_name="Ada",
        subject_type="USER",
        actor_id="admin-1",
        actor_email="admin@example.com",
        source="HUB",
        additional_info={"role": "admin"},
    )
    (event,) = events(target).json()["results"]
    assert event == {
        "eventId": event_id,
        "eventName": "USER_ROLE_CHANGED",
        "eventType": "USER",
        "eventDescription": "Role changed to admin",
        "eventTimestamp": "2026-01-01T00:00:00.000Z",
        "eventSource": "HUB",
        "eventProjectId": "p",
        "eventSubjectId": "u-1",
        "eventSubjectName": "Ada",
        "eventSubjectType": "USER",
        "actorId": "admin-1",
        "actorEmail": "admin@example.com",
        "additionalInfo": {"role": "admin"},
    }
    fake.clock.advance(91 * 24 * 3600)
    assert events(target, to="2026-06-01T00:00:00Z").json()["total"] == 0


def test_add_event_names_a_wrong_field() -> None:
    fake = FakeMaia(start=START)
    with pytest.raises(Exception, match="unknown event field"):
        fake.add_event("X", colour="red")
    with pytest.raises(Exception, match="name must be a non-empty string"):
        fake.add_event("")


def test_test_executions_are_accepted_and_recorded(target: Target) -> None:
    body = {
        "environmentName": "dev",
        "scope": "PIPELINE",
        "pipelines": ["load", "clean"],
        "versionName": "v1",
        "executionTag": "ci-42",
    }
    answer = target.send("POST", "/v1/projects/p/test-executions", body)
    assert answer.status_code == 201, answer.text
    test_id = answer.json()["testExecutionId"]
    (recorded,) = target.fake.test_executions("p")
    assert recorded.test_execution_id == test_id
    assert recorded.pipelines == ("load", "clean")
    assert (recorded.scope, recorded.version_name, recorded.execution_tag) == (
        "PIPELINE",
        "v1",
        "ci-42",
    )
    cancel = {"status": "CANCELLED", "forceUpdate": True}
    answer = target.send("PATCH", f"/v1/projects/p/test-executions/{test_id}", cancel)
    assert answer.status_code == 200
    assert answer.json() == {"testExecutionId": test_id}
    assert target.fake.test_executions()[0].cancel_force is True
    # The reference publishes no call that reads a test execution: none is served.
    assert target.send("GET", f"/v1/projects/p/test-executions/{test_id}").status_code == 405


@pytest.mark.parametrize(
    ("body", "violation"),
    [
        ({"scope": "PROJECT"}, "environmentName: must not be null"),
        ({"environmentName": "dev", "scope": "ALL"}, "scope: must be one of TEST, PIPELINE"),
        ({"environmentName": "dev", "scope": "PIPELINE"}, "pipelines: must not be empty"),
        ({"environmentName": "dev", "scope": "TEST"}, "tests: must not be empty"),
        (
            {"environmentName": "dev", "scope": "TEST", "tests": ["t"] * 501},
            "tests: size must be at most 500",
        ),
        ({"environmentName": "dev", "scope": "TEST", "tests": [1]}, "tests: must be an array"),
    ],
)
def test_test_executions_refuse_what_the_reference_refuses(
    target: Target, body: dict[str, Any], violation: str
) -> None:
    answer = target.send("POST", "/v1/projects/p/test-executions", body)
    assert answer.status_code == 400
    assert any(v.startswith(violation) for v in answer.json()["violations"]), answer.json()
    assert target.fake.test_executions() == []


def test_a_test_execution_cancel_needs_both_fields_and_a_known_id(target: Target) -> None:
    body = {"environmentName": "dev", "scope": "PROJECT"}
    test_id = target.send("POST", "/v1/projects/p/test-executions", body).json()["testExecutionId"]
    path = f"/v1/projects/p/test-executions/{test_id}"
    answer = target.send("PATCH", path, {"status": "CANCELLED"})
    assert answer.status_code == 400
    assert answer.json()["violations"][0].startswith("forceUpdate")
    assert target.send("PATCH", path, {"forceUpdate": False}).status_code == 400
    other = "/v1/projects/p/test-executions/00000000-0000-4000-8000-000000000000"
    assert (
        target.send("PATCH", other, {"status": "CANCELLED", "forceUpdate": False}).status_code
        == 404
    )


def test_control_api_scripts_and_reads_events() -> None:
    fake = FakeMaia(start=START)
    with fake.serve() as server:
        control = server.control_url + "/"
        answer = requests.post(control + "events", json={"name": "LOGIN", "at": 5}, timeout=10)
        assert answer.status_code == 200, answer.text
        logged = requests.get(control + "events", timeout=10).json()
        assert [(e["eventId"], e["eventName"]) for e in logged] == [
            (answer.json()["eventId"], "LOGIN")
        ]
        bad = requests.post(control + "events", json={"name": "X", "colour": "red"}, timeout=10)
        assert bad.status_code == 400
        assert "colour" in bad.json()["detail"]
        requests.post(
            server.url + "/v1/projects/p/test-executions",
            json={"environmentName": "dev", "scope": "PROJECT"},
            headers=AUTH,
            timeout=10,
        )
        tests = requests.get(control + "test-executions", timeout=10).json()
        assert [t["scope"] for t in tests] == ["PROJECT"]


def test_reset_forgets_artifacts_schedules_events_and_test_executions() -> None:
    fake = FakeMaia(start=START)
    fake.publish_artifact("p", "dev", "v1", {"load.orch.yaml": "x"})
    fake.add_schedule("p", "load", "dev")
    with fake:
        fake.client().execute_pipeline("p", "load", "dev")
        requests.post(
            fake.base_url + "/v1/projects/p/test-executions",
            json={"environmentName": "dev", "scope": "PROJECT"},
            headers=AUTH,
            timeout=10,
        )
    assert fake.events() and fake.test_executions()
    fake.reset()
    assert fake.events() == []
    assert fake.test_executions() == []
    fake.publish_artifact("p", "dev", "v1", {"load.orch.yaml": "x"})  # v1 is free again
    with fake:
        assert fake.client().execute_pipeline("p", "load", "dev")
    assert [r.version_name for r in fake.executions()] == ["v1"]
