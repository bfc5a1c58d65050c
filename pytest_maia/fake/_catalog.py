"""The fake account's catalogue: projects, their environments, published pipelines. No HTTP.

Each level is open until something is added to it, so that zero-config tests work: an
open account has every project (listing a default one and those used), an open project
every environment, an open environment every pipeline. ``add_project`` closes the
account to the projects added, ``add_environment`` closes that project to its
environments, ``publish_pipeline`` closes that environment to its published pipelines.
Lookups raise :class:`~._errors.NotFound`; the HTTP layer picks the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_maia.client.bodies import ENVIRONMENT_NAME_MAX
from pytest_maia.core.defaults import FAKE_ENVIRONMENT, FAKE_PROJECT_ID
from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.core.validation import check_project_id
from pytest_maia.fake._errors import NotFound


@dataclass
class Environment:
    """An environment of a project, with the pipelines published there (name -> time)."""

    name: str
    default_agent_id: str | None = None
    default_agent_name: str | None = None
    pipelines: dict[str, float] = field(default_factory=dict)
    closed: bool = False  # True once a pipeline is published here

    def close(self) -> None:
        """Only what is published here runs from now on: the first close forgets the
        pipelines the open environment remembered running."""
        if not self.closed:
            self.closed = True
            self.pipelines.clear()


@dataclass
class Project:
    """A project and its environments."""

    id: str
    name: str
    description: str | None = None
    environments: dict[str, Environment] = field(default_factory=dict)
    closed: bool = False  # True once an environment is added


def check_name(value: object, what: str, limit: int | None = None) -> str:
    """A non-empty name (at most ``limit`` characters), else MaiaValidationError."""
    if not isinstance(value, str) or not value.strip():
        raise MaiaValidationError(f"{what} must be a non-empty string, got {value!r}")
    if limit is not None and len(value) > limit:
        raise MaiaValidationError(f"{what} must be at most {limit} characters")
    return value


def _optional(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MaiaValidationError(f"{what} must be a string or None")
    return value


def _absent(scripting: bool, mistake: str, not_found: str) -> Exception:
    """What a lookup of something a closed account lacks raises: a test's mistake when
    it is scripting (MaiaValidationError), else the API's 404 (NotFound)."""
    return MaiaValidationError(mistake) if scripting else NotFound(not_found)


class Catalog:
    """Projects, environments and published pipelines; not thread-safe alone."""

    def __init__(self) -> None:
        self.closed = False
        self._projects: dict[str, Project] = {}
        self.project(FAKE_PROJECT_ID)  # listed while the account is open

    # -- scripting --------------------------------------------------------------

    def add_project(self, project_id: str, name: str | None, description: str | None) -> None:
        """Add a project; the first one closes the account to added projects."""
        check_project_id(project_id)
        shown = check_name(project_id if name is None else name, "name")
        description = _optional(description, "description")
        if not self.closed:
            self.closed = True
            self._projects.clear()
        self._projects[project_id] = Project(project_id, shown, description)

    def add_environment(
        self, project_id: str, name: str, agent_id: str | None, agent_name: str | None
    ) -> None:
        """Add an environment; the first one closes its project to added environments."""
        project = self.project(project_id, scripting=True)
        check_name(name, "environment name", ENVIRONMENT_NAME_MAX)
        agent_id, agent_name = _optional(agent_id, "agent id"), _optional(agent_name, "agent")
        if not project.closed:
            project.closed = True
            project.environments.clear()
        project.environments[name] = Environment(name, agent_id, agent_name)

    def publish(self, project_id: str, environment: str, name: str, when: float) -> None:
        """Publish a pipeline; the first one closes its environment to published ones."""
        check_name(name, "pipeline name")
        env = self.environment(project_id, environment, scripting=True)
        env.close()
        env.pipelines[name] = when

    # -- lookups ----------------------------------------------------------------

    def project(self, project_id: str, *, scripting: bool = False, keep: bool = True) -> Project:
        """The project; while the account is open an unknown one exists (kept unless
        ``keep`` is false: a read). NotFound when closed (MaiaValidationError instead
        when ``scripting``: a test's mistake)."""
        found = self._projects.get(project_id)
        if found is not None:
            return found
        if self.closed:
            raise _absent(
                scripting,
                f"project {project_id!r} is not in the fake account: add_project() it "
                "first (or add no project at all: then every project exists)",
                f"Project {project_id!r} not found",
            )
        project = Project(project_id, project_id)
        project.environments[FAKE_ENVIRONMENT] = Environment(FAKE_ENVIRONMENT)
        if keep:
            self._projects[project_id] = project
        return project

    def known(self, project_id: str) -> bool:
        """Whether reading from ``project_id`` finds a project."""
        return not self.closed or project_id in self._projects

    def environment(
        self, project_id: str, name: str, *, scripting: bool = False, keep: bool = True
    ) -> Environment:
        """The environment of a project; while the project is open an unknown one
        exists (kept unless ``keep`` is false)."""
        project = self.project(project_id, scripting=scripting, keep=keep)
        found = project.environments.get(name)
        if found is not None:
            return found
        if project.closed:
            raise _absent(
                scripting,
                f"environment {name!r} is not in project {project_id!r}: "
                "add_environment() it first",
                f"Environment {name!r} not found in project {project_id!r}",
            )
        env = Environment(name)
        if keep:
            project.environments[name] = env
        return env

    def check_published(self, project_id: str, environment: str, pipeline: str) -> None:
        """NotFound unless ``pipeline`` may run in that environment; an open one
        remembers the pipeline as published."""
        env = self.environment(project_id, environment)
        if pipeline in env.pipelines:
            return
        if env.closed:
            raise NotFound(
                f"Published pipeline {pipeline!r} not found in environment "
                f"{environment!r} of project {project_id!r}"
            )
        env.pipelines[pipeline] = 0.0

    def projects(self) -> list[Project]:
        """Every project, in the order added (the default one first when open)."""
        return list(self._projects.values())

    def environments(self, project_id: str) -> list[Environment]:
        """The environments of a project, in the order added."""
        return list(self.project(project_id, keep=False).environments.values())

    def reset(self) -> None:
        """Back to an open account with only the default project and environment."""
        self.closed = False
        self._projects.clear()
        self.project(FAKE_PROJECT_ID)
