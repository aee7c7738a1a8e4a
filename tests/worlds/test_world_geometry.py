"""Packing, signed distances against hand-computed values, and the free-path check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from spikefly.worlds import (
    SHAPE_BOX,
    SHAPE_CYLINDER,
    SHAPE_SPHERE,
    Box,
    Cylinder,
    ObstacleCourse,
    Sphere,
    free_path_exists,
    pack_obstacles,
    signed_distance,
)

SQRT2, SQRT3 = math.sqrt(2.0), math.sqrt(3.0)


def distance_to(obstacle, point) -> float:
    return float(signed_distance(np.array([point], dtype=float), pack_obstacles([obstacle]))[0])


def test_pack_obstacles_gives_shape_codes_centres_and_half_extents() -> None:
    arrays = pack_obstacles(
        [
            Box((1.0, 2.0, 3.0), (2.0, 4.0, 6.0), yaw=0.5),
            Cylinder((0.0, 0.0, 2.0), radius=0.2, height=4.0),
            Sphere((5.0, 5.0, 1.0), radius=0.4),
        ]
    )
    assert arrays.shape.dtype == np.int32
    assert arrays.shape.tolist() == [SHAPE_BOX, SHAPE_CYLINDER, SHAPE_SPHERE] == [0, 1, 2]
    np.testing.assert_array_equal(arrays.position_m, [[1, 2, 3], [0, 0, 2], [5, 5, 1]])
    np.testing.assert_array_equal(arrays.half_extents_m, [[1, 2, 3], [0.2, 0.2, 2.0], [0.4, 0.4, 0.4]])
    np.testing.assert_array_equal(arrays.yaw_rad, [0.5, 0.0, 0.0])


def test_pack_obstacles_of_nothing_gives_empty_arrays_and_infinite_distance() -> None:
    arrays = pack_obstacles([])
    assert arrays.shape.shape == (0,) and arrays.yaw_rad.shape == (0,)
    assert arrays.position_m.shape == (0, 3) and arrays.half_extents_m.shape == (0, 3)
    assert arrays.position_m.dtype == np.float64
    np.testing.assert_array_equal(signed_distance(np.zeros((2, 3)), arrays), [np.inf, np.inf])


BOX = Box((0.0, 0.0, 0.0), (2.0, 4.0, 6.0))  # half extents 1, 2, 3
CYLINDER = Cylinder((0.0, 0.0, 0.0), radius=1.0, height=2.0)  # z from -1 to 1
SPHERE = Sphere((1.0, 1.0, 1.0), radius=1.0)


@pytest.mark.parametrize(
    ("obstacle", "point", "expected"),
    [
        (BOX, (0.0, 0.0, 0.0), -1.0),  # centre: nearest face is x
        (BOX, (0.0, 1.8, 0.0), -0.2),  # inside, near the y face
        (BOX, (3.0, 0.0, 0.0), 2.0),  # outside a face
        (BOX, (2.0, 3.0, 0.0), SQRT2),  # outside an edge
        (BOX, (2.0, 3.0, 4.0), SQRT3),  # outside a corner
        (BOX, (1.0, 0.0, 0.0), 0.0),  # on a face
        (
            Box((0.0, 0.0, 0.0), (2.0, 0.4, 1.0), yaw=math.pi / 2),
            (0.0, 1.5, 0.0),
            0.5,
        ),  # long side turned onto y
        (Box((0.0, 0.0, 0.0), (2.0, 0.4, 1.0), yaw=math.pi / 2), (0.5, 0.0, 0.0), 0.3),
        (
            Box((0.0, 0.0, 0.0), (2.0, 2.0, 2.0), yaw=math.pi / 4),
            (2.0, 0.0, 0.0),
            2.0 - SQRT2,
        ),  # corner now on x
        (Box((5.0, 5.0, 1.0), (2.0, 2.0, 2.0), yaw=math.pi / 4), (5.0, 5.0 + SQRT2 - 0.1, 1.0), -0.1 / SQRT2),
        (CYLINDER, (3.0, 0.0, 0.0), 2.0),  # outside the side
        (CYLINDER, (0.0, 0.0, 3.0), 2.0),  # above the cap
        (CYLINDER, (0.5, 0.5, -2.0), 1.0),  # below the cap, within the radius
        (CYLINDER, (2.0, 0.0, 2.0), SQRT2),  # outside the rim
        (CYLINDER, (0.0, 3.0, -4.0), math.hypot(2.0, 3.0)),  # outside the lower rim
        (CYLINDER, (0.0, 0.0, 0.0), -1.0),
        (CYLINDER, (0.0, 0.0, 0.9), -0.1),  # inside, near the cap
        (CYLINDER, (0.0, 0.95, 0.0), -0.05),  # inside, near the side
        (SPHERE, (1.0, 1.0, 1.0), -1.0),
        (SPHERE, (1.0, 1.5, 1.0), -0.5),
        (SPHERE, (4.0, 5.0, 1.0), 4.0),
    ],
)
def test_signed_distance_matches_hand_computed_values(obstacle, point, expected: float) -> None:
    assert distance_to(obstacle, point) == pytest.approx(expected, abs=1e-12)


def test_signed_distance_takes_the_nearest_of_many_obstacles_per_point() -> None:
    arrays = pack_obstacles([BOX, Sphere((10.0, 0.0, 0.0), 1.0), Cylinder((0.0, 10.0, 0.0), 1.0, 2.0)])
    points = np.array([[3.0, 0.0, 0.0], [8.0, 0.0, 0.0], [0.0, 13.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(signed_distance(points, arrays), [2.0, 1.0, 2.0, -1.0])
    assert signed_distance([8.0, 0.0, 0.0], arrays) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"\(M, 3\)"):
        signed_distance(np.zeros((4, 2)), arrays)


def test_signed_distance_is_exact_for_many_points_at_once() -> None:
    # A batch larger than one internal chunk gives the same answers as points one by one.
    rng = np.random.default_rng(0)
    obstacles = [
        Box(tuple(rng.uniform(-5, 5, 3)), tuple(rng.uniform(0.2, 2, 3)), float(rng.uniform(-3, 3)))
        for _ in range(40)
    ]
    arrays = pack_obstacles(obstacles)
    points = rng.uniform(-6, 6, (60_000, 3))
    batch = signed_distance(points, arrays)
    for index in rng.choice(len(points), 20, replace=False):
        assert batch[index] == min(distance_to(obstacle, points[index]) for obstacle in obstacles)


def corridor_course(**changes) -> ObstacleCourse:
    values = dict(
        name="test",
        source="<test>",
        time_limit_s=10.0,
        bounds_min=(-1.0, -2.0, 0.0),
        bounds_max=(9.0, 2.0, 3.0),
        start_position=(0.0, 0.0, 1.5),
        start_yaw=0.0,
        goal_position=(8.0, 0.0, 1.5),
        goal_radius=0.3,
    )
    return ObstacleCourse(**{**values, **changes})


def wall_with_window(width_m: float) -> list[Box]:
    """A wall across the course at x = 4 with a square window of ``width_m`` centred at y=0, z=1.5."""
    half = 0.5 * width_m
    return [
        Box((4.0, -1.0 - 0.5 * half, 1.5), (0.2, 2.0 - half, 3.0)),
        Box((4.0, 1.0 + 0.5 * half, 1.5), (0.2, 2.0 - half, 3.0)),
        Box((4.0, 0.0, 0.5 * (1.5 - half)), (0.2, width_m, 1.5 - half)),
        Box((4.0, 0.0, 3.0 - 0.5 * (1.5 - half)), (0.2, width_m, 1.5 - half)),
    ]


def test_free_path_exists_in_an_open_course_and_not_through_a_solid_wall() -> None:
    course = corridor_course()
    assert free_path_exists(course, [])
    assert not free_path_exists(course, [Box((4.0, 0.0, 1.5), (0.2, 4.0, 3.0))])


def test_free_path_fits_through_a_window_only_with_the_clearance() -> None:
    course = corridor_course()
    assert free_path_exists(course, wall_with_window(0.6), clearance_m=0.15)
    assert not free_path_exists(course, wall_with_window(0.6), clearance_m=0.35)
    assert not free_path_exists(course, wall_with_window(0.2), clearance_m=0.15)


def test_free_path_keeps_the_clearance_from_floor_and_ceiling() -> None:
    # A slab leaves a 0.25 m slot under the ceiling: too low for 0.15 m clearance on each side.
    course = corridor_course()
    slab = Box((4.0, 0.0, 1.375), (0.2, 4.0, 2.75))
    assert not free_path_exists(course, [slab], clearance_m=0.15)
    assert free_path_exists(course, [slab], clearance_m=0.1, cell_m=0.05)


def test_free_path_is_false_when_the_goal_is_buried() -> None:
    course = corridor_course()
    assert not free_path_exists(course, [Sphere(course.goal_position, 1.0)])
