"""Everything written at the end of a session, from one :class:`Timeline`."""

from __future__ import annotations

from collections.abc import Mapping

from pytest_maia.report.timeline import Timeline

__all__ = ["github_outputs", "write_files"]


def write_files(timeline: Timeline, *, html: str | None, json: str | None) -> list[str]:
    """Write the HTML and JSON reports that were asked for; returns the paths written."""
    written = []
    if html:
        from pytest_maia.report.html import write_html

        write_html(timeline, html)
        written.append(html)
    if json:
        timeline.write_json(json)
        written.append(json)
    return written


def github_outputs(timeline: Timeline, environ: Mapping[str, str]) -> list[str]:
    """Append the job summary to ``$GITHUB_STEP_SUMMARY`` (when set) and return the
    annotation lines to print on stdout. The caller decides whether GitHub output is on
    (``--maia-github``, default on when ``GITHUB_ACTIONS=true``)."""
    from pytest_maia.report import github

    if not (timeline.executions or timeline.cancelled):
        return []
    github.write_step_summary(timeline, environ)
    return github.annotation_lines(timeline)
