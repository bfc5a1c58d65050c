"""The fake account's artifacts: immutable versions of a project's files, deployed to
environments. No HTTP.

``publish`` makes a version from text files and deploys it to one environment;
``promote`` deploys a version from one environment to another. The latest version
deployed to an environment is what runs there by default, and its pipelines are what
that environment's published-pipelines list shows (see ``Account.published``). A file
``folder/load.orch.yaml`` holds the pipeline ``folder/load`` (the reference does not
say how a path names a pipeline; executing by the whole path works too). Not
thread-safe alone: the account holds the lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pytest_maia.client import artifacts
from pytest_maia.fake._errors import Conflict, Invalid, NotFound

PIPELINE_SUFFIXES = (".orch.yaml", ".tran.yaml")
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".7z", ".jar", ".rar")
MAX_PATH = 1024


@dataclass(frozen=True)
class Version:
    """An artifact version: its files (path -> text) and where they came from."""

    name: str
    files: Mapping[str, str]
    created_at: float
    branch: str | None = None
    commit_hash: str | None = None
    provider: str = "API"

    @property
    def pipelines(self) -> tuple[str, ...]:
        """The pipelines it holds: its ``.orch.yaml`` / ``.tran.yaml`` files, by path
        without that suffix."""
        return tuple(
            path[: -len(suffix)]
            for path in self.files
            for suffix in PIPELINE_SUFFIXES
            if path.endswith(suffix)
        )

    def holds(self, pipeline: str) -> str | None:
        """The name of ``pipeline`` in this version (given with or without its suffix)."""
        if pipeline in self.pipelines:
            return pipeline
        if pipeline in self.files and pipeline.endswith(PIPELINE_SUFFIXES):
            return next(p for p in self.pipelines if pipeline.startswith(p + "."))
        return None


@dataclass
class Deployment:
    """A version deployed to an environment at ``deployed_at``."""

    version: Version
    deployed_at: float
    enabled: bool = True


@dataclass
class _Project:
    versions: dict[str, Version] = field(default_factory=dict)
    # environment -> its deployments, oldest first (the last is the latest)
    deployments: dict[str, list[Deployment]] = field(default_factory=dict)


def _is_text(path: str, content: bytes) -> str | None:
    """Why a file is not a text file the API keeps, or None when it is."""
    if path.lower().endswith(ARCHIVE_SUFFIXES):
        return "Archives are not accepted: upload the project's files one by one"
    if b"\x00" in content:
        return "Not a text file"
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return "Not a text file (not UTF-8)"
    return None


def check_path(path: object) -> str:
    """A file's relative path in a project, at most :data:`MAX_PATH` characters, else
    MaiaValidationError."""
    return artifacts.check_path(path, MAX_PATH)


class Artifacts:
    """Versions per project and their deployments per environment; not thread-safe alone."""

    def __init__(self) -> None:
        self._projects: dict[str, _Project] = {}

    def publish(
        self,
        project_id: str,
        environment: str,
        version_name: str,
        files: Mapping[str, bytes],
        now: float,
        *,
        branch: str | None = None,
        commit_hash: str | None = None,
    ) -> tuple[Version, list[tuple[str, str]]]:
        """Make version ``version_name`` of the text files among ``files`` and deploy it to
        ``environment``; the version and the files ignored (path, reason). Conflict when
        the version exists, Invalid when no file is kept."""
        project = self._projects.setdefault(project_id, _Project())
        if version_name in project.versions:
            raise Conflict(
                f"Version {version_name!r} already exists in project {project_id!r}: "
                "a version is immutable, publish a new version name"
            )
        kept: dict[str, str] = {}
        ignored: list[tuple[str, str]] = []
        for path, content in files.items():
            reason = _is_text(path, content)
            if reason is None:
                kept[path] = content.decode("utf-8")
            else:
                ignored.append((path, reason))
        if not kept:
            raise Invalid(
                "No text file to publish",
                ("files: at least one text file (one form part per file) is required",),
            )
        version = Version(version_name, kept, now, branch, commit_hash)
        project.versions[version_name] = version
        project.deployments.setdefault(environment, []).append(Deployment(version, now))
        return version, ignored

    def promote(
        self, project_id: str, source: str, target: str, version_name: str, now: float
    ) -> Version:
        """Deploy a version from ``source`` to ``target`` (the latest there from now on)."""
        deployment = self.deployment(project_id, source, version_name)
        project = self._projects[project_id]
        project.deployments.setdefault(target, []).append(Deployment(deployment.version, now))
        return deployment.version

    def version(self, project_id: str, version_name: str) -> Version:
        """A project's version, else NotFound."""
        project = self._projects.get(project_id)
        found = project.versions.get(version_name) if project is not None else None
        if found is None:
            raise NotFound(f"Version {version_name!r} not found in project {project_id!r}")
        return found

    def deployment(self, project_id: str, environment: str, version_name: str) -> Deployment:
        """The latest deployment of a version to an environment, else NotFound."""
        self.version(project_id, version_name)
        for deployment in reversed(self.deployments(project_id, environment)):
            if deployment.version.name == version_name:
                return deployment
        raise NotFound(
            f"Version {version_name!r} is not published in environment {environment!r} "
            f"of project {project_id!r}"
        )

    def deployments(self, project_id: str, environment: str) -> list[Deployment]:
        """An environment's deployments, oldest first."""
        project = self._projects.get(project_id)
        return list(project.deployments.get(environment, ())) if project is not None else []

    def latest(self, project_id: str, environment: str) -> Deployment | None:
        """The version that runs in an environment by default, or None."""
        found = self.deployments(project_id, environment)
        return found[-1] if found else None

    def any(self, project_id: str) -> bool:
        """Whether the project has any version."""
        project = self._projects.get(project_id)
        return project is not None and bool(project.versions)

    def reset(self) -> None:
        self._projects.clear()
