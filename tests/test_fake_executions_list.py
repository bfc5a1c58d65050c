"""The fake's account-wide executions list, the execution fields and times the official API
reference gives (official-api.md), in-process and over the loopback server."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from fake_target import AUTH, Target
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_maia import MaiaValidationError, SystemClock
from pytest_maia.fake import FakeMaia, Request

UTC = dt.timezone.utc
START = dt.datetime(2026, 1, 1, tzinfo=UTC)
LIST = "/v1/pipeline-executions"


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    return FakeMaia(start=START)


def listed(target: Target, **params: object) -> list[dict[str, object]]:
    """The results of one page of the list (params may repeat: pass lists)."""
    query = urlencode(params, doseq=True)
    response = target.send("GET", f"{LIST}?{query}" if query else LIST)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def ids(items: list[dict[str, object]]) -> list[object]:
    return [item["pipelineExecutionId"] for item in items]


def violations(response: requests.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return list(response.json()["violations"])


# -- filters ----------------------------------------------------------------------------


def test_every_parameter_is_optional_and_the_list_is_account_wide(target: Target) -> None:
    fake = target.fake
    a = fake.add_execution("sales", "SUCCESS", pipeline_name="load")
    fake.clock.advance(1)  # type: ignore[attr-defined]
    b = target.execute("finance")
    assert ids(listed(target)) == [b, a]  # most recent first, across projects
    assert ids(listed(target, projectId="sales")) == [a]
    assert ids(listed(target, projectId="finance")) == [b]


def test_pipeline_name_matches_a_part_ignoring_case(target: Target) -> None:
    fake = target.fake
    nightly = fake.add_execution("p", "SUCCESS", pipeline_name="Nightly Load")
    hourly = fake.add_execution("p", "SUCCESS", pipeline_name="hourly-load")
    assert set(ids(listed(target, pipelineName="LOAD"))) == {nightly, hourly}
    assert ids(listed(target, pipelineName="nightly")) == [nightly]
    assert listed(target, pipelineName="weekly") == []


def test_environment_name_is_exact(target: Target) -> None:
    prod = target.execute(environmentName="prod")
    target.execute(environmentName="production")
    assert ids(listed(target, environmentName="prod")) == [prod]
    assert listed(target, environmentName="PROD") == []


def test_started_after_and_before_are_inclusive_on_the_instants_shown(target: Target) -> None:
    fake = target.fake
    runs = []
    for _ in range(3):
        runs.append(target.execute())
        fake.clock.advance(60.0005)  # type: ignore[attr-defined]  # sub-millisecond drift
    shown = {item["pipelineExecutionId"]: item["startedAt"] for item in listed(target)}
    middle = shown[runs[1]]
    assert ids(listed(target, startedAfter=middle)) == [runs[2], runs[1]]
    assert ids(listed(target, startedBefore=middle)) == [runs[1], runs[0]]
    assert ids(listed(target, startedAfter=middle, startedBefore=middle)) == [runs[1]]
    # An offset other than Z is the same instant.
    assert ids(listed(target, startedAfter="2026-01-01T01:01:00+01:00")) == [runs[2], runs[1]]


def test_status_takes_one_or_more_repeated_or_comma_separated(target: Target) -> None:
    fake = target.fake
    ok = fake.add_execution("p", "SUCCESS")
    failed = fake.add_execution("p", "FAILED")
    running = fake.add_execution("p", "RUNNING")
    assert ids(listed(target, status="FAILED")) == [failed]
    assert set(ids(listed(target, status="FAILED,SUCCESS"))) == {ok, failed}
    assert set(ids(listed(target, status=["RUNNING", "SUCCESS"]))) == {ok, running}
    assert ids(listed(target, status=["FAILED, CANCELLED"])) == [failed]


def test_status_follows_the_clock_not_the_last_poll(target: Target) -> None:
    fake = target.fake
    run = fake.add_execution("p", ["RUNNING", "SUCCESS"], every=60)
    assert ids(listed(target, status="RUNNING")) == [run]
    fake.clock.advance(60)  # type: ignore[attr-defined]
    assert ids(listed(target, status="SUCCESS")) == [run]


def test_schedule_id_finds_the_runs_a_schedule_started(target: Target) -> None:
    fake = target.fake
    scheduled = fake.add_execution("p", "SUCCESS", schedule_id="sched-1")
    fake.add_execution("p", "SUCCESS", schedule_id="sched-2")
    target.execute()
    (item,) = listed(target, scheduleId="sched-1")
    assert (item["pipelineExecutionId"], item["trigger"], item["scheduleId"]) == (
        scheduled,
        "SCHEDULE",
        "sched-1",
    )


def test_time_frame_is_accepted_and_ignored(target: Target) -> None:
    run = target.execute()
    assert ids(listed(target, timeFrame="LAST_24_HOURS")) == [run]
    assert ids(listed(target, timeFrame="anything at all")) == [run]


@pytest.mark.parametrize(
    ("query", "violation"),
    [
        ("status=PAUSED", "status: must be one or more of"),
        ("status=success", "status: must be one or more of"),
        ("status=FORBIDDEN", "status: must be one or more of"),
        ("status=,", "status: must be one or more of"),
        ("startedAfter=yesterday", "startedAfter: must be a date-time"),
        ("startedBefore=2026-01-01", "startedBefore: must be a date-time"),
        ("startedAfter=2026-01-01T00:00:00", "startedAfter: must be a date-time"),
        ("limit=0", "limit: must be an integer >= 1"),
        ("limit=-5", "limit: must be an integer >= 1"),
        ("limit=ten", "limit: must be an integer >= 1"),
        ("paginationToken=zz", "paginationToken: not a token this API gave"),
    ],
)
def test_a_wrong_parameter_is_a_400_naming_it(target: Target, query: str, violation: str) -> None:
    found = violations(target.send("GET", f"{LIST}?{query}"))
    assert any(v.startswith(violation) for v in found), found


def test_every_wrong_parameter_is_named_at_once(target: Target) -> None:
    found = violations(target.send("GET", f"{LIST}?status=NOPE&startedAfter=x&limit=0"))
    assert [v.split(":")[0] for v in found] == ["startedAfter", "status", "limit"]


def test_an_unknown_project_is_a_404(target: Target) -> None:
    target.fake.add_project("only")
    response = target.send("GET", f"{LIST}?projectId=other")
    assert response.status_code == 404 and "other" in response.json()["detail"]


# -- pages ------------------------------------------------------------------------------


def test_limit_defaults_to_25_and_is_served_as_100_above_it(target: Target) -> None:
    fake = target.fake
    for index in range(130):
        fake.add_execution("p", "SUCCESS", pipeline_name=f"n{index}")
    first = target.send("GET", LIST).json()
    assert len(first["results"]) == 25 and first["more"]
    big = target.send("GET", f"{LIST}?limit=500").json()
    assert len(big["results"]) == 100
    rest = target.send("GET", f"{LIST}?limit=500&paginationToken={big['more']}").json()
    assert len(rest["results"]) == 30 and "more" not in rest
    assert len(set(ids(big["results"] + rest["results"]))) == 130


def test_more_carries_on_with_the_same_filters(target: Target) -> None:
    fake = target.fake
    wanted = [fake.add_execution("p", "FAILED") for _ in range(3)]
    for _ in range(3):
        fake.add_execution("p", "SUCCESS")
    first = target.send("GET", f"{LIST}?status=FAILED&limit=2").json()
    rest = target.send("GET", f"{LIST}?status=FAILED&limit=2&paginationToken={first['more']}")
    assert set(ids(first["results"] + rest.json()["results"])) == set(wanted)


# -- details fields -----------------------------------------------------------------------


def test_an_api_run_says_api_and_names_no_user(target: Target) -> None:
    run = target.execute()
    body = target.details(run)
    assert (body["trigger"], body["pipelineType"]) == ("API", "ORCHESTRATION")
    assert "user" not in body and "scheduleId" not in body
    assert listed(target)[0]["trigger"] == "API"


def test_a_scripted_run_can_say_who_started_it(target: Target) -> None:
    fake = target.fake
    run = fake.add_execution(
        "p", "SUCCESS", trigger="DESIGNER", user="jo@example.com", environment="dev"
    )
    body = target.details(run, project="p")
    assert (body["trigger"], body["user"], body["environmentName"]) == (
        "DESIGNER",
        "jo@example.com",
        "dev",
    )
    assert target.details(fake.add_execution("p", "SUCCESS"), project="p")["trigger"] == "UNKNOWN"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"trigger": "CRON"}, "trigger must be one of"),
        ({"user": ""}, "user must be a non-empty string"),
        ({"schedule_id": 5}, "schedule_id must be a non-empty string"),
        ({"environment": " "}, "environment must be a non-empty string"),
    ],
)
def test_scripted_fields_are_checked(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(MaiaValidationError, match=match):
        FakeMaia().add_execution("p", "SUCCESS", **kwargs)  # type: ignore[arg-type]


def test_step_ids_are_uuids_unique_across_the_account_and_stable(target: Target) -> None:
    steps = [{"name": "a", "status": "SUCCESS"}, {"name": "b", "status": "SUCCESS"}]
    runs = [target.fake.add_execution("proj", "SUCCESS", steps=steps) for _ in range(2)]
    rel = "/v1/projects/proj/pipeline-executions/{}/steps"
    seen = [[s["id"] for s in target.send("GET", rel.format(r)).json()["results"]] for r in runs]
    assert all(uuid.UUID(i) for i in seen[0] + seen[1])
    assert len(set(seen[0] + seen[1])) == 4
    again = [s["id"] for s in target.send("GET", rel.format(runs[0])).json()["results"]]
    assert again == seen[0]


# -- nulls in the execute body ----------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["executionTag", "agentId", "versionName", "scalarVariables", "gridVariables"],
)
def test_a_null_where_the_reference_says_object_or_string_is_a_400(
    target: Target, field: str
) -> None:
    body = {"pipelineName": "load", "environmentName": "dev", field: None}
    response = target.send("POST", "/v1/projects/proj/pipeline-executions", body)
    assert f"{field}: must not be null" in violations(response)
    assert target.fake.executions() == []


# -- real time ----------------------------------------------------------------------------


def test_under_a_real_clock_runs_are_dated_by_the_wall_clock() -> None:
    fake = FakeMaia(clock=SystemClock())
    before = dt.datetime.now(UTC)
    with fake:
        client = fake.client()
        run = client.execute_pipeline("p", "load", "dev")
        details = client.get_execution("p", run)
        after = dt.datetime.now(UTC)
        assert details.started_at is not None
        assert before - dt.timedelta(seconds=1) <= details.started_at <= after
        # "The last 24 hours" finds what just ran.
        recent = client.list_executions(started_after=after - dt.timedelta(hours=24))
    assert [e.pipeline_execution_id for e in recent] == [run]


def test_a_real_clock_takes_no_start() -> None:
    with pytest.raises(MaiaValidationError, match="real clock"):
        FakeMaia(clock=SystemClock(), start=START)


def test_a_virtual_clock_starts_at_the_wall_clock_by_default() -> None:
    before = dt.datetime.now(UTC)
    with FakeMaia() as fake:
        fake.clock.advance(3600)  # type: ignore[attr-defined]
        details = fake.client().get_execution("p", fake.add_execution("p", "SUCCESS"))
    assert details.started_at is not None
    hour = dt.timedelta(hours=1)
    assert before + hour - dt.timedelta(seconds=1) <= details.started_at
    assert details.started_at <= dt.datetime.now(UTC) + hour


@pytest.mark.parametrize(
    "start",
    [
        dt.datetime(2025, 6, 1, 14, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "2025-06-01T12:00:00Z",
    ],
)
def test_a_virtual_clock_starts_where_told(start: object) -> None:
    with FakeMaia(start=start) as fake:  # type: ignore[arg-type]
        fake.clock.advance(90)  # type: ignore[attr-defined]
        details = fake.client().get_execution("p", fake.add_execution("p", "SUCCESS"))
    assert details.started_at == dt.datetime(2025, 6, 1, 12, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("start", [dt.datetime(2026, 1, 1), "2026-01-01", "soon", 0])
def test_a_start_that_is_no_instant_is_refused(start: object) -> None:
    with pytest.raises(MaiaValidationError, match="start must be"):
        FakeMaia(start=start)  # type: ignore[arg-type]


def test_the_control_api_and_scripts_set_the_start() -> None:
    fake = FakeMaia()
    with fake.serve() as server:
        control = server.control_url

        def post(path: str, body: object) -> requests.Response:
            return requests.post(f"{control}/{path}", json=body, timeout=10)

        answer = post("clock/start", {"at": "2030-05-01T00:00:00Z"}).json()
        assert answer["at"] == "2030-05-01T00:00:00.000Z"
        assert post("clock/advance", {"seconds": 30}).json()["at"] == "2030-05-01T00:00:30.000Z"
        assert requests.get(f"{control}/clock", timeout=10).json()["at"].startswith("2030-05-01")
        post(
            "script",
            {
                "start": "2031-01-01T00:00:00Z",
                "executions": [
                    {
                        "project_id": "p",
                        "statuses": ["SUCCESS"],
                        "trigger": "DESIGNER",
                        "user": "jo",
                    }
                ],
            },
        )
        (item,) = requests.get(f"{server.url}{LIST}", headers=AUTH, timeout=10).json()["results"]
        assert (item["startedAt"], item["user"]) == ("2031-01-01T00:00:00.000Z", "jo")
        refused = post("clock/start", {"at": "tomorrow"})
        assert refused.status_code == 400 and "at must be" in refused.json()["detail"]


# -- the filters against a model ----------------------------------------------------------

NAMES = ["Nightly Load", "nightly-LOAD", "hourly", "Ünïcode ß"]
RUNS = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2"]),
        st.sampled_from(NAMES),
        st.sampled_from(["prod", "dev"]),
        st.sampled_from(["SUCCESS", "FAILED", "RUNNING", "CANCELLED"]),
        st.sampled_from([None, "s-1", "s-2"]),
        st.integers(0, 5),  # seconds after the previous run
    ),
    max_size=8,
)
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "projectId": st.sampled_from(["p1", "p2"]),
        "pipelineName": st.sampled_from(["load", "NIGHTLY", "ß", "x"]),
        "environmentName": st.sampled_from(["prod", "dev"]),
        "startedAfter": st.integers(0, 30),  # or, below, a run's own start
        "startedBefore": st.integers(0, 30),
        "status": st.lists(st.sampled_from(["SUCCESS", "FAILED", "RUNNING"]), min_size=1),
        "scheduleId": st.sampled_from(["s-1", "s-2"]),
        "limit": st.integers(1, 5),
    },
)


@settings(max_examples=300, deadline=None)
@given(runs=RUNS, wanted=FILTERS, data=st.data())
def test_the_list_is_the_model_of_its_filters(
    runs: list[tuple[str, str, str, str, str | None, int]],
    wanted: dict[str, Any],
    data: st.DataObject,
) -> None:
    fake = FakeMaia(start=START)
    model = []
    for project, name, env, status, schedule, gap in runs:
        fake.clock.advance(gap)  # type: ignore[attr-defined]
        run = fake.add_execution(
            project, status, pipeline_name=name, environment=env, schedule_id=schedule
        )
        model.append((fake.clock.now(), run, project, name, env, status, schedule))
    for key in ("startedAfter", "startedBefore"):
        if key in wanted and model and data.draw(st.booleans(), label=f"{key} on a start"):
            wanted[key] = data.draw(st.sampled_from([int(m[0]) for m in model]), label=key)
    second = dt.timedelta(seconds=1)
    expected = [
        run
        for at, run, project, name, env, status, schedule in reversed(model)
        if wanted.get("projectId", project) == project
        and wanted.get("pipelineName", "").casefold() in name.casefold()
        and wanted.get("environmentName", env) == env
        and wanted.get("startedAfter", 0) <= at
        and at <= wanted.get("startedBefore", 10**6)
        and status in wanted.get("status", [status])
        and wanted.get("scheduleId", schedule) == schedule
    ]
    query = {
        **wanted,
        **{
            key: (START + wanted[key] * second).isoformat()
            for key in ("startedAfter", "startedBefore")
            if key in wanted
        },
    }
    seen: list[object] = []
    token = None
    while True:
        page = {**query, **({"paginationToken": token} if token else {})}
        rel = f"/dpc{LIST}"
        answer = fake.handle(Request("GET", rel, AUTH, b"", urlencode(page, doseq=True)))
        assert answer.status == 200, answer.body
        body = json.loads(answer.body)
        assert len(body["results"]) <= wanted.get("limit", 25)
        seen += ids(body["results"])
        token = body.get("more")
        if token is None:
            break
    assert seen == expected


def test_a_schedule_s_runs_skipped_ones_included_are_found_by_its_id(target: Target) -> None:
    fake = target.fake
    fake.script_pipeline("nightly", ["RUNNING"], every=3600)
    schedule = fake.add_schedule("p", "nightly", "prod", allow_concurrent=False)
    first, skipped = fake.run_schedule(schedule), fake.run_schedule(schedule)
    found = listed(target, scheduleId=schedule)
    assert ids(found) == [skipped, first]
    assert {(item["trigger"], item["scheduleId"]) for item in found} == {("SCHEDULE", schedule)}
    assert found[0]["status"] == "SKIPPED"
