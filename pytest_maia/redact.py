"""Secrets: held out of sight, checked by name, scrubbed from what we show.

A credential lives in a :class:`Secret` (its repr never shows it) and request fields
that carry one in :class:`SecretFields`. A bad credential is reported by the variable
that held it, never by value, and text taken from a response (which may echo the
request) is scrubbed of every secret the client knows before it goes into a message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from urllib.parse import quote, quote_plus

from pytest_maia.errors import MaiaConfigError
from pytest_maia.models import ProblemDetail

__all__ = [
    "MASK",
    "Secret",
    "SecretFields",
    "check_credential",
    "is_header_safe",
    "scrub",
    "scrub_problem",
]

MASK = "***"


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


def is_header_safe(token: str) -> bool:
    """True when ``token`` can go into ``Authorization: Bearer ...`` unchanged."""
    return bool(token) and all(0x21 <= ord(ch) <= 0x7E for ch in token)


def scrub(text: str, secrets: Iterable[Secret | str | None]) -> str:
    """``text`` with each secret (raw, and as a URL or form would encode it) masked."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if not value:
            continue
        for form in sorted({value, quote(value, safe=""), quote_plus(value)}, key=len)[::-1]:
            text = text.replace(form, MASK)
    return text


def scrub_problem(problem: ProblemDetail, secrets: Sequence[Secret | str | None]) -> ProblemDetail:
    """``problem`` with every text field scrubbed of ``secrets``."""
    changes: dict[str, object] = {}
    for name in ("type", "title", "detail", "instance"):
        value = getattr(problem, name)
        if value is not None:
            changes[name] = scrub(value, secrets)
    changes["violations"] = tuple(scrub(v, secrets) for v in problem.violations)
    return dataclasses.replace(problem, **changes)  # type: ignore[arg-type]
