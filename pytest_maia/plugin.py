"""The pytest plugin (entry point ``maia``): options, fixtures, markers, reports."""

from __future__ import annotations
