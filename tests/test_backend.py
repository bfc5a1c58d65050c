"""The backend is an enum the code asks what it does (virtual time, may it record, may it
reach the network), and a clock says whether it is real: regressions of the string
comparisons and the ``isinstance(clock, SystemClock)`` test they replace."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from pytest_maia.core.backend import Backend
from pytest_maia.core.clock import SystemClock, VirtualClock, is_real
from pytest_maia.core.settings import resolve_settings
from pytest_maia.fake import FakeMaia
from pytest_maia.fake.server import FakeServer

TOKEN = "tok-BACKEND-5d9e71aa"
PROJECT = "backend-project"
SLOW = "bbbbbbbb-0000-4000-8000-000000000001"


def test_each_backend_says_what_it_does() -> None:
    assert [b for b in Backend if b.virtual_time] == [Backend.FAKE, Backend.REPLAY]
    assert [b for b in Backend if b.reaches_network] == [Backend.LIVE]
    assert [b for b in Backend if b.may_record] == [Backend.LIVE]
    assert [b for b in Backend if b.scripted_by_test] == [Backend.FAKE]
    assert [b for b in Backend if b.replays] == [Backend.REPLAY]
    assert all(b.offline is not b.reaches_network for b in Backend)


def test_settings_resolve_the_backend_to_the_enum_and_print_its_name() -> None:
    settings = resolve_settings(
        lambda name: "REPLAY" if name == "backend" else None, lambda k: None, {}
    )
    assert settings.backend is Backend.REPLAY
    assert "backend=replay," in settings.header()
    assert f"{Backend.LIVE}" == str(Backend.LIVE) == "live"


@pytest.fixture
def recording_api() -> Iterator[FakeServer]:
    fake = FakeMaia(token=TOKEN)
    # Per poll: RUNNING three times, then SUCCESS; recorded in real time.
    fake.add_execution(PROJECT, ["RUNNING"] * 3 + ["SUCCESS"], execution_id=SLOW)
    with fake.serve() as server:
        yield server


INNER = f"""
def test_slow(maia_status):
    maia_status.assert_success("{SLOW}")
"""


def test_replay_summary_says_its_seconds_are_virtual(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, recording_api: FakeServer
) -> None:
    for name in ("MAIA_CLIENT_ID", "MAIA_CLIENT_SECRET", "MAIA_BACKEND", "MAIA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAIA_PROJECT_ID", PROJECT)
    monkeypatch.setenv("MAIA_POLL_INTERVAL", "0.05")
    pytester.makepyfile(test_slow=INNER)
    cassettes = pytester.path / "cassettes"
    monkeypatch.setenv("MAIA_TOKEN", TOKEN)
    live = pytester.runpytest_inprocess(
        "--maia-backend=live",
        f"--maia-base-url={recording_api.url}",
        f"--maia-cassettes={cassettes}",
    )
    live.assert_outcomes(passed=1)
    assert "elapsed (virtual)" not in live.stdout.str()  # live waits are real seconds

    monkeypatch.delenv("MAIA_TOKEN")
    monkeypatch.setenv("MAIA_POLL_INTERVAL", "5")
    replay = pytester.runpytest_inprocess("--maia-backend=replay", f"--maia-cassettes={cassettes}")
    replay.assert_outcomes(passed=1)
    # Replay runs on the fake's virtual clock: its summary says so, as the HTML report does.
    assert "elapsed (virtual)" in replay.stdout.str(), replay.stdout.str()


def test_each_clock_says_whether_it_is_real() -> None:
    assert is_real(SystemClock()) and not is_real(VirtualClock())

    class UserClock:  # a user's own clock that says nothing is taken as real
        def now(self) -> float:
            return time.monotonic()

        def sleep(self, seconds: float) -> None:
            time.sleep(seconds)

    assert is_real(UserClock())


def test_a_users_own_real_clock_keeps_the_socket_deadline() -> None:
    """A server that never answers: a user's own real clock still cuts the request at the
    wait's timeout (it was left with no socket deadline when only SystemClock counted)."""
    import socket

    from pytest_maia import MaiaClient, MaiaTimeoutError

    class UserClock:
        def now(self) -> float:
            return time.monotonic()

        def sleep(self, seconds: float) -> None:
            time.sleep(seconds)

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # accepted, never answered
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        client = MaiaClient(
            f"http://127.0.0.1:{port}", token="t" * 20, clock=UserClock(), timeout=60
        )
        begun = time.monotonic()
        with pytest.raises(MaiaTimeoutError):
            client.wait_for(PROJECT, SLOW, timeout=1.0, interval=0.1, max_interval=0.1)
        # Bounded by the timeout it set plus generous slack (the client's own read timeout is 60 s).
        assert time.monotonic() - begun < 1.0 + 30
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in held:
            conn.close()
