"""The pipeline-execution paths, ids checked (by :mod:`pytest_maia.core.validation`)
and quoted."""

from __future__ import annotations

from pytest_maia.core.validation import check_execution_id, check_project_id

__all__ = ["execution_path", "executions_path", "status_path", "steps_path"]


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
