"""``python -m pytest_maia.report TIMELINE.json OUT.svg|OUT.html``: draw a saved timeline."""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_maia.core.errors import MaiaValidationError
from pytest_maia.report.html import render_html
from pytest_maia.report.merge import read_timeline
from pytest_maia.report.svg import render_svg


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].endswith((".svg", ".html")):
        print(__doc__, file=sys.stderr)
        return 2
    source, target = Path(args[0]), Path(args[1])
    try:
        timeline = read_timeline(source)
    except MaiaValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if target.suffix == ".svg":
        text = render_svg(timeline.executions, virtual=timeline.virtual) + "\n"
    else:
        text = render_html(timeline)
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
