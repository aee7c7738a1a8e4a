"""The bundled worlds: they load, every layout is flyable, and layouts follow their seeds."""

from __future__ import annotations

import itertools
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
from spikefly.worlds import (
    ForestGenerator,
    ObstacleCourse,
    bundled_worlds,
    free_path_exists,
    load_world,
    pack_obstacles,
    signed_distance,
)
from spikefly.worlds.shapes import bounding_boxes

BUNDLED = ["corridor", "empty", "forest", "slalom", "windows"]
"""The fixed-frame bundled worlds (``mixed``, which draws its frame per episode, has tests/worlds/test_world_mixed.py)."""
PROCEDURAL = ["corridor", "forest", "slalom", "windows"]
SEEDS = range(10)


def generated_part(course: ObstacleCourse, seed: int) -> tuple:
    """The obstacles that the generators added for ``seed``."""
    return course.layout(np.random.default_rng(seed))[len(course.obstacles) :]


def test_bundled_worlds_lists_the_six_courses_sorted() -> None:
    assert bundled_worlds() == sorted([*BUNDLED, "mixed"])


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_world_loads_with_a_sensible_pace(name: str) -> None:
    course = load_world(name)
    assert course.name == name
    assert course.source.endswith(f"{name}.toml")
    length_m = float(np.linalg.norm(np.subtract(course.goal_position, course.start_position)))
    assert 15.0 <= length_m <= 25.0
    # A drone at 1.5 m/s crossing in a straight line leaves time for detours.
    assert length_m / 1.5 < course.time_limit_s <= 30.0
    assert course.is_procedural == (name in PROCEDURAL)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_layout_of_a_bundled_world_has_a_free_path(name: str) -> None:
    course = load_world(name)
    for seed in SEEDS:
        obstacles = course.layout(np.random.default_rng(seed))
        began = time.perf_counter()
        assert free_path_exists(course, obstacles, clearance_m=0.15), f"{name} seed {seed}"
        assert time.perf_counter() - began < 2.0


@pytest.mark.parametrize("name", PROCEDURAL)
def test_generated_obstacles_keep_clear_of_start_and_goal_and_inside_bounds(name: str) -> None:
    course = load_world(name)
    clear_radius_m = min(generator.clear_radius_m for generator in course.generators)
    for seed in SEEDS:
        generated = generated_part(course, seed)
        assert generated, f"{name} seed {seed} generated nothing"
        arrays = pack_obstacles(generated)
        distance = signed_distance([course.start_position, course.goal_position], arrays)
        assert np.all(distance >= clear_radius_m - 1e-9)
        lower, upper = bounding_boxes(arrays)
        assert np.all(lower >= np.asarray(course.bounds_min) - 1e-9)
        assert np.all(upper <= np.asarray(course.bounds_max) + 1e-9)


def test_forest_trunks_keep_the_minimum_gap_between_every_pair() -> None:
    course = load_world("forest")
    (forest,) = course.generators
    assert isinstance(forest, ForestGenerator)
    for seed in SEEDS:
        trunks = generated_part(course, seed)
        assert len(trunks) >= 0.8 * forest.target_count
        for first, second in itertools.combinations(trunks, 2):
            centre_gap = np.hypot(
                first.position[0] - second.position[0], first.position[1] - second.position[1]
            )
            assert centre_gap - first.radius - second.radius >= forest.min_gap_m - 1e-9
        # ...and to the static log and boulder.
        static = pack_obstacles(course.obstacles)
        for trunk in trunks:
            axis = [(trunk.position[0], trunk.position[1], z) for z in np.linspace(0.0, trunk.height, 41)]
            assert signed_distance(axis, static).min() - trunk.radius >= forest.min_gap_m - 1e-9


@pytest.mark.parametrize("name", PROCEDURAL)
def test_same_seed_same_layout_and_different_seed_different_layout(name: str) -> None:
    course = load_world(name)
    first = course.layout(np.random.default_rng(7))
    assert course.layout(np.random.default_rng(7)) == first
    assert load_world(name).layout(np.random.default_rng(7)) == first
    assert course.layout(np.random.default_rng(8)) != first


@pytest.mark.parametrize("name", PROCEDURAL)
def test_layouts_hold_plain_python_floats(name: str) -> None:
    # Plain floats serialise to JSON and TOML as they are (numpy scalars do not).
    course = load_world(name)
    for obstacle in course.layout(np.random.default_rng(0)):
        values = [getattr(obstacle, field) for field in obstacle.__dataclass_fields__]
        flat = [item for value in values for item in (value if isinstance(value, tuple) else (value,))]
        assert all(type(item) is float for item in flat), obstacle


@pytest.mark.parametrize("name", BUNDLED)
def test_a_course_pickles_for_worker_processes(name: str) -> None:
    course = load_world(name)
    copy = pickle.loads(pickle.dumps(course))
    assert copy == course
    assert copy.layout(np.random.default_rng(1)) == course.layout(np.random.default_rng(1))


def test_a_course_without_generators_draws_nothing_from_the_rng() -> None:
    course = load_world("empty")
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert course.layout(rng) == course.obstacles == ()
    assert rng.bit_generator.state == state


def test_load_world_accepts_a_path_to_a_bundled_file(tmp_path) -> None:
    by_name = load_world("forest")
    copy = tmp_path / "my_forest.toml"
    copy.write_text(Path(by_name.source).read_text(encoding="utf-8"), encoding="utf-8")
    by_path = load_world(copy)
    assert by_path.source == str(copy)
    assert by_path.generators == by_name.generators
    assert load_world(str(copy)).obstacles == by_name.obstacles
