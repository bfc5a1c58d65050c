"""Strategies for statuses, lifecycles and identifiers."""

from __future__ import annotations

import functools

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from pytest_maia.core.models import ErrorStep, ExecutionStatus, Step
from pytest_maia.strategies._common import (
    _KNOWN,
    TRANSIENT_ERROR_CODES,
    _bool_option,
    _known_status,
)


def statuses(
    *, terminal: bool | None = None, success: bool | None = None
) -> SearchStrategy[ExecutionStatus]:
    """The spec's eight statuses, optionally only terminal (or not) and success (or not).

    Shrinks to ``RUNNING`` when non-terminal statuses are allowed, else to
    ``SUCCESS`` (or ``FAILED`` with ``success=False``).
    """
    _bool_option("terminal", terminal)
    _bool_option("success", success)
    chosen = [
        s
        for s in _KNOWN
        if (terminal is None or s.is_terminal == terminal)
        and (success is None or s.is_success == success)
    ]
    if not chosen:
        raise InvalidArgument(
            f"no status is terminal={terminal!r} and success={success!r} "
            "(SUCCESS is the only success, and it is terminal)"
        )
    return st.sampled_from(chosen)


@functools.cache
def _error_parts() -> SearchStrategy[tuple[int, str | None, float | None]]:
    # The same draws for every code, so shrinking prefers 429 (first) to a drop (last).
    return st.tuples(
        st.sampled_from(TRANSIENT_ERROR_CODES),
        st.none() | st.text(max_size=20),
        st.none() | st.integers(0, 5).map(float),
    )


@st.composite
def _error_steps(draw: st.DrawFn) -> ErrorStep:
    code, detail, retry_after = draw(_error_parts())
    if code == 0:  # a dropped connection carries nothing
        return ErrorStep(0)
    return ErrorStep(code, detail, retry_after if code in (429, 503) else None)


def _lifecycle(last: ExecutionStatus, steps: list[Step]) -> list[Step]:
    # One list of steps, made realistic here so that shrinking works on it alone:
    # CANCELLING only before CANCELLED (and then to the end), at most 2 errors in a row.
    out: list[Step] = []
    cancelling = False
    errors = 0
    for step in steps:
        errors = errors + 1 if isinstance(step, ErrorStep) else 0
        if errors > 2:
            continue
        if step is ExecutionStatus.CANCELLING:
            cancelling = last is ExecutionStatus.CANCELLED
            step = step if cancelling else ExecutionStatus.RUNNING
        elif cancelling and not isinstance(step, ErrorStep):
            step = ExecutionStatus.CANCELLING
        out.append(step)
    return [*out, last]


def status_sequences(
    *,
    final: ExecutionStatus | str | None = None,
    max_polls: int = 10,
    errors: bool = True,
    unknown: bool = True,
) -> SearchStrategy[list[Step]]:
    """Realistic lifecycles, one step per poll, ready for ``FakeMaia.add_execution``.

    ``RUNNING`` (and, with ``unknown``, ``UNKNOWN``) steps come first; ``CANCELLING``
    only before ``CANCELLED``; the last step is terminal (``final`` if given). With
    ``errors``, transient ``ErrorStep`` s (at most two in a row) may precede any
    status but never end the sequence. At most ``max_polls`` steps in all.
    Shrinks to ``[SUCCESS]`` (or ``[final]``).
    """
    _bool_option("errors", errors, optional=False)
    _bool_option("unknown", unknown, optional=False)
    if isinstance(max_polls, bool) or not isinstance(max_polls, int) or max_polls < 1:
        raise InvalidArgument(f"max_polls must be an int >= 1, got {max_polls!r}")
    if final is None:
        finals = statuses(terminal=True)
    else:
        status = _known_status("final", final)
        if not status.is_terminal:
            raise InvalidArgument(f"final={status.value!r} is not a terminal status")
        finals = st.just(status)
    may_cancel = final is None or ExecutionStatus(final) is ExecutionStatus.CANCELLED
    kinds: list[SearchStrategy[Step]] = [st.just(ExecutionStatus.RUNNING)]
    if unknown:
        kinds.append(st.just(ExecutionStatus.UNKNOWN))
    if may_cancel:
        kinds.append(st.just(ExecutionStatus.CANCELLING))
    if errors:
        kinds.append(_error_steps())
    steps = st.lists(st.one_of(kinds), max_size=max_polls - 1)

    @st.composite
    def lifecycles(draw: st.DrawFn) -> list[Step]:
        return _lifecycle(draw(finals), draw(steps))

    return lifecycles()


def execution_ids() -> SearchStrategy[str]:
    """Pipeline execution ids: UUIDs in their canonical 36-character form."""
    return st.uuids().map(str)


def _segment_ok(text: str) -> bool:
    return bool(text.strip()) and text not in (".", "..")


def project_ids() -> SearchStrategy[str]:
    """Project ids that are one safe path segment: non-empty, not blank, no ``/`` or
    ``\\``, not ``.`` or ``..``, no control characters. Shrinks to ``"0"``."""
    chars = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/\\")
    text = st.text(alphabet=chars, min_size=1, max_size=40).filter(_segment_ok)
    return text | st.uuids().map(str)
