"""State shared by the threads of one process, or by the processes of one machine.

A store hands out a ``transaction()``: a dict to read and change under a lock. The
memory store is for one process; the file store keeps the dict as JSON beside a lock
file (``filelock``), so xdist workers (or any processes given the same directory)
share it. Knows nothing of pytest.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

__all__ = ["FileState", "MemoryState", "StateStore"]


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
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = {}
                if not isinstance(data, dict):
                    data = {}
                yield data
                scratch = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
                scratch.write_text(json.dumps(data), encoding="utf-8")
                os.replace(scratch, self.path)

    def __repr__(self) -> str:
        return f"FileState({str(self.path)!r})"
