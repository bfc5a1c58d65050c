"""The reference pages are checked against the code: every command-line option, ini key and
environment variable the plugin reads is in docs/configuration.md, and every fixture and
marker it registers is in docs/index.md. What pytest itself prints (``--help``,
``--markers``, ``--fixtures``) is the list of what exists, as a user sees it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
HOME = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")


def pytest_prints(pytester: pytest.Pytester, *args: str) -> str:
    result = pytester.runpytest(*args)  # in this process: no child is started
    return result.stdout.str()


def test_every_maia_option_and_ini_key_is_in_the_configuration_page(
    pytester: pytest.Pytester,
) -> None:
    text = pytest_prints(pytester, "--help")
    options = set(re.findall(r"(--maia-[a-z-]+)", text))
    ini_keys = set(re.findall(r"^  (maia_[a-z_]+)", text, re.M))
    assert len(options) >= 8 and len(ini_keys) >= 5
    assert sorted(o for o in options if o not in CONFIGURATION) == []
    assert sorted(k for k in ini_keys if f"`{k}`" not in CONFIGURATION) == []


def test_every_environment_variable_the_package_reads_is_in_the_configuration_page() -> None:
    names: set[str] = set()
    for path in (ROOT / "pytest_maia").rglob("*.py"):
        names |= set(re.findall(r"\"(MAIA_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    assert {"MAIA_BACKEND", "MAIA_TOKEN", "MAIA_PROJECT_ID"} <= names
    assert sorted(n for n in names if n not in CONFIGURATION) == []


def test_every_fixture_and_marker_is_on_the_home_page(pytester: pytest.Pytester) -> None:
    fixtures = set(re.findall(r"^(maia_\w+)", pytest_prints(pytester, "--fixtures"), re.M))
    markers = set(re.findall(r"@pytest\.mark\.(maia_\w+)", pytest_prints(pytester, "--markers")))
    assert len(fixtures) >= 5 and len(markers) >= 3
    assert sorted(f for f in fixtures if f"`{f}`" not in HOME) == []
    assert sorted(m for m in markers if m not in HOME) == []


def test_every_docs_page_is_in_the_site_navigation() -> None:
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]

    def pages(entries: object) -> set[str]:
        if isinstance(entries, str):
            return {entries}
        if isinstance(entries, list):
            return set().union(*(pages(entry) for entry in entries))
        if isinstance(entries, dict):
            return set().union(*(pages(value) for value in entries.values()))
        return set()

    listed = pages(nav)
    on_disk = {path.name for path in (ROOT / "docs").glob("*.md")}
    assert sorted(on_disk - listed) == []
    assert sorted(listed - on_disk) == []
    top = [next(iter(entry)) for entry in nav]
    assert top[1:] == ["Tutorial", "How-to guides", "Reference", "Explanation"]
