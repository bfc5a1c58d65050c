"""Ready for the registry: what the package page, the sdist and the command line show.

CI builds the sdist and the wheel, runs ``twine check`` and installs each (``.ci/run``,
"packaging"); these tests hold what that cannot see.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from pytest_maia import __version__
from pytest_maia.cli.main import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_maia_status_version_prints_the_package_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"maia-status (pytest-maia) {__version__}"


def test_the_license_file_is_the_mit_license_the_metadata_names() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


def test_the_changelog_keeps_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text
    assert re.search(r"^## \[Unreleased\]$", text, re.M)
    assert "core" in text and "plugin" in text  # the package regrouping is listed


def test_readme_links_work_on_the_registry_page() -> None:
    """The registry shows README.md away from the repository: a relative link 404s there.
    Every link is absolute, and one into this repository names a file that exists."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = LINK.findall(text)
    assert len(links) > 10
    assert [link for link in links if not link.startswith("https://")] == []
    prefix = f"{REPOSITORY}/blob/main/"
    ours = [link[len(prefix) :].split("#")[0] for link in links if link.startswith(prefix)]
    assert "docs/tutorial.md" in ours
    assert [path for path in ours if not (ROOT / path).is_file()] == []
    assert "pip install pytest-maia" in text


def test_the_project_urls_point_at_the_repository() -> None:
    urls = PYPROJECT["project"]["urls"]
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith(REPOSITORY) for url in urls.values())


def test_the_sdist_ships_what_its_own_tests_read() -> None:
    shipped = set(PYPROJECT["tool"]["hatch"]["build"]["targets"]["sdist"]["include"])
    # tests/test_bench.py runs bench/run.py; the docs tests read docs/ and mkdocs.yml.
    assert {"bench", "docs", "examples", "tests", "mkdocs.yml", "conftest.py"} <= shipped
    assert {"LICENSE", "CHANGELOG.md", "README.md"} <= shipped


def test_the_vendors_openapi_excerpt_is_credited_where_it_ships() -> None:
    head = (ROOT / "tests" / "spec" / "pipeline-execution-status.openapi.yaml").read_text(
        encoding="utf-8"
    )[:600]
    assert "Matillion" in head and "excerpt" in head
    assert "not cover" in head  # our license does not claim it
