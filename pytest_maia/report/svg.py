"""The Gantt-style SVG timeline: one bar per execution, one segment per status.

Self-contained (no script, no external reference). Colours are the Okabe-Ito palette,
readable with the common colour-vision deficiencies; each status also has a pattern and
its name as text (a label on wide segments, a ``<title>`` on every one, the legend).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from html import escape

from pytest_maia.report.timeline import Execution

__all__ = ["COLOURS", "PATTERNS", "axis_title", "cut", "duration_text", "legend_svg", "render_svg"]

# Okabe & Ito (2008), "Color Universal Design".
COLOURS = {
    "RUNNING": "#56B4E9",
    "SUCCESS": "#009E73",
    "FAILED": "#D55E00",
    "CANCELLING": "#E69F00",
    "CANCELLED": "#CC79A7",
    "FORBIDDEN": "#0072B2",
    "SKIPPED": "#F0E442",
    "UNKNOWN": "#999999",
}
OTHER = "#000000"  # a status the palette does not know
# Statuses that also get a pattern over their colour: the bad endings stand out in grey.
PATTERNS = {"FAILED": "hatch", "CANCELLED": "dots", "CANCELLING": "dots", "FORBIDDEN": "hatch"}

WIDTH = 1000
LABEL_W = 400  # test id, pipeline and execution id on the left
PAD = 10
CAP = 6  # the final status is at least this wide, past the last poll if need be
ROW_H = 22
BAR_H = 14
TOP = 40
LEGEND_H = 34
EXPLAIN_H = 14  # the line under a bar that says why the run did not succeed

DEFS = (
    "<defs>"
    '<pattern id="maia-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="2" height="6" fill="#000" '
    'fill-opacity="0.45"/></pattern>'
    '<pattern id="maia-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
    '<circle cx="2.5" cy="2.5" r="1.1" fill="#000" fill-opacity="0.5"/></pattern>'
    "</defs>"
)
CHAR_W = 6.2  # a generous average glyph width at 11 px, to keep text inside its room


# Where a test id, a pipeline name or a message may be cut: after these characters.
_BREAKS = " _-/:.[]|,;"


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word boundary (a space, ``_``,
    ``-``, ``/``, ``::``...) when one is in the second half, with an ellipsis."""
    if len(text) <= limit:
        return text
    room = max(limit - 1, 1)
    boundary = max((i + 1 for i, ch in enumerate(text[:room]) if ch in _BREAKS), default=0)
    end = boundary if boundary >= room // 2 else room
    return (text[:end].rstrip(" _-/:.,;|") or text[:end]) + "\u2026"


