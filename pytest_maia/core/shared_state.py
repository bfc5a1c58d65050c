"""State shared by the threads of one process, or by the processes of one machine.

A store hands out a ``transaction()``: a dict to read and change under a lock. The
memory store is for one process; the file store keeps the dict as JSON beside a lock
file (``filelock``), so xdist workers (or any processes given the same directory)
share it. A file that is there but is not a JSON object (cut short, or written over
while the suite ran) is a :class:`SharedStateError` naming it, never an empty dict: the
runs it listed would be forgotten. Knows nothing of pytest.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from pytest_maia.core.errors import MaiaError

__all__ = ["FileState", "MemoryState", "SharedStateError", "StateStore"]


class SharedStateError(MaiaError):
    """The shared state file is damaged, or lacks what the suite wrote in it."""


class StateStore(Protocol):
    """A dict changed only inside ``transaction()``, one holder at a time."""

    def transaction(self) -> AbstractContextManager[dict[str, Any]]: ...


class MemoryState:
    """A store for the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._data: dict[str, Any] = {}

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            yield self._data

    def damaged(self, what: str) -> SharedStateError:
        """The error for this store when it ``what``."""
        return SharedStateError(f"the suite's shared state (in memory) {what}")

    def __repr__(self) -> str:
        return "MemoryState()"


class FileState:
    """A store in ``directory/NAME.json``, guarded by ``NAME.json.lock``.

    Every process that opens the same directory sees the same dict. A transaction
    whose body raises writes nothing. ``filelock`` is imported on first use.
    """

    def __init__(self, directory: str | os.PathLike[str], name: str = "maia-shared") -> None:
        self.path = Path(directory) / f"{name}.json"
        self._threads = threading.RLock()
        self._file_lock: Any = None

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        with self._threads:
            if self._file_lock is None:
                from filelock import FileLock

                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file_lock = FileLock(str(self.path) + ".lock")
            with self._file_lock:
                data = self._read()
                yield data
                scratch = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
                scratch.write_text(json.dumps(data), encoding="utf-8")
                os.replace(scratch, self.path)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise self.damaged(f"cannot be read ({type(exc).__name__}: {exc})") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            what = "is empty" if not text.strip() else f"is not valid JSON ({exc})"
            raise self.damaged(what) from None
        if not isinstance(data, dict):
            raise self.damaged(f"holds a JSON {type(data).__name__}, not an object")
        return data

    def damaged(self, what: str) -> SharedStateError:
        """The error for this store's file when it ``what`` (says which file, and why)."""
        return SharedStateError(
            f"the suite's shared state file {self.path} {what}: it was cut short or "
            "written over while the suite ran (pytest-maia alone writes it)"
        )

    def __repr__(self) -> str:
        return f"FileState({str(self.path)!r})"
