"""Run DataHub's ``matillion-dpc`` source with a recipe, in DataHub's own venv (not ours).

``python datahub_ingest.py RECIPE.json SUMMARY.json``: runs the ingestion pipeline as
``datahub ingest -c`` would, its source unchanged, and writes what it reported. Two
things of the CLI that reach the internet are off: telemetry (DATAHUB_TELEMETRY_ENABLED
set false by the caller) and the version check against the package index and GitHub
(replaced here by "no version information"); the test's proxy settings send anything else
to a closed loopback port.
"""

from __future__ import annotations

import json
import sys

import datahub.ingestion.run.pipeline as pipeline_module
from datahub.ingestion.run.pipeline import Pipeline


def main(recipe_path: str, summary_path: str) -> int:
    pipeline_module.retrieve_version_stats = lambda *args, **kwargs: None  # type: ignore[assignment]
    with open(recipe_path, encoding="utf-8") as handle:
        recipe = json.load(handle)
    pipeline = Pipeline.create(recipe)
    pipeline.run()
    report = pipeline.source.get_report()
    summary = {
        "failures": [str(f) for f in report.failures],
        "warnings": [str(w) for w in report.warnings],
        "projects_scanned": getattr(report, "projects_scanned", None),
        "executions_scanned": getattr(report, "executions_scanned", None),
        "pipelines_emitted": getattr(report, "pipelines_emitted", None),
        "pipeline_executions_emitted": getattr(report, "pipeline_executions_emitted", None),
        "has_failures": pipeline.has_failures(),
    }
    with open(summary_path, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    return 1 if pipeline.has_failures() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
