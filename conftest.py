"""Root conftest: loads pytester, which the plugin tests use to run pytest on generated
test files (pytest_plugins may only be declared in the rootdir's conftest)."""

from __future__ import annotations

pytest_plugins = ["pytester"]
