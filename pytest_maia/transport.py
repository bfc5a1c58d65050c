"""Reading a response body under a deadline, so no server can hold a request for ever."""

from __future__ import annotations

import time

import requests

__all__ = ["MAX_BODY_BYTES", "read_body"]

# No API answer comes near this; a larger body is not the API talking.
MAX_BODY_BYTES = 1 << 20


def read_body(response: requests.Response, deadline: float) -> None:
    """Read a streamed body into ``response.content`` by ``deadline`` (monotonic), in
    what each socket read returns, so a trickle cannot outlast the deadline.
    Raises a ``requests.Timeout`` (or ``ConnectionError`` when over MAX_BODY_BYTES)."""
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    complete = False
    try:
        while True:
            if time.monotonic() > deadline:
                raise requests.Timeout("the response body took longer than the timeout")
            # read1 returns what one socket read gives; urllib3 < 2.3 lacks it.
            if hasattr(raw, "read1"):
                chunk = raw.read1(65536, decode_content=True)
            else:  # pragma: no cover
                chunk = raw.read(1024, decode_content=True)
            if not chunk:
                complete = True
                break
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise requests.ConnectionError(f"the response body is over {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    except requests.RequestException:
        raise
    except Exception as exc:  # urllib3's ProtocolError, DecodeError, ReadTimeoutError ...
        raise requests.ConnectionError(type(exc).__name__) from None
    finally:
        if complete:
            # requests' bookkeeping: the body is read (urllib3 already pooled the socket).
            response._content = b"".join(chunks)
            response._content_consumed = True  # type: ignore[attr-defined]
        response.close()
