"""The fake beside the HTTP mocks a suite already uses (`responses`, `requests_mock`,
the pytest-responses plugin): the fake answers Maia's URLs, the user's mocks answer
theirs, in either nesting order, and an offline test never reaches the network.

Each test runs a user's suite with pytester. Its conftest refuses any host name lookup
(``socket.getaddrinfo``) other than loopback, so a request that would have gone to the
real API host fails the test instead of leaving the machine.
"""

from __future__ import annotations

import pytest

# What every generated suite shares: a network guard, and the user's own service.
CONFTEST = """
import socket

import pytest

_real = socket.getaddrinfo
LOOKED_UP = []


def _guarded(host, *args, **kwargs):
    if host not in ("127.0.0.1", "localhost", "::1"):
        LOOKED_UP.append(host)
        raise OSError(f"network guard: {host} looked up")
    return _real(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _guarded)
    yield
    assert not LOOKED_UP, f"the test reached for the network: {LOOKED_UP}"
"""

USER_URL = "https://warehouse.example.com/api/rows"


def _run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(source)
    return pytester.runpytest("-p", "no:randomly", *args)


def test_responses_activate_beside_maia_fixtures_in_either_order(
    pytester: pytest.Pytester,
) -> None:
    # @responses.activate starts the user's mock inside the test, after maia_fake (the
    # fake is outer); the fixture below starts it before maia_fake (the fake is inner).
    result = _run(
        pytester,
        f"""
        import pytest
        import requests
        import responses

        @responses.activate
        def test_decorator_inside_the_fake(maia_pipeline, maia_fake):
            responses.get("{USER_URL}", json={{"rows": 3}})
            run = maia_pipeline.run("daily-load")
            run.assert_success()
            assert requests.get("{USER_URL}").json() == {{"rows": 3}}
            # plain requests to the fake's URL: the fake answers, not the user's mock
            eid = maia_fake.add_execution("p", "SUCCESS")
            url = maia_fake.status_url("p", eid)
            assert requests.get(url, headers={{"Authorization": "Bearer t"}}).json() == {{
                "status": "SUCCESS"
            }}

        @pytest.fixture
        def mocked():
            with responses.RequestsMock() as mock:
                mock.get("{USER_URL}", json={{"rows": 4}})
                yield mock

        def test_mock_started_before_the_fake(mocked, maia_pipeline, maia_fake):
            maia_pipeline.run("daily-load").assert_success()
            assert requests.get("{USER_URL}").json() == {{"rows": 4}}
            eid = maia_fake.add_execution("p", "FAILED")
            url = maia_fake.status_url("p", eid)
            assert requests.get(url, headers={{"Authorization": "Bearer t"}}).json() == {{
                "status": "FAILED"
            }}

        def test_mock_started_inside_a_test_with_a_catch_all(maia_status, maia_fake):
            eid = maia_fake.add_execution(maia_status.project_id, ["RUNNING", "SUCCESS"])
            with responses.RequestsMock() as mock:
                # the user's mock refuses everything it does not know: not Maia's URLs
                mock.get("{USER_URL}", json={{"rows": 5}})
                maia_status.assert_success(eid)
                assert requests.get("{USER_URL}").json() == {{"rows": 5}}
                with pytest.raises(requests.ConnectionError, match="refused by Responses"):
                    requests.get("https://warehouse.example.com/unknown")
        """,
    )
    result.assert_outcomes(passed=3)


def test_a_passthrough_in_the_users_mock_never_reaches_the_real_api(
    pytester: pytest.Pytester,
) -> None:
    # A user who added a pass-through for Maia's host (to "let the fake through") must
    # still get the fake's answers; the network guard fails the test otherwise.
    result = _run(
        pytester,
        """
        import pytest
        import requests
        import responses

        def test_passthrough(maia_fake, maia_status):
            with responses.RequestsMock() as mock:
                mock.add_passthru("https://eu1.api.matillion.com")
                eid = maia_fake.add_execution(maia_status.project_id, "SUCCESS")
                maia_status.assert_success(eid)
                answer = requests.get(
                    maia_fake.status_url("p", eid), headers={"Authorization": "Bearer t"}
                )
                assert answer.status_code == 404  # the fake's answer: no such execution

        def test_the_guard_sees_a_real_lookup(maia_fake):
            # outside the fake's base URL the pass-through is the user's: it goes on to
            # the network, which the guard refuses and reports at teardown
            with responses.RequestsMock() as mock:
                mock.add_passthru("https://eu1.api.matillion.com")
                with pytest.raises(requests.ConnectionError):
                    requests.get("https://eu1.api.matillion.com/elsewhere")
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    # the only look-up was the one the test asked for, outside the fake's base URL
    result.stdout.fnmatch_lines(["*the test reached for the network: ?'eu1.api.matillion.com'?"])


def test_requests_mock_fixture_beside_maia_fixtures_in_either_order(
    pytester: pytest.Pytester,
) -> None:
    result = _run(
        pytester,
        f"""
        import requests

        def test_requests_mock_first(requests_mock, maia_pipeline):
            requests_mock.get("{USER_URL}", json={{"rows": 1}})
            maia_pipeline.run("daily-load").assert_success()
            assert requests.get("{USER_URL}").json() == {{"rows": 1}}

        def test_requests_mock_last(maia_pipeline, maia_fake, requests_mock):
            requests_mock.get("{USER_URL}", json={{"rows": 2}})
            maia_pipeline.run("daily-load").assert_success()
            assert requests.get("{USER_URL}").json() == {{"rows": 2}}

        def test_requests_mock_real_http_hands_maia_urls_to_the_fake(
            maia_fake, requests_mock
        ):
            # plain requests code under a mocker started after the fake: real_http=True
            # lets the fake answer its URLs (docs/fake.md says so)
            requests_mock.real_http = True
            eid = maia_fake.add_execution("p", "SUCCESS")
            answer = requests.get(
                maia_fake.status_url("p", eid), headers={{"Authorization": "Bearer t"}}
            )
            assert answer.json() == {{"status": "SUCCESS"}}
        """,
        "-p",
        "requests_mock",
    )
    result.assert_outcomes(passed=3)


def test_pytest_responses_plugin_leaves_maia_runs_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest-responses starts `responses` for every test, refusing unknown URLs.
    monkeypatch.delenv("PYTEST_ADDOPTS")
    result = _run(
        pytester,
        f"""
        import pytest
        import requests
        import responses

        @pytest.mark.maia_start("daily-load")
        def test_started_ahead(maia_run):
            maia_run.assert_success()

        @pytest.mark.maia_start("nightly-load")
        def test_started_ahead_too(maia_run):
            maia_run.assert_success()

        def test_waits_and_the_users_mock(maia_pipeline):
            responses.get("{USER_URL}", json={{"rows": 7}})
            maia_pipeline.run("daily-load").assert_success()
            assert requests.get("{USER_URL}").json() == {{"rows": 7}}

        def test_the_plugin_still_refuses_the_rest():
            with pytest.raises(requests.ConnectionError):
                requests.get("https://warehouse.example.com/other")
        """,
        "-p",
        "pytest-responses",
        "-p",
        "no:requests_mock",
    )
    result.assert_outcomes(passed=4)
