"""Text taken from the API, made safe to print: escaped, and cut to a size.

A server's string (a message, a step name, a problem's detail, a status the spec does
not list) must not steer what shows it: no control character may move the cursor or
erase a line on a terminal, and no line may start with a GitHub workflow command
(``::add-mask::``, ``::stop-commands::``, a forged ``::error``) or hold the runner's
legacy ``##[command]`` form. :func:`safe` does both; :func:`clip` keeps a message to
a size that a report can hold, saying how much it cut. Plain Python, no I/O.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MESSAGE_LIMIT", "api_text", "clip", "safe", "safe_json"]

# Characters of one message from the API that a report or failure text keeps.
MESSAGE_LIMIT = 2000
# Text this much longer than the limit is left whole: clipping clipped text is a no-op.
_SLACK = 40


def _escape(ch: str) -> str:
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii")


def _defuse(line: str) -> str:
    """``line`` with a leading workflow command (``::`` after any whitespace, which the
    runner trims) and every legacy ``##[`` escaped."""
    line = line.replace("##[", "#\\x23[")
    body = line.lstrip()
    if body.startswith("::"):
        line = line[: len(line) - len(body)] + "\\x3a" + body[1:]
    return line


def safe(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control, format and surrogate character escaped (``\\x1b``,
    ``\\r``, ``\\u202e`` ...), so a server's string cannot move the cursor, erase a
    line or fake another status on a terminal, and with no line that a GitHub runner
    would read as a workflow command. With ``newlines`` a ``\\n`` stays, and the lines
    after the first are indented: none can pass for a line of its own."""
    if text.isprintable():  # no control, format or surrogate character (the usual case)
        return "\n".join(_defuse(line) for line in text.split("\n"))
    out: list[str] = []
    for ch in text:
        if newlines and ch == "\n":
            out.append("\n  ")
        elif unicodedata.category(ch).startswith("C"):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "\n".join(_defuse(line) for line in "".join(out).split("\n"))


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, ending with a marker that says how many
    were cut (``… [cut 998000 characters]``); text at most a marker's length over the
    limit (clipped text, clipped again) is returned unchanged."""
    if len(text) <= limit + _SLACK:
        return text
    return f"{text[:limit]}\u2026 [cut {len(text) - limit} characters]"


def api_text(text: str, limit: int = MESSAGE_LIMIT, *, newlines: bool = False) -> str:
    """A string from the API as every output shows it: cut to ``limit``, then escaped."""
    return safe(clip(text, limit), newlines=newlines)


def safe_json(data: object, **options: object) -> str:
    """``data`` as JSON text to print: ASCII only (every control and format character a
    ``\\uXXXX`` escape), on lines that cannot start with ``::``, and with the runner's
    legacy ``##[`` broken up (``##\\u005b``, the same string to a JSON reader)."""
    import json  # loaded on first use: the plugin imports this module at start

    text = json.dumps(data, ensure_ascii=True, **options)  # type: ignore[arg-type]
    return text.replace("##[", "##\\u005b")
