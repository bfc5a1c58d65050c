"""The API's list calls as plain data: items, paths with their queries, and the two page
envelopes. No I/O: :class:`~pytest_maia.client.maia_client.MaiaClient` fetches each page.

- Page-numbered lists (projects, environments, published pipelines, steps) answer
  ``{"page": 0, "results": [...], "size": 25, "total": 1}``; the last page is the one
  where ``(page + 1) * size >= total`` or ``results`` is empty.
- The executions list answers ``{"results": [...], "more": "<token>"}``; ``more`` is
  passed back as ``paginationToken`` and is absent or empty on the last page.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from pytest_maia.core.errors import MaiaResponseError, MaiaValidationError
from pytest_maia.core.models import ExecutionDetails, parse_timestamp
from pytest_maia.core.text import api_text
from pytest_maia.core.validation import check_environment_name, check_project_id

T = TypeVar("T")

# Items asked for per page; the API's own default is 25 and its maximum is not documented.
PAGE_SIZE = 100
# A server that never says "last page" must not keep a client paging for ever.
MAX_PAGES = 1000


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Project:
    """A project, as ``GET /v1/projects`` lists it."""

    id: str
    name: str | None = None
    description: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Project | None:
        """The project in ``data``, or None when it has no string ``id``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            return None
        return cls(data["id"], _text(data, "name"), _text(data, "description"))


@dataclass(frozen=True)
class Environment:
    """An environment of a project, as ``GET /v1/projects/{id}/environments`` lists it."""

    name: str
    default_agent_id: str | None = None
    default_agent_name: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Environment | None:
        """The environment in ``data``, or None when it has no string ``name``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            return None
        return cls(data["name"], _text(data, "defaultAgentId"), _text(data, "defaultAgentName"))


@dataclass(frozen=True)
class PublishedPipeline:
    """A pipeline published in an environment (``.../published-pipelines``)."""

    name: str
    published_time: _dt.datetime | None = None

    @classmethod
    def from_json(cls, data: object) -> PublishedPipeline | None:
        """The pipeline in ``data``, or None when it has no string ``name``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            return None
        return cls(data["name"], parse_timestamp(data.get("publishedTime")))


# -- paths -----------------------------------------------------------------------------


def _query(path: str, params: Mapping[str, object]) -> str:
    present = {key: value for key, value in params.items() if value is not None}
    return f"{path}?{urlencode(present)}" if present else path


def projects_path(page: int) -> str:
    """``/v1/projects`` at ``page``."""
    return _query("/v1/projects", {"page": page, "size": PAGE_SIZE})


def environments_path(project_id: str, page: int) -> str:
    """A project's environments at ``page``; the project id checked and quoted."""
    base = f"/v1/projects/{check_project_id(project_id)}/environments"
    return _query(base, {"page": page, "size": PAGE_SIZE})


def published_pipelines_path(project_id: str, environment: str, page: int) -> str:
    """The pipelines published in ``environment`` of a project, at ``page``."""
    check_environment_name(environment)
    base = f"/v1/projects/{check_project_id(project_id)}/published-pipelines"
    return _query(base, {"environmentName": environment, "page": page, "size": PAGE_SIZE})


# The statuses the executions list filters on: the reference's list (no FORBIDDEN).
LIST_STATUSES = ("RUNNING", "SUCCESS", "FAILED", "CANCELLING", "CANCELLED", "SKIPPED", "UNKNOWN")


@dataclass(frozen=True)
class ExecutionsQuery:
    """The executions list's filters, checked; None: not filtered on."""

    project_id: str | None = None
    pipeline_name: str | None = None
    environment: str | None = None
    started_after: str | None = None
    started_before: str | None = None
    statuses: tuple[str, ...] = ()
    schedule_id: str | None = None

    @classmethod
    def checked(
        cls,
        project_id: object = None,
        *,
        pipeline_name: object = None,
        environment: object = None,
        started_after: object = None,
        started_before: object = None,
        status: object = None,
        schedule_id: object = None,
    ) -> ExecutionsQuery:
        """The query, or MaiaValidationError naming the first wrong argument."""
        return cls(
            None if project_id is None else check_project_id(project_id),
            _optional_name(pipeline_name, "pipeline_name"),
            _optional_name(environment, "environment"),
            _instant(started_after, "started_after"),
            _instant(started_before, "started_before"),
            _statuses(status),
            _optional_name(schedule_id, "schedule_id"),
        )

    def path(self, limit: int, token: str | None) -> str:
        """``/v1/pipeline-executions`` with these filters, one page of ``limit``."""
        params: list[tuple[str, object]] = [
            ("projectId", self.project_id),
            ("pipelineName", self.pipeline_name),
            ("environmentName", self.environment),
            ("startedAfter", self.started_after),
            ("startedBefore", self.started_before),
            *(("status", status) for status in self.statuses),
            ("scheduleId", self.schedule_id),
            ("limit", limit),
            ("paginationToken", token or None),
        ]
        present = [(key, value) for key, value in params if value is not None]
        # Ids and names go in the query here: urlencode quotes them, so undo nothing.
        return f"/v1/pipeline-executions?{urlencode(present)}"


