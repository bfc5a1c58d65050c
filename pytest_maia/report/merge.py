"""Joining the timelines of several shards (``--maia-report-json`` files) into one.

Plain Python, no pytest. Shards of a live suite ran on different machines: their
``wall`` timelines share one axis (Unix epoch seconds), so the merged picture shows
which runs overlapped. Virtual timelines (the fake backend) merge too, each test on
its own clock; mixing the two kinds is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.report.timeline import FORMAT, VERSION, Timeline


def read_timeline(path: str | Path) -> Timeline:
    """The timeline saved at ``path``; MaiaValidationError naming the file and what is
    wrong with it (missing, not JSON, another format or version, a malformed row)."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MaiaValidationError(f"{where}: cannot read it ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MaiaValidationError(f"{where}: not a JSON file") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MaiaValidationError(
            f"{where}: not a pytest-maia timeline (write one with --maia-report-json=PATH)"
        )
    if data.get("version") != VERSION:
        raise MaiaValidationError(
            f"{where}: timeline version {data.get('version')!r}; this pytest-maia reads {VERSION}"
        )
    try:
        return Timeline.from_json(data)
    except KeyError as exc:
        raise MaiaValidationError(f"{where}: the timeline has no {exc} field") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise MaiaValidationError(f"{where}: a row of the timeline is malformed: {exc}") from None


def merge(timelines: Sequence[Timeline]) -> Timeline:
    """One timeline holding every shard's executions and cancelled runs, by start time."""
    if not timelines:
        raise MaiaValidationError("merge needs at least one timeline")
    clocks = {timeline.clock for timeline in timelines}
    if len(clocks) > 1:
        raise MaiaValidationError(
            "cannot merge wall-clock (live) and virtual (fake) timelines: their time axes "
            "differ; merge the shards of one backend"
        )
    merged = Timeline(clock=clocks.pop())
    for timeline in timelines:
        merged.executions += timeline.executions
        merged.cancelled += timeline.cancelled
    merged.executions.sort(key=lambda execution: (execution.start, execution.nodeid))
    return merged


def merge_files(
    paths: Sequence[str | Path], *, html: str | None = None, json_out: str | None = None
) -> Timeline:
    """Read ``paths``, merge them, and write the HTML report and/or the merged JSON."""
    from pytest_maia.report.outputs import write_files

    merged = merge([read_timeline(path) for path in paths])
    write_files(merged, html=html, json=json_out)
    return merged
