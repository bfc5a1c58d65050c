"""The fake's shape, read from the package's import graph (``tests/import_graph.py``):
three layers. (No import circle anywhere is tests/test_import_graph.py's.)"""

from __future__ import annotations

import ast
from pathlib import Path

from import_graph import import_graph

import pytest_maia

PACKAGE = Path(pytest_maia.__file__).parent
FAKE = PACKAGE / "fake"
# The domain never sees HTTP; the adapters never see the domain.
DOMAIN = {
    "_account",
    "_catalog",
    "_errors",
    "_execution",
    "_ledger",
    "_script",
    "_tokens",
    "_artifacts",
    "_cron",
    "_events",
    "_instants",
    "_operations",
    "_schedules",
    "_testruns",
}
HTTP_MAPPING = {
    "_api",
    "_routes",
    "_routes_official",
    "_oauth",
    "_views",
    "_control",
    "_documents",
    "_official",
    "_documents_official",
}
ADAPTERS = {"_inprocess", "server", "_httpd", "_wire"}
FACADE = {"_facade", "_hosting"}


def test_the_domain_never_sees_http_and_the_adapters_never_see_the_domain() -> None:
    edges = {m: t for m, t in import_graph().items() if m.startswith("pytest_maia.fake.")}

    def short(name: str) -> str:
        return name.rpartition(".")[2]

    for module, targets in edges.items():
        names = {short(t) for t in targets if t.startswith("pytest_maia.fake.")}
        if short(module) in DOMAIN:
            assert not names & (HTTP_MAPPING | ADAPTERS | FACADE | {"_http"}), module
        if short(module) in ADAPTERS:
            assert not names & (DOMAIN | HTTP_MAPPING | FACADE), module


def test_private_modules_of_the_fake_have_no_dunder_all() -> None:
    for path in FAKE.glob("_*.py"):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = [
            t.id
            for node in tree.body
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        ]
        assert "__all__" not in targets, path.name


def test_the_fake_keeps_no_copy_of_the_shared_facts() -> None:
    # ENVIRONMENT_NAME_MAX lives in pytest_maia.client.bodies, the UUID check in validation.
    for path in FAKE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "ENVIRONMENT_NAME_MAX =" not in text, path.name
        assert "[0-9a-fA-F]{8}" not in text, path.name
