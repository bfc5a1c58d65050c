"""Every ```python sample in docs/ and README.md runs here.

Plain samples run in order in one namespace per page. A sample whose first line is
``# test_<name>.py`` or ``# conftest.py`` is a file of a user's test suite: the page's
files are written into a pytester directory and run with pytest; a ``# expect: passed=N
failed=M`` line in a test file states the outcome (default: every test passes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([*ROOT.joinpath("docs").glob("*.md"), ROOT / "README.md"])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
FILE_HEADER = re.compile(r"^# ((?:test_\w+|conftest)\.py)\s*$")
EXPECT = re.compile(r"^# expect: (.+)$", re.M)


def samples(page: Path) -> tuple[list[str], dict[str, str]]:
    plain: list[str] = []
    files: dict[str, str] = {}
    for code in BLOCK.findall(page.read_text(encoding="utf-8")):
        first = code.splitlines()[0] if code.strip() else ""
        header = FILE_HEADER.match(first)
        if header:
            files[header.group(1)] = files.get(header.group(1), "") + code
        else:
            plain.append(code)
    return plain, files


def test_docs_have_samples() -> None:
    assert any(samples(page)[0] or samples(page)[1] for page in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_plain_samples_run(page: Path) -> None:
    plain, _ = samples(page)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for index, code in enumerate(plain):
        compiled = compile(code, f"{page.name}[python block {index}]", "exec")
        exec(compiled, namespace)


@pytest.mark.e2e
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_test_file_samples_pass(page: Path, pytester: pytest.Pytester) -> None:
    _, files = samples(page)
    if not any(name.startswith("test_") for name in files):
        return
    expected: dict[str, int] = {}
    for name, code in files.items():
        pytester.makepyfile(**{name[:-3]: code})
        for match in EXPECT.findall(code):
            for part in match.split():
                key, _, value = part.partition("=")
                expected[key] = expected.get(key, 0) + int(value)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    if not expected:
        assert result.ret == 0, result.stdout.str()
        assert result.parseoutcomes().get("passed", 0) > 0
    else:
        result.assert_outcomes(**expected)
