"""The loopback server adapter: non-`requests` clients, threads, drops, quiet, loopback only."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request

import httpx
import pytest

from pytest_maia import MaiaValidationError, VirtualClock
from pytest_maia.fake import FakeMaia

TOKEN = "tok-SEKRIT-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def status_url(base: str, project: str, execution: str) -> str:
    return f"{base}/v1/projects/{project}/pipeline-executions/{execution}/status"


def urlopen_status(url: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers=AUTH)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_url_has_the_base_path_and_a_real_port() -> None:
    fake = FakeMaia()
    with fake.serve() as server:
        assert server.url == f"http://127.0.0.1:{server.port}/dpc"
        assert server.port > 0
        assert server.fake is fake


def test_eight_threads_with_urllib_each_see_their_own_lifecycle() -> None:
    fake = FakeMaia(token=TOKEN)
    steps = 25
    ids = {}
    for n in range(8):
        lifecycle = ["RUNNING"] * (steps - 1) + (["SUCCESS"] if n % 2 else ["FAILED"])
        ids[n] = fake.add_execution(f"project-{n}", lifecycle)
    results: dict[int, list[tuple[int, object]]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(n: int, base: str) -> None:
        try:
            barrier.wait(timeout=10)
            seen = []
            for _ in range(steps):
                code, body = urlopen_status(status_url(base, f"project-{n}", ids[n]))
                seen.append((code, body["status"]))
            results[n] = seen
        except BaseException as exc:  # surfaced below, in the main thread
            errors.append(exc)

    with fake.serve() as server:
        threads = [threading.Thread(target=worker, args=(n, server.url)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    for n in range(8):
        last = "SUCCESS" if n % 2 else "FAILED"
        assert results[n] == [(200, "RUNNING")] * (steps - 1) + [(200, last)]
        assert fake.polls(ids[n]) == steps
    assert len(fake.calls) == 8 * steps


def test_httpx_client_sees_errors_and_retry_after() -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", [FakeMaia.error(429, retry_after=4), "SUCCESS"])
    with fake.serve() as server, httpx.Client(headers=AUTH) as client:
        url = status_url(server.url, "p", eid)
        first = client.get(url)
        second = client.get(url)
        missing = httpx.get(url)  # no token
    assert first.status_code == 429
    assert first.headers["retry-after"] == "4"
    assert first.headers["content-type"] == "application/problem+json"
    assert first.json()["instance"] == f"/dpc/v1/projects/p/pipeline-executions/{eid}/status"
    assert second.json() == {"status": "SUCCESS"}
    assert missing.status_code == 401


def test_dropped_connection_closes_the_socket_without_a_response() -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", [FakeMaia.dropped_connection(), "SUCCESS"])
    with fake.serve() as server:
        url = status_url(server.url, "p", eid)
        with pytest.raises(http.client.RemoteDisconnected):
            urllib.request.urlopen(urllib.request.Request(url, headers=AUTH), timeout=10)
        fake.fail_next(FakeMaia.dropped_connection())
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url, headers=AUTH)
        assert urlopen_status(url) == (200, {"status": "SUCCESS"})


def test_percent_encoded_project_ids_reach_the_backend_raw() -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("a b%2Fc", "SUCCESS")
    with fake.serve() as server:
        assert urlopen_status(status_url(server.url, "a%20b%252Fc", eid))[0] == 200
    assert fake.calls[0].path == f"/dpc/v1/projects/a%20b%252Fc/pipeline-executions/{eid}/status"


def test_server_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", [FakeMaia.dropped_connection(), "SUCCESS"])
    with fake.serve() as server:
        url = status_url(server.url, "p", eid)
        with pytest.raises(http.client.RemoteDisconnected):
            urllib.request.urlopen(urllib.request.Request(url, headers=AUTH), timeout=10)
        urlopen_status(url)
        urlopen_status(server.url + "/nowhere")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_server_clients_wait_on_the_fakes_clock() -> None:
    clock = VirtualClock()
    with FakeMaia(clock=clock).serve() as server:
        assert server.client().clock is clock
        assert server.fake.clock is clock


def test_server_stops_listening_on_exit() -> None:
    with FakeMaia().serve() as server:
        port = server.port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_state_is_shared_between_adapters() -> None:
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", ["RUNNING", "SUCCESS"])
    with fake, fake.serve() as server:
        import requests

        assert requests.get(fake.status_url("p", eid), headers=AUTH).json()["status"] == "RUNNING"
        assert urlopen_status(status_url(server.url, "p", eid)) == (200, {"status": "SUCCESS"})
    assert fake.polls(eid) == 2


@pytest.mark.parametrize("host", ["0.0.0.0", "example.com", "10.0.0.1", "", "::"])
def test_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(MaiaValidationError, match="loopback"), FakeMaia().serve(host):
        pass


@pytest.mark.parametrize("port", [-1, 70000, True, "80"])
def test_refuses_bad_ports(port: object) -> None:
    with pytest.raises(MaiaValidationError, match="port"), FakeMaia().serve(port=port):  # type: ignore[arg-type]
        pass


def test_a_taken_port_is_a_typed_error_naming_it() -> None:
    with FakeMaia().serve() as first:
        message = f"cannot listen on 127.0.0.1 port {first.port}: Address already in use"
        with pytest.raises(MaiaValidationError, match=message) as info:
            FakeMaia().serve(port=first.port).__enter__()
    assert "port=0 for a free one" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this environment")
    fake = FakeMaia(token=TOKEN)
    eid = fake.add_execution("p", "SUCCESS")
    try:
        context = fake.serve("::1")
        server = context.__enter__()
    except OSError:
        pytest.skip("::1 is not available here")
    try:
        assert server.url.startswith("http://[::1]:")
        assert urlopen_status(status_url(server.url, "p", eid)) == (200, {"status": "SUCCESS"})
    finally:
        context.__exit__(None, None, None)
