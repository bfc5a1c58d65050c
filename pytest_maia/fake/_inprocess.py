"""In-process adapter: answer `requests` calls to the fake's base URL in this process.

Two ways in, neither of which an HTTP mock of the test can take over:

- the fake's own clients (``fake.client()``, the ``maia_client`` fixture) have the fake's
  adapter mounted on their session, and the transport calls it directly;
- any other `requests` call (a plain ``requests.get``, a ``MaiaClient`` built by hand)
  goes through ``requests.Session.send``, which a started fake wraps: a URL of an active
  fake (its base URL or the OAuth token URL) is answered by that fake, another Maia API
  host (``*.api.matillion.com``, another region) is refused with a MaiaConfigError naming
  the URL the fake serves, and every other URL goes to the ``send`` that was in place,
  untouched (the network, or the test's own ``responses`` or ``requests_mock``).

``responses`` patches ``HTTPAdapter.send`` and ``requests_mock`` patches
``Session.send`` too; the wrapper sits above the first and is found by the second's
pass-through (``real_http=True``), so they nest in either order. A test's mock never
sees the fake's URLs, so a pass-through it adds cannot send them to the network.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pytest_maia.client.token_endpoint import TOKEN_URL
from pytest_maia.core.errors import MaiaConfigError, MaiaError
from pytest_maia.fake._http import Request, Response

if TYPE_CHECKING:
    import requests
    import requests.adapters


# The active in-process fakes that intercept `requests` for everyone (innermost last),
# and the Session.send each wrapper found in place. No clocks here: a client waits on
# the clock it is given.
_ACTIVE: list[InProcessAdapter] = []
_ACTIVE_LOCK = threading.Lock()
_wrapped: list[Callable[..., Any]] = []  # the send our wrapper calls for other URLs

_TOKEN_PATH = urlsplit(TOKEN_URL).path
_MAIA_HOST = re.compile(r"(?i:https?://[^/?#@]*\.api\.matillion\.com(?::\d+)?)(?:[/?#].*)?\Z")


def _session_send(session: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
    """``requests.Session.send`` while a fake intercepts: its URLs to it, others on."""
    url = request.url or ""
    with _ACTIVE_LOCK:
        active = list(_ACTIVE)
        inner = _wrapped[-1] if _wrapped else None
    for adapter in reversed(active):
        if adapter.serves(url):
            from pytest_maia.client.transport import send_direct

            return send_direct(session, adapter.direct(), request, **kw)
    if active and _MAIA_HOST.match(url) and not any(a.same_host(url) for a in active):
        raise MaiaConfigError(
            f"the fake Maia API serves {active[-1].base_url}, but this request went to "
            f"{url.split('?')[0]}: point the client at the fake (maia_fake.base_url, or "
            "the maia_client fixture), or set --maia-region / --maia-base-url "
            "(MAIA_REGION / MAIA_BASE_URL) so that the fake serves that host"
        )
    assert inner is not None  # installed before any adapter is active
    return inner(session, request, **kw)


def _install() -> None:
    """Wrap ``requests.Session.send`` (once; a wrapper left in place is reused)."""
    import requests

    if requests.Session.send is not _session_send:  # type: ignore[comparison-overlap]
        _wrapped.append(requests.Session.send)
        requests.Session.send = _session_send  # type: ignore[method-assign,assignment]


def _uninstall() -> None:
    """Put back the ``send`` we wrapped, unless something wrapped ours since (a mock the
    test has not stopped yet): then ours stays, passing everything on."""
    import requests

    if requests.Session.send is _session_send and _wrapped:  # type: ignore[comparison-overlap]
        requests.Session.send = _wrapped.pop()  # type: ignore[method-assign]


class InProcessAdapter:
    """Routes `requests` traffic for one base URL (``origin`` + ``base_path``) and the
    OAuth token URL into ``handle``; moves bytes, decides nothing."""

    def __init__(self, handle: Callable[[Request], Response], origin: str, base_path: str) -> None:
        self._handle = handle
        self._origin = origin
        self._base_path = base_path
        self.base_url = origin + base_path
        # Scheme and host compare case-insensitively; the path case-sensitively.
        prefix = f"(?i:{re.escape(origin)}){re.escape(base_path)}"
        self._pattern = re.compile(
            rf"{prefix}(?P<path>(?:/[^?#]*)?)(?:\?(?P<query>[^#]*))?(?:#.*)?\Z"
        )
        # The OAuth token URL (another host) is answered by the same fake.
        self._token = re.compile(rf"(?i:{re.escape(TOKEN_URL)})(?:\?(?P<query>[^#]*))?\Z")
        self._origin_re = re.compile(rf"(?i:{re.escape(origin)})(?:[/?#]|\Z)")
        self._started = False
        self._everyone = False
        self._direct: Any = None

    @property
    def active(self) -> bool:
        """True between start() and stop()."""
        return self._started

    def serves(self, url: str) -> bool:
        """True for this fake's base URL and the token URL."""
        return bool(self._pattern.match(url) or self._token.match(url))

    def same_host(self, url: str) -> bool:
        """True for any URL on this fake's origin (inside the base path or not)."""
        return bool(self._origin_re.match(url))

    def start(self, *, intercept_requests: bool = True) -> None:
        """Answer this fake's clients; with ``intercept_requests``, any `requests` call
        to the base URL as well."""
        if self._started:
            raise MaiaError(f"the fake for {self.base_url} is already active")
        self._started = True
        self._everyone = intercept_requests
        if intercept_requests:
            with _ACTIVE_LOCK:
                _install()
                _ACTIVE.append(self)

    def stop(self) -> None:
        """Undo start(); a no-op when not active."""
        if not self._started:
            return
        self._started = False
        if self._everyone:
            with _ACTIVE_LOCK:
                _ACTIVE.remove(self)
                if not _ACTIVE:
                    _uninstall()

    def mount(self, session: requests.Session) -> None:
        """Route ``session``'s requests to the base URL and the token URL here, past
        any HTTP mock (the transport calls a DirectAdapter itself)."""
        adapter = self.direct()
        session.mount(self.base_url + "/", adapter)
        session.mount(TOKEN_URL, adapter)

    def direct(self) -> requests.adapters.BaseAdapter:
        """The `requests` adapter answering from this fake (made once)."""
        if self._direct is None:
            self._direct = _make_direct(self)
        adapter: requests.adapters.BaseAdapter = self._direct
        return adapter

    def answer(self, url: str, method: str, headers: dict[str, str], body: bytes) -> Response:
        """The fake's answer to one request for ``url`` (one it serves)."""
        match = self._pattern.match(url)
        if match is not None:
            path, query = self._base_path + match["path"], match["query"] or ""
        else:
            token = self._token.match(url)
            path, query = _TOKEN_PATH, (token["query"] or "") if token else ""
        return self._handle(Request(method, path, headers, body, query))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _make_direct(owner: InProcessAdapter) -> requests.adapters.BaseAdapter:
    """A DirectAdapter over ``owner`` (defined here: `requests` loads on first use)."""
    import requests
    import urllib3
    from requests.structures import CaseInsensitiveDict
    from requests.utils import get_encoding_from_headers

    try:
        from urllib3 import HTTPHeaderDict
    except ImportError:  # urllib3 1.26 exports it from its _collections module only
        from urllib3._collections import HTTPHeaderDict

    from pytest_maia.client.transport import DirectAdapter

    class FakeAdapter(DirectAdapter):
        def send(
            self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
        ) -> requests.Response:
            url = request.url or ""
            if not owner.active:
                raise requests.ConnectionError(
                    f"the fake for {owner.base_url} is not started (use `with fake:` or "
                    "fake.start())",
                    request=request,
                )
            body: Any = request.body
            if isinstance(body, str):
                body = body.encode()
            elif not isinstance(body, bytes):
                body = b""
            # lower_items() reads the store directly; items() goes through __getitem__.
            headers = dict(request.headers.lower_items())
            answer = owner.answer(url, request.method or "GET", headers, body)
            if answer.dropped:
                raise requests.ConnectionError(
                    "connection dropped by FakeMaia (scripted) before any response",
                    request=request,
                )
            raw_headers = HTTPHeaderDict()
            for name, value in answer.headers:
                raw_headers.add(name, value)
            raw = urllib3.HTTPResponse(
                body=io.BytesIO(answer.body),
                headers=raw_headers,
                status=answer.status,
                preload_content=False,
                decode_content=False,
                request_method=request.method,
                request_url=url,
            )
            response = requests.Response()
            response.status_code = answer.status
            response.headers = CaseInsensitiveDict(dict(answer.headers))
            response.encoding = get_encoding_from_headers(response.headers)
            response.raw = raw
            response.reason = _reason(answer.status)
            response.url = url
            response.request = request
            return response

    return FakeAdapter()
