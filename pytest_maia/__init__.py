"""pytest-maia: test Maia (Matillion Data Productivity Cloud) pipelines with pytest.

The light parts (models, errors, clock, settings) import at once; the client (requests), the
fake (responses, the loopback server) and the strategies (hypothesis) load on first
use, so that importing the pytest plugin costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_maia.client.listing import Environment, Project, PublishedPipeline
from pytest_maia.core.clock import Clock, SystemClock, VirtualClock
from pytest_maia.core.errors import (
    BadRequestError,
    BudgetExhaustedError,
    ConflictError,
    ForbiddenError,
    GatewayTimeoutError,
    GoneError,
    MaiaApiError,
    MaiaConfigError,
    MaiaConnectionError,
    MaiaError,
    MaiaResponseError,
    MaiaTimeoutError,
    MaiaValidationError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
)
from pytest_maia.core.models import (
    ErrorStep,
    ExecutionDetails,
    ExecutionStatus,
    ProblemDetail,
    WaitResult,
)
from pytest_maia.core.settings import MaiaSettings
from pytest_maia.core.steps import ExecutionStep
from pytest_maia.runs.pipelines import PipelineRun, PipelineRunner, RunSpec
from pytest_maia.runs.status_checker import StatusChecker
from pytest_maia.version import __version__

if TYPE_CHECKING:
    from pytest_maia.client.maia_client import MaiaClient
    from pytest_maia.fake import FakeMaia
    from pytest_maia.fake.server import FakeServer

__all__ = [
    "BadRequestError",
    "BudgetExhaustedError",
    "Clock",
    "ConflictError",
    "Environment",
    "ErrorStep",
    "ExecutionDetails",
    "ExecutionStatus",
    "ExecutionStep",
    "FakeMaia",
    "FakeServer",
    "ForbiddenError",
    "GatewayTimeoutError",
    "GoneError",
    "MaiaApiError",
    "MaiaClient",
    "MaiaConfigError",
    "MaiaConnectionError",
    "MaiaError",
    "MaiaResponseError",
    "MaiaSettings",
    "MaiaTimeoutError",
    "MaiaValidationError",
    "NotFoundError",
    "PipelineRun",
    "PipelineRunner",
    "ProblemDetail",
    "Project",
    "PublishedPipeline",
    "RateLimitedError",
    "RunSpec",
    "ServerError",
    "StatusChecker",
    "SystemClock",
    "UnauthorizedError",
    "VirtualClock",
    "WaitResult",
    "__version__",
]

_LAZY = {
    "MaiaClient": "pytest_maia.client.maia_client",
    "FakeMaia": "pytest_maia.fake",
    "FakeServer": "pytest_maia.fake.server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_maia' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
