"""Reports that read: the HTML header's counts and each test's outcome, the timeline's
labels, outcome column, stopped waits and explanations, one legend on a pytest-html page,
a terminal summary that fits the terminal, annotations at the failing line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from test_report_plugin import JsonBlob

from conftest import PYTEST_HTML
from pytest_maia.report.html import render_html, summary_text
from pytest_maia.report.summary import format_summary
from pytest_maia.report.svg import CHAR_W, cut, render_svg
from pytest_maia.report.timeline import Execution, Timeline

SVG = "{http://www.w3.org/2000/svg}"
LONG_TEST = (
    "tests/integration/test_warehouse_loads.py::"
    "test_the_nightly_orders_load_fills_every_partition_of_the_mart[eu-west]"
)


def run(
    nodeid: str,
    outcome: str,
    *,
    elapsed: float = 300.0,
    test_failed: bool = False,
    execution_id: str = "11111111-2222-4333-8444-555555555555",
    **extra: object,
) -> Execution:
    changes = [(0.0, "RUNNING"), (elapsed, outcome.split(" ")[0])]
    if outcome.startswith("TIMEOUT"):
        changes = [(0.0, "RUNNING")]
    return Execution(
        nodeid,
        execution_id,
        outcome,
        0.0,
        elapsed,
        5,
        changes,
        test_failed=test_failed,
        **extra,  # type: ignore[arg-type]
    )


def bars(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "bar"]


# -- 14. the HTML header -------------------------------------------------------------


def test_an_all_green_run_says_so_and_counts_every_run_that_did_not_succeed() -> None:
    # Every test passed: the failures, the timeout and the cancel were expected.
    timeline = Timeline(
        [
            run("t.py::test_ok", "SUCCESS"),
            run("t.py::test_caught", "FAILED"),
            run("t.py::test_timeout", "TIMEOUT (RUNNING)"),
            run("t.py::test_cancel", "CANCELLED"),
        ]
    )
    text = summary_text(timeline)
    assert "4 execution(s) waited on in 4 test(s): all 4 tests passed." in text
    assert "3 did not end SUCCESS (1 FAILED, 1 TIMEOUT, 1 CANCELLED)" in text
    assert "all in tests that passed" in text


def test_the_header_says_which_tests_failed_and_every_success_plainly() -> None:
    green = Timeline([run("t.py::test_a", "SUCCESS"), run("t.py::test_b", "SUCCESS")])
    assert summary_text(green).endswith("all 2 tests passed. Every execution ended SUCCESS.")
    red = Timeline(
        [run("t.py::test_a", "SUCCESS"), run("t.py::test_b", "FAILED", test_failed=True)]
    )
    assert "1 of 2 tests failed" in summary_text(red)
    assert "1 did not end SUCCESS (1 FAILED): all in tests that failed" in summary_text(red)


def test_the_html_table_shows_each_tests_own_outcome_beside_its_executions() -> None:
    page = render_html(
        Timeline(
            [run("t.py::test_caught", "FAILED"), run("t.py::test_b", "FAILED", test_failed=True)]
        )
    )
    assert "<th>test outcome</th>" in page
    rows = page.split('<tr class="execution">')[1:]
    assert '<td class="test-outcome">passed</td>' in rows[0]
    assert '<td class="bad test-outcome">failed</td>' in rows[1]


# -- 15. the timeline ---------------------------------------------------------------


def test_labels_are_cut_at_word_boundaries_with_the_whole_name_in_a_title() -> None:
    svg = render_svg([run(LONG_TEST, "SUCCESS", pipeline="nightly-orders-load")], virtual=True)
    (bar,) = bars(svg)
    label = next(t for t in bar.iter(f"{SVG}text") if t.get("class") == "lbl")
    title = label.find(f"{SVG}title")
    assert title is not None and title.text == LONG_TEST
    shown = "".join(label.itertext()).removeprefix(LONG_TEST)
    test_part = shown.split("\u2026")[0]
    # the cut falls just before a boundary of the name, never inside a word
    assert "\u2026" in shown
    assert LONG_TEST.rsplit("/", 1)[-1].startswith(test_part)
    assert LONG_TEST.rsplit("/", 1)[-1][len(test_part)] in "_-/:.[]"
    assert len(shown) * CHAR_W <= 400


def test_cut_prefers_a_word_boundary() -> None:
    assert cut("test_the_nightly_orders_load", 20) == "test_the_nightly\u2026"
    assert cut("short", 20) == "short"
    assert cut("abcdefghijklmnopqrstuvwxyz", 10) == "abcdefghi\u2026"  # no boundary: hard cut


@pytest.mark.parametrize("outcome", ["SUCCESS", "FAILED", "TIMEOUT (RUNNING)", "ERROR (HTTP 500)"])
def test_the_outcome_text_never_overlaps_the_bar(outcome: str) -> None:
    # The longest bar of the timeline is the one that used to collide with its text.
    executions = [
        run("t.py::test_short", "SUCCESS", elapsed=5),
        run("t.py::test_long", outcome, elapsed=7200, execution_id="2" * 8 + "-0" * 4),
    ]
    for width in (720, 1000):
        svg = render_svg(executions, virtual=True, width=width)
        for bar in bars(svg):
            right = max(
                float(r.get("x", 0)) + float(r.get("width", 0))
                for r in bar.iter(f"{SVG}rect")
                if r.get("class") == "seg"
            )
            outcome_text = next(t for t in bar.iter(f"{SVG}text") if t.get("class") == "outcome")
            x = float(outcome_text.get("x") or 0)
            assert outcome_text.get("text-anchor") == "start"
            assert x > right, (width, bar.get("data-outcome"))
            assert x + len(outcome_text.text or "") * CHAR_W <= width


def test_a_timed_out_wait_looks_different_from_a_run_still_going() -> None:
    svg = render_svg(
        [
            run("t.py::test_stuck", "TIMEOUT (RUNNING)", elapsed=600),
            # still RUNNING at its last poll, then finished: no cap on the RUNNING part
            Execution(
                "t.py::test_running",
                "3" * 8 + "-0000-0000-0000-000000000000",
                "SUCCESS",
                0.0,
                600.0,
                9,
                [(0.0, "RUNNING"), (590.0, "SUCCESS")],
            ),
        ],
        virtual=True,
    )
    stuck, finished = bars(svg)
    assert [g.get("class") for g in stuck.iter(f"{SVG}g")] == ["bar", "stopped"]
    assert [g.get("class") for g in finished.iter(f"{SVG}g")] == ["bar"]
    legend = ET.fromstring(svg).find(f".//{SVG}g[@data-status='stopped']")
    assert legend is not None
    assert "wait stopped" in "".join(legend.itertext())


def test_the_failing_steps_explanation_is_under_its_bar() -> None:
    why = "Run load_orders > Write orders: FAILED: SQL compilation error: Object 'ORDERS'"
    svg = render_svg(
        [
            run("t.py::test_fails", "FAILED", failing_steps=[why], message="Task failed"),
            run("t.py::test_ok", "SUCCESS", message="ok"),
        ],
        virtual=True,
    )
    failed, ok = bars(svg)
    explain = next(t for t in failed.iter(f"{SVG}text") if t.get("class") == "explain")
    title = explain.find(f"{SVG}title")
    assert title is not None and title.text == f"{why}; Task failed"
    assert "SQL compilation error" in "".join(explain.itertext())
    assert why in (failed.find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    assert not [t for t in ok.iter(f"{SVG}text") if t.get("class") == "explain"]
    # the next bar starts below the explanation line
    assert (
        float(ok.get("transform", "").split()[-1].rstrip(")"))
        > float(failed.get("transform", "").split()[-1].rstrip(")")) + 22 + 10
    )


# -- 16. pytest-html: one legend -----------------------------------------------------

SUITE = """
import pytest

