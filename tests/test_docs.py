"""Every ```python sample in docs/ and README.md runs here.

Each sample runs alone, as a user pasting it into a fresh file would run it, with only
the installs the docs name. A plain sample runs in a namespace of its own. A sample whose
first line is ``# test_<name>.py`` or ``# conftest.py`` is a file of a user's test suite:
each test file is written alone (with its page's conftest, if any) into a pytester
directory and run with pytest; a ``# expect: passed=N failed=M`` line in it states the
outcome (default: every test passes).
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


class Sample:
    """One ```python block: its page, its place there, its code and, for a file of a
    user's test suite, the file's name."""

    def __init__(self, page: Path, index: int, code: str) -> None:
        self.page, self.index, self.code = page, index, code
        first = code.splitlines()[0] if code.strip() else ""
        header = FILE_HEADER.match(first)
        self.file = header.group(1) if header else None

    def __repr__(self) -> str:
        return f"{self.page.name}[{self.index}]"


def samples(page: Path) -> list[Sample]:
    text = page.read_text(encoding="utf-8")
    return [Sample(page, index, code) for index, code in enumerate(BLOCK.findall(text))]


ALL = [sample for page in PAGES for sample in samples(page)]
PLAIN = [sample for sample in ALL if sample.file is None]
TEST_FILES = [sample for sample in ALL if sample.file and sample.file.startswith("test_")]


def test_docs_have_samples() -> None:
    assert PLAIN and TEST_FILES


@pytest.mark.parametrize("sample", PLAIN, ids=repr)
def test_plain_sample_runs_alone(sample: Sample) -> None:
    """Each block in a fresh namespace, as a user pasting it into a new file would run it:
    a block that leans on an import of an earlier block fails here."""
    # Not "__main__": a sample that is a script (``if __name__ == "__main__":``) is defined,
    # not run with pytest's own command line.
    namespace: dict[str, object] = {"__name__": "docs_sample"}
    exec(compile(sample.code, f"{sample!r}", "exec"), namespace)


@pytest.mark.e2e
@pytest.mark.parametrize("sample", TEST_FILES, ids=repr)
def test_test_file_sample_passes_alone(sample: Sample, pytester: pytest.Pytester) -> None:
    """Each test file alone in a new folder (with its page's ``conftest.py``, if the page
    shows one), run with pytest; ``# expect:`` states its outcome (default: all pass)."""
    assert sample.file is not None
    files = {sample.file: sample.code}
    for other in samples(sample.page):
        if other.file == "conftest.py":
            files["conftest.py"] = files.get("conftest.py", "") + other.code
    for name, code in files.items():
        pytester.makepyfile(**{name[:-3]: code})
    expected: dict[str, int] = {}
    for match in EXPECT.findall(sample.code):
        for part in match.split():
            key, _, value = part.partition("=")
            expected[key] = expected.get(key, 0) + int(value)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    if not expected:
        assert result.ret == 0, result.stdout.str()
        assert result.parseoutcomes().get("passed", 0) > 0
    else:
        result.assert_outcomes(**expected)


def test_no_two_test_file_samples_share_a_name() -> None:
    """A page's blocks are separate files: two with one name could not both be pasted."""
    names = [(sample.page.name, sample.file) for sample in TEST_FILES]
    assert len(names) == len(set(names))


CLI_SCRIPT = re.compile(r"`--script`.*?```json\n(.*?)^```", re.S | re.M)


def test_the_cli_pages_script_sample_starts_the_server() -> None:
    """docs/cli.md's ``--script`` document, as written, is what ``maia-status fake-server
    --script FILE`` applies at start (the same token check and loader, without a socket)."""
    import json

    from pytest_maia.cli.fake_server import load_script
    from pytest_maia.fake import FakeMaia

    found = CLI_SCRIPT.findall((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"))
    assert found
    for text in found:
        script = json.loads(text)
        fake = FakeMaia(token=script.get("token"), strict=True)
        load_script(fake, script)
        with fake:
            assert fake.client().get_status("p", script["executions"][0]["execution_id"])
