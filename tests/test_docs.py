"""Every code block in docs/*.md runs: python blocks are executed, in a fresh namespace each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, int, str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for index, match in enumerate(BLOCK.finditer(page.read_text())):
            found.append((page.name, index, match.group(1), match.group(2)))
    return found


def test_every_docs_block_is_python_so_it_can_run() -> None:
    others = [(page, index, language) for page, index, language, _ in _blocks() if language != "python"]
    assert not others, f"docs code blocks that no test runs (write python, or prose): {others}"


@pytest.mark.parametrize(("page", "index", "language", "code"), _blocks(), ids=lambda value: str(value)[:30])
def test_docs_block_runs(page: str, index: int, language: str, code: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{page} block {index}", "exec"), {"__name__": "docs"})