@pytest.mark.parametrize("i", range(3))
def test_runs(i, maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "SUCCESS"], every=30)
    maia_status.assert_success(ex)

def test_plain():
    pass
"""


def test_a_pytest_html_page_has_one_legend_not_one_per_row(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_html")
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest(*PYTEST_HTML, "--html=report.html", "--self-contained-html")
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    # the legend in the page's summary, once; the rows (in a JSON blob) have none
    assert page.count('<div class="maia-legend">') == 1
    parser = JsonBlob()
    parser.feed(page)
    assert parser.blob is not None
    cells = [
        cell
        for rows in json.loads(parser.blob)["tests"].values()
        for row in rows
        for cell in row["resultsTableRow"]
        if 'class="col-maia"' in cell
    ]
    assert sum(cell.count('class="bar"') for cell in cells) == 3
    assert not any('class="legend"' in cell for cell in cells)


# -- 17. the terminal summary ---------------------------------------------------------


def rows(count: int = 3, *, pipelines: bool = True) -> list[Execution]:
    return [
        Execution(
            f"tests/integration/test_warehouse_loads.py::test_load_number_{i}_fills_the_mart",
            f"{i}1111111-2222-4333-8444-555555555555",
            "TIMEOUT (RUNNING)" if i == 1 else "SUCCESS",
            100.0 * i,
            1205.9,
            44,
            pipeline=f"pipeline-{i}" if pipelines else None,
            run_start=100.0 * i,
            run_end=100.0 * i + 1205.9,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("width", [60, 80, 100, 120, 200])
def test_the_summary_fits_the_terminal_and_names_the_pipeline(width: int) -> None:
    lines = format_summary(rows(), virtual=True, width=width)
    assert max(map(len, lines)) <= width, lines
    assert "pipeline" in lines[0]
    if width >= 80:  # every column but start and end, and each row's own pipeline
        assert all(f"pipeline-{i}" in line for i, line in enumerate(lines[1:4]))
        assert all(line.split()[-1] == "44" or width >= 120 for line in lines[1:4])
        assert all("1205.9s" in line for line in lines[1:4])
        # a cut test id keeps its end: the test's name
        assert all(line.split()[0].endswith("fills_the_mart") for line in lines[1:4])
    if width >= 120:
        assert "start" in lines[0] and "end" in lines[0]


def test_a_wide_terminal_gets_the_whole_table() -> None:
    lines = format_summary(rows(pipelines=False), width=400)
    assert rows()[0].nodeid in lines[1] and rows()[0].execution_id in lines[1]


def test_the_plugins_summary_fits_80_columns(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    pytester.makepyfile(
        test_a_rather_long_module_name_for_the_warehouse_loads="""
        import pytest

        @pytest.mark.maia_script("RUNNING", "SUCCESS")
        def test_the_nightly_orders_load_fills_every_partition_of_the_mart(maia_pipeline):
            maia_pipeline.run("nightly-orders-load").assert_success()
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    summary = result.stdout.lines[
        next(i for i, line in enumerate(result.stdout.lines) if "waited on" in line) :
    ]
    assert max(len(line) for line in summary[:4]) <= 80
    assert summary[2].split()[1].startswith("nightly")  # the pipeline, cut to fit


# -- 18. annotations at the failing line ---------------------------------------------


def test_the_github_annotation_points_at_the_failing_assertion(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makepyfile(
        test_suite="""
        import pytest


        @pytest.mark.parametrize("region", ["eu"])
        @pytest.mark.maia_script("RUNNING", "FAILED")
        def test_load(region, maia_pipeline):
            run = maia_pipeline.run("daily-load")
            assert region == "eu"
            run.assert_success()
        """
    )
    result = pytester.runpytest("--maia-report-json=r.json")
    result.assert_outcomes(failed=1)
    lines = [line for line in result.stdout.lines if line.startswith("::error ")]
    assert len(lines) == 1
    assert lines[0].startswith("::error file=test_suite.py,line=9,")  # run.assert_success()
    data = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert data["executions"][0]["line"] == 9
