"""The wheel holds every subpackage and data file (the package-dir mapping drops what it is not told)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = {"core": "spikefly/core", "envs": "spikefly/envs", "controllers": "spikefly/controllers", "evolution": "spikefly/evolution", "worlds": "spikefly/worlds"}
SHIPPED_SUFFIXES = {".py", ".toml", ".urdf", ".ini"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Build from a fresh copy: setuptools reuses a build/ folder, whose stale files would hide a
    # module that no longer reaches the wheel.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in SOURCE_FOLDERS:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("spikefly-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_contains_every_source_and_data_file(wheel_names):
    expected = set()
    for folder, package in SOURCE_FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts:
                expected.add(f"{package}/{path.relative_to(ROOT / folder).as_posix()}")
    missing = sorted(expected - wheel_names)
    assert not missing, f"missing from the wheel (add the subpackage to [tool.setuptools] packages or package-data): {missing}"
    assert "spikefly/worlds/forest.toml" in wheel_names
    assert "spikefly/envs/assets/cf2x.urdf" in wheel_names


def test_wheel_is_a_namespace_package_without_tests(wheel_names):
    assert "spikefly/__init__.py" not in wheel_names
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in wheel_names)


def test_console_script_points_at_the_cli(wheel, wheel_names):
    name = next(name for name in wheel_names if name.endswith("entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(name).decode()
    assert "spikefly = spikefly.evolution.cli:main" in text
