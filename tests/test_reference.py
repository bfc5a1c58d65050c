"""The API reference (docs/reference.md, rendered by mkdocstrings through griffe) lists
every public name, and what it renders shows no raw Sphinx role.

mkdocstrings renders a docstring's ``:param x:`` fields, but a role such as
``:meth:`wait_for``` comes out as that raw text on the page: docstrings write
``` ``wait_for`` ``` (or a Markdown link) instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"
# `::: dotted.path` and, on the lines indented under it, an optional `members:` list.
DIRECTIVE = re.compile(r"^::: (\S+)\n((?:[ \t]+.*\n)*)", re.M)
MEMBER_LINE = re.compile(r"^\s+- (\w+)\s*$", re.M)
SPHINX_ROLE = re.compile(r":(?:py:)?(?:meth|class|func|mod|attr|exc|data|obj|const|ref):`")


def directives() -> list[tuple[str, list[str] | None]]:
    """Each `:::` target of the reference page with its `members:` list, if any."""
    text = REFERENCE.read_text(encoding="utf-8")
    found = []
    for match in DIRECTIVE.finditer(text + "\n"):
        options = match.group(2)
        members = MEMBER_LINE.findall(options) if "members:" in options else None
        found.append((match.group(1), members))
    return found


@pytest.fixture(scope="module")
def package() -> Any:
    import griffe  # here, not at collection: only the worker running this test pays for it

    # Loading a top-level package asks git for the repository's URL (a child process):
    # the reference needs none of it.
    with mock.patch.object(griffe.GitInfo, "from_package", return_value=None):
        return griffe.load("pytest_maia", search_paths=[str(ROOT)], resolve_aliases=True)


def target(package: Any, path: str) -> Any:
    assert path.startswith("pytest_maia."), path
    obj = package
    for part in path.split(".")[1:]:
        obj = obj.members[part]
    return obj.final_target if obj.is_alias else obj


def shown_members(obj: Any, only: list[str] | None) -> list[Any]:
    """The members a directive renders: its `members:` list, else the public ones."""
    if only is not None:
        return [obj.members[name] for name in only]
    return [
        member
        for name, member in obj.members.items()
        if not name.startswith("_") and (not obj.is_module or member.is_public)
    ]


def rendered(package: Any) -> tuple[set[str], list[tuple[str, str]]]:
    """The names the page documents, and (path, docstring) of everything it renders."""
    names: set[str] = set()
    docs: list[tuple[str, str]] = []

    def walk(obj: Any, only: list[str] | None = None) -> None:
        if obj.is_alias:
            obj = obj.final_target
        if obj.docstring is not None:
            docs.append((obj.path, obj.docstring.value))
        if obj.is_module or obj.is_class:
            for member in shown_members(obj, only):
                walk(member)

    for path, only in directives():
        obj = target(package, path)
        if obj.is_module:
            names.update(only if only is not None else shown_members_names(obj))
            names.add(path.rsplit(".", 1)[-1])
        else:
            names.add(obj.name)
        walk(obj, only)
    return names, docs


def shown_members_names(module: Any) -> list[str]:
    return [name for name, member in module.members.items() if member.is_public]


def test_every_directive_of_the_reference_resolves(package: Any) -> None:
    for path, only in directives():
        obj = target(package, path)
        for name in only or []:
            assert name in obj.members, f"{path} has no member {name!r}"


@pytest.mark.parametrize(
    "module", ["pytest_maia", "pytest_maia.strategies", "pytest_maia.cassette"]
)
def test_the_reference_lists_every_public_name(package: Any, module: str) -> None:
    import importlib

    public = set(importlib.import_module(module).__all__) - {"__version__"}
    names, _ = rendered(package)
    assert sorted(public - names) == []


def test_the_reference_shows_no_raw_sphinx_role(package: Any) -> None:
    _, docs = rendered(package)
    assert len(docs) > 50
    raw = sorted({path for path, text in docs if SPHINX_ROLE.search(text)})
    assert raw == []
