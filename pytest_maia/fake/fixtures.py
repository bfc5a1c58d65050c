"""Fixture bodies for the plugin: plain context managers, usable without pytest too.

The plugin wraps them: ``maia_fake`` yields from :func:`fake_in_process`, and
``maia_fake_server`` from :func:`fake_server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pytest_maia.clock import Clock
from pytest_maia.fake import FakeMaia
from pytest_maia.fake._token import DEFAULT_TOKEN_LIFETIME
from pytest_maia.fake.backend import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from pytest_maia.fake.server import FakeServer

__all__ = ["fake_in_process", "fake_server"]


@contextmanager
def fake_in_process(
    base_url: str = DEFAULT_BASE_URL,
    *,
    token: str | None = None,
    clock: Clock | None = None,
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
) -> Iterator[FakeMaia]:
    """A fresh FakeMaia intercepting `requests` for ``base_url`` until the block ends."""
    with FakeMaia(base_url, token=token, clock=clock, token_lifetime=token_lifetime) as fake:
        yield fake


@contextmanager
def fake_server(
    fake: FakeMaia | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    clock: Clock | None = None,
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
) -> Iterator[FakeServer]:
    """A loopback server for ``fake`` (a fresh FakeMaia by default); ``.fake`` is it."""
    if fake is None:
        fake = FakeMaia(token=token, clock=clock, token_lifetime=token_lifetime)
    with fake.serve(host, port) as server:
        yield server
