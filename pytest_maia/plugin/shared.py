"""What the plugin's hooks and its fixtures both read: the stash keys, the resolved
settings, the script marker's name and the start-ahead plugin. Light: pytest and core only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_maia.core.settings import MaiaSettings
from pytest_maia.plugin.start_ahead import PLUGIN_NAME, StartAheadPlugin

if TYPE_CHECKING:
    from pytest_maia.fake import FakeMaia  # noqa: F401 (FAKE_KEY's type, a string)
    from pytest_maia.runs.pipelines import PipelineRun

SETTINGS_KEY = pytest.StashKey[MaiaSettings]()
# Why the settings could not be resolved, kept until a test uses Maia (then a UsageError).
PROBLEM_KEY = pytest.StashKey["str | None"]()
FAKE_KEY = pytest.StashKey["FakeMaia"]()  # the test's maia_fake, once made
RUNS_KEY = pytest.StashKey[dict[str, "PipelineRun"]]()
SCRIPT_MARKER = "maia_script"


def settings_of(config: pytest.Config) -> MaiaSettings:
    """The resolved settings; a UsageError when they could not be (a test uses Maia)."""
    problem = config.stash.get(PROBLEM_KEY, None)
    if problem is not None:
        raise pytest.UsageError(problem)
    return config.stash[SETTINGS_KEY]


def runs_plugin(config: pytest.Config) -> StartAheadPlugin:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(plugin, StartAheadPlugin)
    return plugin
