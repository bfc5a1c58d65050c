"""The fake's benchmark runs and reports what bench/run.py reads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_fake.py"


def test_measure_reports_a_ratio_and_the_budget() -> None:
    spec = importlib.util.spec_from_file_location("bench_fake", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.measure(polls=5, repeats=2)
    assert set(result) >= {"fake_us", "bare_us", "ratio", "budget", "within_budget"}
    assert result["budget"] == 1.15
    assert result["ratio"] > 0
    assert result["fake_us"] > 0
