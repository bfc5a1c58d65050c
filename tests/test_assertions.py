"""The assertions of maia_status and pipeline runs (pytest_maia.runs.status_checker) in pytester
runs as users run them: why a pipeline failed (messages, the failing step path, assert_failed's
match, read best effort), mistakes in what a test expects or where it looks (a misspelt
status, the 404 hint), and tracebacks that show the user's line, not the library's."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

# In-process runs forget modules first imported inside them: keep one copy of requests.
import pytest_maia.client.maia_client
import pytest_maia.fake  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

STEPS = """
STEPS = [
    {"name": "Start", "status": "SUCCESS"},
    {
        "name": "Run load_orders",
        "status": "FAILED",
        "message": "Child pipeline load_orders failed",
        "child": {
            "pipeline": "load_orders",
            "statuses": ["RUNNING", "FAILED"],
            "message": "Task 'Write orders' failed",
            "steps": [
                {"name": "Read stage", "status": "SUCCESS"},
                {
                    "name": "Write orders",
                    "status": "FAILED",
                    "message": "SQL compilation error: Object 'ORDERS' does not exist",
                },
            ],
        },
    },
]
"""

LIBRARY_FRAME = re.compile(r"pytest_maia[/\\][\w/\\]+\.py:\d+")


def test_a_failure_shows_the_messages_and_the_failing_step_path(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        STEPS
        + """
import pytest

@pytest.mark.maia_script(
    "RUNNING", "FAILED", message="Task 'Run load_orders' failed", steps=STEPS
)
def test_nightly(maia_pipeline):
    maia_pipeline.run("nightly").assert_success()
"""
    )
    xml_path = pytester.path / "junit.xml"
    result = pytester.runpytest(f"--junitxml={xml_path}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * ended FAILED, expected SUCCESS",
            "E * FAILED after *s and 2 poll(s)",
            "E       timeline:",
            "E * RUNNING",
            "E * FAILED",
            "E       pipeline: nightly (environment: fake-environment)",
            "E       message: Task 'Run load_orders' failed",
            "E       failing steps:",
            "E         Run load_orders: FAILED: Child pipeline load_orders failed",
            "E           Run load_orders > Write orders: FAILED: SQL compilation error: "
            "Object 'ORDERS' does not exist",
        ]
    )
    assert "Start" not in result.stdout.str()  # steps that succeeded are not listed
    props = {p.get("name"): p.get("value") for p in ET.parse(xml_path).getroot().iter("property")}
    assert "Run load_orders > Write orders: FAILED" in props["maia_failure"]


def test_assert_failed_with_a_matching_and_a_non_matching_regex(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        STEPS
        + """
def run(fake, project):
    return fake.add_execution(
        project, ["RUNNING", "FAILED"], message="Task 'Run load_orders' failed", steps=STEPS
    )

def test_matches_a_child_step(maia_fake, maia_status, maia_project_id):
    result = maia_status.assert_failed(
        run(maia_fake, maia_project_id), match=r"Object '\\w+' does not exist"
    )
    assert result.explanation.failing_steps[-1][0] == ("Run load_orders", "Write orders")

def test_matches_the_details_message(maia_fake, maia_status, maia_project_id):
    maia_status.assert_failed(run(maia_fake, maia_project_id), match="Run load_orders")

def test_no_match(maia_fake, maia_status, maia_project_id):
    maia_status.assert_failed(run(maia_fake, maia_project_id), match="permission denied")

def test_not_failed(maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "SUCCESS"])
    maia_status.assert_failed(ex, match="anything")

def test_pipeline_run(maia_pipeline, maia_fake):
    maia_fake.script_pipeline("load", ["RUNNING", "FAILED"], message="disk full")
    maia_pipeline.run("load").assert_failed(match="disk")
    maia_pipeline.run("load").assert_failed(match="^quota")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*_ test_no_match _*",
            "E       AssertionError: pipeline execution * ended FAILED, but no message matches "
            "'permission denied'",
            "E       messages searched:",
            "E         execution: Task 'Run load_orders' failed",
            "E         Run load_orders: Child pipeline load_orders failed",
            "E         Run load_orders > Write orders: SQL compilation error: *",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*_ test_not_failed _*", "E       AssertionError: * ended SUCCESS, expected FAILED"]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_pipeline_run _*",
            "E       AssertionError: * ended FAILED, but no message matches '^quota'",
            "E       messages searched:",
            "E         execution: disk full",
        ]
    )


