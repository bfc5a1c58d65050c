"""The "every scripted run was used" check (issue 21, item 9), like ``responses``'
``assert_all_requests_are_fired``: under the fake backend, a lifecycle a test scripted and
never started or polled fails the test at teardown, naming it; ``maia_fake.allow_unused()``
or the ``maia_allow_unused`` ini key turns it off."""

from __future__ import annotations

import pytest

# In-process runs forget modules first imported inside them: keep one copy of these.
import pytest_maia.client.maia_client
import pytest_maia.fake
import pytest_maia.plugin.hooks  # noqa: F401
from pytest_maia import FakeMaia

UNUSED_SUITE = """
import pytest

def test_scripted_and_never_polled(maia_fake, maia_status, maia_project_id):
    maia_fake.add_execution(maia_project_id, ["RUNNING", "FAILED"],
                            execution_id="11111111-2222-4333-8444-555555555555")

def test_pipeline_scripted_and_never_started(maia_fake):
    maia_fake.script_pipeline("nightly-load", ["RUNNING", "FAILED"])

def test_pipeline_started_and_never_polled(maia_fake, maia_pipeline):
    maia_fake.script_pipeline("hourly-load", ["RUNNING", "FAILED"], once=True)
    maia_pipeline.run("hourly-load")

@pytest.mark.maia_script("RUNNING", "FAILED")
def test_marker_and_no_run(maia_pipeline):
    pass

@pytest.mark.maia_script("RUNNING", "FAILED", message="boom")
@pytest.mark.maia_start("started-ahead")
def test_started_ahead_and_never_polled(maia_run):
    pass

def test_every_script_used(maia_fake, maia_status, maia_pipeline, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "SUCCESS"])
    maia_fake.script_pipeline("used-load", ["RUNNING", "FAILED"])
    maia_status.assert_success(ex)
    maia_pipeline.run("used-load").assert_failed()

@pytest.mark.maia_script("RUNNING", "FAILED")
@pytest.mark.maia_start("started-ahead-used")
def test_started_ahead_and_polled(maia_run):
    maia_run.assert_failed()

def test_a_failing_test_gets_no_second_error(maia_fake):
    maia_fake.add_execution("p", ["RUNNING"])
    assert False, "the test's own failure"
"""


def test_a_scripted_run_the_test_never_used_fails_it_at_teardown_naming_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_suite=UNUSED_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=7, failed=1, errors=5)
    errors = sorted(line for line in result.outlines if line.startswith("ERROR test_suite"))
    assert [line.split(" - ")[0].split("::")[1] for line in errors] == [
        "test_marker_and_no_run",
        "test_pipeline_scripted_and_never_started",
        "test_pipeline_started_and_never_polled",
        "test_scripted_and_never_polled",
        "test_started_ahead_and_never_polled",
    ]
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_scripted_and_never_polled*",
            "*add_execution('fake-project', ...): execution "
            "11111111-2222-4333-8444-555555555555 was never polled",
            "*maia_fake.allow_unused()*maia_allow_unused = true*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*script_pipeline('nightly-load', ...): no execution of it was started"]
    )
    result.stdout.fnmatch_lines(
        ["*script_pipeline('hourly-load', ..., once=True): execution * was never polled"]
    )
    result.stdout.fnmatch_lines(["*maia_script: the test started no pipeline run*"])
    result.stdout.fnmatch_lines(["*execution * (started-ahead) was never polled*"])


@pytest.mark.parametrize("how", ["allow_unused", "ini"])
def test_allow_unused_or_the_ini_key_turns_the_check_off(
    pytester: pytest.Pytester, how: str
) -> None:
    suite = UNUSED_SUITE
    if how == "allow_unused":
        suite = suite.replace(
            "def test_",
            "@pytest.fixture(autouse=True)\ndef _lax(request):\n"
            "    if 'maia_fake' in request.fixturenames or 'maia_pipeline' in "
            "request.fixturenames:\n        request.getfixturevalue('maia_fake')"
            ".allow_unused()\n\ndef test_",
            1,
        )
        # A maia_start test has no fake of its own unless it asks: it asks here.
        suite = suite.replace(
            "def test_started_ahead_and_never_polled(maia_run):",
            "def test_started_ahead_and_never_polled(maia_run, maia_fake):",
        )
    else:
        pytester.makeini("[pytest]\nmaia_allow_unused = true\n")
    pytester.makepyfile(test_suite=suite)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=7, failed=1)  # and no errors


def test_fake_unused_lists_each_kind_of_script_until_it_is_used() -> None:
    with FakeMaia() as fake:
        client = fake.client()
        ex = fake.add_execution("p", ["RUNNING", "SUCCESS"])
        fake.script_pipeline("a", ["RUNNING", "FAILED"])
        fake.script_pipeline("b", ["RUNNING"], once=True)
        client.execute_pipeline("p", "unscripted", "env")  # the default: not counted
        assert len(fake.unused()) == 3
        client.get_status("p", ex)
        started = client.execute_pipeline("p", "a", "env")
        (line,) = [u for u in fake.unused() if "'a'" in u]
        assert started in line and "never polled" in line
        client.get_execution("p", started)  # a details read counts as a poll
        client.get_status("p", client.execute_pipeline("p", "b", "env"))
        assert fake.unused() == []
        fake.script_pipeline("c", ["SUCCESS"])
        fake.reset()
        assert fake.unused() == []
        assert not fake.unused_allowed
        fake.allow_unused()
        assert fake.unused_allowed
