"""What pytest-maia imports is declared, and it behaves alike across the declared range.

CI runs the suite twice: with the latest versions, and (`.ci/run`, "lowest versions") with
the lowest versions pyproject allows, urllib3 1.26 among them. The tests below hold what
differs between the two ends; the truncation tests in ``test_waiting_faults.py`` (a body cut
off mid-way is a dropped connection, not a short body) are the other half.
"""

from __future__ import annotations

import ast
import gc
import re
import socket
import sys
from pathlib import Path

import pytest

from pytest_maia import ExecutionStatus, MaiaClient
from pytest_maia.fake import FakeMaia

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
# Import names that differ from their distribution's name.
DISTRIBUTION = {"yaml": "pyyaml"}


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    for requirement in project["dependencies"]:
        match = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert match, requirement
        names.add(match.group(0).lower().replace("_", "-"))
    return names


def imported_by_the_package() -> set[str]:
    """Top-level modules that pytest_maia imports, outside the standard library."""
    found: set[str] = set()
    for path in (ROOT / "pytest_maia").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {
        name
        for name in found
        if name not in sys.stdlib_module_names
        and name not in ("pytest_maia", "_pytest", "_typeshed")  # _typeshed: types only
    }


def test_the_declared_dependencies_are_exactly_what_the_package_imports() -> None:
    """Each module imported is declared (urllib3 was not), and each declared one is used
    (``responses`` stayed declared after the fake stopped importing it)."""
    needed = {DISTRIBUTION.get(name, name) for name in imported_by_the_package()}
    assert {"requests", "urllib3", "hypothesis", "pytest", "filelock"} <= needed
    assert sorted(needed - declared()) == []
    assert sorted(declared() - needed) == []


def test_urllib3_is_declared_with_the_range_ci_tests() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (urllib3,) = [r for r in project["dependencies"] if r.startswith("urllib3")]
    assert urllib3 == "urllib3>=1.26.5,<3"


def idle_sockets(client: MaiaClient) -> list[socket.socket]:
    session = client._calls._session  # the client's own session, as new_session() built it
    pools = session.get_adapter("http://").poolmanager.pools
    return [
        conn.sock
        for key in pools.keys()  # noqa: SIM118 (urllib3 refuses plain iteration)
        for conn in list(pools[key].pool.queue)
        if conn is not None and conn.sock is not None
    ]


def test_a_client_dropped_without_close_leaves_no_socket_open() -> None:
    """urllib3 2 closes a collected pool's sockets itself, 1.26 does not: the client's own
    pools do it there, so a user's ``filterwarnings = error`` sees no ResourceWarning
    (raised at some later, unrelated point, wherever the collector runs)."""
    fake = FakeMaia()
    execution = fake.add_execution("p", "SUCCESS")
    fake.fail_next(429, times=2, retry_after=1)  # answers that keep the connection open
    with fake.serve() as server:
        client = MaiaClient(server.url, token="t", clock=fake.clock)
        assert client.get_status("p", execution) is ExecutionStatus.SUCCESS
        kept = idle_sockets(client)
        assert kept and all(sock.fileno() != -1 for sock in kept)
        del client
        gc.collect()
        assert [sock for sock in kept if sock.fileno() != -1] == []


@pytest.mark.parametrize(
    ("text", "microsecond"),
    [("2026-01-01T00:00:00.37063Z", 370630), ("2026-01-01T00:00:00.1234567+01:00", 123456)],
)
def test_a_date_time_with_any_number_of_fraction_digits_parses_on_every_python(
    text: str, microsecond: int
) -> None:
    """RFC 3339 allows any number; Python 3.10's ``fromisoformat`` took only 3 or 6
    (the audit-events conformance test failed on 3.10 with a 5-digit ``from``)."""
    from pytest_maia.fake._instants import parse_datetime

    when = parse_datetime(text)
    assert when is not None and when.microsecond == microsecond
