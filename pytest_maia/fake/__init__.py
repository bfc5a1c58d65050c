"""FakeMaia: a stateful, clock-driven fake of the Maia API for offline tests.

One backend (:mod:`pytest_maia.fake.backend`, no I/O) behind two thin adapters:
``with FakeMaia() as fake:`` intercepts `requests` in-process through `responses`, and
``with fake.serve() as server:`` answers any HTTP client on a loopback port.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_maia.clock import Clock
from pytest_maia.endpoints import TOKEN_URL
from pytest_maia.fake._http import Call, Request, Response
from pytest_maia.fake._pipelines import ExecutionRecord
from pytest_maia.fake._token import DEFAULT_TOKEN_LIFETIME
from pytest_maia.fake.backend import DEFAULT_BASE_URL, FakeBackend

if TYPE_CHECKING:
    from pytest_maia.client import MaiaClient
    from pytest_maia.fake._responses import InProcessAdapter
    from pytest_maia.fake.server import FakeServer

__all__ = [
    "DEFAULT_BASE_URL",
    "Call",
    "ExecutionRecord",
    "FakeBackend",
    "FakeMaia",
    "FakeServer",
    "Request",
    "Response",
]


class FakeMaia(FakeBackend):
    """The fake Maia API: script executions, inject faults, inspect the calls.

    As a context manager it intercepts `requests` calls to ``base_url`` and to the
    OAuth token URL (other URLs pass through); :meth:`client` builds a :class:`MaiaClient`
    that waits on this fake's clock. :meth:`serve` runs it on a loopback
    HTTP server instead. Tokens it issues expire after ``token_lifetime`` seconds.
    """

    token_url = TOKEN_URL

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        token: str | None = None,
        clock: Clock | None = None,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        super().__init__(base_url, token=token, clock=clock, token_lifetime=token_lifetime)
        self._adapter: InProcessAdapter | None = None

    def start(self) -> FakeMaia:
        """Start intercepting `requests` in-process (what ``with`` does); returns self."""
        from pytest_maia.fake._responses import InProcessAdapter

        if self._adapter is None:
            self._adapter = InProcessAdapter(self)
        self._adapter.start()
        return self

    def stop(self) -> None:
        """Stop intercepting; a no-op when not started."""
        if self._adapter is not None:
            self._adapter.stop()

    @property
    def active(self) -> bool:
        """True while intercepting `requests` in-process."""
        return self._adapter is not None and self._adapter.active

    def __enter__(self) -> FakeMaia:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[FakeServer]:
        """A context manager running this fake on a loopback HTTP server.

        It yields a :class:`FakeServer` whose ``url`` is the base URL, path prefix
        included (``http://127.0.0.1:PORT/dpc``). State is shared with this object.
        """
        from pytest_maia.fake.server import serve

        return serve(self, host, port)

    def client(self, **kwargs: Any) -> MaiaClient:
        """A MaiaClient wired to this fake: its base URL, a token it accepts, its clock.

        Pass ``client_id=`` and ``client_secret=`` to use the token endpoint instead.
        """
        return client_for(self, self.base_url, self.token_url, kwargs)

    def status_url(self, project_id: str, execution_id: str) -> str:
        """The full URL of an execution's status endpoint on this fake."""
        from pytest_maia.validation import check_execution_id, check_project_id

        return (
            f"{self.base_url}/v1/projects/{check_project_id(project_id)}"
            f"/pipeline-executions/{check_execution_id(execution_id)}/status"
        )


def client_for(
    backend: FakeBackend, url: str, token_url: str, kwargs: dict[str, Any]
) -> MaiaClient:
    """A MaiaClient for ``url`` on ``backend``'s clock: a static token it accepts,
    unless ``kwargs`` has client credentials (then ``token_url`` serves tokens)."""
    from pytest_maia.client import MaiaClient

    if kwargs.get("client_id") is None:
        kwargs.setdefault("token", backend._client_token())
    kwargs.setdefault("token_url", token_url)
    kwargs.setdefault("clock", backend.clock)
    return MaiaClient(url, **kwargs)


def __getattr__(name: str) -> Any:
    # FakeServer lives with the server machinery, loaded only when asked for.
    if name == "FakeServer":
        from pytest_maia.fake.server import FakeServer

        return FakeServer
    raise AttributeError(f"module 'pytest_maia.fake' has no attribute {name!r}")
