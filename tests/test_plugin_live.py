"""Live mode end to end: a loopback FakeMaia stands in for the API; secrets never leak."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_maia.fake import FakeMaia
from pytest_maia.fake.server import FakeServer

TOKEN = "tok-LIVE-SEKRIT-5d9e71"
PROJECT = "live-project"
OK = "aaaaaaaa-0000-4000-8000-000000000001"
BAD = "aaaaaaaa-0000-4000-8000-000000000002"
MISSING = "aaaaaaaa-0000-4000-8000-000000000003"


@pytest.fixture
def live_api() -> Iterator[tuple[FakeMaia, FakeServer]]:
    fake = FakeMaia(token=TOKEN)  # answers 401 to any other token
    # Terminal at the first poll: the inner run waits in real time.
    fake.add_execution(PROJECT, ["SUCCESS"], execution_id=OK)
    fake.add_execution(PROJECT, ["FAILED"], execution_id=BAD)
    with fake.serve() as server:
        yield fake, server


INNER = f"""
import logging

def test_live_success(maia_status, maia_client, maia_settings):
    client, settings = maia_client, maia_settings
    assert maia_status.assert_success("{OK}").polls == 1

def test_live_failure(maia_status, maia_client, maia_settings):
    client, settings = maia_client, maia_settings
    logging.getLogger("pytest_maia").debug("client in use: %r", client)
    maia_status.assert_success("{BAD}")

def test_live_missing(maia_status, maia_client):
    headers = maia_client._session.headers
    maia_status.get("{MISSING}")
"""


def test_live_run_over_loopback_never_shows_the_token(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    live_api: tuple[FakeMaia, FakeServer],
) -> None:
    fake, server = live_api
    for name in ("MAIA_CLIENT_ID", "MAIA_CLIENT_SECRET", "MAIA_BACKEND", "MAIA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_TOKEN", TOKEN)
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    pytester.makepyfile(test_live=INNER)
    xml_path = pytester.path / "junit.xml"
    result = pytester.runpytest(
        "--maia-backend=live",
        f"--maia-base-url={server.url}",
        "-vv",
        "--showlocals",
        "--log-level=DEBUG",
        "-rA",
        f"--junitxml={xml_path}",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str() + result.stderr.str()
    xml = xml_path.read_text(encoding="utf-8")
    # the run really was live, verbose and logged at DEBUG
    assert f"maia: backend=live, base URL={server.url}, project={PROJECT}, auth=bearer token" in out
    assert f"pipeline execution {BAD} ended FAILED, expected SUCCESS" in out
    assert "-> HTTP 200" in out  # DEBUG records of the client were captured
    assert "client in use: MaiaClient(" in out
    assert "HTTP 404" in out
    assert "maia_execution_id" in xml
    # the fake accepted the token, so it was sent on every call ...
    # The failure reads the details and steps to say why: two more GETs.
    assert [c.status_code for c in fake.calls] == [200, 200, 200, 200, 404]
    assert [c.path.rsplit("/", 1)[-1] for c in fake.calls][2:4] == [BAD, "steps"]
    # ... and it appears nowhere a person or CI log could read it
    assert TOKEN not in out
    assert TOKEN not in xml
    assert all(TOKEN not in repr(call) for call in fake.calls)


def test_live_run_with_wrong_token_fails_with_401(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    live_api: tuple[FakeMaia, FakeServer],
) -> None:
    _, server = live_api
    monkeypatch.setenv("MAIA_TOKEN", "tok-WRONG-4411")
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    pytester.makepyfile(
        f"""
        def test_x(maia_status):
            maia_status.get("{OK}")
        """
    )
    result = pytester.runpytest(
        "--maia-backend=live", f"--maia-base-url={server.url}", "--showlocals"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*UnauthorizedError: HTTP 401 Unauthorized*"])
    assert "tok-WRONG-4411" not in result.stdout.str()
