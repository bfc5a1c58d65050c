"""GitHub Actions output: a Markdown job summary and ``::error`` annotations.

Workflow commands follow GitHub's escaping rules: in a message ``%``, CR and LF become
``%25``, ``%0D`` and ``%0A``; in a property value ``:`` and ``,`` also become ``%3A``
and ``%2C``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pytest_maia.core.text import clip, safe
from pytest_maia.report.svg import duration_text
from pytest_maia.report.timeline import Execution, Timeline

__all__ = [
    "annotation_lines",
    "escape_data",
    "escape_property",
    "is_actions",
    "step_summary",
    "write_step_summary",
]

EMOJI = {
    "SUCCESS": "\u2705",  # check mark
    "SKIPPED": "\u23ed\ufe0f",
    "CANCELLED": "\u26d4",
    "CANCELLING": "\u26d4",
    "RUNNING": "\u23f3",
}
BAD = "\u274c"  # cross mark: FAILED, TIMEOUT, ERROR and the rest


def is_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS", "").lower() == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _cell(text: str) -> str:
    """Markdown table cell text: one line, no pipe that would split the cell."""
    return " ".join(text.split()).replace("|", "\\|") or "-"


def _code(text: str) -> str:
    """``text`` (a test id or anything the API wrote) as a Markdown code span in a table
    cell: GitHub renders no link, image, emphasis or HTML inside it. One line; a pipe is
    escaped (GFM reads ``\\|`` as ``|`` even in a code span); the fence is one backtick
    longer than any run of backticks inside."""
    flat = " ".join(text.split())
    if not flat:
        return "-"
    longest = max((len(run) for run in re.findall("`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return fence + pad + flat.replace("|", "\\|") + pad + fence


def _explanation(execution: Execution) -> str:
    parts = [execution.message] if execution.message else []
    parts += execution.failing_steps
    return "; ".join(parts)


# GitHub shows a job summary of at most 1 MiB and drops a bigger one whole: ours stays
# well under it, whatever the API wrote.
SUMMARY_LIMIT = 512 * 1024


def _size(line: str) -> int:
    return len(line.encode("utf-8")) + 1


# Failing steps a summary row lists, and the characters kept of each.
SUMMARY_STEPS, SUMMARY_STEP_LIMIT = 3, 300


def _short_explanation(execution: Execution) -> str:
    """The summary's message cell: the message (cut as reports keep it) and the first
    failing steps, shorter still."""
    parts = [clip(execution.message)] if execution.message else []
    steps = execution.failing_steps
    parts += [clip(step, SUMMARY_STEP_LIMIT) for step in steps[:SUMMARY_STEPS]]
    if len(steps) > SUMMARY_STEPS:
        parts.append(f"... and {len(steps) - SUMMARY_STEPS} more failing steps")
    return "; ".join(parts)


def step_summary(timeline: Timeline, *, limit: int = SUMMARY_LIMIT) -> str:
    """The Markdown appended to ``$GITHUB_STEP_SUMMARY``: every text from a test or the
    API in a code span, and at most ``limit`` bytes (rows past it are counted, not shown)."""
    clock = "virtual time, fake backend" if timeline.virtual else "wall-clock"
    lines = [
        f"### Maia pipeline executions ({len(timeline.executions)})",
        "",
        f"| | test | pipeline | execution | status | elapsed ({clock}) | polls | message |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    rows = []
    for e in timeline.executions:
        emoji = EMOJI.get(e.outcome, BAD)
        rows.append(
            f"| {emoji} | {_code(e.nodeid)} | {_code(e.pipeline or '')} | "
            f"{_code(e.execution_id)} | {_code(e.outcome)} | {duration_text(e.elapsed)} | "
            f"{e.polls} | {_code(_short_explanation(e))} |"
        )
    cancelled = []
    if timeline.cancelled:
        cancelled += ["", "Pipeline runs cancelled at teardown:", ""]
        cancelled += [f"- {_code(c.nodeid)}: {_code(clip(c.text))}" for c in timeline.cancelled]
    room = limit - sum(map(_size, lines)) - 200  # 200: the "not shown" line
    shown = 0
    for line in [*rows, *cancelled]:
        if room - _size(line) < 0:
            break
        room -= _size(line)
        lines.append(line)
        shown += 1
    if shown < len(rows) + len(cancelled):
        left = len(rows) + len(cancelled) - shown
        lines += ["", f"{left} more line(s) not shown: the summary is capped at {limit} bytes."]
    return "\n".join(lines) + "\n\n"


def annotation_lines(timeline: Timeline) -> list[str]:
    """One ``::error`` line per failed execution of a failed test, at the test. (A test
    that expects a run to fail, and passes, gets no annotation.)"""
    lines = []
    for e in timeline.executions:
        if not (e.failed and e.test_failed):
            continue
        where = []
        if e.path:
            where.append(f"file={escape_property(e.path)}")
            if e.line:
                where.append(f"line={e.line}")
        title = f"Maia execution {e.outcome}: {e.pipeline or e.execution_id}"
        where.append(f"title={escape_property(title)}")
        message = f"{e.nodeid}: execution {e.execution_id} ended {e.outcome}"
        message += f" after {duration_text(e.elapsed)} ({e.polls} polls)"
        if _explanation(e):
            explained = "\n".join([e.message or "", *e.failing_steps]).strip()
            message += "\n" + "\n".join(safe(line) for line in clip(explained).split("\n"))
        lines.append(f"::error {','.join(where)}::{escape_data(message)}")
    return lines


def write_step_summary(timeline: Timeline, environ: Mapping[str, str]) -> bool:
    """Append the summary to ``$GITHUB_STEP_SUMMARY``; False when it is not set."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with Path(target).open("a", encoding="utf-8") as out:
        out.write(step_summary(timeline))
    return True
