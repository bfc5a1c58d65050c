"""Secrets: held out of sight, checked by name, scrubbed from what we show.

A credential lives in a :class:`Secret` (its repr never shows it) and request fields
that carry one in :class:`SecretFields`. A bad credential is reported by the variable
that held it, never by value, and text taken from a response (which may echo the
request) is scrubbed of every secret the client knows before it goes into a message.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

from pytest_maia.core.errors import MaiaConfigError

if TYPE_CHECKING:  # the models load with the client, not with the plugin
    from pytest_maia.core.models import ProblemDetail

__all__ = [
    "CREDENTIAL_VARIABLES",
    "Finder",
    "LONG_SECRET",
    "MASK",
    "Secret",
    "SecretFields",
    "check_credential",
    "finder",
    "credentials_from",
    "is_header_safe",
    "masked",
    "masked_json",
    "missing_credentials",
    "read_variables",
    "scrub",
    "scrub_json",
    "scrub_problem",
]

MASK = "***"
# The environment variables that hold credentials; the first and last are secrets.
CREDENTIAL_VARIABLES = ("MAIA_TOKEN", "MAIA_CLIENT_ID", "MAIA_CLIENT_SECRET")
_SECRET_VARIABLES = ("MAIA_TOKEN", "MAIA_CLIENT_SECRET")


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


class SecretFields(dict[str, str]):
    """Request headers or form fields whose credential values never show in a repr
    (a traceback's locals under ``pytest -l`` are reprs)."""

    HIDDEN = frozenset({"authorization", "client_secret"})

    def __repr__(self) -> str:
        shown = {k: ("***" if k.lower() in self.HIDDEN else v) for k, v in self.items()}
        return f"SecretFields({shown!r})"

    __str__ = __repr__


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text)


def _credential_problem(value: Secret, bearer: bool) -> str | None:
    text = value.reveal()
    if not text:
        return "is empty (or only whitespace)"
    if _has_control(text):
        return "contains a control character (CR, LF, NUL, TAB or similar)"
    if bearer and not all(0x21 <= ord(ch) <= 0x7E for ch in text):
        return "contains a space or a non-ASCII character, which a bearer token cannot hold"
    return None


def check_credential(value: Secret, name: str, *, bearer: bool = False) -> Secret:
    """``value`` stripped of surrounding whitespace; :class:`MaiaConfigError` naming
    ``name`` (never the value) when a control character remains. A ``bearer`` token
    goes into a header, so it must also be printable ASCII without spaces.

    No local of this frame holds the raw value when it raises (``pytest -l``)."""
    stripped = Secret(value.reveal().strip())
    problem = _credential_problem(stripped, bearer)
    if problem is not None:
        raise MaiaConfigError(f"{name} {problem}; check how it was set (the value is not shown)")
    return stripped


def read_variables(
    names: Iterable[str], env: Mapping[str, str | Secret] | None = None
) -> dict[str, str | Secret]:
    """The variables ``names`` of ``env`` (default ``os.environ``) that are set, stripped,
    with secrets wrapped in :class:`Secret` at once: hold this, never the environment."""
    source = os.environ if env is None else env
    snapshot: dict[str, str | Secret] = {}
    for name in names:
        raw = source.get(name)
        if isinstance(raw, Secret) and raw:
            snapshot[name] = raw
        elif isinstance(raw, str) and raw.strip():
            snapshot[name] = Secret(raw.strip()) if name in _SECRET_VARIABLES else raw.strip()
    return snapshot


def credentials_from(
    variables: Mapping[str, str | Secret],
) -> tuple[Secret | None, str | None, Secret | None]:
    """``(token, client_id, client_secret)`` from a :func:`read_variables` snapshot,
    each checked; a bad one is a :class:`MaiaConfigError` naming its variable."""
    token = variables.get("MAIA_TOKEN")
    if isinstance(token, Secret):
        token = check_credential(token, "MAIA_TOKEN", bearer=True)
    client_secret = variables.get("MAIA_CLIENT_SECRET")
    if isinstance(client_secret, Secret):
        client_secret = check_credential(client_secret, "MAIA_CLIENT_SECRET")
    client_id = variables.get("MAIA_CLIENT_ID")
    if isinstance(client_id, str):
        client_id = check_credential(Secret(client_id), "MAIA_CLIENT_ID").reveal()
    return (
        token if isinstance(token, Secret) else None,
        client_id if isinstance(client_id, str) else None,
        client_secret if isinstance(client_secret, Secret) else None,
    )


