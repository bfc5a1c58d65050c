"""Start-up checks of the plugin, made before any test runs: the ``maia_script``
markers' arguments, and that a live run whose tests use ``maia_pipeline`` has an
environment. Plain helpers the plugin wires; each failure is one UsageError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from pytest_maia.core.errors import MaiaValidationError

if TYPE_CHECKING:
    from pytest_maia.core.settings import MaiaSettings
    from pytest_maia.plugin.script_marker import MarkerScript

__all__ = ["marker_script", "missing_environment"]

ENVIRONMENT_FIX = (
    "which runs pipelines in an environment: set --maia-environment, MAIA_ENVIRONMENT "
    "or the maia_environment ini key"
)


def marker_script(nodeid: str, marker: pytest.Mark, name: str) -> MarkerScript:
    """The checked arguments of a ``maia_script`` marker; a UsageError when wrong."""
    from pytest_maia.plugin.script_marker import script_from_marker

    try:
        return script_from_marker(marker.args, marker.kwargs)
    except MaiaValidationError as exc:
        raise pytest.UsageError(f"{nodeid}: @pytest.mark.{name}: {exc}") from None


def missing_environment(settings: MaiaSettings, items: Sequence[pytest.Item]) -> str | None:
    """Why a live run cannot start its tests' pipelines (no environment), or None."""
    if settings.environment:
        return None
    users = [i.nodeid for i in items if "maia_pipeline" in getattr(i, "fixturenames", ())]
    if not users:
        return None
    if len(users) == 1:
        return f"{users[0]} uses maia_pipeline, {ENVIRONMENT_FIX}"
    return f"{users[0]} (and {len(users) - 1} more) use maia_pipeline, {ENVIRONMENT_FIX}"
