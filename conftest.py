"""Root conftest: pytester for plugin tests, and helpers shared by the test suite."""

from __future__ import annotations

pytest_plugins = ["pytester"]
