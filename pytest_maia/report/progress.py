"""Live progress for long waits: ``maia: <pipeline> <short id> RUNNING 4m10s, 9 polls``.

On a terminal one line per wait is rewritten in place (``\\r`` and erase-line); in a
log (not a terminal) a plain line is written at each status change. Nothing shows
before the wait has lasted ``threshold`` seconds, so short waits stay silent.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_maia.core.models import WaitResult
from pytest_maia.core.text import safe
from pytest_maia.report.svg import duration_text

__all__ = ["THRESHOLD_SECONDS", "Progress"]

THRESHOLD_SECONDS = 30.0
CLEAR = "\r\x1b[K"


class Progress:
    """Turns a wait's polls into progress output through ``write``.

    ``newline`` is called before the first output of a wait so it starts on a line of
    its own (the terminal reporter may be mid-line).
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        tty: bool,
        newline: Callable[[], None] | None = None,
        threshold: float = THRESHOLD_SECONDS,
    ) -> None:
        self._write = write
        self._newline = newline
        self.tty = tty
        self.threshold = threshold
        self._shown: set[str] = set()  # execution ids with a line on screen
        self._last: dict[str, str] = {}  # execution id -> last status written

    @staticmethod
    def line(pipeline: str | None, result: WaitResult) -> str:
        return safe(
            f"maia: {pipeline or 'execution'} {result.execution_id[:8]} "
            f"{result.status.value} {duration_text(result.elapsed)}, {result.polls} polls"
        )

    def poll(self, pipeline: str | None, result: WaitResult) -> None:
        """Called after each poll of a wait."""
        key = result.execution_id
        if result.elapsed < self.threshold:
            return
        if key not in self._shown and key not in self._last and self._newline is not None:
            self._newline()
        if self.tty:
            self._write(CLEAR + self.line(pipeline, result))
            self._shown.add(key)
        elif self._last.get(key) != result.status.value:
            self._write(self.line(pipeline, result) + "\n")
        self._last[key] = result.status.value

    def done(self, execution_id: str) -> None:
        """The wait is over: end its terminal line so the next output starts clean."""
        if execution_id in self._shown:
            self._write("\n")
        self._shown.discard(execution_id)
        self._last.pop(execution_id, None)
