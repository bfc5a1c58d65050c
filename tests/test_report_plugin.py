"""The reports end to end: --maia-report(-json), pytest-html rows, GitHub Actions output."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

# In-process runs forget modules first imported inside them: keep one copy of requests.
from conftest import PYTEST_HTML
from pytest_maia.core.errors import MaiaError

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

FAILED_ID = "11111111-2222-4333-8444-555555555555"
SUITE = f"""
import pytest

def test_success(maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "RUNNING", "SUCCESS"], every=30)
    maia_status.assert_success(ex)

@pytest.mark.parametrize("name", ["<script>alert(1)</script>"])
def test_failed(maia_fake, maia_status, maia_project_id, name):
    ex = maia_fake.add_execution(
        maia_project_id, ["RUNNING", "CANCELLING", "FAILED"],
        execution_id="{FAILED_ID}", every=60,
    )
    maia_status.assert_success(ex)

@pytest.mark.maia_script("RUNNING")
def test_left_running(maia_pipeline, maia_fake):
    maia_fake.allow_unused()  # never polled: the teardown cancel is what the reports show
    maia_pipeline.run("stuck-export")
"""


def report_json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# A second file for the xdist run: a worker's fake behind its own loopback server.
WORKER_FAKES = """
import json, urllib.request

def test_server(maia_fake, maia_fake_server, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["SUCCESS"])
    url = (f"{maia_fake_server.url}/v1/projects/{maia_project_id}"
           f"/pipeline-executions/{ex}/status")
    req = urllib.request.Request(url, headers={"Authorization": "Bearer x"})
    with urllib.request.urlopen(req) as resp:
        assert json.load(resp) == {"status": "SUCCESS"}

