"""The artifact endpoints as plain data: publish a version of a project's files to an
environment, promote it to another. No I/O: :class:`~pytest_maia.client.maia_client.MaiaClient`
sends what these build.

``POST /v1/projects/{projectId}/artifacts`` is multipart/form-data, one part per file
named by its relative path, with the ``versionName`` and ``environmentName`` headers
(``branch`` and ``commitHash`` optional); it answers ``{"versionName",
"ignoredResources": [{"name", "reason"}]}``. ``POST .../artifacts/promotions`` takes
``sourceEnvironmentName``, ``targetEnvironmentName`` and ``versionName``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pytest_maia.core.errors import MaiaResponseError, MaiaValidationError
from pytest_maia.core.validation import check_project_id

__all__ = [
    "PublishedArtifact",
    "artifacts_path",
    "check_name",
    "check_path",
    "file_contents",
    "parse_published",
    "promotion_body",
    "publish_parts",
]


@dataclass(frozen=True)
class PublishedArtifact:
    """What publishing answered: the version and the files it ignored (path, reason)."""

    version_name: str
    ignored: tuple[tuple[str, str], ...] = ()


def artifacts_path(project_id: str) -> str:
    """``/v1/projects/{projectId}/artifacts``, the project id checked."""
    return f"/v1/projects/{check_project_id(project_id)}/artifacts"


def check_name(value: object, what: str) -> str:
    """A non-empty single-line name (it travels in a header), else MaiaValidationError."""
    if not isinstance(value, str) or not value.strip():
        raise MaiaValidationError(f"{what} must be a non-empty string, got {value!r}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise MaiaValidationError(f"{what} must be one line of printable text")
    return value


def check_path(path: object, limit: int | None = None) -> str:
    """A file's relative path in a project (at most ``limit`` characters), else
    MaiaValidationError."""
    if (
        not isinstance(path, str)
        or not path.strip()
        or (limit is not None and len(path) > limit)
        or path.startswith("/")
        or "\\" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise MaiaValidationError(
            f"a file's name must be its relative path, such as 'folder/load.orch.yaml', "
            f"got {path!r}"
        )
    return path


def file_contents(files: object, path_limit: int | None = None) -> dict[str, bytes]:
    """The files to publish, path -> bytes (a text is UTF-8), checked: a non-empty
    mapping of relative paths (at most ``path_limit`` characters) to str or bytes."""
    if not isinstance(files, Mapping) or not files:
        raise MaiaValidationError(
            "files must be a non-empty mapping of relative path to text "
            "(read them with pathlib: {str(p.relative_to(root)): p.read_text()})"
        )
    contents: dict[str, bytes] = {}
    for path, content in files.items():
        check_path(path, path_limit)
        if isinstance(content, str):
            contents[path] = content.encode("utf-8")
        elif isinstance(content, bytes):
            contents[path] = content
        else:
            raise MaiaValidationError(
                f"files[{path!r}] must be str or bytes, got {type(content).__name__}"
            )
    return contents


def publish_parts(files: Mapping[str, str | bytes]) -> dict[str, tuple[str, bytes]]:
    """The form parts of a publish request: one per file, named by its path."""
    return {path: (path.rpartition("/")[2], data) for path, data in file_contents(files).items()}


def promotion_body(version: object, source: object, target: object) -> dict[str, str]:
    """The JSON body of a promotion, checked."""
    return {
        "sourceEnvironmentName": check_name(source, "source"),
        "targetEnvironmentName": check_name(target, "target"),
        "versionName": check_name(version, "version"),
    }


def parse_published(body: object, where: str, status_code: int) -> PublishedArtifact:
    """The answer to a publish request."""
    if not isinstance(body, dict) or not isinstance(body.get("versionName"), str):
        raise MaiaResponseError(
            f"{where}: expected an object with 'versionName'", status_code=status_code
        )
    ignored = []
    for item in body.get("ignoredResources") or []:
        if isinstance(item, dict):
            ignored.append((str(item.get("name", "")), str(item.get("reason", ""))))
    return PublishedArtifact(body["versionName"], tuple(ignored))
