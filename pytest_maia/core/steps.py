"""The steps of a pipeline execution, as ``.../pipeline-executions/{id}/steps`` lists
them (in the page envelope of :mod:`pytest_maia.client.listing`). Plain data, no I/O."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_maia.core.models import ExecutionStatus, parse_timestamp

__all__ = ["ExecutionStep"]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ExecutionStep:
    """One component run of a pipeline execution, as the steps endpoint lists it.

    ``child_execution_id`` and ``child_pipeline_name`` name the execution a
    "Run Orchestration"-style step started (its own steps are read the same way).
    """

    id: str | None
    name: str | None
    type: str | None
    status: ExecutionStatus
    message: str | None = None
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    child_execution_id: str | None = None
    child_pipeline_name: str | None = None

    @classmethod
    def from_json(cls, data: object) -> ExecutionStep | None:
        """The step in ``data``, or None when it is not a JSON object.

        Lenient like the details: ``status``/``message``/times are read from ``result``
        or from the top level; fields of the wrong type are dropped; a step without a
        usable status is ``UNKNOWN``.
        """
        if not isinstance(data, Mapping):
            return None
        result = data.get("result")
        nested: Mapping[str, Any] = result if isinstance(result, Mapping) else {}

        def pick(name: str) -> object:
            value = nested.get(name)
            return data.get(name) if value is None else value

        raw_status = pick("status")
        status = (
            ExecutionStatus(raw_status.strip())
            if isinstance(raw_status, str) and raw_status.strip()
            else ExecutionStatus.UNKNOWN
        )
        child = data.get("childPipeline")
        child_map: Mapping[str, Any] = child if isinstance(child, Mapping) else {}
        step_id = data.get("id")
        return cls(
            id=str(step_id) if isinstance(step_id, (str, int)) else None,
            name=_text(data.get("name")),
            type=_text(data.get("type")),
            status=status,
            message=_text(pick("message")),
            started_at=parse_timestamp(pick("startedAt")),
            finished_at=parse_timestamp(pick("finishedAt")),
            child_execution_id=_text(child_map.get("id")),
            child_pipeline_name=_text(child_map.get("name")),
        )