def _optional_name(value: object, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise MaiaValidationError(f"{what} must be a non-empty string or None, got {value!r:.80}")
    return value


def _instant(value: object, what: str) -> str | None:
    """An aware datetime as the API's UTC date-time text (``...Z``)."""
    if value is None:
        return None
    if not isinstance(value, _dt.datetime) or value.tzinfo is None:
        raise MaiaValidationError(
            f"{what} must be a timezone-aware datetime or None (e.g. "
            f"datetime.now(timezone.utc)), got {value!r:.80}"
        )
    text = value.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _statuses(value: object) -> tuple[str, ...]:
    """One status or several (an ExecutionStatus or its name each), as the list takes them."""
    if value is None:
        return ()
    items: list[object] = (
        list(value) if isinstance(value, Iterable) and not isinstance(value, str) else [value]
    )
    # An ExecutionStatus is a str; its value is the name the API knows.
    names = [getattr(item, "value", item) for item in items]
    if not names or not all(isinstance(n, str) and n in LIST_STATUSES for n in names):
        raise MaiaValidationError(
            f"status must be one or more of {', '.join(LIST_STATUSES)}, got {value!r:.80}"
        )
    return tuple(dict.fromkeys(str(n) for n in names))


def check_limit(limit: object) -> int | None:
    """``limit`` as given (None or an int >= 1), else MaiaValidationError."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise MaiaValidationError(f"limit must be an integer >= 1 or None, got {limit!r}")
    return limit


# -- pages -----------------------------------------------------------------------------


def _results(body: object, where: str, status_code: int) -> list[object]:
    if not isinstance(body, dict):
        raise MaiaResponseError(
            f"{where}: expected a JSON object with 'results', got {type(body).__name__}",
            status_code=status_code,
        )
    results = body.get("results")
    if not isinstance(results, list):
        raise MaiaResponseError(
            f"{where}: 'results' must be a list, got {type(results).__name__}",
            status_code=status_code,
        )
    return results


def _count(body: Mapping[str, object], name: str) -> int | None:
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def numbered_page(
    body: object, where: str, status_code: int, *, page: int, size: int
) -> tuple[list[object], bool]:
    """A page-numbered envelope's items, and whether it is the last page.

    The last page is empty, or ``(page + 1) * size >= total``; without a usable
    ``total``, a page shorter than asked for is the last.
    """
    results = _results(body, where, status_code)
    assert isinstance(body, dict)  # _results checked it
    number = _count(body, "page")
    served = _count(body, "size") or size
    total = _count(body, "total")
    if not results:
        return results, True
    if total is not None:
        return results, ((page if number is None else number) + 1) * served >= total
    return results, len(results) < served


def token_page(body: object, where: str, status_code: int) -> tuple[list[object], str | None]:
    """A token envelope's items, and the token of the next page (None on the last)."""
    results = _results(body, where, status_code)
    assert isinstance(body, dict)
    more = body.get("more")
    return results, more if isinstance(more, str) and more else None


def items(
    results: list[object], parse: Callable[[object], T | None], where: str, status_code: int
) -> list[T]:
    """Each item of ``results`` parsed; MaiaResponseError naming the first that is not."""
    out: list[T] = []
    for index, raw in enumerate(results):
        item = parse(raw)
        if item is None:
            shape = (
                f"keys: {api_text(', '.join(sorted(map(str, raw)))[:80])}"
                if isinstance(raw, dict)
                else type(raw).__name__
            )
            raise MaiaResponseError(
                f"{where}: results[{index}] is not a usable item ({shape})",
                status_code=status_code,
            )
        out.append(item)
    return out


def all_numbered_pages(
    fetch: Callable[[int], tuple[object, int, str]], parse: Callable[[object], T | None]
) -> Iterator[T]:
    """Every item of a page-numbered list; ``fetch(page)`` gives (body, status, where)."""
    for page in range(MAX_PAGES):
        body, status_code, where = fetch(page)
        results, last = numbered_page(body, where, status_code, page=page, size=PAGE_SIZE)
        yield from items(results, parse, where, status_code)
        if last:
            return
    raise MaiaResponseError(f"the list did not end after {MAX_PAGES} pages")


def execution_summary(data: object) -> ExecutionDetails | None:
    """An item of the executions list: the details' fields, flat or nested."""
    return ExecutionDetails.from_json(data)
