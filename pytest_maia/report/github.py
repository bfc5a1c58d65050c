"""GitHub Actions output: a Markdown job summary and ``::error`` annotations.

Workflow commands follow GitHub's escaping rules: in a message ``%``, CR and LF become
``%25``, ``%0D`` and ``%0A``; in a property value ``:`` and ``,`` also become ``%3A``
and ``%2C``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

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


def _explanation(execution: Execution) -> str:
    parts = [execution.message] if execution.message else []
    parts += execution.failing_steps
    return "; ".join(parts)


def step_summary(timeline: Timeline) -> str:
    """The Markdown appended to ``$GITHUB_STEP_SUMMARY``."""
    clock = "virtual time, fake backend" if timeline.virtual else "wall-clock"
    lines = [
        f"### Maia pipeline executions ({len(timeline.executions)})",
        "",
        f"| | test | pipeline | execution | status | elapsed ({clock}) | polls | message |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    for e in timeline.executions:
        emoji = EMOJI.get(e.outcome, BAD)
        lines.append(
            f"| {emoji} | {_cell(e.nodeid)} | {_cell(e.pipeline or '-')} | "
            f"`{_cell(e.execution_id)}` | {_cell(e.outcome)} | {duration_text(e.elapsed)} | "
            f"{e.polls} | {_cell(_explanation(e))} |"
        )
    if timeline.cancelled:
        lines += ["", "Pipeline runs cancelled at teardown:", ""]
        lines += [f"- {_cell(c.nodeid)}: {_cell(c.text)}" for c in timeline.cancelled]
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
            message += "\n" + "\n".join([e.message or "", *e.failing_steps]).strip()
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
