"""The layers of the house, checked on the source: who may import whom, no private names across
modules, no import cycles, one error root, and how long a source file may grow.

    core         imports nothing of ours (the error root)
    worlds       core
    controllers  core
    envs         core, worlds   (only the Gymnasium wrappers import gymnasium)
    evolution    everything
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"core": set(), "worlds": {"core"}, "controllers": {"core"}, "envs": {"core", "worlds"},
          "evolution": {"core", "worlds", "controllers", "envs"}}
GYMNASIUM_WRAPPERS = {"spikefly.envs", "spikefly.envs.quadrotor_env", "spikefly.envs.quadrotor_vec_env",
                      "spikefly.envs.audio_env", "spikefly.envs.quadrotor_settings"}
"""The envs modules that are Gymnasium wrappers (or their spaces); the simulation core below them does without."""
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return "spikefly." + ".".join(parts)


def _sources() -> dict[str, Path]:
    """Every module of ours; ``worlds/suites/`` holds scripts that write suite files, not modules."""
    return {_module_name(path): path for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py"))
            if "suites" not in path.relative_to(ROOT).parts}


def _imports(module: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every runtime import of ours or of gymnasium."""
    tree = ast.parse(path.read_text())
    typing_only = {id(node) for test in ast.walk(tree) if isinstance(test, ast.If) and "TYPE_CHECKING" in ast.unparse(test.test)
                   for node in ast.walk(test)}
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) if node.level else node.module
            found += [(base, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
    return [entry for entry in found if entry[0].startswith(("spikefly", "gymnasium"))]


SOURCES = _sources()
IMPORTS = {module: _imports(module, path) for module, path in SOURCES.items()}


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for module, imports in IMPORTS.items():
        layer = module.split(".")[1]
        for target, _, line in imports:
            other = target.split(".")[1] if target.startswith("spikefly.") else None
            if other and other != layer and other not in LAYERS[layer]:
                wrong.append(f"{SOURCES[module].relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_simulation_core_does_without_gymnasium():
    wrong = [f"{SOURCES[module].relative_to(ROOT)}:{line}" for module, imports in IMPORTS.items()
             for target, _, line in imports
             if target.startswith("gymnasium") and module.startswith("spikefly.envs") and module not in GYMNASIUM_WRAPPERS]
    assert not wrong, wrong


def test_no_private_name_is_imported_from_another_module():
    wrong = [f"{SOURCES[module].relative_to(ROOT)}:{line} imports {target}.{name}" for module, imports in IMPORTS.items()
             for target, name, line in imports if name and name.startswith("_") and not name.startswith("__") and target != module]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles_even_through_imports_inside_functions():
    graph = defaultdict(set)
    for module, imports in IMPORTS.items():
        for target, name, _ in imports:
            resolved = f"{target}.{name}" if f"{target}.{name}" in SOURCES else target
            if resolved in SOURCES and resolved != module:
                graph[module].add(resolved)
    cycles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(SOURCES):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_every_error_of_ours_derives_from_the_one_root():
    from spikefly.core import SpikeflyError

    loose = []
    for module in (module for module in SOURCES if not module.endswith("__main__")):  # __main__ runs the CLI
        for name, value in vars(importlib.import_module(module)).items():
            if (inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module
                    and not issubclass(value, SpikeflyError)):
                loose.append(f"{module}.{name}")
    assert not loose, loose


def test_the_cli_turns_any_error_of_ours_into_one_line_and_exit_2(capsys, monkeypatch):
    from spikefly.controllers.coding import CodingSettingsError
    from spikefly.evolution.cli import commands as cli

    def fail(args):
        raise CodingSettingsError("encoder.kind: 'bogus' is not an encoder. Fix: choose population")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", lambda argv: type("Args", (), {"command": "x", "run": staticmethod(fail)})())
    assert cli.main(["x"]) == 2
    assert capsys.readouterr().err == "spikefly: error: encoder.kind: 'bogus' is not an encoder. Fix: choose population\n"


SCRIPTS = sorted((ROOT / "worlds" / "suites").glob("*.py"))
"""The suite-writing scripts: not modules of the package, but held to the same length."""


@pytest.mark.parametrize("path", sorted(str(path.relative_to(ROOT)) for path in [*SOURCES.values(), *SCRIPTS]))
def test_no_source_file_grows_past_its_limit(path: str):
    lines = len((ROOT / path).read_text().splitlines())
    assert lines <= MAX_LINES, f"{path}: {lines} lines; split it into modules of <= {MAX_LINES}"
