"""pytest-maia installed in a project that never uses Maia: its ``MAIA_*`` variables
break nothing there, and a suite that does use Maia still stops at start-up on them."""

from __future__ import annotations

import sys

import pytest

# What a variable left in a CI environment (or a shell) can hold.
BAD_ENVIRONMENTS = [
    pytest.param({"MAIA_BACKEND": "live"}, "--maia-backend=live needs", id="live-no-credentials"),
    pytest.param({"MAIA_POLL_INTERVAL": "abc"}, "MAIA_POLL_INTERVAL", id="poll-interval-abc"),
    pytest.param({"MAIA_BACKEND": "mock"}, "backend must be", id="unknown-backend"),
    pytest.param({"MAIA_BACKEND": "replay"}, "needs --maia-cassettes", id="replay-no-cassettes"),
    pytest.param({"MAIA_PROJECT_ID": "a/b"}, "MAIA_PROJECT_ID", id="malformed-project"),
    pytest.param({"MAIA_BASE_URL": "http://example.com"}, "plain http", id="plain-http-url"),
]
NO_MAIA = """
def test_arithmetic():
    assert 1 + 1 == 2
"""


def _environment(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name in ("MAIA_TOKEN", "MAIA_CLIENT_ID", "MAIA_CLIENT_SECRET", "MAIA_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("variables", "problem"), BAD_ENVIRONMENTS)
def test_maia_variables_never_break_a_project_without_maia(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    problem: str,
) -> None:
    _environment(monkeypatch, variables)
    pytester.makepyfile(NO_MAIA)
    collected = pytester.runpytest("--co", "-q")
    assert collected.ret == pytest.ExitCode.OK, collected.stderr.str()
    ran = pytester.runpytest()
    ran.assert_outcomes(passed=1)
    # the header says what would be wrong, without stopping anything
    ran.stdout.fnmatch_lines([f"maia: not configured, checked when a test uses Maia*{problem}*"])


@pytest.mark.parametrize(("variables", "problem"), BAD_ENVIRONMENTS)
@pytest.mark.parametrize(
    "maia_test",
    [
        "def test_waits(maia_status):\n    pass\n",
        "import pytest\n\n@pytest.mark.maia_live\ndef test_live():\n    pass\n",
    ],
    ids=["fixture", "marker"],
)
def test_a_suite_that_uses_maia_stops_at_start_on_them(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    problem: str,
    maia_test: str,
) -> None:
    _environment(monkeypatch, variables)
    pytester.makepyfile(test_plain=NO_MAIA, test_maia=maia_test)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: pytest-maia: *{problem}*"])
    assert "passed" not in result.stdout.str()


def test_a_bad_option_still_stops_any_suite(pytester: pytest.Pytester) -> None:
    # An option on the command line is the suite's own choice: wrong, it stops the run.
    pytester.makepyfile(NO_MAIA)
    result = pytester.runpytest("--maia-poll-interval=abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-maia: --maia-poll-interval*"])


@pytest.mark.e2e
def test_a_suite_without_maia_loads_only_the_plugins_options_and_hooks(
    pytester: pytest.Pytester,
) -> None:
    # pytest-maia's start-up cost (docs/performance.md): the plugin's settings and hooks,
    # nothing of the client, the fake, the runs, the reports or the models, even though
    # Hypothesis' own pytest plugin imports Hypothesis (and so its entry points).
    pytester.makepyfile(NO_MAIA)
    pytester.makeconftest(
        """
        import sys

        def pytest_unconfigure():
            loaded = sorted(m for m in sys.modules if m.startswith("pytest_maia"))
            print("LOADED", *loaded)
            print("HYPOTHESIS", "hypothesis" in sys.modules)
        """
    )
    result = pytester.runpytest_subprocess("-p", "hypothesispytest", "-s")
    result.assert_outcomes(passed=1)
    line = next(line for line in result.outlines if line.startswith("LOADED"))
    loaded = set(line.split()[1:])
    assert "pytest_maia.plugin.hooks" in loaded
    result.stdout.fnmatch_lines(["HYPOTHESIS True"])  # its entry points ran
    heavy = {
        name
        for name in loaded
        if name.startswith(
            ("pytest_maia.client", "pytest_maia.fake", "pytest_maia.runs", "pytest_maia.report")
        )
        or name in ("pytest_maia.core.models", "pytest_maia.strategies")
    }
    assert not heavy, heavy


@pytest.mark.e2e
def test_hypothesis_types_register_in_either_import_order(pytester: pytest.Pytester) -> None:
    for first, second in (
        ("import hypothesis", "import pytest_maia.core.models"),
        ("import pytest_maia.core.models", "import hypothesis"),
    ):
        code = (
            f"{first}\n{second}\n"
            "from hypothesis import strategies as st\n"
            "from pytest_maia import ExecutionStatus, ProblemDetail\n"
            "assert isinstance(st.from_type(ExecutionStatus).example(), ExecutionStatus)\n"
            "assert isinstance(st.from_type(ProblemDetail).example(), ProblemDetail)\n"
        )
        result = pytester.run(sys.executable, "-c", code)
        assert result.ret == 0, result.stderr.str()


def test_the_plugin_names_the_timeline_property_as_the_report_reads_it() -> None:
    from pytest_maia.plugin import report_wiring
    from pytest_maia.report import timeline

    assert report_wiring.TIMELINE_PROPERTY == timeline.PROPERTY
