"""State shared by processes (pytest_maia.core.shared_state): one dict behind a file lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_maia.core.shared_state import FileState, SharedStateError


def test_file_state_is_one_dict_for_every_opener(tmp_path: Path) -> None:
    first, second = FileState(tmp_path), FileState(tmp_path)
    with first.transaction() as data:
        data["n"] = 1
    with second.transaction() as data:
        data["n"] += 1
    with first.transaction() as data:
        assert data == {"n": 2}

    def spoil() -> None:
        with second.transaction() as data:
            data["n"] = 99
            raise RuntimeError("nothing is written")

    with pytest.raises(RuntimeError):
        spoil()
    with first.transaction() as data:
        assert data["n"] == 2


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"runs": {"a', "is not valid JSON"),  # cut short mid-write
        ("", "is empty"),  # truncated to nothing
        ("[1, 2]", "holds a JSON list, not an object"),  # written over
    ],
)
def test_a_damaged_state_file_is_an_error_naming_it_never_an_empty_dict(
    tmp_path: Path, content: str, why: str
) -> None:
    state = FileState(tmp_path)
    with state.transaction() as data:
        data["runs"] = {"t": {"id": "kept"}}
    state.path.write_text(content, encoding="utf-8")
    with pytest.raises(SharedStateError) as caught, state.transaction():
        pass
    assert str(state.path) in str(caught.value) and why in str(caught.value)
    assert state.path.read_text(encoding="utf-8") == content  # nothing written over it


def test_a_missing_state_file_is_a_fresh_empty_state(tmp_path: Path) -> None:
    with FileState(tmp_path / "new").transaction() as data:
        assert data == {}
