"""Answers of the pipeline-execution endpoints, parsed: JSON bodies, a status, details,
the execute answer's id. What is uncertain about the API (``related-endpoints.md``)
lives here, one parser each: the execute endpoint's success code is not documented (any
2xx is accepted), and the details body is flat or has ``status``/``message`` nested in
``result`` (:meth:`ExecutionDetails.from_json
<pytest_maia.core.models.ExecutionDetails.from_json>`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from pytest_maia.core.errors import (
    MaiaResponseError,
    MaiaValidationError,
)
from pytest_maia.core.models import ExecutionDetails, ExecutionStatus
from pytest_maia.core.text import api_text
from pytest_maia.core.validation import check_execution_id

__all__ = ["decode_json", "parse_details", "parse_execution_id", "parse_status"]

log = logging.getLogger("pytest_maia.client.maia_client")


def decode_json(content: bytes, status_code: int, content_type: str | None) -> object:
    """The decoded JSON body; MaiaResponseError when it is empty or not JSON."""
    if not content:
        raise MaiaResponseError("the body is empty", status_code=status_code)
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        kind = api_text(content_type or "no Content-Type", 100)
        raise MaiaResponseError(
            f"the body is not JSON ({kind}, {len(content)} bytes)", status_code=status_code
        ) from None


def _keys(body: Mapping[object, object]) -> str:
    # The keys are the server's text: escaped and cut like any other.
    return api_text(", ".join(sorted(map(str, body))[:10]), 200) or "none"


def _warn_unknown(status: ExecutionStatus) -> ExecutionStatus:
    if not status.is_known:
        log.warning("execution status %r is not in the spec; treated like UNKNOWN", status.value)
    return status


def parse_status(body: object, where: str, status_code: int) -> ExecutionStatus:
    """The ``status`` of a status-endpoint body (``{"status": "RUNNING"}``)."""
    if not isinstance(body, dict):
        raise MaiaResponseError(
            f"{where}: expected a JSON object with 'status', got {type(body).__name__}",
            status_code=status_code,
        )
    if "status" not in body:
        raise MaiaResponseError(
            f"{where}: the JSON object has no 'status' (keys: {_keys(body)})",
            status_code=status_code,
        )
    raw = body["status"]
    if not isinstance(raw, str) or not raw.strip():
        raise MaiaResponseError(
            f"{where}: 'status' must be a non-empty string, got {raw!r:.80}",
            status_code=status_code,
        )
    return _warn_unknown(ExecutionStatus(raw))


def parse_details(body: object, where: str, status_code: int) -> ExecutionDetails:
    """The :class:`ExecutionDetails` of a details-endpoint body, flat or nested."""
    details = ExecutionDetails.from_json(body)
    if details is None:
        if isinstance(body, dict):
            reason = f"the JSON object has no usable 'status' (keys: {_keys(body)})"
        else:
            reason = f"expected a JSON object, got {type(body).__name__}"
        raise MaiaResponseError(f"{where}: {reason}", status_code=status_code)
    _warn_unknown(details.status)
    return details


def parse_execution_id(body: object, where: str, status_code: int) -> str:
    """The ``pipelineExecutionId`` (a UUID) of an execute response."""
    raw = body.get("pipelineExecutionId") if isinstance(body, dict) else None
    if raw is None:
        shape = f"keys: {_keys(body)}" if isinstance(body, dict) else type(body).__name__
        raise MaiaResponseError(
            f"{where}: the answer has no 'pipelineExecutionId' ({shape})",
            status_code=status_code,
        )
    try:
        if not isinstance(raw, str):
            raise MaiaValidationError(raw)
        return check_execution_id(raw)
    except MaiaValidationError:
        raise MaiaResponseError(
            f"{where}: 'pipelineExecutionId' is not a UUID: {raw!r:.80}",
            status_code=status_code,
        ) from None
