"""The package's import graph (``tests/import_graph.py``): no module imports itself round
a circle.
"""

from __future__ import annotations

from import_graph import cycles, import_graph


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
