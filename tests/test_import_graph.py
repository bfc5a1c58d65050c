"""The package's import graph (``tests/import_graph.py``): no module imports itself round
a circle, and every import follows the layer order of docs/architecture.md (core below
client, client below fake/cassette/report/strategies, those below runs, runs below plugin
and cli).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from import_graph import cycles, import_graph

import pytest_maia.plugin.hooks


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "pytest_maia.core.errors" in graph["pytest_maia.client.maia_client"]  # at the top
    assert (
        "pytest_maia.client.budget" in graph["pytest_maia.client.maia_client"]
    )  # under TYPE_CHECKING
    assert "pytest_maia.client.maia_client" in graph["pytest_maia.cli.main"]  # inside a function
    assert (
        "pytest_maia.client.waiting" in graph["pytest_maia.client.maia_client"]
    )  # from pytest_maia import x
    assert "pytest_maia.report.html" in graph  # subpackages too
    cycle = cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert cycle == [["a", "b", "c", "a"]]


def test_no_import_circle_in_the_package() -> None:
    found = [" -> ".join(c) for c in cycles(import_graph())]
    assert not found, "import circles:\n" + "\n".join(found)


# The layers, lowest first: a module imports only from its own group or a lower layer.
LAYERS: list[tuple[str, ...]] = [
    ("core", "version"),
    ("client",),
    ("fake", "cassette", "report", "strategies", "_hypothesis"),
    ("runs",),
    ("plugin", "cli"),
    ("__main__", ""),
]
# Groups of one layer that may use each other, and why.
PEER_EDGES = {
    ("fake", "cassette"): "the fake replays a cassette (FakeMaia.load_cassette)",
    ("_hypothesis", "strategies"): "the Hypothesis entry point registers the strategies",
}


def group_of(module: str) -> str:
    """``pytest_maia.client.auth`` -> ``client``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(group: str) -> int:
    for level, groups in enumerate(LAYERS):
        if group in groups:
            return level
    raise AssertionError(f"{group!r} is in no layer: add it to LAYERS")


def layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    breaches = []
    for source, targets in graph.items():
        for target in targets:
            a, b = group_of(source), group_of(target)
            if a == b or (a, b) in PEER_EDGES:
                continue
            if layer_of(b) >= layer_of(a):
                breaches.append(f"{source} (layer {layer_of(a)}) -> {target} (layer {layer_of(b)})")
    return sorted(breaches)


def test_every_module_imports_only_its_own_group_or_lower_layers() -> None:
    breaches = layer_breaches(import_graph())
    assert not breaches, "imports against the layer order:\n" + "\n".join(breaches)


def test_the_layer_check_sees_an_upward_or_sideways_import() -> None:
    graph = {
        "pytest_maia.core.models": {"pytest_maia.client.auth"},  # up
        "pytest_maia.report.html": {"pytest_maia.fake._api"},  # sideways, not allowed
        "pytest_maia.fake._facade": {"pytest_maia.cassette.model"},  # sideways, allowed
        "pytest_maia.plugin.hooks": {"pytest_maia.core.models"},  # down
    }
    assert layer_breaches(graph) == [
        "pytest_maia.core.models (layer 0) -> pytest_maia.client.auth (layer 1)",
        "pytest_maia.report.html (layer 2) -> pytest_maia.fake._api (layer 2)",
    ]


def test_the_root_holds_at_most_five_modules() -> None:
    from import_graph import PACKAGE

    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 5, root


# What importing costs, in one fresh interpreter: each step imports a little more and
# checks what must still be absent. Warnings are errors.
IMPORT_COST = """
import sys

def absent(*names):
    loaded = [name for name in names if name in sys.modules]
    assert not loaded, f"imported too early: {loaded}"

import pytest_maia.plugin.hooks  # the pytest11 entry point: every pytest run pays for it
absent("requests", "responses", "hypothesis", "pytest_maia.fake", "wsgiref.simple_server",
       "pytest_maia.client.maia_client", "filelock", "pytest_html")

import pytest_maia, pytest_maia.report.html, pytest_maia.report.svg
absent("responses", "hypothesis", "pytest_html")

import pytest_maia.fake
absent("responses", "wsgiref.simple_server", "socketserver", "hypothesis")
pytest_maia.fake.FakeMaia().add_execution("p", "SUCCESS")

import pytest_maia.client.maia_client
absent("hypothesis", "pytest_maia.strategies")
from hypothesis import find, settings, strategies as st
absent("pytest_maia.strategies")  # the entry point registers the types lazily
status = find(
    st.from_type(pytest_maia.ExecutionStatus),
    lambda s: s.is_terminal,
    settings=settings(database=None, derandomize=True),
)
assert status is pytest_maia.ExecutionStatus.SUCCESS, status
assert "pytest_maia.strategies" in sys.modules
"""


@pytest.mark.e2e
def test_each_import_loads_only_what_it_needs() -> None:
    """One interpreter for what were four subprocess checks: the plugin, the package, the
    reports, the fake and the Hypothesis entry point each stay light."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", IMPORT_COST],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_plugin_modules_never_import_pytest_html_themselves() -> None:
    plugin = Path(pytest_maia.plugin.hooks.__file__).parent
    for path in plugin.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) pytest_html", source, re.M), path.name
