"""The plugin as users run it: pytester runs of generated test files."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

# In-process runs forget modules first imported inside them: keep one copy of requests.
import pytest_maia.client.maia_client
import pytest_maia.fake  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

LIFECYCLES = """
import pytest

def test_success(maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "RUNNING", "SUCCESS"])
    result = maia_status.assert_success(ex)
    assert result.polls == 3

def test_failed_pipeline_is_caught(maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(
        maia_project_id, ["RUNNING", "RUNNING", "FAILED"],
        execution_id="11111111-2222-4333-8444-555555555555", every=60,
    )
    maia_status.assert_success(ex)

def test_assert_final_many(maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["CANCELLING", "CANCELLED"])
    maia_status.assert_final(ex, ["CANCELLED", "SKIPPED"])
    assert maia_status.get(ex) == "CANCELLED"
"""


def test_options_and_ini_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "Maia pipeline testing (pytest-maia):",
            "*--maia-backend=BACKEND*",
            "*--maia-region=REGION*",
            "*--maia-base-url=BASE_URL*",
            "*--maia-project=PROJECT_ID*",
            "*--maia-timeout=TIMEOUT*",
        ]
    )
    for ini in ("maia_backend", "maia_region", "maia_base_url", "maia_project_id", "maia_timeout"):
        result.stdout.fnmatch_lines([f"*{ini} (string)*"])


def test_report_header_names_backend_url_and_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--maia-project=proj-9", "--maia-region=us1")
    result.stdout.fnmatch_lines(
        ["maia: backend=fake, base URL=https://us1.api.matillion.com/dpc, project=proj-9"]
    )


def test_ini_and_env_configure(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\nmaia_project_id = from-ini\nmaia_timeout = 90\n")
    pytester.makepyfile(
        """
        def test_cfg(maia_settings, maia_project_id):
            assert maia_project_id == "from-env"
            assert maia_settings.timeout == 90
            assert maia_settings.sources["project_id"] == "MAIA_PROJECT_ID"
        """
    )
    monkeypatch.setenv("MAIA_PROJECT_ID", "from-env")
    pytester.runpytest().assert_outcomes(passed=1)


def test_outcomes_and_failure_text(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LIFECYCLES)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*pipeline execution 11111111-2222-4333-8444-555555555555 ended FAILED,"
            " expected SUCCESS",
            "*: FAILED after *s and * poll(s)",
            "*timeline:",
            "*0.0s  RUNNING",
            "*s  FAILED",
        ]
    )
    # the traceback points at the user's line, not into pytest-maia
    assert "pytest_maia/runs/status_checker.py" not in result.stdout.str()


def test_unknown_execution_explains_how_to_script_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_unknown(maia_status):
            maia_status.wait("3fa85f64-5717-4562-b3fc-2c963f66afa6")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*NotFoundError: HTTP 404*maia_fake.add_execution(*--maia-backend=live*"]
    )


def test_timeout_says_how_long_and_last_status(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_slow(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "SUCCESS"], every=7200)
            maia_status.wait(ex)
        """
    )
    result = pytester.runpytest("--maia-timeout=600")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*MaiaTimeoutError: timed out after 600s waiting for execution *(last status: RUNNING*"]
    )
    result.stdout.fnmatch_lines(["*TIMEOUT (RUNNING)*600.0s*"])


def test_terminal_summary_lists_every_wait(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every cell whole
    pytester.makepyfile(LIFECYCLES)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*- maia executions waited on: 3 -*",
            "test*pipeline*execution id*status*elapsed*polls",
            "test_terminal_summary_lists_every_wait.py::test_success *SUCCESS*12.5s*3",
            "*::test_failed_pipeline_is_caught*11111111-2222-4333-8444-555555555555*FAILED*",
            "*::test_assert_final_many*CANCELLED*2",
        ]
    )


def test_no_summary_when_nothing_waited(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    assert "maia executions" not in pytester.runpytest().stdout.str()


def test_junit_xml_has_wait_properties(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LIFECYCLES)
    xml_path = pytester.path / "junit.xml"
    pytester.runpytest(f"--junitxml={xml_path}")
    root = ET.parse(xml_path).getroot()
    by_test = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in root.iter("testcase")
    }
    failed = by_test["test_failed_pipeline_is_caught"]
    assert failed["maia_execution_id"] == "11111111-2222-4333-8444-555555555555"
    assert failed["maia_status"] == "FAILED"
    # FAILED is the third step, reached at 120 s on the fake's clock
    assert float(failed["maia_elapsed_s"] or 0) >= 120
    assert int(failed["maia_polls"] or 0) >= 3
    assert by_test["test_success"]["maia_status"] == "SUCCESS"
    assert by_test["test_success"]["maia_polls"] == "3"


