"""Cassettes: record what a live test's pipeline executions did, replay it offline,
and report where the real API drifted from the shapes the fake serves.

Plain modules that know nothing of pytest: ``pytest_maia.cassette.model`` (the
stable JSON format, ``schema.json``), ``pytest_maia.cassette.record`` (building a
cassette from a client's exchanges), ``pytest_maia.cassette.drift`` (shape checks),
``pytest_maia.cassette.replay`` (scripting a fake) and
``pytest_maia.cassette.show`` (the timeline as text).
"""

from __future__ import annotations

from pathlib import Path

from pytest_maia.cassette.model import (
    VERSION,
    Cassette,
    Event,
    ExecutionTape,
    Finding,
    HttpError,
    dumps,
    loads,
    read,
    write,
)
from pytest_maia.client.exchange import Exchange

__all__ = [
    "SCHEMA_PATH",
    "VERSION",
    "Cassette",
    "Event",
    "Exchange",
    "ExecutionTape",
    "Finding",
    "HttpError",
    "dumps",
    "loads",
    "read",
    "write",
]

# The JSON Schema of the cassette format, shipped with the package.
SCHEMA_PATH = Path(__file__).with_name("schema.json")
