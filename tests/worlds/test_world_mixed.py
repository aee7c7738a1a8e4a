"""The ``mixed`` world: a whole course drawn per episode, always solvable, keys checked."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from spikefly.worlds import (
    Box,
    Cylinder,
    MixedGenerator,
    Sphere,
    WorldError,
    free_path_exists,
    load_world,
    loads_world,
    pack_obstacles,
    signed_distance,
)
from spikefly.worlds.shapes import bounding_boxes

SEEDS = range(24)

FRAME = """
name = "m"
kind = "obstacle_course"
time_limit_s = 30.0
[bounds]
min = [-2.0, -8.0, 0.0]
max = [42.0, 8.0, 5.0]
[start]
position = [0.0, 0.0, 1.0]
[goal]
position = [40.0, 0.0, 1.0]
radius = 0.5
"""


def mixed(keys: str = "") -> str:
    return FRAME + '[[generators]]\nkind = "mixed"\n' + keys


def test_every_episode_is_a_solvable_course_within_the_documented_ranges() -> None:
    world = load_world("mixed")
    (generator,) = world.generators
    assert world.draws_frame
    headings, widths = set(), []
    for seed in SEEDS:
        course, obstacles = world.episode(np.random.default_rng(seed))
        start, goal = np.array(course.start_position), np.array(course.goal_position)
        length = math.dist(start[:2], goal[:2])
        assert 15.0 - 1e-9 <= length <= 40.0 + 1e-9
        assert course.time_limit_s == pytest.approx(6.0 + 0.75 * length, rel=0.02)
        low, high = np.array(course.bounds_min), np.array(course.bounds_max)
        assert np.all(low < start) and np.all(start < high) and np.all(low < goal) and np.all(goal < high)
        assert 3.0 <= high[2] <= 5.0
        widths.append(min(high[:2] - low[:2]))
        to_goal = math.atan2(goal[1] - start[1], goal[0] - start[0])
        error = math.remainder(course.start_yaw - to_goal, 2 * math.pi)
        assert abs(error) <= math.radians(90.0) + 1e-9
        headings.add(round(to_goal / (math.pi / 2)) % 4)
        assert free_path_exists(course, obstacles, clearance_m=0.15, cell_m=0.1), f"seed {seed}"
        if obstacles:
            arrays = pack_obstacles(obstacles)
            assert np.all(signed_distance([course.start_position, course.goal_position], arrays) >= 1.5 - 1e-6)
            lower, upper = bounding_boxes(arrays)
            assert np.all(lower >= low - 1e-6) and np.all(upper <= high + 1e-6), f"seed {seed}"
        assert course.generators == () and course.obstacles == ()
    assert len(headings) >= 3, "quarter turns send courses in several directions"
    assert max(widths) - min(widths) > 3.0, "bounds of different sizes"
    assert generator.length_m == (15.0, 40.0)


def test_the_same_seed_draws_the_same_episode_and_another_seed_another() -> None:
    world = load_world("mixed")
    first = world.episode(np.random.default_rng(7))
    assert world.episode(np.random.default_rng(7)) == first
    assert world.episode(np.random.default_rng(8)) != first
    assert world.layout(np.random.default_rng(7)) == first[1]


@pytest.mark.parametrize("kind", ["forest", "boxes", "spheres", "window", "chicane", "corridor"])
def test_each_kind_alone_makes_solvable_courses_with_its_obstacles(kind: str) -> None:
    world = loads_world(mixed(f'kinds = ["{kind}"]\ndifficulty = [1.0, 1.0]\nrotate = false\n'))
    shapes: Counter[str] = Counter()
    for seed in range(6):
        course, obstacles = world.episode(np.random.default_rng(seed))
        assert free_path_exists(course, obstacles, clearance_m=0.15, cell_m=0.1), f"{kind} seed {seed}"
        shapes.update(type(obstacle).__name__ for obstacle in obstacles)
    expected = {"forest": Cylinder, "spheres": Sphere}.get(kind, Box)
    assert set(shapes) == {expected.__name__}
    if kind == "forest":
        radii = [o.radius for seed in range(6) for o in world.episode(np.random.default_rng(seed))[1]]
        assert 0.05 <= min(radii) and max(radii) <= 0.4


def test_windows_make_the_drone_change_height() -> None:
    """A window wall blocks the start's altitude somewhere: flying level does not get through."""
    world = loads_world(mixed('kinds = ["window"]\ndifficulty = [1.0, 1.0]\nrotate = false\n'))
    blocked = 0
    for seed in range(8):
        course, obstacles = world.episode(np.random.default_rng(seed))
        points = np.array([[x, y, course.start_position[2]] for x in np.arange(0, course.goal_position[0], 0.1)
                           for y in np.arange(course.bounds_min[1] + 0.2, course.bounds_max[1] - 0.2, 0.1)])
        if obstacles:
            clear = signed_distance(points, pack_obstacles(obstacles)) > 0.15
            xs = points[:, 0]
            walls = {round(x, 1) for x in xs[~clear]}
            blocked += any(not clear[np.isclose(xs, x)].any() for x in walls)
    assert blocked >= 2


def test_difficulty_scales_how_much_stands_in_the_way() -> None:
    easy = loads_world(mixed("difficulty = [0.0, 0.0]\n"))
    hard = loads_world(mixed("difficulty = [1.0, 1.0]\n"))
    count = lambda world: sum(len(world.episode(np.random.default_rng(s))[1]) for s in range(12))  # noqa: E731
    assert count(hard) > 1.5 * count(easy)
    assert MixedGenerator().with_difficulty(0.2, 0.4).difficulty == (0.2, 0.4)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("lenght_m = [15.0, 20.0]\n", "generators[0].lenght_m: unknown key 'lenght_m' in a \"mixed\" generator; did you mean 'length_m'?"),
        ('kinds = ["forest", "lava"]\n', "generators[0].kinds"),
        ("kinds = []\n", "generators[0].kinds"),
        ("difficulty = [0.5, 1.5]\n", "generators[0].difficulty"),
        ("rotate = 1\n", "generators[0].rotate"),
        ("start_yaw_deg = 270.0\n", "generators[0].start_yaw_deg"),
        ("length_m = [1.0, 2.0]\n", "generators[0].length_m"),
        ("ceiling_m = [2.0, 3.0]\nstart_height_m = [1.0, 1.9]\n", "generators[0].start_height_m"),
        ("time_per_m_s = -1.0\n", "generators[0].time_per_m_s"),
    ],
)
def test_a_bad_key_is_one_error_naming_the_file_and_key(keys: str, message: str) -> None:
    with pytest.raises(WorldError) as error:
        loads_world(mixed(keys), source="my.toml")
    assert str(error.value).startswith("my.toml: ")
    assert message in str(error.value)
    assert "Fix:" in str(error.value) or "fix" in str(error.value).lower()


def test_a_mixed_generator_stands_alone() -> None:
    with pytest.raises(WorldError, match="must be the only generator"):
        loads_world(mixed() + '[[generators]]\nkind = "forest"\n', source="two.toml")
    static = FRAME + '[[obstacles]]\nshape = "sphere"\nposition = [10.0, 2.0, 1.0]\nradius = 0.3\n'
    with pytest.raises(WorldError, match="cannot keep static"):
        loads_world(static + '[[generators]]\nkind = "mixed"\n', source="static.toml")