def test_reading_why_is_best_effort(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_forbidden_details(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(
                maia_project_id, ["FAILED", maia_fake.error(403, detail="no details for you")]
            )
            maia_status.assert_success(ex)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: * ended FAILED, expected SUCCESS",
            "E       could not read why it failed: ForbiddenError: HTTP 403 Forbidden from GET "
            "*: no details for you",
        ]
    )


# -- mistakes fail fast --------------------------------------------------------------------


def test_misspelt_statuses_in_scripts_and_expected_say_what_was_meant(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_maia import ExecutionStatus

        def test_add_execution(maia_fake, maia_project_id):
            maia_fake.add_execution(maia_project_id, ["RUNNING", "success"])

        def test_expected(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(maia_project_id, "CANCELLED")
            maia_status.assert_final(ex, ["CANCELED"])

        def test_on_purpose(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(
                maia_project_id, [ExecutionStatus.unrecognised("PAUSED"), "SUCCESS"]
            )
            assert maia_status.get(ex) == "PAUSED"
            maia_status.assert_final(ex, [ExecutionStatus.unrecognised("PAUSED"), "SUCCESS"])
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*MaiaValidationError: statuses[[]1]: 'success' is not an execution status: "
            "did you mean 'SUCCESS'?*ExecutionStatus.unrecognised('success')*",
            "*MaiaValidationError: expected: 'CANCELED' is not an execution status: "
            "did you mean 'CANCELLED'?*",
        ]
    )


def test_the_404_hint_names_the_project_the_execution_is_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_other_project(maia_fake, maia_status):
            ex = maia_fake.add_execution("my-project", "SUCCESS")
            maia_status.assert_success(ex)

        def test_nowhere(maia_status):
            maia_status.get("3fa85f64-5717-4562-b3fc-2c963f66afa6")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*NotFoundError: HTTP 404*[execution * is scripted in project 'my-project', but "
            "maia_status checks the configured project 'fake-project' (--maia-project / "
            "MAIA_PROJECT_ID; *",
            "*NotFoundError: HTTP 404*the fake backend does not know execution "
            "3fa85f64-5717-4562-b3fc-2c963f66afa6 in project 'fake-project': script it first*",
        ]
    )
    # The other project's hint does not tell the user to script what is scripted.
    other = [line for line in result.outlines if "is scripted in project 'my-project'" in line]
    assert other
    assert not any("script it first" in line for line in other)
    assert "script it first" in out


# -- tracebacks -----------------------------------------------------------------------------


def test_tracebacks_show_the_users_line_not_library_frames(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_timeout(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(maia_project_id, "RUNNING")
            maia_status.wait(ex, timeout=60)

        def test_client_timeout(maia_fake, maia_client, maia_project_id):
            ex = maia_fake.add_execution(maia_project_id, "RUNNING")
            maia_client.wait_for(maia_project_id, ex, timeout=60)

        def test_assertion(maia_fake, maia_status, maia_project_id):
            maia_status.assert_success(maia_fake.add_execution(maia_project_id, "FAILED"))

        def test_assert_failed(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(maia_project_id, "FAILED", message="m")
            maia_status.assert_failed(ex, match="x")

        def test_pipeline(maia_pipeline, maia_fake):
            maia_fake.script_pipeline("p", ["RUNNING", "FAILED"])
            maia_pipeline.run("p").assert_success()
        """
    )
    result = pytester.runpytest("--tb=long")
    result.assert_outcomes(failed=5)
    out = result.stdout.str()
    assert LIBRARY_FRAME.search(out) is None, LIBRARY_FRAME.search(out)
    for line in (
        "maia_status.wait(ex, timeout=60)",
        "maia_client.wait_for(maia_project_id, ex, timeout=60)",
        'maia_status.assert_success(maia_fake.add_execution(maia_project_id, "FAILED"))',
        'maia_status.assert_failed(ex, match="x")',
        'maia_pipeline.run("p").assert_success()',
    ):
        assert f">       {line}" in out
