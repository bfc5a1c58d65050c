"""Settings from options, environment and ini, with the design's precedence.

Command line > environment variable > ini > default. Secrets come from the
environment only and are held in :class:`~pytest_maia.core.redact.Secret`, whose repr
never shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_maia.core.backend import Backend
from pytest_maia.core.defaults import (
    DEFAULT_INTERVAL,
    DEFAULT_MAX_INTERVAL,
    DEFAULT_TIMEOUT,
    FAKE_PROJECT_ID,
)
from pytest_maia.core.errors import MaiaConfigError
from pytest_maia.core.redact import (
    CREDENTIAL_VARIABLES,
    Secret,
    credentials_from,
    missing_credentials,
    read_variables,
)

if TYPE_CHECKING:
    from pytest_maia.core.wait_policy import WaitPolicy

from pytest_maia.core.validation import (
    REGIONS,
    base_url_for_region,
    check_base_url,
    positive_seconds,
)

__all__ = [
    "BACKENDS",
    "OFFLINE_BACKENDS",
    "SETTINGS",
    "MaiaSettings",
    "Setting",
    "read_environment",
    "resolve_settings",
]

BACKENDS = tuple(b.value for b in Backend)
# Backends served by the in-process fake: scripted by the test, or from a cassette.
OFFLINE_BACKENDS = tuple(b.value for b in Backend if b.offline)


@dataclass(frozen=True)
class Setting:
    """One configurable value: its option, environment variable, ini key and help."""

    name: str
    option: str
    env: str | None
    ini: str
    help: str
    default: str | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "backend",
        "--maia-backend",
        "MAIA_BACKEND",
        "maia_backend",
        "where Maia fixtures talk to: 'fake' (in-process, offline; default), 'live', or "
        "'replay' (the fake, scripted from --maia-cassettes)",
        "fake",
    ),
    Setting(
        "region",
        "--maia-region",
        "MAIA_REGION",
        "maia_region",
        f"Maia region for the live API ({', '.join(REGIONS)}; default eu1)",
        "eu1",
    ),
    Setting(
        "base_url",
        "--maia-base-url",
        "MAIA_BASE_URL",
        "maia_base_url",
        "API base URL (default: https://{region}.api.matillion.com/dpc)",
    ),
    Setting(
        "token_url",
        "--maia-token-url",
        "MAIA_TOKEN_URL",
        "maia_token_url",
        "OAuth token endpoint for client credentials "
        "(default https://id.core.matillion.com/oauth/dpc/token)",
    ),
    Setting(
        "project_id",
        "--maia-project",
        "MAIA_PROJECT_ID",
        "maia_project_id",
        "Maia project id the fixtures use (required for live)",
    ),
    Setting(
        "environment",
        "--maia-environment",
        "MAIA_ENVIRONMENT",
        "maia_environment",
        "default environment name for maia_pipeline runs",
    ),
    Setting(
        "version",
        "--maia-version",
        "MAIA_VERSION_NAME",
        "maia_version",
        "artifact version every maia_pipeline run and @maia_start run executes "
        "(default: the latest version published to the environment)",
    ),
    Setting(
        "timeout",
        "--maia-timeout",
        "MAIA_TIMEOUT",
        "maia_timeout",
        f"seconds a wait may take before it fails (default {DEFAULT_TIMEOUT:g})",
        f"{DEFAULT_TIMEOUT:g}",
    ),
    Setting(
        "report",
        "--maia-report",
        "MAIA_REPORT",
        "maia_report",
        "write an HTML report (SVG timeline and table of executions) to this path",
    ),
    Setting(
        "report_json",
        "--maia-report-json",
        "MAIA_REPORT_JSON",
        "maia_report_json",
        "write the timeline's data as JSON to this path",
    ),
    Setting(
        "github",
        "--maia-github",
        None,
        "maia_github",
        "GitHub Actions job summary and annotations: 'on' or 'off' "
        "(default on when GITHUB_ACTIONS=true)",
    ),
    Setting(
        "poll_interval",
        "--maia-poll-interval",
        "MAIA_POLL_INTERVAL",
        "maia_poll_interval",
        "seconds between a wait's first polls; it backs off 1.5 times a poll up to "
        f"{DEFAULT_MAX_INTERVAL:g} (default {DEFAULT_INTERVAL:g})",
        f"{DEFAULT_INTERVAL:g}",
    ),
    Setting(
        "max_concurrent",
        "--maia-max-concurrent",
        "MAIA_MAX_CONCURRENT",
        "maia_max_concurrent",
        "most @maia_start runs started ahead at once; the rest queue (default 4)",
        "4",
    ),
    Setting(
        "max_requests_per_minute",
        "--maia-max-requests-per-minute",
        None,
        "maia_max_requests_per_minute",
        "most API requests in any minute, for the whole suite, xdist workers included "
        "(default 600)",
        "600",
    ),
)
# The largest values the counts take: far above any real suite, and small enough to
# compute with (a 400-digit limit overflowed a float in the request budget).
MAX_CONCURRENT = 10_000
MAX_REQUESTS_PER_MINUTE = 1_000_000
GITHUB_SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


@dataclass(frozen=True)
class MaiaSettings:
    """Resolved configuration. ``sources`` says where each value came from."""

    backend: Backend = Backend.FAKE
    region: str = "eu1"
    base_url: str = field(default_factory=lambda: base_url_for_region("eu1"))
    token_url: str | None = None
    project_id: str | None = None
    environment: str | None = None
    version: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    report: str | None = None
    report_json: str | None = None
    github: bool = False
    poll_interval: float = DEFAULT_INTERVAL
    max_concurrent: int = 4
    max_requests_per_minute: int = 600
    token: Secret | None = field(default=None, repr=False)
    client_id: str | None = field(default=None, repr=False)
    client_secret: Secret | None = field(default=None, repr=False)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def auth_kind(self) -> str:
        if self.token:
            return "bearer token"
        if self.client_id and self.client_secret:
            return "client credentials"
        return "none"

    def missing_for_live(self) -> list[str]:
        """Names of the environment variables a live run still needs (never values)."""
        missing: list[str] = []
        if not self.project_id:
            missing.append("MAIA_PROJECT_ID (or --maia-project)")
        return missing + missing_credentials(self.token, self.client_id, self.client_secret)

    def wait_policy(self) -> WaitPolicy:
        """How the fixtures' waits poll: from ``poll_interval``, backing off to at most
        the default longest interval (or the first, when that is longer)."""
        from pytest_maia.core.wait_policy import WaitPolicy  # not needed at pytest's start

        return WaitPolicy.checked(
            timeout=self.timeout,
            interval=self.poll_interval,
            max_interval=max(DEFAULT_MAX_INTERVAL, self.poll_interval),
        )

    def header(self) -> str:
        """The report-header line: backend, base URL, project; never a secret."""
        project = self.project_id or (FAKE_PROJECT_ID if self.backend.offline else "-")
        line = f"maia: backend={self.backend}, base URL={self.base_url}, project={project}"
        if self.backend.reaches_network:
            line += f", auth={self.auth_kind}"
        return line


def resolve_settings(
    option: Callable[[str], object],
    ini: Callable[[str], object],
    env: Mapping[str, str | Secret] | None = None,
) -> MaiaSettings:
    """Resolve every setting. ``option(name)``/``ini(key)`` return None when unset.

    The environment is read into a snapshot at once (secrets wrapped, whitespace
    stripped) and let go, so no frame of a failure here holds it as a local.
    """
    environ = read_environment(env)
    del env
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        candidates: list[tuple[str, object]] = [
            (setting.option, option(setting.name)),
            (setting.env or "", environ.get(setting.env) if setting.env else None),
            (setting.ini, ini(setting.ini)),
            ("default", setting.default),
        ]
        for source, raw in candidates:
            if raw is not None and str(raw).strip() != "":
                values[setting.name] = str(raw).strip()
                sources[setting.name] = source
                break
        else:
            values[setting.name] = None
    backend = (values["backend"] or "fake").lower()
    if backend not in BACKENDS:
        raise MaiaConfigError(
            f"{sources['backend']}: backend must be 'fake', 'live' or 'replay', "
            f"got {values['backend']!r}"
        )
    region = (values["region"] or "eu1").lower()
    try:
        base_url = check_base_url(values["base_url"] or base_url_for_region(region))
    except MaiaConfigError:
        raise
    except Exception as exc:
        source = sources.get("base_url") or sources["region"]
        raise MaiaConfigError(f"{source}: {exc}") from None
    token_url = values["token_url"]
    if token_url is not None:
        try:
            check_base_url(token_url)
        except Exception as exc:
            raise MaiaConfigError(f"{sources['token_url']}: {exc}") from None
    timeout = _seconds(values, sources, "timeout")
    poll_interval = _seconds(values, sources, "poll_interval")
    max_concurrent = _count(values, sources, "max_concurrent", 1, MAX_CONCURRENT)
    max_rpm = _count(values, sources, "max_requests_per_minute", 2, MAX_REQUESTS_PER_MINUTE)
    github = str(environ.get("GITHUB_ACTIONS", "")).lower() == "true"
    if values["github"] is not None:
        if values["github"].lower() not in GITHUB_SWITCH:
            raise MaiaConfigError(
                f"{sources['github']}: must be 'on' or 'off', got {values['github']!r}"
            )
        github = GITHUB_SWITCH[values["github"].lower()]
    token, client_id, client_secret = credentials_from(environ)
    return MaiaSettings(
        backend=Backend(backend),
        region=region,
        base_url=base_url,
        token_url=token_url,
        project_id=values["project_id"],
        environment=values["environment"],
        version=values["version"],
        timeout=timeout,
        report=values["report"],
        report_json=values["report_json"],
        github=github,
        poll_interval=poll_interval,
        max_concurrent=max_concurrent,
        max_requests_per_minute=max_rpm,
        token=token,
        client_id=client_id,
        client_secret=client_secret,
        sources=sources,
    )


def read_environment(env: Mapping[str, str | Secret] | None = None) -> dict[str, str | Secret]:
    """The settings' variables of ``env`` (default ``os.environ``) and the credentials,
    secrets wrapped (see :func:`~pytest_maia.core.redact.read_variables`)."""
    names = [s.env for s in SETTINGS if s.env] + ["GITHUB_ACTIONS", *CREDENTIAL_VARIABLES]
    return read_variables(names, env)


def _seconds(values: Mapping[str, str | None], sources: Mapping[str, str], name: str) -> float:
    """``values[name]`` as seconds (see :func:`~pytest_maia.core.validation.positive_seconds`)."""
    raw = values[name] or ""
    label = name.replace("_", " ")
    try:
        return positive_seconds(float(raw), label)
    except ValueError:  # not a number, or not a positive one (MaiaValidationError)
        raise MaiaConfigError(
            f"{sources.get(name, 'default')}: {label} must be a positive number of seconds, "
            f"got {raw!r}"
        ) from None


def _count(
    values: Mapping[str, str | None],
    sources: Mapping[str, str],
    name: str,
    least: int,
    most: int,
) -> int:
    """``values[name]`` as an integer from ``least`` to ``most``."""
    raw = values[name] or ""
    try:
        value = int(raw) if len(raw) <= 20 else least - 1
    except ValueError:
        value = least - 1
    if not least <= value <= most:
        label = name.replace("_", " ")
        shown = raw if len(raw) <= 40 else f"{raw[:20]}... ({len(raw)} characters)"
        raise MaiaConfigError(
            f"{sources.get(name, 'default')}: {label} must be an integer from {least} to "
            f"{most}, got {shown!r}"
        )
    return value
