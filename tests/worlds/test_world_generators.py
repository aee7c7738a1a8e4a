"""What each generator promises: windows at differing heights, alternating slalom openings,
a corridor that bends within its limit and encloses the path, forest gaps and limits."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from spikefly.worlds import (
    Box,
    CorridorGenerator,
    Cylinder,
    SlalomGenerator,
    WindowsGenerator,
    WorldError,
    free_path_exists,
    load_world,
    loads_world,
    pack_obstacles,
    signed_distance,
)

EMPTY = Path(load_world("empty").source).read_text(encoding="utf-8")  # bounds [-2,-6,0]..[26,6,4]
SEEDS = range(10)


def course_with(*generator_tables: str):
    return loads_world(EMPTY + "".join(f"\n[[generators]]\n{table}\n" for table in generator_tables))


def walls_by_x(boxes) -> list[list[Box]]:
    """Boxes grouped into walls (same x centre), ordered along x."""
    walls: dict[float, list[Box]] = {}
    for box in boxes:
        walls.setdefault(round(box.position[0], 9), []).append(box)
    return [walls[x] for x in sorted(walls)]


def test_windows_have_one_window_each_at_differing_heights() -> None:
    course = load_world("windows")
    (windows,) = course.generators
    assert isinstance(windows, WindowsGenerator)
    width, height = windows.window_size
    room = course.bounds_max[2] - course.bounds_min[2]
    for seed in SEEDS:
        walls = walls_by_x(course.layout(np.random.default_rng(seed)))
        assert len(walls) == windows.count
        centres_z = []
        for wall in walls:
            assert len(wall) == 4
            full_height = [math.isclose(b.size[2], room) for b in wall]
            beside = sorted(
                (b for b, full in zip(wall, full_height, strict=True) if full), key=lambda b: b.position[1]
            )
            over_under = sorted(
                (b for b, full in zip(wall, full_height, strict=True) if not full),
                key=lambda b: b.position[2],
            )
            # Left and right parts reach the bounds' sides; the window is the gap between them.
            assert beside[0].position[1] - beside[0].size[1] / 2 == pytest.approx(course.bounds_min[1])
            assert beside[1].position[1] + beside[1].size[1] / 2 == pytest.approx(course.bounds_max[1])
            gap_y = (beside[1].position[1] - beside[1].size[1] / 2) - (
                beside[0].position[1] + beside[0].size[1] / 2
            )
            window_bottom = over_under[0].position[2] + over_under[0].size[2] / 2
            window_top = over_under[1].position[2] - over_under[1].size[2] / 2
            assert gap_y == pytest.approx(width)
            assert window_top - window_bottom == pytest.approx(height)
            assert window_bottom >= course.bounds_min[2] + windows.frame_m - 1e-9
            assert window_top <= course.bounds_max[2] - windows.frame_m + 1e-9
            centres_z.append(0.5 * (window_bottom + window_top))
        assert all(abs(b - a) >= windows.min_height_change_m - 1e-9 for a, b in itertools.pairwise(centres_z))


def test_slalom_openings_alternate_sides_within_the_offset_range() -> None:
    course = load_world("slalom")
    (slalom,) = course.generators
    assert isinstance(slalom, SlalomGenerator)
    first_sides = set()
    for seed in SEEDS:
        gates = walls_by_x(course.layout(np.random.default_rng(seed)))
        assert len(gates) == slalom.count
        sides = []
        for gate in gates:
            lower, upper = sorted(gate, key=lambda b: b.position[1])
            opening_low = lower.position[1] + lower.size[1] / 2
            opening_high = upper.position[1] - upper.size[1] / 2
            assert opening_high - opening_low == pytest.approx(slalom.gap_m)
            offset = 0.5 * (opening_low + opening_high)  # the start-goal line is y = 0 here
            assert slalom.lateral_offset_m[0] - 1e-9 <= abs(offset) <= slalom.lateral_offset_m[1] + 1e-9
            sides.append(np.sign(offset))
        assert all(a == -b for a, b in itertools.pairwise(sides))
        first_sides.add(sides[0])
    assert first_sides == {-1.0, 1.0}


def test_corridor_bends_within_the_limit_and_is_the_only_way_to_the_goal() -> None:
    course = load_world("corridor")
    (corridor,) = course.generators
    assert isinstance(corridor, CorridorGenerator)
    segments = corridor.turns + 3  # lead-in, start..bends..goal, lead-out
    bent = 0
    for seed in SEEDS:
        walls = course.layout(np.random.default_rng(seed))
        assert len(walls) == 2 * segments
        for side in (walls[:segments], walls[segments:]):
            turns = [abs(math.remainder(b.yaw - a.yaw, math.tau)) for a, b in itertools.pairwise(side)]
            assert max(turns) <= math.radians(corridor.max_turn_deg) + 1e-9
            bent += max(turns) > math.radians(5)
        outside = replace(course, start_position=(10.0, -6.5, 1.0))
        assert free_path_exists(course, walls)
        assert not free_path_exists(outside, walls)
    assert bent >= 10  # the corridor really turns, not only in rare seeds


def test_corridor_walls_keep_the_corridor_width_around_the_start() -> None:
    course = load_world("corridor")
    (corridor,) = course.generators
    walls = pack_obstacles(course.layout(np.random.default_rng(0)))
    clearance = signed_distance([course.start_position, course.goal_position], walls)
    np.testing.assert_allclose(clearance, 0.5 * (corridor.width_m - corridor.thickness_m), atol=1e-9)


def test_forest_fills_the_asked_region_to_its_density() -> None:
    course = course_with(
        'kind = "forest"\nregion_min = [4.0, -4.0]\nregion_max = [20.0, 4.0]\n'
        "height = 3.0\ndensity_per_m2 = 0.1"
    )
    (forest,) = course.generators
    assert forest.target_count == round(0.1 * 16 * 8)
    for seed in SEEDS:
        trunks = course.layout(np.random.default_rng(seed))
        assert len(trunks) == forest.target_count
        for trunk in trunks:
            assert isinstance(trunk, Cylinder) and trunk.height == 3.0 and trunk.position[2] == 1.5
            assert trunk.position[0] - trunk.radius >= 4.0 and trunk.position[0] + trunk.radius <= 20.0
            assert trunk.position[1] - trunk.radius >= -4.0 and trunk.position[1] + trunk.radius <= 4.0
            assert 0.15 <= trunk.radius <= 0.3


def test_a_crowded_forest_places_fewer_trunks_but_keeps_the_gap() -> None:
    course = course_with(
        'kind = "forest"\nregion_min = [4.0, -2.0]\nregion_max = [8.0, 2.0]\n'
        "density_per_m2 = 5.0\nmin_gap_m = 1.0"
    )
    (forest,) = course.generators
    trunks = course.layout(np.random.default_rng(0))
    assert 0 < len(trunks) < forest.target_count
    for first, second in itertools.combinations(trunks, 2):
        gap = math.dist(first.position[:2], second.position[:2]) - first.radius - second.radius
        assert gap >= 1.0 - 1e-9


def test_later_generators_keep_their_gap_to_earlier_obstacles() -> None:
    course = course_with('kind = "slalom"', 'kind = "forest"\nmin_gap_m = 0.5')
    for seed in range(3):
        layout = course.layout(np.random.default_rng(seed))
        gates = pack_obstacles([o for o in layout if isinstance(o, Box)])
        for trunk in (o for o in layout if isinstance(o, Cylinder)):
            axis = [(trunk.position[0], trunk.position[1], z) for z in np.linspace(0.0, trunk.height, 41)]
            assert signed_distance(axis, gates).min() - trunk.radius >= 0.5 - 1e-9


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ('kind = "corridor"\nclear_radius_m = 1.5', "clear_radius_m", "width_m/2 - thickness_m/2"),
        ('kind = "corridor"\nwidth_m = 12.5', "width_m", "does not fit inside the bounds"),
        ('kind = "corridor"\nmax_turn_deg = 95', "max_turn_deg", "too sharp"),
        ('kind = "corridor"\nturns = 2.0', "turns", "whole number"),
        ('kind = "slalom"\nlateral_offset_m = [1.0, 6.0]', "lateral_offset_m", "does not fit"),
        ('kind = "slalom"\nlateral_offset_m = [3.0, 1.0]', "lateral_offset_m", "larger than the second"),
        ('kind = "slalom"\nheight = 5.0', "height", "taller than the bounds"),
        ('kind = "windows"\nwindow_size = [1.2, 3.0]', "window_size", "room for their height"),
        ('kind = "windows"\nwindow_size = [1.2]', "window_size", "expected 2 numbers, got 1"),
        ('kind = "forest"\nregion_max = [30.0, 5.0]', "region_max", "outside the bounds"),
        ('kind = "forest"\nradius = [0.0, 0.3]', "radius[0]", "positive"),
        ('kind = "forest"\ndensity_per_m2 = 50', "density_per_m2", "limit 10"),
        ("density_per_m2 = 0.1", "kind", "missing required key"),
    ],
)
def test_generator_mistakes_name_the_key_and_the_fix(table: str, key: str, words: str) -> None:
    with pytest.raises(WorldError) as caught:
        loads_world(EMPTY + f"\n[[generators]]\n{table}\n", source="gen.toml")
    assert str(caught.value).startswith(f"gen.toml: generators[0].{key}: ")
    assert words in str(caught.value)
    assert "Fix: " in str(caught.value)


def test_generators_accept_every_key_with_its_default_written_out() -> None:
    course = course_with(
        'kind = "windows"\ncount = 3\nwindow_size = [1.2, 1.0]\nthickness_m = 0.2\nframe_m = 0.3\n'
        "max_lateral_m = 3.0\nmin_height_change_m = 0.5\njitter_m = 0.5\nclear_radius_m = 1.5",
    )
    assert course.generators == (WindowsGenerator(),)
    course = course_with(
        'kind = "slalom"\ncount = 4\ngap_m = 1.5\nlateral_offset_m = [1.0, 2.5]\nthickness_m = 0.2\n'
        "height = 4.0\njitter_m = 0.5\nclear_radius_m = 1.5",
    )
    assert course.generators == (SlalomGenerator(height=4.0),)
    course = course_with(
        'kind = "corridor"\nturns = 3\nmax_turn_deg = 35.0\nwidth_m = 2.0\nthickness_m = 0.2\n'
        "height = 4.0\nmax_lateral_m = 4.0\nclear_radius_m = 0.6",
    )
    assert course.generators == (CorridorGenerator(height=4.0),)