def test_maia_live_marker_skips_offline_under_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.maia_live
        def test_needs_live(maia_status):
            raise AssertionError("must not run offline")

        def test_offline():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*maia_live: needs the live Maia API (--maia-backend=live*"])


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.maia_live:*"])


def test_live_without_credentials_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("MAIA_TOKEN", "MAIA_CLIENT_ID", "MAIA_CLIENT_SECRET", "MAIA_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_CLIENT_ID", "client-id-value-XYZ")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--maia-backend=live")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-maia: --maia-backend=live needs MAIA_PROJECT_ID (or --maia-project);"
            " MAIA_CLIENT_SECRET to be set"
        ]
    )
    assert "client-id-value-XYZ" not in result.stderr.str() + result.stdout.str()


def test_bad_option_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--maia-backend=mock")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--maia-backend: backend must be 'fake', 'live' or 'replay', got 'mock'*"]
    )


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_plain():
            pass

        def test_uses_fixture(maia_status):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:maia")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'maia_status' not found*"])
    assert "maia: backend=" not in result.stdout.str()
    result = pytester.runpytest("-p", "no:maia", "--maia-backend=fake")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_log_cli_shows_status_changes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_long(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "SUCCESS"], every=600)
            maia_status.assert_success(ex)
        """
    )
    result = pytester.runpytest("--log-cli-level=INFO")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*execution *: RUNNING after 0.0s (1 polls)",
            "*still RUNNING after *",
            "*: SUCCESS after *",
        ]
    )


def test_bad_expected_status_is_a_typed_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_maia import MaiaValidationError

        @pytest.mark.parametrize("expected", [123, [], [None], ""])
        def test_bad(maia_fake, maia_status, maia_project_id, expected):
            run = maia_fake.add_execution(maia_project_id, ["SUCCESS"])
            maia_fake.allow_unused()  # the point: it is never polled
            with pytest.raises(MaiaValidationError, match="expected"):
                maia_status.assert_final(run, expected)
            assert maia_fake.polls(run) == 0  # rejected before any request
        """
    )
    pytester.runpytest().assert_outcomes(passed=4)


def test_failure_text_shows_the_last_problem(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_maia import FakeMaia

        def test_flaky_then_failed(maia_fake, maia_status, maia_project_id):
            run = maia_fake.add_execution(
                maia_project_id,
                ["RUNNING", FakeMaia.error(503, detail="warehouse is resuming"), "FAILED"],
            )
            maia_status.assert_success(run)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ended FAILED, expected SUCCESS",
            "*last error: HTTP 503 Service Unavailable from GET *: *warehouse is resuming",
        ]
    )


# -- mistakes fail fast --------------------------------------------------------------------


@pytest.mark.parametrize("project", ["a/b", ".."])
def test_a_malformed_project_is_a_usage_error_at_start(
    pytester: pytest.Pytester, project: str
) -> None:
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass")
    result = pytester.runpytest(f"--maia-project={project}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pytest-maia: --maia-project: project id *"])
    assert "passed" not in result.stdout.str()


def test_help_names_the_secret_variables(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    group = text[text.index("Maia pipeline testing (pytest-maia):") :]
    group = group[: group.index("\n\n")]
    for name in ("MAIA_TOKEN", "MAIA_CLIENT_ID", "MAIA_CLIENT_SECRET"):
        assert name in group


# -- reports --------------------------------------------------------------------------------


def test_reruns_report_each_attempt_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_flaky(maia_fake, maia_status, maia_project_id):
            ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "FAILED"])
            maia_status.assert_success(ex)
        """
    )
    xml_path = pytester.path / "junit.xml"
    result = pytester.runpytest("-p", "rerunfailures", "--reruns", "2", f"--junitxml={xml_path}")
    outcomes = result.parseoutcomes()
    assert (outcomes["failed"], outcomes["rerun"]) == (1, 2)
    result.stdout.fnmatch_lines(["*- maia executions waited on: 3 -*"])
    cases = list(ET.parse(xml_path).getroot().iter("testcase"))
    assert len(cases) == 3
    for case in cases:
        names = [p.get("name") for p in case.iter("property")]
        assert names.count("maia_execution_id") == 1, names
        assert names.count("maia_failure") == 1, names


def test_the_summary_says_elapsed_time_is_virtual_under_the_fake(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    pytester.makepyfile(
        """
        def test_x(maia_fake, maia_status, maia_project_id):
            maia_status.assert_success(maia_fake.add_execution(maia_project_id, "SUCCESS"))
        """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["test *execution id *status *elapsed (virtual) *polls"])
