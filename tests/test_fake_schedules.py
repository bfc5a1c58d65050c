"""Schedules (official-api.md, "Schedules"): CRUD with the reference's fields and
validation over both adapters, and the runs a schedule starts (trigger SCHEDULE, its
scheduleId), by run_schedule or by a virtual clock reaching nextRunAt."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from fake_target import Target
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_maia import ExecutionStatus, MaiaValidationError
from pytest_maia.fake import FakeMaia, _cron

# Clock second 0 of these tests' fakes: their dates are fixed.
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

PATH = "/v1/projects/p/schedules"
HOUR = 3600.0


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    fake = FakeMaia(start=START)
    fake.add_project("p")
    fake.add_environment("p", "prod")
    fake.publish_pipeline("p", "prod", "load")
    return fake


def create(target: Target, **schedule: Any) -> Any:
    body = {
        "pipeline": {"pipelineName": "load", "environmentName": "prod"},
        "schedule": {"name": "nightly", "cronExpression": "0 0 2 ? * * *", **schedule},
    }
    return target.send("POST", PATH, body)


def test_create_get_list_update_delete(target: Target) -> None:
    answer = create(target, cronTimezone="Europe/Paris", scheduleEnabled=True)
    assert answer.status_code == 201, answer.text
    schedule_id = answer.json()["scheduleId"]
    got = target.send("GET", f"{PATH}/{schedule_id}").json()
    assert got["scheduleId"] == schedule_id
    assert got["name"] == "nightly"
    assert got["pipelineName"] == "load"
    assert got["environmentName"] == "prod"
    assert got["cronExpression"] == "0 0 2 ? * * *"
    assert got["cronTimezone"] == "Europe/Paris"
    assert got["scheduleEnabled"] is True
    assert got["allowConcurrentExecutions"] is True
    # The clock starts at 2026-01-01T00:00Z: 02:00 in Paris (CET) is 01:00Z.
    assert got["nextRunAt"] == "2026-01-01T01:00:00.000Z"
    listed = target.send("GET", PATH).json()
    assert listed["total"] == 1
    assert [s["scheduleId"] for s in listed["results"]] == [schedule_id]
    changed = target.send(
        "PATCH",
        f"{PATH}/{schedule_id}",
        {"name": "twice daily", "cronExpression": "0 0 6,18 ? * MON-FRI *", "cronTimezone": "UTC"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "twice daily"
    assert changed.json()["nextRunAt"] == "2026-01-01T06:00:00.000Z"  # a Thursday
    assert target.send("DELETE", f"{PATH}/{schedule_id}").status_code == 204
    assert target.send("GET", f"{PATH}/{schedule_id}").status_code == 404
    assert target.send("GET", PATH).json()["total"] == 0


@pytest.mark.parametrize(
    ("schedule", "violation"),
    [
        ({"cronExpression": "0 0 2 * * *"}, "cronExpression: must have seven fields"),
        ({"cronExpression": "0 0 2 * * * *"}, "exactly one of day-of-month and day-of-week"),
        ({"cronExpression": "0 0 25 ? * * *"}, "hours: 25 is not from 0 to 23"),
        ({"cronTimezone": "Mars/Olympus"}, "cronTimezone: 'Mars/Olympus' is not a known"),
        ({"scheduleEnabled": "yes"}, "scheduleEnabled: must be a boolean"),
        ({"name": None}, "name: must be a non-empty string"),
        ({"effectiveFrom": "tomorrow"}, "effectiveFrom: must be a date-time"),
    ],
)
def test_create_refuses_what_quartz_and_the_reference_refuse(
    target: Target, schedule: dict[str, Any], violation: str
) -> None:
    answer = create(target, **schedule)
    assert answer.status_code == 400
    assert any(violation in v for v in answer.json()["violations"]), answer.json()
    assert target.send("GET", PATH).json()["total"] == 0


@pytest.mark.parametrize(
    ("variables", "violation"),
    [
        ({"scalarVariables": {"a": 1}}, "scalarVariables: must be an object of string values"),
        # A schedule's null variables are a wrong shape (the execute request's: not null).
        ({"scalarVariables": None}, "scalarVariables: must be an object of string values"),
        (
            {"gridVariables": {"g": [[1]]}},
            "gridVariables: must be an object of arrays of arrays of strings",
        ),
    ],
)
def test_create_refuses_variables_of_the_wrong_shape(
    target: Target, variables: dict[str, Any], violation: str
) -> None:
    body = {
        "pipeline": {"pipelineName": "load", "environmentName": "prod", **variables},
        "schedule": {"name": "nightly", "cronExpression": "0 0 2 ? * * *"},
    }
    answer = target.send("POST", PATH, body)
    assert answer.status_code == 400
    assert violation in answer.json()["violations"], answer.json()
    assert target.send("GET", PATH).json()["total"] == 0


def test_update_needs_name_and_cron_expression(target: Target) -> None:
    schedule_id = create(target).json()["scheduleId"]
    answer = target.send("PATCH", f"{PATH}/{schedule_id}", {"scheduleEnabled": False})
    assert answer.status_code == 400
    assert {v.split(":")[0] for v in answer.json()["violations"]} == {"name", "cronExpression"}
    missing = target.send("PATCH", f"{PATH}/nope", {"name": "n", "cronExpression": "0 0 2 ? * * *"})
    assert missing.status_code == 404


def test_a_scheduled_run_says_so_in_its_details(target: Target) -> None:
    schedule_id = create(target).json()["scheduleId"]
    execution_id = target.fake.run_schedule(schedule_id)
    details = target.details(execution_id, project="p")
    assert details["trigger"] == "SCHEDULE"
    assert details["scheduleId"] == schedule_id
    record = target.fake.executions()[-1]
    assert (record.trigger, record.schedule_id) == ("SCHEDULE", schedule_id)
    got = target.send("GET", f"{PATH}/{schedule_id}").json()
    assert got["lastRunAt"] == "2026-01-01T00:00:00.000Z"
    api_run = target.execute(project="p", pipelineName="load", environmentName="prod")
    assert target.details(api_run, project="p")["trigger"] == "API"
    assert "scheduleId" not in target.details(api_run, project="p")


def test_no_concurrent_runs_skips_a_run_while_the_previous_one_runs() -> None:
    fake = FakeMaia(start=START)
    fake.script_pipeline("load", ["RUNNING", "RUNNING", "SUCCESS"])
    schedule_id = fake.add_schedule("p", "load", "prod", allow_concurrent=False)
    with fake:
        client = fake.client()
        first = fake.run_schedule(schedule_id)
        skipped = fake.run_schedule(schedule_id)
        assert client.get_status("p", first) is ExecutionStatus.RUNNING
        assert client.get_status("p", skipped) is ExecutionStatus.SKIPPED
        assert "still running" in (client.get_execution("p", skipped).message or "")
        client.wait_for("p", first, timeout=60)
        again = fake.run_schedule(schedule_id)
        assert client.get_status("p", again) is ExecutionStatus.RUNNING
    assert [r.status.value for r in fake.executions()] == ["SUCCESS", "SKIPPED", "RUNNING"]


def test_concurrent_runs_are_allowed_by_default() -> None:
    fake = FakeMaia(start=START)
    fake.script_pipeline("load", ["RUNNING"])
    schedule_id = fake.add_schedule("p", "load", "prod")
    fake.run_schedule(schedule_id)
    fake.run_schedule(schedule_id)
    assert [r.status.value for r in fake.executions()] == ["RUNNING", "RUNNING"]


def test_a_virtual_clock_reaching_next_run_at_starts_the_run(target: Target) -> None:
    fake = target.fake
    schedule_id = fake.add_schedule("p", "load", "prod", "0 0 * ? * * *")  # hourly
    target.send("GET", PATH)
    assert fake.executions() == []
    fake.clock.advance(HOUR - 1)
    target.send("GET", PATH)
    assert fake.executions() == []
    fake.clock.advance(1)
    target.send("GET", PATH)
    assert [(r.started_at, r.schedule_id) for r in fake.executions()] == [(HOUR, schedule_id)]
    fake.clock.advance(5 * HOUR + 30)  # five firings missed: Quartz fires once, now
    got = target.send("GET", f"{PATH}/{schedule_id}").json()
    assert [r.started_at for r in fake.executions()] == [HOUR, 6 * HOUR + 30]
    assert got["nextRunAt"] == "2026-01-01T07:00:00.000Z"


def test_a_disabled_schedule_does_not_run() -> None:
    fake = FakeMaia(start=START)
    schedule_id = fake.add_schedule("p", "load", "prod", "0 * * ? * * *", enabled=False)
    with fake:
        fake.clock.advance(600)
        fake.client().list_projects()
    assert fake.executions() == []
    with pytest.raises(MaiaValidationError, match="disabled"):
        fake.run_schedule(schedule_id)


def test_a_pinned_version_runs_that_version() -> None:
    fake = FakeMaia(start=START)
    for version in ("v1", "v2"):
        fake.publish_artifact("p", "prod", version, {"load.orch.yaml": version})
    pinned = fake.add_schedule("p", "load", "prod", version="v1")
    latest = fake.add_schedule("p", "load", "prod")
    fake.run_schedule(pinned)
    fake.run_schedule(latest)
    assert [r.version_name for r in fake.executions()] == ["v1", "v2"]


def test_add_schedule_names_the_mistake() -> None:
    fake = FakeMaia(start=START)
    with pytest.raises(MaiaValidationError, match="seven fields"):
        fake.add_schedule("p", "load", "prod", "0 2 * * *")
    with pytest.raises(MaiaValidationError, match="Nowhere/Land"):
        fake.add_schedule("p", "load", "prod", timezone="Nowhere/Land")
    fake.add_project("q")
    with pytest.raises(MaiaValidationError, match="add_project"):
        fake.add_schedule("p", "load", "prod")
    with pytest.raises(MaiaValidationError, match="not found"):
        fake.run_schedule("no-such-schedule")


def test_control_api_adds_and_runs_a_schedule() -> None:
    fake = FakeMaia(start=START)
    with fake.serve() as server:
        control = server.control_url + "/"
        answer = requests.post(
            control + "schedules",
            json={
                "project_id": "p",
                "pipeline": "load",
                "environment": "prod",
                "cron": "0 0 3 ? * * *",
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        schedule_id = answer.json()["scheduleId"]
        run = requests.post(
            control + "schedules/run", json={"schedule_id": schedule_id}, timeout=10
        )
        assert run.status_code == 200, run.text
        listed = requests.get(control + "executions", timeout=10).json()
        assert [(e["trigger"], e["scheduleId"]) for e in listed] == [("SCHEDULE", schedule_id)]
        assert listed[0]["pipelineExecutionId"] == run.json()["pipelineExecutionId"]
        bad = requests.post(control + "schedules", json={"project_id": "p"}, timeout=10)
        assert bad.status_code == 400
        assert "'pipeline' must be a string" in bad.json()["detail"]


@settings(max_examples=25)
@given(
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=3),
    hours=st.sets(st.integers(0, 23), min_size=1, max_size=3),
    days=st.sets(st.integers(1, 7), min_size=1, max_size=3),
    after=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
    zone_name=st.sampled_from(["UTC", "Asia/Kolkata"]),
)
def test_the_next_firing_is_the_first_matching_minute_after(
    minutes: set[int], hours: set[int], days: set[int], after: dt.datetime, zone_name: str
) -> None:
    text = (
        f"0 {','.join(map(str, sorted(minutes)))} {','.join(map(str, sorted(hours)))} "
        f"? * {','.join(map(str, sorted(days)))} *"
    )
    zone = _cron.zone(zone_name)
    start = after.replace(tzinfo=dt.timezone.utc)
    found = _cron.parse(text).next_after(start, zone)
    # Brute force: every whole minute after ``start`` for eight days.
    minute = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    for _ in range(8 * 24 * 60):
        local = minute.astimezone(zone)
        quartz_day = local.isoweekday() % 7 + 1  # 1 = Sunday
        if local.minute in minutes and local.hour in hours and quartz_day in days:
            break
        minute += dt.timedelta(minutes=1)
    assert found == minute
