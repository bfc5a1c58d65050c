"""maia-status report merge: shards' timelines joined into one report, mistakes refused."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_maia.cli.main import main
from pytest_maia.report.timeline import WALL, Cancelled, Execution, Timeline

EPOCH = 1_790_000_000.0  # a wall-clock start, in Unix seconds


def shard(path: Path, *rows: tuple[str, float, float], clock: str = WALL) -> Path:
    """A timeline file with one execution per (test, start, elapsed) row."""
    timeline = Timeline(clock=clock)
    for index, (test, start, elapsed) in enumerate(rows):
        timeline.executions.append(
            Execution(
                test,
                f"00000000-0000-4000-8000-{len(test):06d}{index:06d}",
                "SUCCESS",
                start,
                elapsed,
                3,
                [(0.0, "RUNNING"), (elapsed, "SUCCESS")],
                pipeline=f"pipeline-of-{test}",
            )
        )
    timeline.cancelled.append(Cancelled(f"{path.stem}::test_left", "abc (p): now CANCELLED"))
    timeline.write_json(path)
    return path


def test_merge_joins_shards_on_one_wall_clock_axis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = shard(tmp_path / "a.json", ("a::one", EPOCH + 60, 120), ("a::two", EPOCH, 30))
    second = shard(tmp_path / "b.json", ("b::three", EPOCH + 10, 300))
    html, merged = tmp_path / "report.html", tmp_path / "merged.json"
    code = main(
        [
            "report",
            "merge",
            str(first),
            str(second),
            "--html",
            str(html),
            "--timeline-json",
            str(merged),
        ]
    )
    assert code == 0
    assert "3 execution(s) from 2 shard(s)" in capsys.readouterr().out
    data = json.loads(merged.read_text(encoding="utf-8"))
    assert data["clock"] == WALL
    assert [row["test"] for row in data["executions"]] == ["a::two", "b::three", "a::one"]
    assert [row["start"] for row in data["executions"]] == [EPOCH, EPOCH + 10, EPOCH + 60]
    assert len(data["cancelled"]) == 2
    page = html.read_text(encoding="utf-8")
    assert page.count('<tr class="execution">') == 3
    # The overlap shows in the table: each run's start and end from the earliest start.
    assert "+1m00s" in page and "+5m10s" in page
    assert "wall-clock time (live API)" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("{not json", "not a JSON file"),
        ('{"format": "something-else"}', "not a pytest-maia timeline"),
        ('{"format": "pytest-maia-timeline", "version": 9}', "timeline version 9"),
        (
            '{"format": "pytest-maia-timeline", "version": 1, "executions": [{"test": "x"}]}',
            "a row of the timeline is malformed",
        ),
    ],
)
def test_a_bad_shard_is_a_usage_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "shard.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code = main(["report", "merge", str(path), "--html", str(tmp_path / "out.html")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.html").exists()


def test_live_and_fake_timelines_do_not_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = shard(tmp_path / "live.json", ("a::one", EPOCH, 5))
    fake = shard(tmp_path / "fake.json", ("b::two", 0.0, 5), clock="virtual")
    code = main(
        ["report", "merge", str(live), str(fake), "--timeline-json", str(tmp_path / "out.json")]
    )
    assert code == 2
    assert "cannot merge wall-clock (live) and virtual (fake)" in capsys.readouterr().err


def test_merge_needs_an_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = shard(tmp_path / "a.json", ("a::one", EPOCH, 5))
    assert main(["report", "merge", str(one)]) == 2
    assert "--html OUT or --timeline-json OUT" in capsys.readouterr().err


def test_shards_written_by_pytest_merge_into_one_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_suite=textwrap.dedent(
            """
            import pytest

            @pytest.mark.parametrize("n", range(4))
            def test_load(maia_fake, maia_status, maia_project_id, n):
                run = maia_fake.add_execution(maia_project_id, ["RUNNING"] * n + ["SUCCESS"])
                maia_status.assert_success(run)
            """
        )
    )
    for index in range(2):  # what a CI matrix of two machines would run
        keep = " or ".join(f"test_load[{n}]" for n in range(4) if n % 2 == index)
        result = pytester.runpytest("-k", keep, f"--maia-report-json=shard-{index}.json")
        result.assert_outcomes(passed=2)
    out = pytester.path / "all.html"
    shards = [str(pytester.path / f"shard-{i}.json") for i in range(2)]
    assert main(["report", "merge", *shards, "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    for n in range(4):
        assert f"test_load[{n}]" in page
