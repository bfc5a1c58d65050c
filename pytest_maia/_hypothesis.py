"""Hypothesis entry point: ``st.from_type`` strategies for pytest-maia's types.

Hypothesis imports this module (through the ``hypothesis`` entry point in
pyproject.toml) when Hypothesis itself is imported; nothing in pytest-maia imports
it. Registration is lazy: resolvers are registered, and ``pytest_maia.strategies``
is only imported when a test first asks for one of these types.
"""

from __future__ import annotations

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


def _hypothesis_setup_hook() -> None:
    """Register the resolvers for ``ExecutionStatus`` and ``ProblemDetail``."""
    from hypothesis import strategies as st

    from pytest_maia.core.models import ExecutionStatus, ProblemDetail

    st.register_type_strategy(ExecutionStatus, _resolve_status)
    st.register_type_strategy(ProblemDetail, _resolve_problem)
