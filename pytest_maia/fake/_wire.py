"""HTTP/1.1 request framing for the loopback server: the request head and its body.

Reads from a buffered binary stream with a bound on every read, so no client can make
the server allocate more than the limits below: a request line over
``MAX_REQUEST_LINE`` is a 414, a header section over ``MAX_HEADER_BYTES`` or
``MAX_HEADERS`` fields a 431, a body over ``MAX_BODY`` a 413 (before a byte of it is
read). Bodies come with ``Content-Length`` or ``Transfer-Encoding: chunked``; anything
the server cannot frame is a :class:`WireError`, after which the connection closes, so
no body byte is ever read as a request.

Lines end with CRLF. When the request line ends with a bare LF (a hand-typed request),
bare LFs end lines too; otherwise a bare LF, like a bare CR, NUL or TAB, stays inside
the field value, where the backend sees it (an ``Authorization`` value holding one is a
401, as from a real server) and the framing is not broken by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

MAX_REQUEST_LINE = 16 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_BODY = 1 << 20  # the client's own cap on a response body
_MAX_CHUNK_LINE = 1024
_EMPTY_LINES = 4  # empty lines a client may send before a request line (RFC 9112 2.2)

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)\Z")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}\Z")


class Reader(Protocol):
    def readline(self, size: int = ..., /) -> bytes: ...
    def read(self, size: int = ..., /) -> bytes: ...


class WireError(Exception):
    """A request the server answers with ``status`` and then closes the connection."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ClientGone(Exception):
    """The client closed the connection in the middle of a request: nothing to answer."""


@dataclass
class Head:
    """A request line and its header fields (names as sent, values as latin-1 text)."""

    method: str
    target: str
    version: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    strict_crlf: bool = True

    def get(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), repeated ones joined by ``, ``."""
        lowered = name.lower()
        values = [v for k, v in self.fields if k.lower() == lowered]
        return ", ".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in (self.get("Connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


def _line(rfile: Reader, limit: int, status: int, what: str) -> bytes:
    line = rfile.readline(limit + 1)
    if len(line) > limit:
        raise WireError(status, f"the {what} is over {limit} bytes")
    return line


def read_head(rfile: Reader) -> Head | None:
    """The next request's head, or None when the client closed between requests."""
    for _ in range(_EMPTY_LINES + 1):
        raw = _line(rfile, MAX_REQUEST_LINE, 414, "request line")
        if not raw:
            return None
        if raw not in (b"\r\n", b"\n"):
            break
    else:
        raise WireError(400, "no request line")
    if not raw.endswith(b"\n"):
        raise ClientGone
    strict = raw.endswith(b"\r\n")
    parts = raw.rstrip(b"\r\n").split(b" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1]:
        raise WireError(400, "the request line is not 'METHOD target HTTP/1.1'")
    version = _VERSION.match(parts[2])
    if version is None:
        raise WireError(400, "the request line has no HTTP version")
    if version[1] != b"1":
        raise WireError(505, "only HTTP/1.0 and HTTP/1.1 are served")
    if any(b < 0x21 or b == 0x7F for b in parts[1]):
        raise WireError(400, "the request target holds a control character")
    head = Head(
        parts[0].decode("ascii"), parts[1].decode("latin-1"), "HTTP/1." + chr(version[2][0])
    )
    head.strict_crlf = strict
    _read_fields(rfile, head)
    return head


def _read_fields(rfile: Reader, head: Head) -> None:
    budget = MAX_HEADER_BYTES
    pending = b""
    while True:
        line = _line(rfile, budget, 431, "header section")
        budget -= len(line)
        if not line.endswith(b"\n"):
            raise ClientGone
        if head.strict_crlf and not line.endswith(b"\r\n"):
            pending += line  # a bare LF inside a field value: not the end of the line
            continue
        line, pending = pending + line[: -2 if line.endswith(b"\r\n") else -1], b""
        if not line:
            return
        if len(head.fields) >= MAX_HEADERS:
            raise WireError(431, f"more than {MAX_HEADERS} header fields")
        if line[:1] in (b" ", b"\t"):
            raise WireError(400, "obsolete line folding in the header section")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.match(name):
            raise WireError(400, "a header line is not 'Name: value'")
        # Leading whitespace goes; trailing whitespace stays, for the backend to judge.
        head.fields.append((name.decode("ascii"), value.lstrip(b" \t").decode("latin-1")))


def body_length(head: Head) -> int | None:
    """The ``Content-Length`` to read, or None for a chunked body; checks the framing."""
    encoding = head.get("Transfer-Encoding")
    length = head.get("Content-Length")
    if encoding is not None:
        if length is not None:
            raise WireError(400, "both Content-Length and Transfer-Encoding were sent")
        if encoding.strip().lower() != "chunked":
            raise WireError(501, "the only transfer coding served is chunked")
        if head.version == "HTTP/1.0":
            raise WireError(400, "Transfer-Encoding in an HTTP/1.0 request")
        return None
    if length is None:
        return 0
    values = {v.strip() for v in length.split(",")}
    value = values.pop() if len(values) == 1 else ""
    if not value.isascii() or not value.isdigit():
        raise WireError(400, "Content-Length is not one decimal number")
    if len(value) > 15 or int(value) > MAX_BODY:
        raise WireError(413, f"the request body is over {MAX_BODY} bytes")
    return int(value)


def read_body(rfile: Reader, head: Head, length: int | None) -> bytes:
    """The body framed by ``length`` (from :func:`body_length`; None: chunked)."""
    if length is None:
        return _read_chunked(rfile)
    body = rfile.read(length) if length else b""
    if len(body) < length:
        raise ClientGone
    return body


def _read_chunked(rfile: Reader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        line = _line(rfile, _MAX_CHUNK_LINE, 400, "chunk size line")
        if not line.endswith(b"\n"):
            raise ClientGone
        size_text = line.partition(b";")[0].strip()
        if not _HEX.match(size_text):
            raise WireError(400, "a chunk size is not a hexadecimal number")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > MAX_BODY:
            raise WireError(413, f"the request body is over {MAX_BODY} bytes")
        data = rfile.read(size + 2)
        if len(data) < size + 2:
            raise ClientGone
        if data[size:] != b"\r\n":
            raise WireError(400, "a chunk does not end with CRLF")
        chunks.append(data[:size])
    budget = MAX_HEADER_BYTES  # trailer fields: read and dropped
    while True:
        line = _line(rfile, budget, 431, "trailer section")
        budget -= len(line)
        if not line.endswith(b"\n"):
            raise ClientGone
        if line in (b"\r\n", b"\n"):
            return b"".join(chunks)
