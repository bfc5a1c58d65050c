"""FakeMaia: a stateful, clock-driven fake of the Maia API for offline tests.

Three layers and no import circle (moto's shape): the account's state and operations,
which never see HTTP (``_account``, ``_catalog``, ``_errors``, ``_execution``,
``_ledger``, ``_script``, ``_tokens``); one mapping from HTTP to them and back (``_api``
with ``_routes``, ``_oauth``, ``_views``, ``_control``, ``_documents``); and adapters
that only move bytes (``_inprocess`` in-process, ``server`` on loopback). :class:`FakeMaia`
(``_facade``) is the façade over them, by composition; ``_hosting`` is its transport
side (the base URL, which adapter answers there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_maia.fake._execution import ExecutionRecord
from pytest_maia.fake._facade import FakeMaia
from pytest_maia.fake._hosting import DEFAULT_BASE_URL
from pytest_maia.fake._http import Call, Request, Response

if TYPE_CHECKING:
    from pytest_maia.fake.server import FakeServer

__all__ = [
    "DEFAULT_BASE_URL",
    "Call",
    "ExecutionRecord",
    "FakeMaia",
    "FakeServer",
    "Request",
    "Response",
]


def __getattr__(name: str) -> Any:
    # FakeServer lives with the server machinery, loaded only when asked for.
    if name == "FakeServer":
        from pytest_maia.fake.server import FakeServer

        return FakeServer
    raise AttributeError(f"module 'pytest_maia.fake' has no attribute {name!r}")
