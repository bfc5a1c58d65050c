"""Secret values scrubbed from text we show.

Text taken from a response (which may echo the request) is scrubbed of every secret
the client knows before it goes into a message. (Credentials are checked, by name and
never by value, in :func:`pytest_maia.config.check_credential`.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from urllib.parse import quote, quote_plus

from pytest_maia.config import Secret
from pytest_maia.models import ProblemDetail

__all__ = ["MASK", "is_header_safe", "scrub", "scrub_problem"]

MASK = "***"


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
