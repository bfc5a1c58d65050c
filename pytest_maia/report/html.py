"""The self-contained HTML report: the SVG timeline, then a table of every execution.

No script and no external asset: the file reads the same offline, attached to a CI run.
Every text from a test (ids, messages) is escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from pytest_maia.report.svg import duration_text, render_svg
from pytest_maia.report.timeline import Execution, Timeline

__all__ = ["execution_cell", "render_html", "write_html"]

STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
td.num{text-align:right}
.bad{font-weight:bold}
.scroll{overflow-x:auto}
ul{margin:0;padding-left:1.2em}
"""


def _explanation(execution: Execution) -> str:
    parts = []
    if execution.message:
        parts.append(escape(execution.message))
    if execution.failing_steps:
        items = "".join(f"<li>{escape(step)}</li>" for step in execution.failing_steps)
        parts.append(f'<ul class="failing-steps">{items}</ul>')
    return "".join(parts)


def _row(execution: Execution, zero: float) -> str:
    bad = ' class="bad"' if execution.failed else ""
    start, end = execution.start - zero, execution.end - zero
    return (
        '<tr class="execution">'
        f"<td>{escape(execution.nodeid)}</td>"
        f"<td>{escape(execution.pipeline or '-')}</td>"
        f"<td><code>{escape(execution.execution_id)}</code></td>"
        f"<td{bad}>{escape(execution.outcome)}</td>"
        f'<td class="num">{escape(duration_text(execution.elapsed))}</td>'
        f'<td class="num">+{escape(duration_text(start))}</td>'
        f'<td class="num">+{escape(duration_text(end))}</td>'
        f'<td class="num">{execution.polls}</td>'
        f"<td>{_explanation(execution)}</td></tr>"
    )


def render_html(timeline: Timeline, *, title: str = "Maia pipeline executions") -> str:
    """The whole report page."""
    executions = timeline.executions
    failed = sum(1 for e in executions if e.failed)
    clock = "virtual time (fake backend)" if timeline.virtual else "wall-clock time (live API)"
    head = (
        "<tr><th>test</th><th>pipeline</th><th>execution id</th><th>final status</th>"
        "<th>elapsed</th><th>start</th><th>end</th><th>polls</th>"
        "<th>message and failing steps</th></tr>"
    )
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="summary">{len(executions)} execution(s) waited on, {failed} not '
        f"successful; times are {escape(clock)}.</p>",
    ]
    if executions:
        body.append(
            '<div class="scroll">' + render_svg(executions, virtual=timeline.virtual) + "</div>"
        )
        body.append(f'<table class="executions">{head}')
        zero = min(e.start for e in executions)  # start and end: from the first start
        body += [_row(e, zero) for e in executions]
        body.append("</table>")
    else:
        body.append("<p>No execution was waited on.</p>")
    if timeline.cancelled:
        body.append(
            "<h2>Pipeline runs cancelled at teardown</h2>"
            '<table class="cancelled"><tr><th>test</th><th>run and outcome</th></tr>'
        )
        body += [
            f"<tr><td>{escape(c.nodeid)}</td><td>{escape(c.text)}</td></tr>"
            for c in timeline.cancelled
        ]
        body.append("</table>")
    body.append("</body></html>")
    return "\n".join(body) + "\n"


def write_html(timeline: Timeline, path: str | Path) -> None:
    Path(path).write_text(render_html(timeline), encoding="utf-8")


def execution_cell(executions: list[Execution], *, virtual: bool) -> str:
    """A pytest-html table cell: each execution's id and final status, and the SVG."""
    if not executions:
        return '<td class="col-maia"></td>'
    items = "".join(
        f"<li><code>{escape(e.execution_id)}</code> {escape(e.outcome)}</li>" for e in executions
    )
    svg = render_svg(executions, virtual=virtual, width=720)
    return f'<td class="col-maia"><ul>{items}</ul>{svg}</td>'
