"""MaiaClient against any HTTP answer at all: only typed MaiaError subclasses escape.

Hypothesis draws a status (100..599), headers (Content-Type, Retry-After,
Content-Encoding ... with garbage values) and body bytes; a `responses` callback serves
them on every request. ``get_status`` and ``wait_for`` (a short timeout on a
VirtualClock) must end in a value or a ``MaiaError``, never anything else, and never
show the token.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import EXECUTION
from pytest_maia import MaiaClient
from pytest_maia.core.clock import VirtualClock
from pytest_maia.core.errors import (
    MaiaApiError,
    MaiaError,
    MaiaResponseError,
    MaiaTimeoutError,
    UnauthorizedError,
)
from pytest_maia.core.models import ExecutionStatus

BASE = "https://fuzz.maia.example/dpc"
PROJECT = "fuzz-project"
TOKEN = "tok-FUZZ-SEKRIT-0123456789"
STATUS_URL = re.compile(re.escape(BASE) + r"/v1/projects/[^/]+/pipeline-executions/[^/]+/status")
WAIT_TIMEOUT = 60.0

Answer = tuple[int, dict[str, str], bytes]

# What http.client can carry in a header value: latin-1 without CR/LF.
header_text = st.text(
    st.characters(codec="latin-1", exclude_characters="\r\n"),
    max_size=40,
)
numbers = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e309", "-0", "0x10", "1_000", " 7 ", "", "٣"]),
)
tz_offsets = st.one_of(
    st.sampled_from(["GMT", "UTC", "Z", "EST", "+0000", "-2359", "+2400", "XYZ"]),
    # Offsets of every magnitude: plausible, out of range, and beyond a C int.
    st.integers(-9999, 9999).map(lambda n: f"{n:+05d}"),
    st.integers(10**4, 10**30).map(lambda n: f"+{n}"),
    st.integers(10**4, 10**30).map(lambda n: f"-{n}"),
)


@st.composite
def http_dates(draw: st.DrawFn) -> str:
    """HTTP-date look-alikes, in range or wildly out of it."""
    day = draw(st.sampled_from(["Mon", "Tue", "Sun", "Xyz", ""]))
    date = draw(st.integers(-5, 40))
    month = draw(st.sampled_from(["Jan", "Feb", "Dec", "Jun", "Foo"]))
    year = draw(st.integers(-10, 100_000))
    clock = draw(st.sampled_from(["00:00:00", "23:59:59", "25:61:61", "12:00", "07:30:00", "x"]))
    zone = draw(tz_offsets)
    return f"{day}, {date:02d} {month} {year} {clock} {zone}".strip(", ")


retry_after_values = st.one_of(numbers, http_dates(), header_text)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/problem+json",
            "application/json; charset=utf-16",
            "text/html",
            "application/json; charset=nope",
            "",
        ]
    ),
    header_text,
)
other_headers = st.dictionaries(
    st.sampled_from(
        [
            "Content-Encoding",
            "Location",
            "WWW-Authenticate",
            "Set-Cookie",
            "X-Request-Id",
            "Cache-Control",
            "Link",
        ]
    ),
    st.one_of(st.sampled_from(["gzip", "deflate", "br", "identity", "x-unknown"]), header_text),
    max_size=3,
)


@st.composite
def header_sets(draw: st.DrawFn) -> dict[str, str]:
    headers = draw(other_headers)
    if draw(st.booleans()):
        headers["Content-Type"] = draw(content_types)
    if draw(st.booleans()):
        headers["Retry-After"] = draw(retry_after_values)
    return headers


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
status_values = st.one_of(
    st.sampled_from([s.value for s in ExecutionStatus]),
    st.text(max_size=20),
    json_values,
)
bodies = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda s: json.dumps({"status": s}).encode(), status_values),
    st.builds(
        lambda title, status, detail: json.dumps(
            {"title": title, "status": status, "detail": detail}
        ).encode(),
        json_values,
        json_values,
        json_values,
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
    st.sampled_from([b"", b"null", b"{", b'{"status":', "\ufeff{}".encode(), b"\xff\xfe"]),
)
# Error codes the client parses Retry-After on come up more often than a flat draw.
codes = st.one_of(st.sampled_from([429, 500, 503, 504]), st.integers(100, 599))
answers = st.tuples(codes, header_sets(), bodies)


def fuzz_client() -> MaiaClient:
    return MaiaClient(BASE, token=TOKEN, clock=VirtualClock(), max_retries=3)


def serving(answer: Answer) -> responses.RequestsMock:
    """A mock answering every status request with ``answer``."""
    code, headers, body = answer
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add_callback(
        "GET", STATUS_URL, lambda _request: (code, dict(headers), body), content_type=None
    )
    return mock


def check_error(exc: MaiaError, answer: Answer) -> None:
    """What a typed error must say about ``answer``, whatever else it says."""
    code, headers, _ = answer
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    if isinstance(exc, MaiaApiError):
        assert exc.status_code == code
        assert f"HTTP {code}" in str(exc)
        assert exc.retry_after is None or 0 <= exc.retry_after <= 300
        if code == 401:
            assert isinstance(exc, UnauthorizedError)
    elif isinstance(exc, MaiaResponseError) and exc.status_code is not None:
        assert exc.status_code == code
    # A readable HTTP error must come back as one; only a body the transport cannot
    # decode (a bogus Content-Encoding) may turn it into a connection error.
    if code >= 400 and "Content-Encoding" not in headers:
        assert isinstance(exc, MaiaApiError), exc


FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(answers)
@example((503, {"Retry-After": "Mon, 01 Jan 2020 00:00:00 +9999999999999"}, b"{}"))
@example((200, {"Content-Type": "application/json"}, b'{"status":"SUCCESS"}'))
def test_get_status_raises_only_typed_errors(answer: Answer) -> None:
    client = fuzz_client()
    with serving(answer):
        try:
            status = client.get_status(PROJECT, EXECUTION)
        except MaiaError as exc:
            check_error(exc, answer)
            return
    code, _, body = answer
    assert 200 <= code < 300
    assert isinstance(status, ExecutionStatus)
    assert json.loads(body)["status"] == status.value


@FUZZ
@given(answers)
@example((429, {"Retry-After": "Mon, 01 Jan 2020 00:00:00 +9999999999999"}, b"{}"))
@example((200, {}, b'{"status":"RUNNING"}'))
def test_wait_for_ends_in_a_result_or_a_typed_error(answer: Answer) -> None:
    client = fuzz_client()
    clock = client.clock
    assert isinstance(clock, VirtualClock)
    error: MaiaError | None = None
    with serving(answer) as mock:
        try:
            result = client.wait_for(
                PROJECT, EXECUTION, timeout=WAIT_TIMEOUT, interval=5, max_interval=30
            )
        except MaiaError as exc:
            error = exc
        requests_made = len(mock.calls)
    if isinstance(error, MaiaTimeoutError):
        # Only a status that never ends, or transient errors, run the clock out.
        assert clock.now() <= WAIT_TIMEOUT + 1e-6
        assert TOKEN not in str(error)
        assert error.result.polls == requests_made
    elif error is not None:
        check_error(error, answer)
    else:
        assert result.status.is_terminal
        assert result.polls == 1  # the same answer every time: terminal at once


def test_retry_after_with_an_absurd_zone_offset_is_a_typed_error() -> None:
    """A Retry-After HTTP-date whose zone offset overflows must not crash the client."""
    answer: Answer = (503, {"Retry-After": "Mon, 01 Jan 2020 00:00:00 +9999999999999"}, b"{}")
    with serving(answer), pytest.raises(MaiaApiError) as info:
        fuzz_client().get_status(PROJECT, EXECUTION)
    assert info.value.status_code == 503


def test_a_connection_error_inside_a_callback_is_typed() -> None:
    """A transport failure (here raised by the mock) is a MaiaConnectionError."""

    def boom(_request: Any) -> Answer:
        raise requests.ConnectionError("reset by peer")

    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    mock.add_callback("GET", STATUS_URL, boom)
    with mock, pytest.raises(MaiaError, match="connection"):
        fuzz_client().get_status(PROJECT, EXECUTION)
