"""Hypothesis entry point: ``st.from_type`` strategies for pytest-maia's types.

Hypothesis imports this module (through the ``hypothesis`` entry point in
pyproject.toml) whenever Hypothesis itself is imported: in every pytest run of an
environment that has both installed (Hypothesis' own pytest plugin imports it), Maia
used or not. So the hook imports nothing of pytest-maia: the types are registered
when both are loaded, by whichever comes second (this hook, or
``pytest_maia.core.models`` calling :func:`register` on import), and
``pytest_maia.strategies`` is only imported when a test first asks for one of them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from pytest_maia.core.models import ExecutionStatus, ProblemDetail


def _resolve_status(thing: type[ExecutionStatus]) -> SearchStrategy[ExecutionStatus]:
    from pytest_maia.strategies import statuses

    return statuses()


def _as_problem(data: dict[str, object]) -> ProblemDetail:
    from pytest_maia.core.models import ProblemDetail

    problem = ProblemDetail.from_json(data)
    assert problem is not None  # from_json only returns None for non-objects
    return problem


def _resolve_problem(thing: type[ProblemDetail]) -> SearchStrategy[ProblemDetail]:
    from pytest_maia.strategies import problem_details

    return problem_details().map(_as_problem)


_hooked = False


def _hypothesis_setup_hook() -> None:
    """Hypothesis is loaded: register the types now if pytest-maia's models are."""
    global _hooked
    _hooked = True
    if "pytest_maia.core.models" in sys.modules:
        register()


def register() -> None:
    """Register the resolvers for ``ExecutionStatus`` and ``ProblemDetail`` (once
    Hypothesis has run this entry point; before that, a no-op)."""
    if not _hooked:
        return
    from hypothesis import strategies as st

    from pytest_maia.core.models import ExecutionStatus, ProblemDetail

    st.register_type_strategy(ExecutionStatus, _resolve_status)
    st.register_type_strategy(ProblemDetail, _resolve_problem)
