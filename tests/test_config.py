"""Settings from options, environment and ini (pytest_maia.core.settings)."""

from __future__ import annotations

import pytest

from pytest_maia import MaiaConfigError
from pytest_maia.core.defaults import FAKE_PROJECT_ID
from pytest_maia.core.redact import Secret
from pytest_maia.core.settings import resolve_settings


def resolve(
    options: dict[str, str] | None = None,
    ini: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    opts = options or {}
    inis = ini or {}
    return resolve_settings(opts.get, inis.get, env or {})


def test_defaults() -> None:
    settings = resolve()
    assert settings.backend == "fake"
    assert settings.region == "eu1"
    assert settings.base_url == "https://eu1.api.matillion.com/dpc"
    assert settings.project_id is None
    assert settings.timeout == 1800
    assert settings.sources["backend"] == "default"
    assert f"project={FAKE_PROJECT_ID}" in settings.header()


def test_precedence_option_over_env_over_ini() -> None:
    settings = resolve(
        options={"timeout": "10"},
        env={"MAIA_TIMEOUT": "20", "MAIA_PROJECT_ID": "env-proj"},
        ini={"maia_timeout": "30", "maia_project_id": "ini-proj", "maia_region": "us1"},
    )
    assert settings.timeout == 10
    assert settings.sources["timeout"] == "--maia-timeout"
    assert settings.project_id == "env-proj"
    assert settings.sources["project_id"] == "MAIA_PROJECT_ID"
    assert settings.region == "us1"
    assert settings.base_url == "https://us1.api.matillion.com/dpc"
    assert settings.sources["region"] == "maia_region"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (
            {"options": {"backend": "mock"}},
            "--maia-backend: backend must be 'fake', 'live' or 'replay'",
        ),
        ({"env": {"MAIA_TIMEOUT": "soon"}}, "MAIA_TIMEOUT: timeout must be a positive number"),
        ({"ini": {"maia_timeout": "-3"}}, "maia_timeout: timeout"),
        ({"options": {"timeout": "nan"}}, "timeout"),
        ({"options": {"region": "mars"}}, "unknown region 'mars'"),
        ({"options": {"base_url": "http://example.com"}}, "--maia-base-url: base_url"),
    ],
)
def test_bad_settings_name_their_source(kwargs: dict[str, dict[str, str]], needle: str) -> None:
    with pytest.raises(MaiaConfigError, match=needle.replace("(", r"\(")):
        resolve(**kwargs)


def test_secrets_come_from_env_only_and_never_show() -> None:
    settings = resolve(
        env={"MAIA_TOKEN": "tok-SEKRIT", "MAIA_CLIENT_SECRET": "cs-SEKRIT", "MAIA_CLIENT_ID": "i"}
    )
    assert settings.token == Secret("tok-SEKRIT")
    assert settings.auth_kind == "bearer token"
    for text in (repr(settings), str(settings), settings.header(), repr(settings.token)):
        assert "SEKRIT" not in text


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        (
            {},
            [
                "MAIA_PROJECT_ID (or --maia-project)",
                "MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET",
            ],
        ),
        ({"MAIA_PROJECT_ID": "p", "MAIA_CLIENT_ID": "i"}, ["MAIA_CLIENT_SECRET"]),
        ({"MAIA_PROJECT_ID": "p", "MAIA_CLIENT_SECRET": "s"}, ["MAIA_CLIENT_ID"]),
        ({"MAIA_PROJECT_ID": "p", "MAIA_TOKEN": "t"}, []),
    ],
)
def test_missing_for_live(env: dict[str, str], missing: list[str]) -> None:
    assert resolve(env=env).missing_for_live() == missing


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAIA_MAX_CONCURRENT": "0"}, "max concurrent must be an integer from 1 to"),
        ({"MAIA_MAX_CONCURRENT": "two"}, "MAIA_MAX_CONCURRENT"),
        ({"MAIA_POLL_INTERVAL": "-1"}, "poll interval must be a positive number"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(MaiaConfigError, match=message):
        resolve_settings(lambda _: None, lambda _: None, env)


def test_the_budget_is_an_option_or_ini_value_only() -> None:
    ini = {"maia_max_requests_per_minute": "120"}
    settings = resolve_settings(lambda _: None, ini.get, {})
    assert settings.max_requests_per_minute == 120
    assert settings.sources["max_requests_per_minute"] == "maia_max_requests_per_minute"
    settings = resolve_settings(
        lambda name: "90" if name == "max_requests_per_minute" else None, ini.get, {}
    )
    assert settings.max_requests_per_minute == 90
    with pytest.raises(MaiaConfigError, match="integer from 2 to"):
        resolve_settings(lambda _: None, {"maia_max_requests_per_minute": "1"}.get, {})


def test_the_wait_policy_follows_the_poll_interval() -> None:
    policy = resolve(options={"poll_interval": "0.2", "timeout": "9"}).wait_policy()
    assert (policy.timeout, policy.interval, policy.max_interval) == (9.0, 0.2, 30.0)
    assert resolve(options={"poll_interval": "60"}).wait_policy().max_interval == 60.0
