"""The in-process adapter (pytest_maia.fake._inprocess): only the base URL is intercepted, and
another Maia host under the fake fails at once; clocks; lifecycle; imports."""

from __future__ import annotations

import pytest
import requests
import requests.adapters
import responses

from pytest_maia import MaiaClient, MaiaError, VirtualClock
from pytest_maia.fake import FakeMaia

AUTH = {"Authorization": "Bearer t"}


def test_other_hosts_pass_through_to_a_real_server() -> None:
    backend = FakeMaia()
    eid = backend.add_execution("p", "FAILED")
    with backend.serve() as server, FakeMaia() as fake:
        mine = fake.add_execution("p", "SUCCESS")
        # The loopback server is another host: it answers, not the in-process fake.
        url = f"{server.url}/v1/projects/p/pipeline-executions/{eid}/status"
        assert requests.get(url, headers=AUTH).json() == {"status": "FAILED"}
        assert requests.get(fake.status_url("p", mine), headers=AUTH).json() == {
            "status": "SUCCESS"
        }
    assert len(backend.calls) == 1
    assert len(fake.calls) == 1


def test_other_urls_reach_an_outer_responses_mock_untouched() -> None:
    with responses.RequestsMock() as outer:
        outer.get("https://example.com/thing", json={"outer": True})
        outer.get("https://eu1.api.matillion.com/other", json={"outer": "same host"})
        with FakeMaia() as fake:
            assert requests.get("https://example.com/thing").json() == {"outer": True}
            # Same host, outside the base path: not the fake's either.
            assert requests.get("https://eu1.api.matillion.com/other").json() == {
                "outer": "same host"
            }
            assert requests.get(fake.base_url + "/v1/x", headers=AUTH).status_code == 404
        assert fake.calls[0].path == "/dpc/v1/x"


def test_base_url_prefix_is_matched_on_a_path_boundary() -> None:
    with responses.RequestsMock() as outer:
        outer.get("https://eu1.api.matillion.com/dpcx/v1", json={"outer": True})
        with FakeMaia() as fake:
            assert requests.get("https://eu1.api.matillion.com/dpcx/v1").json() == {"outer": True}
            response = requests.get("https://EU1.api.matillion.com/dpc?x=1", headers=AUTH)
            assert response.status_code == 404
    assert [call.path for call in fake.calls] == ["/dpc"]


def test_a_client_waits_on_the_clock_it_is_given_not_on_the_fakes() -> None:
    clock = VirtualClock()
    with FakeMaia(clock=clock) as fake:
        assert fake.active
        assert fake.client().clock is clock
        plain = MaiaClient(fake.base_url, token="t")
        assert plain.clock is not clock  # nothing is looked up by URL
    assert not fake.active


def test_patch_is_undone_and_the_fake_can_be_reused() -> None:
    original = requests.Session.send
    fake = FakeMaia()
    eid = fake.add_execution("p", ["RUNNING", "SUCCESS"])
    with fake:
        assert requests.Session.send is not original
        requests.get(fake.status_url("p", eid), headers=AUTH)
    assert requests.Session.send is original
    fake.start()
    try:
        assert requests.get(fake.status_url("p", eid), headers=AUTH).json()["status"] == "SUCCESS"
    finally:
        fake.stop()
    fake.stop()  # a second stop is a no-op
    assert requests.Session.send is original


def test_entering_an_active_fake_twice_is_an_error() -> None:
    with FakeMaia() as fake, pytest.raises(MaiaError, match="already active"):
        fake.start()


def test_two_fakes_on_different_base_urls() -> None:
    with FakeMaia() as eu, FakeMaia("https://us1.api.matillion.com/dpc") as us:
        eu_id = eu.add_execution("p", "SUCCESS")
        us_id = us.add_execution("p", "FAILED")
        assert requests.get(eu.status_url("p", eu_id), headers=AUTH).json()["status"] == "SUCCESS"
        assert requests.get(us.status_url("p", us_id), headers=AUTH).json()["status"] == "FAILED"
        assert us.client().clock is us.clock
    assert (len(eu.calls), len(us.calls)) == (1, 1)


def test_request_body_and_query_do_not_break_routing() -> None:
    with FakeMaia() as fake:
        eid = fake.add_execution("p", "SUCCESS")
        response = requests.get(fake.status_url("p", eid) + "?verbose=1", headers=AUTH)
        assert response.json() == {"status": "SUCCESS"}
        posted = requests.post(fake.status_url("p", eid), json={"a": 1}, headers=AUTH)
        assert posted.status_code == 405


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_another_maia_host_under_the_fake_fails_at_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests
        from pytest_maia import MaiaClient, MaiaConfigError

        def test_other_region(maia_fake):
            client = MaiaClient(region="us1", token="t")
            client.get_status("p", "3fa85f64-5717-4562-b3fc-2c963f66afa6")

        def test_other_hosts_pass_through(maia_fake):
            with pytest.raises(requests.ConnectionError):
                requests.get("http://127.0.0.1:9/nothing", timeout=5)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E *pytest_maia.core.errors.MaiaConfigError: the fake Maia API serves "
            "https://eu1.api.matillion.com/dpc, but this request went to "
            "https://us1.api.matillion.com/dpc/v1/projects/p/*: point the client at the fake*"
        ]
    )
