"""Artifacts and versions (official-api.md, "Artifacts"): publish a version, run it,
promote it, over both adapters; the client's calls; the CI setting --maia-version."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fake_target import AUTH, Target

from pytest_maia import ConflictError, MaiaValidationError, NotFoundError
from pytest_maia.fake import FakeMaia

PIPELINES = {"load.orch.yaml": "type: orchestration\n", "sub/clean.tran.yaml": "type: t\n"}


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    fake = FakeMaia()
    fake.add_project("p")
    for env in ("dev", "prod"):
        fake.add_environment("p", env)
    return fake


def publish(
    target: Target, version: str, files: dict[str, Any], env: str = "dev", **headers: str
) -> Any:
    parts = {path: (path.rpartition("/")[2], content) for path, content in files.items()}
    return requests.post(
        target.base + "/v1/projects/p/artifacts",
        headers={**AUTH, "versionName": version, "environmentName": env, **headers},
        files=parts,
        timeout=10,
    )


def published_names(target: Target, env: str) -> list[str]:
    answer = target.send("GET", f"/v1/projects/p/published-pipelines?environmentName={env}")
    return sorted(item["name"] for item in answer.json()["results"])


def execute(target: Target, env: str, **body: Any) -> Any:
    body = {"pipelineName": "load", "environmentName": env, **body}
    return target.send("POST", "/v1/projects/p/pipeline-executions", body)


def test_publishing_keeps_text_files_and_ignores_binaries_and_archives(target: Target) -> None:
    files = {**PIPELINES, "logo.png": b"\x89PNG\x00\x01", "old.zip": b"PK\x03\x04"}
    answer = publish(target, "v1", files, branch="main", commitHash="abc123")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["versionName"] == "v1"
    assert sorted(i["name"] for i in body["ignoredResources"]) == ["logo.png", "old.zip"]
    assert all(i["reason"] for i in body["ignoredResources"])
    details = target.send("GET", "/v1/projects/p/artifacts/details?environmentName=dev").json()
    assert sorted(details["assets"]) == sorted(PIPELINES)
    assert details["details"]["versionName"] == "v1"
    assert details["details"]["branch"] == "main"
    assert details["details"]["commitHash"] == "abc123"
    assert {"createdAt", "deployedAt", "enabled", "provider"} <= set(details["details"])


def test_a_version_is_immutable(target: Target) -> None:
    assert publish(target, "v1", PIPELINES).status_code == 200
    again = publish(target, "v1", {"other.orch.yaml": "x"})
    assert again.status_code == 409
    assert "immutable" in again.json()["detail"]
    assert sorted(
        target.send("GET", "/v1/projects/p/artifacts/details?environmentName=dev").json()["assets"]
    ) == sorted(PIPELINES)


def test_publishing_needs_its_headers_and_a_multipart_body(target: Target) -> None:
    answer = requests.post(
        target.base + "/v1/projects/p/artifacts",
        headers=AUTH,
        files={"a.orch.yaml": "x"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert set(answer.json()["violations"]) == {
        "versionName: header must not be empty",
        "environmentName: header must not be empty",
    }
    as_json = target.send(
        "POST",
        "/v1/projects/p/artifacts",
        {"a.orch.yaml": "x"},
        headers={**AUTH, "versionName": "v1", "environmentName": "dev"},
    )
    assert as_json.status_code == 400
    assert "multipart/form-data" in as_json.json()["violations"][0]
    only_binary = publish(target, "v1", {"blob.bin": b"\x00\xff"})
    assert only_binary.status_code == 400
    unknown_env = publish(target, "v1", PIPELINES, env="staging")
    assert unknown_env.status_code == 404


def test_the_latest_version_is_what_the_environment_publishes_and_runs(target: Target) -> None:
    assert published_names(target, "dev") == []
    publish(target, "v1", PIPELINES)
    assert published_names(target, "dev") == ["load", "sub/clean"]
    publish(target, "v2", {"load.orch.yaml": "v2"})
    assert published_names(target, "dev") == ["load"]
    assert execute(target, "dev", pipelineName="sub/clean").status_code == 404
    assert execute(target, "dev").status_code == 201
    assert execute(target, "dev", versionName="v1", pipelineName="sub/clean").status_code == 201
    assert [(r.pipeline_name, r.version_name) for r in target.fake.executions()] == [
        ("load", "v2"),
        ("sub/clean", "v1"),
    ]


def test_executing_an_unknown_version_is_404(target: Target) -> None:
    publish(target, "v1", PIPELINES)
    answer = execute(target, "dev", versionName="v9")
    assert answer.status_code == 404
    assert "v9" in answer.json()["detail"]
    assert execute(target, "prod", versionName="v1").status_code == 404  # not promoted there
    assert target.fake.executions() == []


def test_promotion_makes_the_version_run_in_the_target(target: Target) -> None:
    publish(target, "v1", PIPELINES)
    publish(target, "v2", {"load.orch.yaml": "v2"})
    body = {"sourceEnvironmentName": "dev", "targetEnvironmentName": "prod", "versionName": "v1"}
    answer = target.send("POST", "/v1/projects/p/artifacts/promotions", body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"environmentName": "prod", "versionName": "v1"}
    assert published_names(target, "prod") == ["load", "sub/clean"]
    assert execute(target, "prod").status_code == 201
    assert target.fake.executions()[-1].version_name == "v1"
    listed = target.send("GET", "/v1/projects/p/artifacts?environmentName=prod").json()
    assert [v["versionName"] for v in listed["results"]] == ["v1"]
    dev = target.send("GET", "/v1/projects/p/artifacts?environmentName=dev&enabledOnly=true")
    assert [v["versionName"] for v in dev.json()["results"]] == ["v2", "v1"]


def test_promotion_refuses_what_it_cannot_do(target: Target) -> None:
    publish(target, "v1", PIPELINES)
    path = "/v1/projects/p/artifacts/promotions"
    missing = target.send("POST", path, {"versionName": None})
    assert missing.status_code == 400
    assert len(missing.json()["violations"]) == 3
    body = {"sourceEnvironmentName": "prod", "targetEnvironmentName": "dev", "versionName": "v1"}
    assert target.send("POST", path, body).status_code == 404  # v1 is not in prod
    body["versionName"] = "v7"
    assert target.send("POST", path, body).status_code == 404


def test_details_are_404_until_something_is_published(target: Target) -> None:
    answer = target.send("GET", "/v1/projects/p/artifacts/details?environmentName=prod")
    assert answer.status_code == 404
    publish(target, "v1", PIPELINES)
    by_name = "/v1/projects/p/artifacts/details?environmentName=dev&versionName=v1"
    assert target.send("GET", by_name).json()["details"]["versionName"] == "v1"
    assert target.send("GET", by_name.replace("v1", "v2")).status_code == 404


def test_the_client_publishes_runs_a_version_and_promotes_it(target: Target) -> None:
    client = target.client()
    result = client.publish_artifact(
        "p", "dev", "1.4.0", {**PIPELINES, "x.bin": b"\x00"}, branch="main", commit_hash="c0ffee"
    )
    assert result.version_name == "1.4.0"
    assert [name for name, _ in result.ignored] == ["x.bin"]
    with pytest.raises(ConflictError):
        client.publish_artifact("p", "dev", "1.4.0", PIPELINES)
    run = client.execute_pipeline("p", "load", "dev", version="1.4.0")
    assert target.fake.executions()[-1].execution_id == run
    with pytest.raises(NotFoundError):
        client.execute_pipeline("p", "load", "dev", version="9.9.9")
    client.promote_artifact("p", "1.4.0", source="dev", target="prod")
    assert [p.name for p in client.list_published_pipelines("p", "prod")] == ["load", "sub/clean"]
    sent = next(c for c in target.fake.calls if c.path.endswith("/artifacts"))
    assert sent.headers["Versionname"] == "1.4.0"
    assert sent.headers["Authorization"] == "Bearer ***"


def test_the_client_checks_its_arguments_before_sending(target: Target) -> None:
    client = target.client()
    with pytest.raises(MaiaValidationError, match="relative path"):
        client.publish_artifact("p", "dev", "v1", {"/etc/passwd": "x"})
    with pytest.raises(MaiaValidationError, match="non-empty mapping"):
        client.publish_artifact("p", "dev", "v1", {})
    with pytest.raises(MaiaValidationError, match="version"):
        client.publish_artifact("p", "dev", "", PIPELINES)
    with pytest.raises(MaiaValidationError, match="differ"):
        client.execute_pipeline("p", "load", "dev", version="a", version_name="b")
    assert target.fake.calls == []


def test_fake_publish_artifact_scripts_the_same_state() -> None:
    fake = FakeMaia()
    fake.add_project("p")
    fake.add_environment("p", "dev")
    assert fake.publish_artifact("p", "dev", "v1", {**PIPELINES, "b.bin": b"\x00"}) == [
        ("b.bin", "Not a text file")
    ]
    with fake:
        client = fake.client()
        assert [p.name for p in client.list_published_pipelines("p", "dev")] == [
            "load",
            "sub/clean",
        ]
        client.execute_pipeline("p", "load", "dev")
    assert fake.executions()[0].version_name == "v1"
    with pytest.raises(MaiaValidationError, match="immutable"):
        fake.publish_artifact("p", "dev", "v1", PIPELINES)
    with pytest.raises(MaiaValidationError, match="add_environment"):
        fake.publish_artifact("p", "qa", "v2", PIPELINES)
    with pytest.raises(MaiaValidationError, match="relative path"):
        fake.publish_artifact("p", "dev", "v2", {"../x.orch.yaml": "x"})
    with pytest.raises(MaiaValidationError, match="add_environment"):
        fake.promote_artifact("p", "v1", source="qa", target="dev")
    fake.add_environment("p", "prod")
    with pytest.raises(MaiaValidationError, match="not published in environment 'prod'"):
        fake.promote_artifact("p", "v1", source="prod", target="dev")


def test_zero_config_runs_any_version_until_an_artifact_exists() -> None:
    fake = FakeMaia()
    with fake:
        client = fake.client()
        client.execute_pipeline("any", "load", "env", version="v3")
        fake.publish_artifact("any", "env", "v1", PIPELINES)
        with pytest.raises(NotFoundError):
            client.execute_pipeline("any", "load", "env", version="v3")


@pytest.mark.e2e
def test_control_api_and_script_file_script_artifacts_schedules_and_events(tmp_path: Any) -> None:
    from conftest import fake_server_process

    script = {
        "projects": [{"id": "p", "environments": [{"name": "dev"}, {"name": "prod"}]}],
        "artifacts": [
            {"project_id": "p", "environment": "dev", "version": "v1", "files": PIPELINES}
        ],
        "promotions": [{"project_id": "p", "version": "v1", "source": "dev", "target": "prod"}],
        "schedules": [{"project_id": "p", "pipeline": "load", "environment": "prod"}],
        "events": [{"name": "USER_LOGGED_IN", "at": 0}],
    }
    with fake_server_process(script, tmp_path) as (url, _):
        control = url.rsplit("/dpc", 1)[0] + "/_fake/"
        answer = requests.post(
            control + "artifacts",
            json={
                "project_id": "p",
                "environment": "dev",
                "version": "v2",
                "files": {"load.orch.yaml": "x"},
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"ignoredResources": []}
        token = requests.post(
            url.rsplit("/dpc", 1)[0] + "/oauth/dpc/token",
            data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
            timeout=10,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        prod = requests.get(
            url + "/v1/projects/p/artifacts/details?environmentName=prod",
            headers=headers,
            timeout=10,
        ).json()
        assert prod["details"]["versionName"] == "v1"
        dev = requests.get(
            url + "/v1/projects/p/artifacts/details?environmentName=dev",
            headers=headers,
            timeout=10,
        ).json()
        assert dev["details"]["versionName"] == "v2"
        logged = [e["eventName"] for e in requests.get(control + "events", timeout=10).json()]
        assert logged == [
            "ARTIFACT_PUBLISHED",
            "ARTIFACT_PROMOTED",
            "SCHEDULE_CREATED",
            "USER_LOGGED_IN",
            "ARTIFACT_PUBLISHED",
        ]
        schedules = requests.get(url + "/v1/projects/p/schedules", headers=headers, timeout=10)
        assert [s["pipelineName"] for s in schedules.json()["results"]] == ["load"]
        bad = requests.post(control + "artifacts", json={"project_id": "p"}, timeout=10)
        assert bad.status_code == 400
        assert "files" in bad.json()["detail"]


SUITE = """
import os

