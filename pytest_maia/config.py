"""Settings from options, environment and ini, with the design's precedence.

Command line > environment variable > ini > default. Secrets come from the
environment only and are held in :class:`Secret`, whose repr never shows them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pytest_maia.errors import MaiaConfigError
from pytest_maia.validation import REGIONS, base_url_for_region, check_base_url

__all__ = [
    "BACKENDS",
    "OFFLINE_BACKENDS",
    "DEFAULT_TIMEOUT",
    "FAKE_ENVIRONMENT",
    "FAKE_PROJECT_ID",
    "SETTINGS",
    "MaiaSettings",
    "Secret",
    "Setting",
    "resolve_settings",
]

BACKENDS = ("fake", "live", "replay")
# Backends served by the in-process fake: scripted by the test, or from a cassette.
OFFLINE_BACKENDS = ("fake", "replay")
DEFAULT_TIMEOUT = 1800.0
FAKE_PROJECT_ID = "fake-project"
FAKE_ENVIRONMENT = "fake-environment"


class Secret:
    """A credential that never shows itself in repr, str or logs; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Pickling (xdist) keeps the value; repr is what must stay hidden.
        return (Secret, (self._value,))


@dataclass(frozen=True)
class Setting:
    """One configurable value: its option, environment variable, ini key and help."""

    name: str
    option: str
    env: str
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
        "timeout",
        "--maia-timeout",
        "MAIA_TIMEOUT",
        "maia_timeout",
        "seconds a wait may take before it fails (default 1800)",
        str(int(DEFAULT_TIMEOUT)),
    ),
)


@dataclass(frozen=True)
class MaiaSettings:
    """Resolved configuration. ``sources`` says where each value came from."""

    backend: str = "fake"
    region: str = "eu1"
    base_url: str = field(default_factory=lambda: base_url_for_region("eu1"))
    token_url: str | None = None
    project_id: str | None = None
    environment: str | None = None
    timeout: float = DEFAULT_TIMEOUT
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
        if not self.token and not (self.client_id and self.client_secret):
            if self.client_id and not self.client_secret:
                missing.append("MAIA_CLIENT_SECRET")
            elif self.client_secret and not self.client_id:
                missing.append("MAIA_CLIENT_ID")
            else:
                missing.append("MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET")
        return missing

    def header(self) -> str:
        """The report-header line: backend, base URL, project; never a secret."""
        project = self.project_id or (FAKE_PROJECT_ID if self.backend in OFFLINE_BACKENDS else "-")
        line = f"maia: backend={self.backend}, base URL={self.base_url}, project={project}"
        if self.backend == "live":
            line += f", auth={self.auth_kind}"
        return line


def resolve_settings(
    option: Callable[[str], object],
    ini: Callable[[str], object],
    env: Mapping[str, str] | None = None,
) -> MaiaSettings:
    """Resolve every setting. ``option(name)``/``ini(key)`` return None when unset."""
    environ = os.environ if env is None else env
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        candidates: list[tuple[str, object]] = [
            (setting.option, option(setting.name)),
            (setting.env, environ.get(setting.env)),
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
    raw_timeout = values["timeout"] or str(DEFAULT_TIMEOUT)
    try:
        timeout = float(raw_timeout)
    except ValueError:
        timeout = -1.0
    if not math.isfinite(timeout) or timeout <= 0:
        raise MaiaConfigError(
            f"{sources['timeout']}: timeout must be a positive number of seconds, "
            f"got {raw_timeout!r}"
        )
    token = environ.get("MAIA_TOKEN") or None
    client_secret = environ.get("MAIA_CLIENT_SECRET") or None
    return MaiaSettings(
        backend=backend,
        region=region,
        base_url=base_url,
        token_url=token_url,
        project_id=values["project_id"],
        environment=values["environment"],
        timeout=timeout,
        token=Secret(token) if token else None,
        client_id=environ.get("MAIA_CLIENT_ID") or None,
        client_secret=Secret(client_secret) if client_secret else None,
        sources=sources,
    )
