"""In-process adapter: answer `requests` calls to the fake's base URL via `responses`.

Only the fake's base URL and the OAuth token URL are answered, and another Maia API host
(``*.api.matillion.com``, another region) is refused with a MaiaConfigError naming the
URL the fake serves; every other URL goes to whatever
``HTTPAdapter.send`` was in place when the adapter started (the network, or an outer
`responses` mock), untouched.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pytest_maia.client.endpoints import TOKEN_URL
from pytest_maia.core.errors import MaiaConfigError, MaiaError
from pytest_maia.fake._http import Request, Response

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest


# The base URLs of the active in-process fakes (innermost last), so that a fake hands a
# request for another active fake's host to it instead of refusing it. No clocks here:
# a client waits on the clock it is given.
_ACTIVE: list[str] = []
_ACTIVE_LOCK = threading.Lock()

_TOKEN_PATH = urlsplit(TOKEN_URL).path
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _forget_calls(mock: responses.RequestsMock) -> None:
    """Make ``mock`` and its registered responses keep no call: `responses` keeps every
    request and response it served (about 9 KiB a poll, 912 MiB for 100,000 polls of a
    long virtual run), and the fake has its own bounded log (:class:`._http.CallLog`)."""
    import responses

    class _NoCalls(responses.CallList):
        def add(self, request: Any, response: Any) -> None:
            pass

        def add_call(self, call: Any) -> None:
            pass

    for holder in (mock, *mock.registered()):
        if isinstance(getattr(holder, "_calls", None), responses.CallList):
            setattr(holder, "_calls", _NoCalls())  # noqa: B010  # a private attribute


class InProcessAdapter:
    """Routes `requests` traffic for one base URL (``origin`` + ``base_path``) and the
    OAuth token URL into ``handle``; moves bytes, decides nothing."""

    def __init__(self, handle: Callable[[Request], Response], origin: str, base_path: str) -> None:
        self._handle = handle
        self._origin = origin
        self._base_path = base_path
        self._base_url = origin + base_path
        # Scheme and host compare case-insensitively; the path case-sensitively.
        prefix = f"(?i:{re.escape(origin)}){re.escape(base_path)}"
        self._pattern = re.compile(
            rf"{prefix}(?P<path>(?:/[^?#]*)?)(?:\?(?P<query>[^#]*))?(?:#.*)?\Z"
        )
        self._others = re.compile(rf"(?!{prefix}(?:[/?#]|\Z))")
        # Another Maia host (another region, say): a mistake under the fake, refused.
        self._maia_hosts = re.compile(
            rf"(?!(?i:{re.escape(origin)})(?:[/?#]|\Z))"
            r"(?i:https?://[^/?#@]*\.api\.matillion\.com(?::\d+)?)"
            r"(?:[/?#].*)?\Z"
        )
        self._send: Any = None
        # The OAuth token URL (another host) is answered by the same fake.
        self._token = re.compile(rf"(?i:{re.escape(TOKEN_URL)})(?:\?(?P<query>[^#]*))?\Z")
        self._mock: responses.RequestsMock | None = None

    @property
    def active(self) -> bool:
        """True between start() and stop()."""
        return self._mock is not None

    def start(self) -> None:
        """Patch `requests` (via a fresh RequestsMock)."""
        if self._mock is not None:
            raise MaiaError(f"the fake for {self._base_url} is already active")
        import requests.adapters
        import responses

        # Pass other URLs to the send in place now, so an outer mock keeps working.
        self._send = requests.adapters.HTTPAdapter.send
        mock = responses.RequestsMock(
            assert_all_requests_are_fired=False,
            real_adapter_send=self._send,
        )
        for method in _METHODS:
            mock.add_callback(method, self._pattern, self._callback, content_type=None)
            mock.add_callback(method, self._token, self._token_callback, content_type=None)
            mock.add_callback(method, self._maia_hosts, self._elsewhere, content_type=None)
        mock.add_passthru(self._others)
        _forget_calls(mock)
        mock.start()
        self._mock = mock
        with _ACTIVE_LOCK:
            _ACTIVE.append(self._base_url)

    def stop(self) -> None:
        """Undo start(); a no-op when not active."""
        mock, self._mock = self._mock, None
        if mock is None:
            return
        with _ACTIVE_LOCK:
            _ACTIVE.remove(self._base_url)
        mock.stop(allow_assert=False)
        mock.reset()

    def _elsewhere(self, prepared: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        url = prepared.url or ""
        if any(url.startswith(base + "/") for base in list(_ACTIVE)):
            # Another active fake (an outer one) serves that host: hand it over.
            import requests.adapters

            answer = self._send(requests.adapters.HTTPAdapter(), prepared)
            return answer.status_code, dict(answer.headers), answer.content
        raise MaiaConfigError(
            f"the fake Maia API serves {self._base_url}, but this request went to "
            f"{url.split('?')[0]}: point the client at the fake (maia_fake.base_url, or "
            "the maia_client fixture), or set --maia-region / --maia-base-url "
            "(MAIA_REGION / MAIA_BASE_URL) so that the fake serves that host"
        )

    def _token_callback(self, prepared: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        match = self._token.match(prepared.url or "")
        query = (match["query"] or "") if match else ""
        return self._answer(prepared, _TOKEN_PATH, query)

    def _callback(self, prepared: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        match = self._pattern.match(prepared.url or "")
        path = self._base_path + (match["path"] if match else "")
        return self._answer(prepared, path, (match["query"] or "") if match else "")

    def _answer(
        self, prepared: PreparedRequest, path: str, query: str
    ) -> tuple[int, dict[str, str], bytes]:
        body: Any = prepared.body
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = b""
        response = self._handle(
            Request(
                prepared.method or "GET",
                path,
                # lower_items() reads the store directly; items() goes through __getitem__.
                dict(prepared.headers.lower_items()),
                body,
                query,
            )
        )
        if response.dropped:
            import requests

            raise requests.ConnectionError(
                "connection dropped by FakeMaia (scripted) before any response",
                request=prepared,
            )
        return response.status, dict(response.headers), response.body
