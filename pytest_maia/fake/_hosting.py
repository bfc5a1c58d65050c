"""Where a FakeMaia answers: its base URL (by default :data:`DEFAULT_BASE_URL`),
in-process and on a loopback server.

The façade's transport side, apart from what the fake answers: the base URL checked and
split into origin and path prefix, the in-process adapter (:mod:`._inprocess`) created
on the first start, and the loopback server (:mod:`.server`). Both adapters load only
when first used. Hosting is handed the fake's ``handle``; it never sees the account or
the HTTP mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pytest_maia.core.validation import check_base_url
from pytest_maia.fake._http import Request, Response

if TYPE_CHECKING:
    import requests

    from pytest_maia.fake._inprocess import InProcessAdapter
    from pytest_maia.fake.server import FakeServer, Served

DEFAULT_BASE_URL = "https://eu1.api.matillion.com/dpc"


class Hosting:
    """A fake's base URL and the adapters that carry its answers there."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(check_base_url(base_url))
        self.origin = f"{parts.scheme}://{parts.netloc}".lower()
        self.base_path = parts.path.rstrip("/")
        self.base_url = self.origin + self.base_path
        self._adapter: InProcessAdapter | None = None

    def start(self, handle: Callable[[Request], Response], *, intercept_requests: bool) -> None:
        """Answer in-process with ``handle`` (the first start's: the adapter is made
        once and restarted after that): the fake's own clients, and with
        ``intercept_requests`` every `requests` call to the base URL."""
        self._in_process(handle).start(intercept_requests=intercept_requests)

    def _in_process(self, handle: Callable[[Request], Response]) -> InProcessAdapter:
        from pytest_maia.fake._inprocess import InProcessAdapter

        if self._adapter is None:
            self._adapter = InProcessAdapter(handle, self.origin, self.base_path)
        return self._adapter

    def mount(self, handle: Callable[[Request], Response], session: requests.Session) -> None:
        """Send ``session``'s requests for the base URL and token URL to the fake,
        past any HTTP mock the test has started."""
        self._in_process(handle).mount(session)

    def stop(self) -> None:
        """Stop intercepting; a no-op when not started."""
        if self._adapter is not None:
            self._adapter.stop()

    @property
    def active(self) -> bool:
        """True while intercepting `requests` in-process."""
        return self._adapter is not None and self._adapter.active

    def serve(self, fake: Served, host: str, port: int) -> AbstractContextManager[FakeServer]:
        """A loopback server answering from ``fake`` below the base path, for a block."""
        from pytest_maia.fake.server import serve

        return serve(fake, self.base_path, host, port)
