"""Checks on identifiers and URLs, made before any request is sent."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from pytest_maia.core.errors import MaiaValidationError

if TYPE_CHECKING:  # the models load with the client, not with the plugin's settings
    from pytest_maia.core.models import ExecutionStatus

__all__ = [
    "REGIONS",
    "base_url_for_region",
    "check_base_url",
    "check_execution_id",
    "check_project_id",
    "check_status",
    "check_within",
    "is_loopback_host",
    "positive_seconds",
]

# au1 is not in the spec's servers but appears in public client code.
REGIONS = ("eu1", "us1", "au1")


def positive_seconds(value: object, name: str) -> float:
    """``value`` as a float: a finite number of seconds above zero (not a bool), else a
    :class:`MaiaValidationError` naming ``name``. Every timeout and interval is checked here."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise MaiaValidationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def check_within(value: object) -> float | None:
    """None, or the seconds a call may still take: a number, where a deadline already
    past counts as 0 (a wait passes ``deadline - now``); else a MaiaValidationError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise MaiaValidationError(f"within must be a number of seconds, got {value!r}")
    return max(0.0, float(value))


def base_url_for_region(region: str) -> str:
    """The API base URL of a region: ``https://{region}.api.matillion.com/dpc``."""
    if not isinstance(region, str) or region.strip().lower() not in REGIONS:
        raise MaiaValidationError(
            f"unknown region {region!r}: expected one of {', '.join(REGIONS)} "
            "(or pass base_url explicitly)"
        )
    return f"https://{region.strip().lower()}.api.matillion.com/dpc"


def is_loopback_host(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        import ipaddress  # loaded on first use: the plugin imports this module at start

        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; https is required except on loopback."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise MaiaValidationError(f"base_url must be a non-empty URL, got {base_url!r}")
    try:
        parts = urlsplit(base_url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:  # e.g. 'https://[::1/dpc', or a port past 65535
        raise MaiaValidationError(f"base_url {base_url!r} is not a valid URL: {exc}") from None
    if port == 0:
        raise MaiaValidationError(f"base_url {base_url!r} has port 0, which nothing listens on")
    if parts.scheme not in ("http", "https") or not host:
        raise MaiaValidationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if parts.username or parts.password:
        raise MaiaValidationError("base_url must not carry credentials; use token= instead")
    if parts.query or parts.fragment:
        raise MaiaValidationError(f"base_url must not have a query or fragment: {base_url!r}")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise MaiaValidationError(
            f"base_url {base_url!r} uses plain http; only loopback hosts "
            "(localhost, 127.0.0.1, ::1) may; use https"
        )
    return base_url.strip().rstrip("/")


def check_project_id(project_id: object) -> str:
    """The project id quoted as one path segment; empty, '/', '.' and '..' are refused."""
    if not isinstance(project_id, str):
        raise MaiaValidationError(f"project id must be a string, got {type(project_id).__name__}")
    if not project_id.strip():
        raise MaiaValidationError("project id must not be empty")
    if "/" in project_id or "\\" in project_id or project_id in (".", ".."):
        raise MaiaValidationError(
            f"project id {project_id!r} is not a single path segment (no '/', '\\', '..')"
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in project_id):
        raise MaiaValidationError(f"project id {project_id!r} contains control characters")
    try:
        return quote(project_id, safe="")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from undecodable command-line bytes
        raise MaiaValidationError(
            f"project id {project_id!r} is not valid Unicode text (a lone surrogate)"
        ) from None


def check_execution_id(execution_id: object) -> str:
    """The pipeline execution id in canonical form; it must be a UUID."""
    import uuid

    if not isinstance(execution_id, (str, uuid.UUID)):
        raise MaiaValidationError(
            f"execution id must be a UUID string, got {type(execution_id).__name__}"
        )
    text = str(execution_id).strip()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise MaiaValidationError(
            f"execution id {execution_id!r} is not a UUID "
            "(expected e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6)"
        ) from None
    if len(text) != 36:
        raise MaiaValidationError(
            f"execution id {execution_id!r} is not a UUID in its 36-character form"
        )
    return str(parsed)


def check_environment_name(environment: object) -> str:
    """An environment name: a non-empty string (the API matches it exactly)."""
    if not isinstance(environment, str) or not environment.strip():
        raise MaiaValidationError(f"environment must be a non-empty string, got {environment!r}")
    return environment


def _status_names() -> tuple[str, ...]:
    from pytest_maia.core.models import ExecutionStatus

    return tuple(ExecutionStatus.__members__)


def suggest_status(text: str) -> str | None:
    """The status a misspelt ``text`` most likely meant, or None."""
    _STATUS_NAMES = _status_names()
    upper = text.strip().upper()
    if upper in _STATUS_NAMES:
        return upper
    import difflib

    close = difflib.get_close_matches(upper, _STATUS_NAMES, n=1, cutoff=0.6)
    return close[0] if close else None


def check_status(value: object, where: str = "status") -> ExecutionStatus:
    """A status a user wrote: an ``ExecutionStatus``, or one of the eight names exactly.

    Anything else is a :class:`MaiaValidationError` that suggests the closest status;
    ``ExecutionStatus.unrecognised("PAUSED")`` writes a status outside the spec on purpose.
    """
    from pytest_maia.core.models import ExecutionStatus

    _STATUS_NAMES = tuple(ExecutionStatus.__members__)
    if isinstance(value, ExecutionStatus):
        return value
    if isinstance(value, str) and value in _STATUS_NAMES:
        return ExecutionStatus(value)
    if not isinstance(value, str):
        raise MaiaValidationError(
            f"{where}: a status must be an ExecutionStatus or one of "
            f"{', '.join(_STATUS_NAMES)}, got {type(value).__name__} {value!r:.80}"
        )
    guess = suggest_status(value)
    hint = f": did you mean {guess!r}?" if guess else ""
    raise MaiaValidationError(
        f"{where}: {value!r:.80} is not an execution status{hint} "
        f"(statuses are {', '.join(_STATUS_NAMES)}; for a status outside the spec on purpose, "
        f"write ExecutionStatus.unrecognised({value.strip()!r:.80}))"
    )
