"""The self-contained HTML report: the SVG timeline, then a table of every execution.

No script and no external asset: the file reads the same offline, attached to a CI run.
Every text from a test (ids, messages) is escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from pytest_maia.report.svg import duration_text, legend_svg, render_svg
from pytest_maia.report.timeline import Execution, Timeline

__all__ = ["execution_cell", "legend_html", "render_html", "summary_text", "write_html"]

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


def _kind(outcome: str) -> str:
    """``TIMEOUT (RUNNING)`` counts as a TIMEOUT, ``ERROR (HTTP 500)`` as an ERROR."""
    return outcome.split(" ", 1)[0] or outcome


def summary_text(timeline: Timeline) -> str:
    """The report's first line: how many executions, in how many tests and how those
    tests ended, and which executions did not end SUCCESS (and whether their tests
    expected it: a test that passed did)."""
    executions = timeline.executions
    tests: dict[str, bool] = {}
    for e in executions:
        tests[e.nodeid] = tests.get(e.nodeid, False) or e.test_failed
    failed_tests = sum(tests.values())
    if not tests:
        verdict = "no test"
    elif failed_tests == 0:
        verdict = f"all {len(tests)} tests passed" if len(tests) > 1 else "its test passed"
    else:
        verdict = f"{failed_tests} of {len(tests)} tests failed"
    others = [e for e in executions if e.outcome != "SUCCESS"]
    counts: dict[str, int] = {}
    for e in others:
        counts[_kind(e.outcome)] = counts.get(_kind(e.outcome), 0) + 1
    text = f"{len(executions)} execution(s) waited on in {len(tests)} test(s): {verdict}. "
    if not others:
        text += "Every execution ended SUCCESS."
    else:
        kinds = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        in_failed = sum(1 for e in others if e.test_failed)
        if in_failed == 0:
            whose = "all in tests that passed (expected by their tests)"
        elif in_failed == len(others):
            whose = "all in tests that failed"
        else:
            whose = f"{in_failed} in tests that failed, {len(others) - in_failed} expected"
        text += f"{len(others)} did not end SUCCESS ({kinds}): {whose}."
    return text


def _row(execution: Execution, zero: float) -> str:
    bad = ' class="bad"' if execution.failed else ""
    start, end = execution.start - zero, execution.end - zero
    test = "failed" if execution.test_failed else "passed"
    test_class = "bad test-outcome" if execution.test_failed else "test-outcome"
    return (
        '<tr class="execution">'
        f"<td>{escape(execution.nodeid)}</td>"
        f'<td class="{test_class}">{test}</td>'
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
    clock = "virtual time (fake backend)" if timeline.virtual else "wall-clock time (live API)"
    head = (
        "<tr><th>test</th><th>test outcome</th><th>pipeline</th><th>execution id</th>"
        "<th>final status</th><th>elapsed</th><th>start</th><th>end</th><th>polls</th>"
        "<th>message and failing steps</th></tr>"
    )
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="summary">{escape(summary_text(timeline))} Times are {escape(clock)}.</p>',
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
    svg = render_svg(executions, virtual=virtual, width=720, legend=False)
    return f'<td class="col-maia"><ul>{items}</ul>{svg}</td>'


def legend_html() -> str:
    """The one legend of a pytest-html page, whose rows draw their timelines without."""
    return f'<div class="maia-legend"><p>Maia timelines:</p>{legend_svg(720)}</div>'
