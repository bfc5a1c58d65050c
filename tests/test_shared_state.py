"""State shared by processes (pytest_maia.core.shared_state): one dict behind a file lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_maia.core.shared_state import FileState


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
