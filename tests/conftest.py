"""What the tests share: constants, the Hypothesis profile, and fixtures.

Test modules import the constants (``from conftest import BASE``: pytest puts this
directory on ``sys.path`` and this file is the last ``conftest`` it imports).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import responses
from fake_target import Target

from pytest_maia import FakeMaia, VirtualClock
from pytest_maia.client.token_endpoint import TOKEN_URL

# The API of the default region, a project and an execution for tests that need any.
BASE = "https://eu1.api.matillion.com/dpc"
PROJECT = "proj-1"
EXECUTION = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
STATUS_URL = f"{BASE}/v1/projects/{PROJECT}/pipeline-executions/{EXECUTION}/status"
# Bearer values no real token can be: control characters, whitespace, placeholders.
BAD_BEARERS = [
    b"abc\r",
    b"ab\rc",
    b"abc\n",
    b"ab\nc",
    b"ab\x00c",
    b"abc\t",
    b"ab\tc",
    b"abc ",
    b"ab c",
    b"None",
    b"null",
    b"undefined",
    b"",
]


def problem(status: int, title: str, detail: str, **extra: object) -> dict[str, object]:
    """An RFC 9457 problem body as the API sends one."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def add_token(api: responses.RequestsMock, token: str, expires_in: object = 1800) -> None:
    """The default token endpoint answers once with ``token``."""
    api.post(
        TOKEN_URL, json={"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}
    )


# Test processes allocate far more than the library does in use (Hypothesis draws, pytester
# runs): at Python's default young-generation threshold (700) the three xdist workers spent
# ~4 CPU-s in 4,500 collections; at 10,000 they spend ~1.8 s. Cycles are still collected.
# Measured again with the main step split off: 28.3 CPU-s without this, 26.1 with it.
gc.set_threshold(10_000, 20, 20)
# The process ends after the session: the interpreter's last full scans over every object
# a test process made are wasted work (0.2-0.6 s an xdist worker, at the end of the run).
atexit.register(gc.freeze)


# Hypothesis profiles: ``dev`` (the default) is quick for a test run that answers in
# seconds; ``ci`` (HYPOTHESIS_PROFILE=ci, as .ci/run sets) draws Hypothesis' default 100
# examples. Neither has a deadline nor the too-slow health check: those assert wall-clock
# speed, which fails on a loaded machine (speed budgets live in bench/run.py).
HYPOTHESIS_PROFILES = {"dev": 20, "ci": 100}


def pytest_configure(config: pytest.Config) -> None:
    """Load the Hypothesis profile of these tests, where tests run."""
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no test: importing Hypothesis costs it 0.5 s
    from hypothesis import HealthCheck, settings

    for name, examples in HYPOTHESIS_PROFILES.items():
        settings.register_profile(
            name,
            max_examples=examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
    profile = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    if profile not in HYPOTHESIS_PROFILES:
        raise pytest.UsageError(
            f"HYPOTHESIS_PROFILE={profile!r}: choose one of {', '.join(HYPOTHESIS_PROFILES)}"
        )
    settings.load_profile(profile)


# A test that starts a process is an end-to-end test: marked ``e2e``, it runs in its own
# CI step, so the main step answers in seconds. An unmarked one fails, saying so.
_running: list[pytest.Item] = []
_popen_init = subprocess.Popen.__init__


def _checked_popen_init(self: subprocess.Popen[bytes], *args: object, **kwargs: object) -> None:
    item = _running[-1] if _running else None
    if item is not None and item.get_closest_marker("e2e") is None:
        raise AssertionError(
            f"{item.nodeid} starts a process: mark it @pytest.mark.e2e (it then runs in "
            "the end-to-end step of .ci/run), or keep it in this process"
        )
    _popen_init(self, *args, **kwargs)  # type: ignore[arg-type]


subprocess.Popen.__init__ = _checked_popen_init  # type: ignore[method-assign]


# A test that hangs fails after this many seconds instead of holding CI (pytest-timeout,
# of the test extra). Not an ini key: `pytest examples` runs without the test extra, and
# --strict-config refuses an ini key no installed plugin knows.
TEST_TIMEOUT = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


@contextlib.contextmanager
def fake_server_process(script: dict[str, object], directory: Path) -> Iterator[tuple[str, str]]:
    """``maia-status fake-server --script`` in its own process: (base URL, token URL line)."""
    path = directory / "script.json"
    path.write_text(json.dumps(script))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_maia", "fake-server", "--script", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
    try:
        yield url, proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)  # closes the pipes too
    assert proc.returncode == 0  # SIGTERM stops the server cleanly


# Pytest plugins our test extra installs (for schemathesis, Hypothesis, pytest-html and the
# benchmarks' baseline) that generated test runs do not use unless they ask (PYTEST_HTML,
# ``-p rerunfailures``). Each pytest process that loads them pays for it: a child pytest
# run of one test costs 744 ms of CPU with them and 194 ms without (median of 8, bytecode on).
UNUSED_PLUGINS = (
    *("-p", "no:schemathesis", "-p", "no:anyio", "-p", "no:hypothesispytest"),
    *("-p", "no:pytest_httpserver", "-p", "no:platformdirs", "-p", "no:xdist.looponfail"),
    *("-p", "no:html", "-p", "no:html_fixtures", "-p", "no:metadata"),
    *("-p", "no:rerunfailures", "-p", "no:timeout"),
    # the HTTP mocks tests/test_mock_coexistence.py runs beside the fake, when it asks
    *("-p", "no:pytest-responses", "-p", "no:requests_mock"),
)
# What a generated run that writes a pytest-html page asks for (pytest-html needs metadata).
PYTEST_HTML = ("-p", "metadata", "-p", "html", "-p", "html_fixtures")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a ``python -m pytest`` child: ours, without unused plugins."""
    return {**os.environ, "PYTEST_ADDOPTS": " ".join(UNUSED_PLUGINS), **extra}


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytest's ``pytester``, its runs (and their xdist workers) without unused plugins."""
    monkeypatch.setenv("PYTEST_ADDOPTS", " ".join(UNUSED_PLUGINS))
    return pytester


@pytest.fixture
def sigint_reaches_children() -> Iterator[None]:
    """Children started in the test take SIGINT as Ctrl-C, as from a terminal.

    A shell's background job (``cmd &`` in a script) ignores SIGINT, and an ignored
    signal stays ignored in every child: Python then installs no KeyboardInterrupt.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """`responses` registrations for the test; unmatched requests fail."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock at 0 for the client under test."""
    return VirtualClock()


@dataclass
class Served:
    """A fake behind one adapter: requests go to ``base_url`` (and ``token_url``)."""

    fake: FakeMaia
    base_url: str
    token_url: str


@pytest.fixture
def fake_to_serve() -> FakeMaia:
    """The fake ``served`` puts behind each adapter; a module overrides it to script one."""
    return FakeMaia()


@pytest.fixture(params=["in_process", "server"])
def served(request: pytest.FixtureRequest, fake_to_serve: FakeMaia) -> Iterator[Served]:
    """``fake_to_serve`` intercepted in-process, then served on loopback HTTP: a test
    using this runs once through each adapter."""
    fake = fake_to_serve
    if request.param == "in_process":
        with fake:
            yield Served(fake, fake.base_url, fake.token_url)
    else:
        with fake.serve() as server:
            yield Served(fake, server.url, server.token_url)


@pytest.fixture
def target(served: Served) -> Target:
    """``served`` driven with plain requests (tests/fake_target.py); a module that uses it
    overrides ``fake_to_serve``."""
    return Target(served.fake, served.base_url, served.token_url)
