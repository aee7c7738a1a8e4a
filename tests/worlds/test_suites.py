"""Benchmark suites: the bundled held-out courses load, are flyable and cover every kind; unknown suites say so."""

from __future__ import annotations

import contextlib
import importlib.util
import math
import sys
from collections import Counter
from pathlib import Path

import pytest
from spikefly.worlds import (
    SuiteError,
    WorldError,
    bundled_suites,
    bundled_worlds,
    free_path_exists,
    load_world,
    suite_courses,
)
from spikefly.worlds.suites import SUITES_DIR

HELDOUT = suite_courses("heldout")
KINDS = ("forest", "boxes", "spheres", "windows", "chicane", "corridor", "mixed")
PACE_MPS = 1.2


def _offset_deg(course) -> float:
    """How far the start heading is turned away from the goal's bearing, degrees."""
    bearing = math.atan2(course.goal_position[1] - course.start_position[1], course.goal_position[0] - course.start_position[0])
    return abs(math.degrees(math.remainder(course.start_yaw - bearing, math.tau)))


def test_heldout_is_bundled_with_enough_courses_sorted():
    assert "heldout" in bundled_suites()
    assert len(HELDOUT) >= 18
    assert list(HELDOUT) == sorted(HELDOUT, key=lambda path: path.name)
    assert all(path.suffix == ".toml" and path.parent == SUITES_DIR / "heldout" for path in HELDOUT)


@pytest.mark.parametrize("path", HELDOUT, ids=lambda path: path.stem)
def test_every_heldout_course_is_fixed_loadable_and_flyable(path: Path):
    course = load_world(path)
    assert load_world(str(path)) == course  # a path as text loads the same as a Path
    assert course.name == path.stem
    assert not course.generators and not course.is_procedural
    assert 0 < len(course.obstacles) < 250
    assert free_path_exists(course, course.obstacles, clearance_m=0.15)
    straight_m = math.dist(course.start_position, course.goal_position)
    assert 14.0 <= straight_m <= 40.0
    assert course.time_limit_s >= straight_m / PACE_MPS
    text = path.read_text(encoding="utf-8")
    assert "[[generators]]" not in text
    assert "make_heldout.py" in text and "NEVER use this course for training or for selection" in text


def test_heldout_covers_every_kind_with_turned_starts_and_offset_goals():
    courses = {path.stem: load_world(path) for path in HELDOUT}
    kinds = Counter(name.split("-")[0] for name in courses)
    assert set(kinds) == set(KINDS) and min(kinds.values()) >= 2, kinds
    offsets = [_offset_deg(course) for course in courses.values()]
    assert sum(offset >= 25 for offset in offsets) >= 5 and max(offsets) >= 85
    assert max(offsets) <= 90.5
    sideways = [abs(c.goal_position[1] - c.start_position[1]) for c in courses.values()]
    climbs = [c.goal_position[2] - c.start_position[2] for c in courses.values()]
    assert sum(side >= 2.0 for side in sideways) >= 5
    assert max(climbs) >= 1.5 and min(climbs) <= -1.5
    straight = [math.dist(c.start_position, c.goal_position) for c in courses.values()]
    assert min(straight) <= 17.0 and max(straight) >= 35.0
    assert len({(c.bounds_min, c.bounds_max) for c in courses.values()}) >= 10


def test_suite_courses_are_not_bundled_worlds():
    # nothing reaches them by a bundled name: training defaults and --world NAME cannot pick them up by accident
    assert not set(bundled_worlds()) & {path.stem for path in HELDOUT}


@contextlib.contextmanager
def make_heldout():
    """The suite's script, loaded by path as the tests' own module (the draw reset to 0 after)."""
    spec = importlib.util.spec_from_file_location("make_heldout_under_test", SUITES_DIR / "make_heldout.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        module.heldout_kit.draw = 0
        del sys.modules[spec.name]


def test_the_files_are_what_make_heldout_writes():
    with make_heldout() as module:
        written = {f"{course.name}.toml": course.toml() for course in module.build()}
    assert written == {path.name: path.read_text(encoding="utf-8") for path in HELDOUT}, (
        "worlds/suites/heldout differs from what worlds/suites/make_heldout.py writes: run it again")


def test_a_redrawn_suite_holds_the_same_courses_drawn_anew_and_never_overwrites_the_bundled_one(tmp_path, capsys):
    with make_heldout() as module:
        with pytest.raises(SystemExit):
            module.main(["--draw", "1"])  # no --out: it would overwrite the bundled suite
        assert "give N >= 0, and an --out folder" in capsys.readouterr().err
        assert module.main(["--draw", "1", "--out", str(tmp_path)]) == 0
    drawn = sorted(tmp_path.glob("*.toml"))
    assert [path.name for path in drawn] == [path.name for path in HELDOUT]
    same = []
    for path, bundled in zip(drawn, HELDOUT):
        world = load_world(path)
        assert free_path_exists(world, world.obstacles, clearance_m=0.15), path.name
        if world.obstacles == load_world(bundled).obstacles:
            same.append(path.stem)
        assert "--draw 1" in path.read_text(encoding="utf-8")
    assert same == ["corridor-drift", "corridor-ducts", "corridor-zigzag"]  # the corridors are drawn by hand: fixed


@pytest.mark.parametrize(("name", "expected"), [("nope", "no bundled suite named 'nope'"),
                                                ("heldot", "did you mean 'heldout'?")])
def test_an_unknown_suite_names_itself_and_lists_the_bundled_ones(name: str, expected: str):
    with pytest.raises(SuiteError) as caught:
        suite_courses(name)
    message = str(caught.value)
    assert expected in message and "heldout" in message.split("Fix:")[1]
    assert isinstance(caught.value, WorldError) and isinstance(caught.value, ValueError)


def test_a_folder_of_world_files_is_a_suite(tmp_path: Path):
    for path in HELDOUT[:2]:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert [path.name for path in suite_courses(tmp_path)] == [path.name for path in HELDOUT[:2]]
    assert suite_courses(f"{tmp_path}/") == suite_courses(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="holds no .toml world files"):
        suite_courses(tmp_path / "empty")
    with pytest.raises(SuiteError, match="no such folder"):
        suite_courses(tmp_path / "missing")
