"""The pipeline-execution endpoints as plain data: paths, request bodies, response parsing.

No I/O and no third-party imports: :class:`~pytest_maia.client.maia_client.MaiaClient` sends what
these functions build and hands them what comes back. What is uncertain about the API
(see ``related-endpoints.md``) lives here, one constant or one parser each:

- the execute endpoint's success code is not documented: any 2xx is accepted (client);
- the details body is flat, or has ``status``/``message`` nested in ``result``
  (:meth:`ExecutionDetails.from_json <pytest_maia.core.models.ExecutionDetails.from_json>`);
- the cancel body's literal status is :data:`CANCEL_STATUS`.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from pytest_maia.core.errors import (
    MaiaApiError,
    MaiaResponseError,
    MaiaValidationError,
    error_for_status,
)
from pytest_maia.core.models import ExecutionDetails, ExecutionStatus, ProblemDetail
from pytest_maia.core.redact import Secret, scrub, scrub_problem
from pytest_maia.core.text import api_text
from pytest_maia.core.validation import check_execution_id, check_project_id, is_loopback_host

__all__ = [
    "AUDIENCE",
    "CANCEL_STATUS",
    "ENVIRONMENT_NAME_MAX",
    "RETRY_AFTER_CAP",
    "TOKEN_URL",
    "api_error",
    "cancel_body",
    "decode_json",
    "default_token_url",
    "execute_body",
    "execution_path",
    "executions_path",
    "parse_details",
    "parse_execution_id",
    "parse_retry_after",
    "parse_status",
    "status_path",
    "steps_path",
]

log = logging.getLogger("pytest_maia.client.maia_client")

# OAuth 2.0 client credentials: where tokens come from, and for which API.
TOKEN_URL = "https://id.core.matillion.com/oauth/dpc/token"
AUDIENCE = "https://api.matillion.com"


def default_token_url(base_url: str) -> str:
    """The token URL a client uses when none is given: for a loopback base URL (a fake
    server) that server's own, ``{base_url}/oauth/dpc/token``, so client credentials
    never leave the machine; else :data:`TOKEN_URL`."""
    parts = urlsplit(base_url.strip())
    if is_loopback_host(parts.hostname or ""):
        return base_url.strip().rstrip("/") + urlsplit(TOKEN_URL).path
    return TOKEN_URL


# Longest Retry-After we obey; a larger value is a server bug, not advice.
RETRY_AFTER_CAP = 300.0
ENVIRONMENT_NAME_MAX = 255
CANCEL_STATUS = "CANCELLED"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _problem(data: object) -> ProblemDetail | None:
    problem = ProblemDetail.from_json(data)
    if problem is not None and not (problem.title or problem.detail) and isinstance(data, dict):
        # An OAuth 2.0 error body (the token endpoint): {"error": ..., "error_description": ...}
        error, description = data.get("error"), data.get("error_description")
        if isinstance(error, str):
            detail = description if isinstance(description, str) else None
            return ProblemDetail(title=error, detail=detail, status=problem.status)
    return problem


def api_error(
    status_code: int,
    content: bytes,
    headers: Mapping[str, str],
    method: str,
    path: str,
    *,
    note: str | None = None,
    secrets: Sequence[Secret | str | None] = (),
) -> MaiaApiError:
    """The typed error for an HTTP error answer, with its parsed ProblemDetail.

    ``secrets`` (the credentials the request carried) are scrubbed from every text
    taken from the answer: a server may echo the request back.
    """
    problem = None
    try:
        problem = _problem(json.loads(content))
        if problem is None:
            note = note or "the body is JSON but not a ProblemDetail object"
    except (ValueError, UnicodeDecodeError, RecursionError):
        kind = api_text(headers.get("Content-Type", "no Content-Type"), 100)
        note = note or f"the body is not a ProblemDetail: {kind}, {len(content)} bytes"
    if problem is not None and secrets:
        problem = scrub_problem(problem, secrets)
    error = error_for_status(status_code)(
        status_code,
        problem,
        method=method,
        path=path,
        retry_after=parse_retry_after(headers.get("Retry-After")),
        note=note,
    )
    if secrets:
        error.args = (scrub(str(error), secrets),)
    return error


# -- paths ------------------------------------------------------------------------------


def executions_path(project_id: str) -> str:
    """``/v1/projects/{projectId}/pipeline-executions``, the project id checked and quoted."""
    return f"/v1/projects/{check_project_id(project_id)}/pipeline-executions"


def execution_path(project_id: str, execution_id: str) -> str:
    """The path of one execution (details and cancel); the execution id must be a UUID."""
    return f"{executions_path(project_id)}/{check_execution_id(execution_id)}"


def status_path(project_id: str, execution_id: str) -> str:
    """The path of one execution's status endpoint."""
    return execution_path(project_id, execution_id) + "/status"


