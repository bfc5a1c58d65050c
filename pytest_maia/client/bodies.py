"""Request bodies of the pipeline-execution endpoints, checked before anything is sent:
execute (names, variables) and cancel (its literal status is :data:`CANCEL_STATUS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytest_maia.core.errors import (
    MaiaValidationError,
)

__all__ = ["CANCEL_STATUS", "ENVIRONMENT_NAME_MAX", "cancel_body", "execute_body"]

ENVIRONMENT_NAME_MAX = 255
CANCEL_STATUS = "CANCELLED"


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
