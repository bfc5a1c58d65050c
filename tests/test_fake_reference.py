"""Every public member of FakeMaia is documented, as the API reference (mkdocstrings, via
griffe) sees it, and the reference page names the class."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_maia.fake import FakeMaia

ROOT = Path(__file__).parent.parent


@pytest.mark.e2e
def test_every_public_member_of_fakemaia_has_a_docstring_in_the_reference() -> None:
    import griffe  # here, not at collection: only the worker running this test pays for it

    loaded = griffe.load("pytest_maia.fake", search_paths=[str(ROOT)])
    cls = loaded["FakeMaia"]
    public = {name for name in dir(FakeMaia) if not name.startswith("_")}
    public |= {"base_url", "token_url", "clock"}  # instance attributes
    missing = sorted(
        name
        for name in public
        if name not in cls.members
        or cls.members[name].docstring is None
        or not cls.members[name].docstring.value.strip()
    )
    assert missing == []
    assert len(public) >= 25


def test_the_reference_page_shows_the_fake_and_its_server() -> None:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert "::: pytest_maia.fake.FakeMaia" in text
    assert "::: pytest_maia.fake.server.FakeServer" in text
