"""The report's plain modules: timeline data and JSON, SVG layout, HTML, GitHub text."""

from __future__ import annotations

import itertools
import json
import random
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_maia.report import github
from pytest_maia.report.html import execution_cell, render_html
from pytest_maia.report.svg import COLOURS, render_svg
from pytest_maia.report.timeline import (
    FORMAT,
    PROPERTY,
    Cancelled,
    Execution,
    Timeline,
    executions_from_properties,
    from_property,
    to_property,
)

SVG = "{http://www.w3.org/2000/svg}"
ID = "11111111-2222-4333-8444-555555555555"


def execution(
    nodeid: str = "test_a.py::test_load",
    outcome: str = "FAILED",
    changes: list[tuple[float, str]] | None = None,
    start: float = 0.0,
    elapsed: float = 240.0,
    **extra: object,
) -> Execution:
    if changes is None:
        changes = [(0.0, "RUNNING"), (120.0, "CANCELLING"), (elapsed, outcome)]
    return Execution(nodeid, ID, outcome, start, elapsed, 7, changes, **extra)  # type: ignore[arg-type]


def parse_svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def bars(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar"]


def segments(bar: ET.Element) -> list[ET.Element]:
    return [r for r in bar.iter(f"{SVG}rect") if r.get("class") == "seg"]


def viewbox(root: ET.Element) -> tuple[float, float]:
    _, _, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    return width, height


def bar_y(bar: ET.Element) -> float:
    transform = bar.get("transform") or ""
    return float(transform.removeprefix("translate(0 ").removesuffix(")"))


# -- data and JSON -----------------------------------------------------------------


def test_segments_follow_the_changes_and_end_with_the_wait() -> None:
    e = execution(start=100.0)
    assert [(s.status, s.start, s.end) for s in e.segments()] == [
        ("RUNNING", 100.0, 220.0),
        ("CANCELLING", 220.0, 340.0),
        ("FAILED", 340.0, 340.0),
    ]
    # no status ever read (an error on the first poll): one segment, the outcome
    bare = execution(outcome="ERROR (HTTP 404)", changes=[], elapsed=0.0)
    assert [s.status for s in bare.segments()] == ["ERROR (HTTP 404)"]


def test_property_round_trip_through_user_properties() -> None:
    value = to_property(
        Execution(
            "ignored: the report knows its test",
            ID,
            "FAILED",
            12.5,
            60.0,
            3,
            [(0.0, "RUNNING"), (60.0, "FAILED")],
            pipeline="daily-load",
            message="Snowflake: table missing",
            failing_steps=["load orders: FAILED (no table)"],
            run_start=10.0,
            run_end=72.5,
        )
    )
    properties = [(PROPERTY, value), ("other", "ignored")]
    (found,) = executions_from_properties("t.py::test", properties)
    assert (found.nodeid, found.outcome, found.elapsed, found.polls, found.pipeline) == (
        "t.py::test",
        "FAILED",
        60.0,
        3,
        "daily-load",
    )
    assert (found.start, found.run_start, found.run_end) == (12.5, 10.0, 72.5)
    assert found.message == "Snowflake: table missing"
    assert found.failing_steps == ["load orders: FAILED (no table)"]
    assert found.changes == [(0.0, "RUNNING"), (60.0, "FAILED")]
    assert from_property("t", "not json") is None
    assert from_property("t", '{"id": 1}') is None


def test_timeline_json_is_the_documented_format() -> None:
    timeline = Timeline([execution()], [Cancelled("t.py::x", "run (p): now CANCELLED")])
    data = json.loads(json.dumps(timeline.to_json()))
    assert data["format"] == FORMAT and data["version"] == 1 and data["clock"] == "virtual"
    (row,) = data["executions"]
    assert set(row) == {
        "test",
        "test_failed",
        "path",
        "line",
        "execution_id",
        "pipeline",
        "outcome",
        "start",
        "elapsed",
        "polls",
        "segments",
        "message",
        "failing_steps",
        "run_start",
        "run_end",
    }
    assert [s["status"] for s in row["segments"]] == ["RUNNING", "CANCELLING", "FAILED"]
    assert data["cancelled"] == [{"test": "t.py::x", "text": "run (p): now CANCELLED"}]


# -- SVG -----------------------------------------------------------------------------


def test_svg_has_one_bar_per_execution_with_segments_in_order_and_a_legend() -> None:
    runs = [
        execution(),
        execution("test_b.py::test_ok", "SUCCESS", [(0.0, "RUNNING"), (90.0, "SUCCESS")], 30.0),
    ]
    root = parse_svg(render_svg(runs, virtual=True))
    found = bars(root)
    assert len(found) == 2
    assert [s.get("data-status") for s in segments(found[0])] == [
        "RUNNING",
        "CANCELLING",
        "FAILED",
    ]
    assert [s.get("data-status") for s in segments(found[1])] == ["RUNNING", "SUCCESS"]
    xs = [float(s.get("x") or 0) for s in segments(found[0])]
    assert xs == sorted(xs)
    legend = [g.get("data-status") for g in root.iter(f"{SVG}g") if g.get("class") == "legend-item"]
    assert legend[: len(COLOURS)] == list(COLOURS)
    texts = "".join(root.itertext())
    assert "virtual time" in texts and "FAILED" in texts  # the status as text, too


def test_colours_are_distinct_and_failures_have_patterns() -> None:
    assert len(set(COLOURS.values())) == len(COLOURS)
    svg = render_svg([execution()], virtual=False)
    assert 'fill="url(#maia-hatch)"' in svg  # FAILED is hatched, not colour alone
    assert "wall-clock" in svg
    live = render_svg([execution(start=1.8e9)], virtual=False)
    assert "since the first wait started, 2027-01-15 08:00:00 UTC" in live


def layout_check(runs: list[Execution]) -> None:
    root = parse_svg(render_svg(runs, virtual=True))
    width, height = viewbox(root)
    found = bars(root)
    assert len(found) == len(runs)
    bands = []
    for bar in found:
        y = bar_y(bar)
        segs = segments(bar)
        heights = {float(s.get("height") or 0) for s in segs}
        (h,) = heights
        assert y >= 0 and y + h <= height
        bands.append((y, y + h))
        previous_end = 0.0
        for s in segs:
            x, w = float(s.get("x") or 0), float(s.get("width") or 0)
            assert w >= 0 and x >= 0 and x + w <= width + 1e-6
            assert x >= previous_end - 1e-6  # segments of a bar do not overlap
            previous_end = x + w
    bands.sort()
    for (_, end), (start, _) in itertools.pairwise(bands):
        assert end <= start  # bars do not overlap each other
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    legend_y = float((legend.get("transform") or "").split()[-1].rstrip(")"))
    assert bands[-1][1] <= legend_y and legend_y + 14 <= height


@pytest.mark.parametrize("count", [1, 500])
def test_layout_bars_fit_the_viewbox_and_never_overlap(count: int) -> None:
    rng = random.Random(count)
    runs = []
    for index in range(count):
        start = rng.uniform(0, 3600)
        elapsed = rng.choice([0.0, 0.5, rng.uniform(1, 7200)])
        mid = elapsed * rng.random()
        changes = [(0.0, "RUNNING"), (mid, "CANCELLING"), (elapsed, rng.choice(list(COLOURS)))]
        runs.append(execution(f"t.py::test_{index}", "FAILED", changes, start, elapsed))
    layout_check(runs)


# -- HTML ----------------------------------------------------------------------------


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_escapes_test_ids() -> None:
    evil = "t.py::test_x[<script>alert(1)</script>]"
    timeline = Timeline(
        [execution(evil, message="bad <b>input</b>", failing_steps=["step <1>: FAILED"])],
        [Cancelled(evil, "run (<p>): now CANCELLED")],
    )
    page = render_html(timeline)
    parsed = Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "b" not in parsed.tags
    assert parsed.tags.count("p") == 1  # the page's own summary line, not the text's <p>
    text = "".join(parsed.text)
    assert "<script>alert(1)</script>" in text  # shown as text, not run
    assert "bad <b>input</b>" in text and "step <1>: FAILED" in text
    for name, value in parsed.attrs:
        assert name not in ("src", "href"), (name, value)
        assert "http" not in (value or "") or value == "http://www.w3.org/2000/svg"
    assert "url(http" not in page and "@import" not in page
    assert page.count('class="bar"') == 1
    assert "cancelled at teardown" in page


def test_execution_cell_lists_ids_and_statuses_with_the_svg() -> None:
    cell = execution_cell([execution()], virtual=True)
    assert cell.startswith('<td class="col-maia">') and ID in cell and "FAILED" in cell
    assert cell.count('class="bar"') == 1
    assert execution_cell([], virtual=True) == '<td class="col-maia"></td>'


# -- GitHub ----------------------------------------------------------------------------


def test_workflow_command_escaping() -> None:
    assert github.escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotations_only_for_failed_executions_at_the_test() -> None:
    bad = execution(
        "t.py::test_bad",
        path="t.py",
        line=12,
        pipeline="load, daily",
        message="boom\nline 2",
        test_failed=True,
    )
    good = execution("t.py::test_ok", "SUCCESS", [(0.0, "SUCCESS")], path="t.py", line=3)
    expected = execution("t.py::test_catches_failure", path="t.py", line=20)  # test passed
    cancelled = execution("t.py::c", "CANCELLED", [(0.0, "CANCELLED")], test_failed=True)
    (line,) = github.annotation_lines(Timeline([bad, good, expected, cancelled]))
    head, _, message = line.partition("::")[2].partition("::")
    assert head == "error file=t.py,line=12,title=Maia execution FAILED%3A load%2C daily"
    assert message.startswith("t.py::test_bad: execution " + ID + " ended FAILED")
    assert "%0Aboom%0Aline 2" in message and "\n" not in line


def test_step_summary_table() -> None:
    summary = github.step_summary(
        Timeline([execution(message="a | b"), execution("t::ok", "SUCCESS", [(0.0, "SUCCESS")])])
    )
    lines = summary.splitlines()
    assert lines[0] == "### Maia pipeline executions (2)"
    assert lines[2].startswith("| | test | pipeline | execution | status | elapsed")
    assert lines[4].startswith(
        "| \u274c | `test_a.py::test_load` | - | `" + ID + "` | `FAILED` | 4m00s"
    )
    assert "`a \\| b`" in lines[4]
    assert lines[5].startswith("| \u2705 | `t::ok`")
    assert github.is_actions({"GITHUB_ACTIONS": "true"}) and not github.is_actions({})


# -- saved timelines ---------------------------------------------------------------------


def test_a_saved_timeline_draws_again(tmp_path: Path) -> None:
    from pytest_maia.report.__main__ import main

    timeline = Timeline(
        [execution(path="t.py", line=3, pipeline="p", message="m", failing_steps=["s"])],
        [Cancelled("t.py::x", "gone")],
        clock="wall",
    )
    again = Timeline.from_json(json.loads(json.dumps(timeline.to_json())))
    assert again.to_json() == timeline.to_json()
    source = tmp_path / "t.json"
    timeline.write_json(source)
    assert main([str(source), str(tmp_path / "t.svg")]) == 0
    assert len(bars(parse_svg((tmp_path / "t.svg").read_text(encoding="utf-8")))) == 1
    assert main([str(source), str(tmp_path / "t.html")]) == 0
    assert "wall-clock" in (tmp_path / "t.html").read_text(encoding="utf-8")
    assert main([str(source)]) == 2


def test_the_docs_show_the_example_suites_timeline() -> None:
    root = Path(__file__).resolve().parent.parent
    svg = parse_svg((root / "docs" / "timeline.svg").read_text(encoding="utf-8"))
    found = bars(svg)
    assert len(found) >= 8  # one per wait of `pytest examples`
    assert "(timeline.svg)" in (root / "docs" / "ci.md").read_text(encoding="utf-8")