def missing_credentials(token: object, client_id: object, client_secret: object) -> list[str]:
    """The credential variables still needed (names only), or [] when there are some."""
    if token or (client_id and client_secret):
        return []
    if client_id:
        return ["MAIA_CLIENT_SECRET"]
    if client_secret:
        return ["MAIA_CLIENT_ID"]
    return ["MAIA_TOKEN, or MAIA_CLIENT_ID and MAIA_CLIENT_SECRET"]


def is_header_safe(token: str) -> bool:
    """True when ``token`` can go into ``Authorization: Bearer ...`` unchanged."""
    return bool(token) and all(0x21 <= ord(ch) <= 0x7E for ch in token)


# A secret this long is masked wherever it appears; a shorter one only where it stands as
# a whole token (see :func:`scrub`). Issued access tokens and real secrets are far longer.
LONG_SECRET = 8
# What continues a token: a short secret beside one of these is part of a longer word.
_WORD = r"[\w-]"


def _values(secrets: Iterable[Secret | str | None]) -> list[str]:
    values = {secret.reveal() if isinstance(secret, Secret) else secret for secret in secrets}
    return [value for value in values if value]


# How one secret's form is found: anywhere (a plain substring), or with the pattern that
# finds it only as a whole token. Shared with the cassette recorder's scrubbing.
Finder = tuple[str, "re.Pattern[str] | None"]


def finder(form: str, *, anywhere: bool) -> Finder:
    """Find ``form`` anywhere, or only where no letter, digit, ``_`` or ``-`` touches it."""
    return (form, None if anywhere else re.compile(f"(?<!{_WORD}){re.escape(form)}(?!{_WORD})"))


def _finders(secrets: Iterable[Secret | str | None]) -> tuple[Finder, ...]:
    """Each secret's forms (raw, URL- and form-encoded), longest first."""
    return _finders_of(tuple(sorted(_values(secrets))))


# Every answer is scrubbed (each poll too): the forms of a client's secrets and issued
# tokens are built once, not per answer (65 of them cost 93 us a status answer).
@functools.lru_cache(maxsize=16)
def _finders_of(values: tuple[str, ...]) -> tuple[Finder, ...]:
    return tuple(
        finder(form, anywhere=len(value) >= LONG_SECRET)
        for value in values
        for form in sorted({value, quote(value, safe=""), quote_plus(value)}, key=len)[::-1]
    )


def masked(text: str, finders: Iterable[Finder], mask: str = MASK) -> str:
    """``text`` with every form ``finders`` find replaced by ``mask``."""
    for form, whole in finders:
        if form in text:
            text = text.replace(form, mask) if whole is None else whole.sub(mask, text)
    return text


def masked_json(data: object, finders: Sequence[Finder], mask: str = MASK) -> object:
    """Decoded JSON ``data`` with :func:`masked` applied to every string and object key."""
    if isinstance(data, str):
        return masked(data, finders, mask)
    if isinstance(data, list):
        return [masked_json(item, finders, mask) for item in data]
    if isinstance(data, dict):
        return {
            masked(str(key), finders, mask): masked_json(item, finders, mask)
            for key, item in data.items()
        }
    return data


def scrub(text: str, secrets: Iterable[Secret | str | None]) -> str:
    """``text`` with each secret (raw, and as a URL or form would encode it) masked.

    The rule: a secret of :data:`LONG_SECRET` (8) characters or more is masked wherever
    it appears, inside a word too. A shorter one is masked only where it stands as a
    whole token, not touching a letter, digit, ``_`` or ``-`` (``client_secret=s&``,
    ``Bearer s``, ``"s"``), so that ``client_secret="s"`` never turns ``/v1/projects``
    into ``/v1/project***``.
    """
    return masked(text, _finders(secrets))


def scrub_json(value: object, secrets: Iterable[Secret | str | None]) -> object:
    """A decoded JSON ``value`` with :func:`scrub` applied to every string in it (keys
    too): an answer that echoes a secret, success answers included, shows it nowhere."""
    finders = _finders(secrets)
    return masked_json(value, finders) if finders else value


def scrub_problem(problem: ProblemDetail, secrets: Sequence[Secret | str | None]) -> ProblemDetail:
    """``problem`` with every text field scrubbed of ``secrets``."""
    changes: dict[str, object] = {}
    for name in ("type", "title", "detail", "instance"):
        value = getattr(problem, name)
        if value is not None:
            changes[name] = scrub(value, secrets)
    changes["violations"] = tuple(scrub(v, secrets) for v in problem.violations)
    return dataclasses.replace(problem, **changes)  # type: ignore[arg-type]
