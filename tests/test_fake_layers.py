"""The fake's shape, read from its source with ``ast``: three layers and no import circle.

Every import counts: module level, inside functions, and under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest_maia

PACKAGE = Path(pytest_maia.__file__).parent
FAKE = PACKAGE / "fake"
# The domain never sees HTTP; the adapters never see the domain.
DOMAIN = {"_account", "_catalog", "_errors", "_execution", "_script", "_tokens"}
HTTP_MAPPING = {"_api", "_routes", "_oauth", "_views", "_control", "_documents"}
ADAPTERS = {"_responses", "server", "_httpd", "_wire"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every module of ``modules`` that ``path`` imports, anywhere in it."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # ``from pytest_maia.fake import _views`` imports the submodule _views; a
            # name that is not a submodule comes from ``base`` itself.
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return found & modules


def graph(root: Path) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in root.rglob("*.py")}
    names = set(modules)
    return {name: imports_of(path, names) - {name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return out


def test_the_fake_has_no_import_circle() -> None:
    assert cycles(graph(FAKE)) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_domain_never_sees_http_and_the_adapters_never_see_the_domain() -> None:
    edges = graph(FAKE)

    def short(name: str) -> str:
        return name.rpartition(".")[2]

    for module, targets in edges.items():
        names = {short(t) for t in targets if t.startswith("pytest_maia.fake.")}
        if short(module) in DOMAIN:
            assert not names & (HTTP_MAPPING | ADAPTERS | {"_http", "_facade"}), module
        if short(module) in ADAPTERS:
            assert not names & (DOMAIN | HTTP_MAPPING | {"_facade"}), module


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
    # ENVIRONMENT_NAME_MAX lives in pytest_maia.endpoints, the UUID check in validation.
    for path in FAKE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "ENVIRONMENT_NAME_MAX =" not in text, path.name
        assert "[0-9a-fA-F]{8}" not in text, path.name
