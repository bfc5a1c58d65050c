"""pytest-maia: test Maia (Matillion Data Productivity Cloud) pipelines with pytest.

Every public name loads on first use (the client with requests, the fake with its
loopback server, the strategies with Hypothesis), so that importing the pytest plugin
costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_maia.version import __version__

if TYPE_CHECKING:
    from pytest_maia.client.listing import Environment, Project, PublishedPipeline
    from pytest_maia.client.maia_client import MaiaClient
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
    from pytest_maia.fake import FakeMaia
    from pytest_maia.fake.server import FakeServer
    from pytest_maia.runs.pipelines import PipelineRun, PipelineRunner, RunSpec
    from pytest_maia.runs.status_checker import StatusChecker

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

# Every public name loads on first use: the pytest plugin and Hypothesis' entry point
# import this package in every pytest run of an environment that has it installed,
# used or not (docs/performance.md, the start-up row).
_LAZY = {
    "Environment": "pytest_maia.client.listing",
    "Project": "pytest_maia.client.listing",
    "PublishedPipeline": "pytest_maia.client.listing",
    "Clock": "pytest_maia.core.clock",
    "SystemClock": "pytest_maia.core.clock",
    "VirtualClock": "pytest_maia.core.clock",
    "BadRequestError": "pytest_maia.core.errors",
    "BudgetExhaustedError": "pytest_maia.core.errors",
    "ConflictError": "pytest_maia.core.errors",
    "ForbiddenError": "pytest_maia.core.errors",
    "GatewayTimeoutError": "pytest_maia.core.errors",
    "GoneError": "pytest_maia.core.errors",
    "MaiaApiError": "pytest_maia.core.errors",
    "MaiaConfigError": "pytest_maia.core.errors",
    "MaiaConnectionError": "pytest_maia.core.errors",
    "MaiaError": "pytest_maia.core.errors",
    "MaiaResponseError": "pytest_maia.core.errors",
    "MaiaTimeoutError": "pytest_maia.core.errors",
    "MaiaValidationError": "pytest_maia.core.errors",
    "NotFoundError": "pytest_maia.core.errors",
    "RateLimitedError": "pytest_maia.core.errors",
    "ServerError": "pytest_maia.core.errors",
    "UnauthorizedError": "pytest_maia.core.errors",
    "ErrorStep": "pytest_maia.core.models",
    "ExecutionDetails": "pytest_maia.core.models",
    "ExecutionStatus": "pytest_maia.core.models",
    "ProblemDetail": "pytest_maia.core.models",
    "WaitResult": "pytest_maia.core.models",
    "MaiaSettings": "pytest_maia.core.settings",
    "ExecutionStep": "pytest_maia.core.steps",
    "PipelineRun": "pytest_maia.runs.pipelines",
    "PipelineRunner": "pytest_maia.runs.pipelines",
    "RunSpec": "pytest_maia.runs.pipelines",
    "StatusChecker": "pytest_maia.runs.status_checker",
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