def test_waits(maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(maia_project_id, ["RUNNING", "SKIPPED"])
    maia_status.assert_final(ex, "SKIPPED")
"""


@pytest.mark.e2e
def test_under_xdist_workers_have_own_fakes_and_summary_and_reports_come_home(
    pytester: pytest.Pytester,
) -> None:
    """One suite on two xdist workers: each worker has its own fake (and server); the
    header, the summary and both reports come from the controller."""
    pytester.makepyfile(test_suite=SUITE, test_workers=WORKER_FAKES)
    (pytester.path / "out").mkdir()
    result = pytester.runpytest(
        "-p", "xdist", "-n", "2", "--maia-report=out/r.html", "--maia-report-json=r.json"
    )
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        ["*- maia executions waited on: 3 -*", "maia report: out/r.html", "maia report: r.json"]
    )
    out = result.stdout.str()
    assert "test_workers.py::test_waits" in out
    assert out.count("maia: backend=fake") == 1  # the header comes from the controller only
    data = report_json(pytester.path / "r.json")
    assert data["format"] == "pytest-maia-timeline" and data["clock"] == "virtual"
    executions = data["executions"]
    assert isinstance(executions, list)
    by_test = {e["test"].split("::")[-1]: e for e in executions}
    failed = by_test["test_failed[<script>alert(1)</script>]"]
    assert failed["execution_id"] == FAILED_ID and failed["outcome"] == "FAILED"
    assert [s["status"] for s in failed["segments"]] == ["RUNNING", "CANCELLING", "FAILED"]
    # pytest's location of a test: its first line (here the parametrize decorator)
    # the line of the failing assertion, not the decorator's
    assert failed["path"] == "test_suite.py" and failed["line"] == 13
    assert by_test["test_success"]["polls"] >= 3
    cancelled = data["cancelled"]
    assert isinstance(cancelled, list) and "stuck-export" in cancelled[0]["text"]

    page = (pytester.path / "out" / "r.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('class="bar"') == 3
    assert "virtual time" in page and "cancelled at teardown" in page


@pytest.mark.parametrize("how", ["env", "ini"])
def test_report_path_from_env_or_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    if how == "env":
        monkeypatch.setenv("MAIA_REPORT", "env.html")
    else:
        pytester.makeini("[pytest]\nmaia_report = ini.html\n")
    pytester.runpytest("-p", "no:cacheprovider")
    assert (pytester.path / f"{how}.html").is_file()


def test_no_report_unless_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    assert "maia report:" not in result.stdout.str()
    assert not list(pytester.path.glob("*.html")) and not list(pytester.path.glob("*.json"))


# -- GitHub Actions ---------------------------------------------------------------------


def actions_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, on: bool = True) -> Path:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    if on:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
    else:
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    return summary


def test_github_step_summary_and_annotations(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = actions_env(monkeypatch, tmp_path)
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### Maia pipeline executions (2)")
    assert "| \u2705 | `test_suite.py::test_success` |" in text
    assert f"`{FAILED_ID}` | `FAILED` | 2m06s | 8 |" in text
    assert "stuck-export" in text  # the run cancelled at teardown
    errors = [line for line in result.outlines if line.startswith("::error")]
    assert errors == [
        "::error file=test_suite.py,line=13,title=Maia execution FAILED%3A "
        f"{FAILED_ID}::test_suite.py::test_failed[<script>alert(1)</script>]: execution "
        f"{FAILED_ID} ended FAILED after 2m06s (8 polls)"
        # The failure explanation's failing step (the fake's default step):
        "%0Ascripted-execution: FAILED"
    ]


@pytest.mark.parametrize("switch", ["option", "ini", "off-actions"])
def test_github_output_off(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, switch: str
) -> None:
    summary = actions_env(monkeypatch, tmp_path, on=switch != "off-actions")
    pytester.makepyfile(test_suite=SUITE)
    args = ["--maia-github=off"] if switch == "option" else []
    if switch == "ini":
        pytester.makeini("[pytest]\nmaia_github = off\n")
    result = pytester.runpytest(*args)
    assert summary.read_text(encoding="utf-8") == "earlier step\n"
    assert "::error" not in result.stdout.str()


def test_github_switch_must_be_on_or_off(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--maia-github=maybe")
    result.stderr.fnmatch_lines(["*--maia-github: must be 'on' or 'off', got 'maybe'*"])


# -- pytest-html ------------------------------------------------------------------------


class JsonBlob(HTMLParser):
    blob: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "data-jsonblob":
                self.blob = value


def test_pytest_html_rows_carry_the_executions(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_html")
    pytester.makepyfile(test_suite=SUITE)
    pytester.runpytest(*PYTEST_HTML, "--html=report.html", "--self-contained-html")
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert '<th class="col-maia">Maia executions</th>' in page
    parser = JsonBlob()
    parser.feed(page)
    assert parser.blob is not None
    tests = json.loads(parser.blob)["tests"]
    (row,) = next(v for k, v in tests.items() if "test_failed" in k)
    cells = row["resultsTableRow"]
    (cell,) = [c for c in cells if 'class="col-maia"' in c]
    assert FAILED_ID in cell and "FAILED" in cell and cell.count('class="bar"') == 1
    assert "<svg" in cell and "<script>" not in cell
    (ok_row,) = next(v for k, v in tests.items() if k.endswith("test_success"))
    assert any("SUCCESS" in c and 'class="col-maia"' in c for c in ok_row["resultsTableRow"])


def test_without_pytest_html_the_run_is_unchanged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-p", "no:html")
    result.assert_outcomes(passed=2, failed=1)


# -- what a wait records for the reports --------------------------------------------------


def recorded_wait(steps: list[object], pipeline: str | None = None) -> dict[str, object]:
    from pytest_maia.fake import FakeMaia
    from pytest_maia.report.timeline import to_property
    from pytest_maia.runs.status_checker import StatusChecker

    recorded: list[str] = []
    with FakeMaia() as fake:
        fake.clock.sleep(100)  # the wait starts at 100 s on the virtual clock
        checker = StatusChecker(
            fake.client(),
            "p",
            timeout=60,
            backend="fake",
            record=lambda execution: recorded.append(to_property(execution)),
        )
        run = fake.add_execution("p", steps)  # type: ignore[arg-type]
        if pipeline:
            checker.pipeline_names[run] = pipeline
        with pytest.raises(MaiaError):  # a timeout or an API error
            checker.wait(run)
    (value,) = recorded
    data = json.loads(value)
    assert isinstance(data, dict)
    return data


def test_a_timed_out_wait_records_its_pipeline_start_and_message() -> None:
    data = recorded_wait(["RUNNING"], pipeline="nightly")
    assert data["p"] == "nightly" and data["t0"] == 100.0
    assert data["h"] == [[0.0, "RUNNING"]]
    assert str(data["m"]).startswith("timed out after 60s")


def test_an_api_error_records_its_problem_as_the_message() -> None:
    from pytest_maia.fake import FakeMaia

    data = recorded_wait(["RUNNING", FakeMaia.error(403, detail="no access to project")])
    assert "no access to project" in str(data["m"])
    assert "p" not in data  # started elsewhere: no pipeline name known


# -- one record per wait ------------------------------------------------------------------

ONE_RECORD_SUITE = f"""
import pytest

@pytest.mark.maia_script("RUNNING", "SUCCESS", every=30)
def test_pipeline(maia_pipeline):
    maia_pipeline.run("nightly-load").assert_success()

def test_failed(maia_fake, maia_status, maia_project_id):
    ex = maia_fake.add_execution(
        maia_project_id, ["RUNNING", "FAILED"], execution_id="{FAILED_ID}", every=60
    )
    maia_status.assert_success(ex)
"""

# Each test's own user_properties at the end of its teardown, as the test sees them.
KEEP_PROPERTIES = """
import json
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.when == "teardown":
        path = item.config.rootpath / f"props-{item.name}.json"
        path.write_text(json.dumps([[n, str(v)] for n, v in item.user_properties]))
    return report
"""


@pytest.mark.parametrize("workers", ["serial", pytest.param("xdist", marks=pytest.mark.e2e)])
def test_a_wait_is_one_record_in_its_tests_properties_and_every_report_shows_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: str
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # the summary's whole execution ids
    step_summary = actions_env(monkeypatch, tmp_path)
    pytester.makepyfile(test_suite=ONE_RECORD_SUITE)
    pytester.makeconftest(KEEP_PROPERTIES)
    html = importlib.util.find_spec("pytest_html") is not None
    result = pytester.runpytest(
        *(("-p", "xdist", "-n", "2") if workers == "xdist" else ()),
        *((*PYTEST_HTML, "--html=page.html", "--self-contained-html") if html else ()),
        "--maia-report=maia.html",
        "--maia-report-json=maia.json",
        "--junitxml=junit.xml",
    )
    result.assert_outcomes(passed=1, failed=1)

    # The test's user_properties: one record per wait, nothing else about it.
    ids = {}
    for test, extra in (("test_pipeline", []), ("test_failed", ["maia_failure"])):
        props = json.loads((pytester.path / f"props-{test}.json").read_text(encoding="utf-8"))
        assert sorted(n for n, _ in props if n.startswith("maia_")) == [*extra, "maia_timeline"]
        (record,) = [v for n, v in props if n == "maia_timeline"]
        ids[test] = json.loads(record)["id"]
    assert ids["test_failed"] == FAILED_ID
    pipeline_id = ids["test_pipeline"]

    # The terminal summary: one row per wait, the run's start and end from the record.
    start = result.outlines.index(next(x for x in result.outlines if "waited on: 2" in x))
    table = result.outlines[start + 1 : start + 4]
    assert table[0].split()[-2:] == ["start", "end"], table
    assert [sum(i in row for row in table) for i in ids.values()] == [1, 1], table
    (row,) = [row for row in table if pipeline_id in row]
    assert "nightly-load" in row and "SUCCESS" in row

    # The JSON report: each wait once, with what the summary showed.
    data = json.loads((pytester.path / "maia.json").read_text(encoding="utf-8"))
    by_id = {e["execution_id"]: e for e in data["executions"]}
    assert len(data["executions"]) == 2 and set(by_id) == set(ids.values())
    pipeline_run = by_id[pipeline_id]
    assert (pipeline_run["pipeline"], pipeline_run["outcome"]) == ("nightly-load", "SUCCESS")
    assert pipeline_run["run_end"] - pipeline_run["run_start"] >= pipeline_run["elapsed"] > 0
    assert f"{pipeline_run['elapsed']:.1f}s" in row
    assert by_id[FAILED_ID]["outcome"] == "FAILED" and by_id[FAILED_ID]["run_start"] is None

    # The HTML report, the GitHub step summary and annotation, pytest-html.
    page = (pytester.path / "maia.html").read_text(encoding="utf-8")
    summary = step_summary.read_text(encoding="utf-8")
    assert all(i in page and i in summary for i in ids.values())
    (annotation,) = [x for x in result.outlines if x.startswith("::error")]
    assert FAILED_ID in annotation
    if html:
        html_page = (pytester.path / "page.html").read_text(encoding="utf-8")
        assert all(i in html_page for i in ids.values())

    # JUnit XML: per wait, the flat view of the record, then the record itself.
    junit = ET.parse(pytester.path / "junit.xml").getroot()
    for case in junit.iter("testcase"):
        props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        names = [n for n, _ in props]
        assert names.count("maia_execution_id") == 1 and names.count("maia_timeline") == 1
        flat = dict(props)
        record = json.loads(str(flat["maia_timeline"]))
        assert flat["maia_execution_id"] == record["id"] == ids[str(case.get("name"))]
        assert flat["maia_status"] == record["o"] and flat["maia_polls"] == str(record["n"])
        assert names.index("maia_elapsed_s") < names.index("maia_timeline")
    (pipeline_case,) = [c for c in junit.iter("testcase") if c.get("name") == "test_pipeline"]
    assert {p.get("name") for p in pipeline_case.iter("property")} >= {
        "maia_started_s",
        "maia_ended_s",
    }
