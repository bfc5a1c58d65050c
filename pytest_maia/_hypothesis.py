"""Hypothesis entry point: registers strategies for pytest-maia's types, lazily."""

from __future__ import annotations


def _hypothesis_setup_hook() -> None:
    """Called by Hypothesis at import; filled in by the strategies module."""
