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


README = DOCS.parent / "README.md"


def _readme_blocks(language: str) -> list[str]:
    return [match.group(2) for match in BLOCK.finditer(README.read_text()) if match.group(1) == language]


def test_the_readme_is_short_and_its_blocks_are_python_shell_or_text() -> None:
    assert len(README.read_text().splitlines()) <= 250
    languages = {match.group(1) for match in BLOCK.finditer(README.read_text())}
    assert languages <= {"python", "bash", "text"}, languages
    assert _readme_blocks("python") and _readme_blocks("bash")


@pytest.mark.parametrize("code", _readme_blocks("python"), ids=lambda code: code.splitlines()[0][:30])
def test_readme_python_block_runs(code: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md python block", "exec"), {"__name__": "readme"})


def test_every_spikefly_command_in_the_readme_parses() -> None:
    import shlex

    from spikefly.evolution.cli.commands import build_parser

    commands = []
    for block in _readme_blocks("bash"):
        for line in block.splitlines():
            for part in line.split("#")[0].split("&&"):
                if part.strip().startswith("spikefly"):
                    commands.append(shlex.split(part)[1:])
    assert len(commands) >= 6  # the first command's evolve and the five common ones
    parser = build_parser()
    for arguments in commands:
        args = parser.parse_args(arguments)  # an unknown flag or subcommand exits here
        assert args.command == arguments[0]


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    """.ci/run's last line is the README's command 2 (system packages, venv, test extras, pytest)."""
    readme_lines = [line.strip() for block in _readme_blocks("bash") for line in block.splitlines()]
    ci_command = (DOCS.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_command in readme_lines and ci_command.startswith("scripts/install-system-packages && ")
    assert ci_command.endswith('pip install -e ".[test]" && pytest')
