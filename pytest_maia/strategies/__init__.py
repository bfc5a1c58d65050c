"""Hypothesis strategies for property-testing code that talks to the Maia API.

Every strategy takes keyword-only options, raises ``hypothesis.errors.InvalidArgument``
at once for bad ones, and shrinks towards the simplest case (``RUNNING`` or
``SUCCESS``, the shortest lifecycle, an empty problem body). Importing this module
imports Hypothesis; ``import pytest_maia`` does not.
"""

from pytest_maia.strategies._common import (
    DOCUMENTED_ERROR_CODES,
    INVALID_REASONS,
    TRANSIENT_ERROR_CODES,
    InvalidReason,
)
from pytest_maia.strategies._lifecycles import (
    execution_ids,
    project_ids,
    status_sequences,
    statuses,
)
from pytest_maia.strategies._payloads import (
    ErrorResponse,
    InvalidPayload,
    error_responses,
    invalid_status_payloads,
    problem_details,
    status_payloads,
)

__all__ = [
    "DOCUMENTED_ERROR_CODES",
    "INVALID_REASONS",
    "TRANSIENT_ERROR_CODES",
    "ErrorResponse",
    "InvalidPayload",
    "InvalidReason",
    "error_responses",
    "execution_ids",
    "invalid_status_payloads",
    "problem_details",
    "project_ids",
    "status_payloads",
    "status_sequences",
    "statuses",
]
