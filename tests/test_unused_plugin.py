"""pytest-maia installed in a project that never uses Maia: its ``MAIA_*`` variables
break nothing there, and a suite that does use Maia still stops at start-up on them."""

from __future__ import annotations

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
