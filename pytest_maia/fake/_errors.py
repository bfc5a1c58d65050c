"""The fake account's domain errors: what it refuses and why, with no HTTP status.

The HTTP layer (:mod:`._api`) chooses the status code of each.
"""

from __future__ import annotations

from pytest_maia.core.models import ErrorStep


class DomainError(Exception):
    """A request the account refuses: ``detail`` says why, ``violations`` which fields."""

    def __init__(self, detail: str, violations: tuple[str, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.violations = violations


class Invalid(DomainError):
    """The request itself is wrong (a field, a parameter)."""


class NotFound(DomainError):
    """A project, environment, pipeline or execution the account does not have."""


class Conflict(DomainError):
    """It clashes with the state (a running tagged execution, a finished one)."""


class Gone(DomainError):
    """The pipeline is disabled."""


class NotRecorded(DomainError):
    """Under strict replay: a request the cassette holds no answer for."""


class Refused(DomainError):
    """Unknown client or wrong client secret at the token endpoint."""


class Scripted(Exception):
    """A scripted fault answers instead: an error step (or a dropped connection)."""

    def __init__(self, step: ErrorStep) -> None:
        super().__init__(str(step))
        self.step = step