from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID


def test_runs_the_version_the_job_chose(maia_fake, maia_pipeline):
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        maia_fake.publish_artifact(
            FAKE_PROJECT_ID, FAKE_ENVIRONMENT, version, {"load.orch.yaml": version}
        )
    maia_pipeline.run("load").assert_success()
    maia_pipeline.run("load", version="1.0.0").assert_success()
    ran = [r.version_name for r in maia_fake.executions()]
    assert ran == [os.environ["EXPECTED_VERSION"], "1.0.0"]
"""


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("default", "1.2.0"),
        ("option", "1.1.0"),
        ("env", "1.1.0"),
        ("ini", "1.1.0"),
    ],
)
def test_maia_version_runs_every_pipeline_run_against_that_version(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, expected: str
) -> None:
    pytester.makepyfile(SUITE)
    monkeypatch.setenv("EXPECTED_VERSION", expected)
    args: list[str] = ["-p", "no:cacheprovider"]
    if how == "option":
        args.append("--maia-version=1.1.0")
    elif how == "env":
        monkeypatch.setenv("MAIA_VERSION_NAME", "1.1.0")
    elif how == "ini":
        pytester.makeini("[pytest]\nmaia_version = 1.1.0\n")
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)


@pytest.mark.e2e
def test_an_unknown_maia_version_fails_the_run_with_the_apis_404(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID

        def test_run(maia_fake, maia_pipeline):
            maia_fake.publish_artifact(FAKE_PROJECT_ID, FAKE_ENVIRONMENT, "1.0.0",
                                       {"load.orch.yaml": "x"})
            maia_pipeline.run("load")
        """
    )
    result = pytester.runpytest_subprocess("--maia-version=2.0.0")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*NotFoundError*404*Version '2.0.0' not found*"])