def duration_text(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 or seconds == 0 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _tick_text(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes}m" if minutes < 60 or minutes % 60 else f"{minutes // 60}h"
    return duration_text(seconds)


def _ticks(span: float) -> list[float]:
    """Round tick values from 0 to ``span``, about five of them."""
    raw = max(span, 1e-9) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    for nice in (60.0, 300.0, 600.0, 1800.0, 3600.0):  # whole minutes read better
        if raw <= nice and step > 30:
            step = nice
            break
    return [i * step for i in range(int(span / step + 1e-9) + 1)]


def axis_title(virtual: bool, start: float = 0.0) -> str:
    if virtual:
        return "virtual time (fake backend): seconds on each test's fake clock, not wall-clock"
    try:
        when = _dt.datetime.fromtimestamp(start, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "wall-clock time since the first wait started"
    return f"wall-clock time since the first wait started, {when} UTC"


def _fill(status: str) -> str:
    return COLOURS.get(status, OTHER)


def _segments(execution: Execution, scale: Callable[[float], float], limit: float) -> list[str]:
    parts: list[str] = []
    segments = execution.segments()
    cursor = scale(execution.start)
    for index, segment in enumerate(segments):
        x0 = max(cursor, scale(segment.start))
        x1 = max(x0, scale(segment.end))
        if index == len(segments) - 1:
            x1 = min(max(x1, x0 + CAP), limit)
        x0, x1 = round(x0, 2), round(max(x1, x0), 2)  # as written: no overlap by rounding
        width = x1 - x0
        status = escape(segment.status)
        tip = escape(
            f"{segment.status}: {duration_text(segment.start - execution.start)} to "
            f"{duration_text(segment.end - execution.start)}"
        )
        attrs = f'x="{x0:.2f}" width="{width:.2f}" height="{BAR_H}"'
        parts.append(
            f'<rect class="seg" data-status="{status}" {attrs} fill="{_fill(segment.status)}">'
            f"<title>{tip}</title></rect>"
        )
        pattern = PATTERNS.get(segment.status)
        if pattern:
            parts.append(f'<rect {attrs} fill="url(#maia-{pattern})" pointer-events="none"/>')
        if width > 8 * len(segment.status) + 6:
            parts.append(f'<text x="{x0 + 3:.2f}" y="{BAR_H - 3}" class="segtext">{status}</text>')
        cursor = x1
    return parts


def _stopped(execution: Execution) -> bool:
    """The wait gave up (a timeout, an API error): the run was not seen to finish."""
    return execution.outcome.startswith(("TIMEOUT", "ERROR"))


def _explained(execution: Execution) -> str:
    """The failing step's explanation, for a run that did not end SUCCESS."""
    if execution.outcome == "SUCCESS":
        return ""
    return "; ".join(
        [*execution.failing_steps, *([execution.message] if execution.message else [])]
    )


def _outcome_text(execution: Execution) -> str:
    return f"{execution.outcome} {duration_text(execution.elapsed)}"


def render_svg(
    executions: list[Execution], *, virtual: bool, width: int = WIDTH, legend: bool = True
) -> str:
    """The timeline of ``executions`` on one shared axis, with a legend unless
    ``legend`` is False (a page that shows many timelines shows :func:`legend_svg` once).

    Each row: the test, pipeline and execution (cut at a word boundary; the whole of
    them in the row's ``<title>``), the bar, then the outcome in a column of its own
    that the bar never reaches. A wait that gave up (TIMEOUT, ERROR) ends in a black
    cap over a dashed outline, so it cannot be read as a run still going; a run that did
    not succeed has its explanation in a line under its bar.
    """
    outcome_w = max((len(_outcome_text(e)) for e in executions), default=0) * CHAR_W + 8
    plot_x = LABEL_W
    plot_w = max(width - LABEL_W - PAD - CAP - outcome_w, 60.0)
    plot_end = plot_x + plot_w
    t0 = min((e.start for e in executions), default=0.0)
    span = max((e.end for e in executions), default=0.0) - t0
    per_second = plot_w / span if span > 0 else 0.0

    def x(seconds: float) -> float:
        return plot_x + (seconds - t0) * per_second

    heights = [ROW_H + (EXPLAIN_H if _explained(e) else 0) for e in executions]
    rows_h = sum(heights) if executions else ROW_H
    height = TOP + rows_h + (LEGEND_H if legend else 0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="maia-timeline" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11" role="img">',
        f"<title>{escape(axis_title(virtual, t0))}</title>",
        DEFS,
        "<style>.segtext{fill:#000;font-size:10px}.lbl{fill:#222}.tick{fill:#555}"
        ".explain{fill:#7a2e00;font-size:10px}</style>",
        f'<text x="{PAD}" y="12" class="axis-title">{escape(axis_title(virtual, t0))}</text>',
    ]
    for tick in _ticks(span):
        tx = x(t0 + tick)
        anchor = "end" if tx > plot_end - 20 else "middle"
        out.append(
            f'<line x1="{tx:.2f}" y1="{TOP - 8}" x2="{tx:.2f}" y2="{TOP + rows_h}" '
            f'stroke="#ddd"/><text x="{tx:.2f}" y="{TOP - 12}" class="tick" '
            f'text-anchor="{anchor}">{_tick_text(tick)}</text>'
        )
    label_chars = int((LABEL_W - 10) / CHAR_W)
    explain_chars = int((width - plot_x - PAD) / (CHAR_W * 0.92))
    y_row = float(TOP)
    for execution, row_h in zip(executions, heights, strict=True):
        y = y_row + (ROW_H - BAR_H) / 2
        y_row += row_h
        who = execution.pipeline or "-"
        tail = f"  {cut(who, 16)} {execution.execution_id[:8]}"
        test = cut(execution.nodeid.rsplit("/", 1)[-1], max(label_chars - len(tail), 12))
        explanation = _explained(execution)
        full = (
            f"{execution.nodeid} | pipeline {who} | execution {execution.execution_id} | "
            f"{execution.outcome} after {duration_text(execution.elapsed)}, {execution.polls} polls"
        )
        if explanation:
            full += f" | {explanation}"
        out.append(
            f'<g class="bar" data-execution="{escape(execution.execution_id)}" '
            f'data-outcome="{escape(execution.outcome)}" transform="translate(0 {y:.2f})">'
            f"<title>{escape(full)}</title>"
            f'<text x="4" y="{BAR_H - 3}" class="lbl"><title>{escape(execution.nodeid)}</title>'
            f"{escape(test + tail)}</text>"
        )
        segments = _segments(execution, x, plot_end + CAP)
        out += segments
        bar_end = x(execution.end)
        if _stopped(execution):
            out.append(_stop_cap(execution, x))
        out.append(_outcome(execution, max(bar_end, plot_x) + CAP + 4))
        if explanation:
            out.append(
                f'<text x="{plot_x}" y="{BAR_H + 12}" class="explain">'
                f"<title>{escape(explanation)}</title>"
                f"{escape(cut(chr(8627) + ' ' + explanation, explain_chars))}</text>"
            )
        out.append("</g>")
    if legend:
        out.append(_legend(TOP + rows_h + 10, executions))
    out.append("</svg>")
    return "".join(out)


def _stop_cap(execution: Execution, x: Callable[[float], float]) -> str:
    """A dashed outline over the last status and a black cap at its end: the wait
    stopped there, the run was not seen to finish."""
    last = execution.segments()[-1]
    x0, x1 = x(last.start), max(x(last.end), x(last.start) + CAP)
    return (
        f'<g class="stopped"><rect x="{x0:.2f}" y="0" width="{x1 - x0:.2f}" height="{BAR_H}" '
        'fill="none" stroke="#000" stroke-width="1" stroke-dasharray="3 2"/>'
        f'<rect x="{x1 - 1:.2f}" y="-3" width="3" height="{BAR_H + 6}" fill="#000"/></g>'
    )


def _outcome(execution: Execution, at: float) -> str:
    """The final status and duration as text, in the column after the bars."""
    weight = ' font-weight="bold"' if execution.failed else ""
    return (
        f'<text x="{at:.2f}" text-anchor="start" y="{BAR_H - 3}" class="outcome"{weight}>'
        f"{escape(_outcome_text(execution))}</text>"
    )


def legend_svg(width: int = WIDTH) -> str:
    """The legend alone (every status, and the stopped-wait cap), for a page that shows
    many timelines drawn with ``legend=False``."""
    needed = PAD + sum(26 + 7 * len(status) for status in COLOURS) + 10 + 20 + 29 * 7
    width = max(width, needed)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="maia-legend" '
        f'viewBox="0 0 {width} {LEGEND_H}" width="{width}" height="{LEGEND_H}" '
        f'font-family="sans-serif" font-size="11" role="img"><title>Maia timeline legend'
        f"</title>{DEFS}{_legend(6, [], stopped=True)}</svg>"
    )


def _legend(y: float, executions: list[Execution], *, stopped: bool = False) -> str:
    seen = {s.status for e in executions for s in e.segments()}
    statuses = list(COLOURS) + sorted(seen - set(COLOURS))
    parts = [f'<g class="legend" transform="translate({PAD} {y:.2f})">']
    x = 0
    for status in statuses:
        attrs = f'x="{x}" y="0" width="14" height="14"'
        parts.append(
            f'<g class="legend-item" data-status="{escape(status)}">'
            f'<rect {attrs} fill="{_fill(status)}" stroke="#333" stroke-width="0.5"/>'
        )
        if status in PATTERNS:
            parts.append(f'<rect {attrs} fill="url(#maia-{PATTERNS[status]})"/>')
        parts.append(f'<text x="{x + 18}" y="11">{escape(status)}</text></g>')
        x += 26 + 7 * len(status)
    if stopped or any(_stopped(e) for e in executions):
        x += 10
        parts.append(
            '<g class="legend-item" data-status="stopped">'
            f'<rect x="{x}" y="0" width="14" height="14" fill="#fff" stroke="#000" '
            f'stroke-dasharray="3 2"/><rect x="{x + 13}" y="-2" width="3" height="18" '
            f'fill="#000"/><text x="{x + 20}" y="11">wait stopped (TIMEOUT, ERROR)</text></g>'
        )
    parts.append("</g>")
    return "".join(parts)
