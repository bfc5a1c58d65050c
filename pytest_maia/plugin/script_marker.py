"""The ``maia_script`` marker's arguments, checked. Knows nothing of pytest.

``maia_script(*statuses, every=None, message=None, steps=None)``: what executing a
pipeline does under the fake, for the runs a test starts with ``maia_pipeline``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.models import ErrorStep, Step
from pytest_maia.core.validation import check_status

__all__ = ["MarkerScript", "script_from_marker"]

_KEYWORDS = ("every", "message", "steps")
USAGE = "maia_script('RUNNING', 'FAILED', every=None, message=None, steps=None)"


@dataclass(frozen=True)
class MarkerScript:
    """The checked arguments of one ``maia_script`` marker."""

    statuses: tuple[Step, ...]
    every: float | None = None
    message: str | None = None
    steps: tuple[Mapping[str, object], ...] | None = None

    def apply(self, fake: Any, pipeline_name: str, *, once: bool = False) -> None:
        """Script ``pipeline_name`` on ``fake`` (a FakeMaia) with these arguments (with
        ``once``, for its next execution only)."""
        fake.script_pipeline(
            pipeline_name,
            list(self.statuses),
            every=self.every,
            message=self.message,
            steps=None if self.steps is None else list(self.steps),
            once=once,
        )


def script_from_marker(args: tuple[object, ...], kwargs: Mapping[str, object]) -> MarkerScript:
    """The marker's arguments, checked as the fake will check them; MaiaValidationError
    says what is wrong and how the marker is written."""
    from pytest_maia.fake._script import check_every, check_message, parse_steps

    unknown = sorted(set(kwargs) - set(_KEYWORDS))
    if not args or unknown:
        what = f"unknown keyword(s) {', '.join(unknown)}" if unknown else "no statuses"
        raise MaiaValidationError(f"{what}: write it as {USAGE}")
    statuses = tuple(
        arg if isinstance(arg, ErrorStep) else check_status(arg, f"statuses[{i}]")
        for i, arg in enumerate(args)
    )
    raw_steps = kwargs.get("steps")
    parse_steps(raw_steps)  # raises when they are not a list of step mappings
    steps = None if raw_steps is None else tuple(cast("Iterable[Mapping[str, object]]", raw_steps))
    return MarkerScript(
        statuses,
        check_every(kwargs.get("every")),
        check_message(kwargs.get("message")),
        steps,
    )