@pytest.mark.e2e
def test_maia_version_reaches_runs_started_ahead(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_maia.plugin.start_ahead import PLUGIN_NAME

        @pytest.mark.maia_start("load")
        def test_started_ahead(request, maia_run):
            maia_run.assert_success()
            fake = request.config.pluginmanager.get_plugin(PLUGIN_NAME).fake
            assert [r.version_name for r in fake.executions()] == ["2.0.0"]
        """
    )
    result = pytester.runpytest_subprocess("--maia-version=2.0.0")
    result.assert_outcomes(passed=1)


def test_enabled_only_that_is_not_a_boolean_is_a_400_naming_it() -> None:
    # Found by schemathesis on Python 3.10 (its draws differ by version): null was read as false.
    with FakeMaia(token="tok-artifacts") as fake:
        fake.add_project("proj")
        fake.add_environment("proj", "t")
        url = f"{fake.base_url}/v1/projects/proj/artifacts"
        headers = {"Authorization": "Bearer tok-artifacts"}

        def status(flag: str) -> requests.Response:
            params = {"environmentName": "t", "enabledOnly": flag}
            return requests.get(url, params=params, headers=headers, timeout=30)

        refused = status("null")
        assert refused.status_code == 400
        assert "enabledOnly: must be true or false" in refused.text
        assert [status(flag).status_code for flag in ("TRUE", "false")] == [200, 200]