def steps_path(project_id: str, execution_id: str, page: int, size: int) -> str:
    """The path of one page of an execution's steps (``?page=N&size=M``)."""
    return f"{execution_path(project_id, execution_id)}/steps?page={page}&size={size}"


# -- request bodies ---------------------------------------------------------------------


def _name(value: object, field: str, *, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise MaiaValidationError(f"{field} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise MaiaValidationError(f"{field} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise MaiaValidationError(
            f"{field} must be at most {max_length} characters, got {len(value)}"
        )
    return value


def _scalars(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise MaiaValidationError(
            f"scalarVariables must be a mapping of name to string, got {type(value).__name__}"
        )
    out: dict[str, str] = {}
    for name, item in value.items():
        _name(name, "scalarVariables: a variable name")
        if not isinstance(item, str):
            raise MaiaValidationError(
                f"scalarVariables[{name!r}] must be a string, got {type(item).__name__} "
                "(convert numbers and dates to text yourself)"
            )
        out[name] = item
    return out


def _is_sequence(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _grids(value: object) -> dict[str, list[list[str]]]:
    if not isinstance(value, Mapping):
        raise MaiaValidationError(
            f"gridVariables must be a mapping of name to a list of rows, got {type(value).__name__}"
        )
    out: dict[str, list[list[str]]] = {}
    for name, rows in value.items():
        _name(name, "gridVariables: a variable name")
        where = f"gridVariables[{name!r}]"
        if not _is_sequence(rows):
            raise MaiaValidationError(
                f"{where} must be a list of rows (lists of strings), got {type(rows).__name__}"
            )
        grid: list[list[str]] = []
        for index, row in enumerate(rows):
            if not _is_sequence(row):
                raise MaiaValidationError(
                    f"{where}[{index}] must be a list of strings, got {type(row).__name__}"
                )
            for column, cell in enumerate(row):
                if not isinstance(cell, str):
                    raise MaiaValidationError(
                        f"{where}[{index}][{column}] must be a string, got {type(cell).__name__}"
                    )
            grid.append(list(row))
        out[name] = grid
    return out


def execute_body(
    pipeline_name: object,
    environment_name: object,
    *,
    scalar_variables: object = None,
    grid_variables: object = None,
    agent_id: object = None,
    execution_tag: object = None,
    version_name: object = None,
) -> dict[str, object]:
    """The JSON body of an execute request, checked; optional fields only when given.

    Raises :class:`MaiaValidationError` naming the field, before anything is sent.
    """
    body: dict[str, object] = {
        "pipelineName": _name(pipeline_name, "pipelineName"),
        "environmentName": _name(
            environment_name, "environmentName", max_length=ENVIRONMENT_NAME_MAX
        ),
    }
    if scalar_variables is not None:
        body["scalarVariables"] = _scalars(scalar_variables)
    if grid_variables is not None:
        body["gridVariables"] = _grids(grid_variables)
    for key, value in (
        ("agentId", agent_id),
        ("executionTag", execution_tag),
        ("versionName", version_name),
    ):
        if value is not None:
            body[key] = _name(value, key)
    return body


def cancel_body(force: object) -> dict[str, object]:
    """The JSON body of a cancel request: ``{"status": "CANCELLED", "forceUpdate": force}``."""
    if not isinstance(force, bool):
        raise MaiaValidationError(f"force must be True or False, got {force!r}")
    return {"status": CANCEL_STATUS, "forceUpdate": force}


# -- responses --------------------------------------------------------------------------


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
