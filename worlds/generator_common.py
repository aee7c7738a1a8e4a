"""Helpers shared by the procedural obstacle generators."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .geometry import signed_distance
from .shapes import Box, Obstacle, pack_obstacles
from .table_reader import TableReader

if TYPE_CHECKING:
    from .course import ObstacleCourse

CLEARANCE_TOLERANCE_M = 1e-9
"""Rounding slack when checking generated obstacles against the start and goal clear radius."""


def read_clear_radius(table: TableReader, default_m: float) -> float:
    """The ``clear_radius_m`` key: free space kept around the start and the goal."""
    return table.number(
        "clear_radius_m",
        f"clear_radius_m = {default_m}",
        "the radius in metres around the start and the goal kept free of generated obstacles",
        default=default_m,
        non_negative=True,
    )


def read_height(table: TableReader, course: ObstacleCourse, key: str = "height") -> float:
    """The ``height`` key: obstacle height from the floor; defaults to floor to ceiling."""
    room = course.bounds_max[2] - course.bounds_min[2]
    height = table.number(
        key, f"{key} = {room:g}", "the obstacle height in metres from the floor", default=room, positive=True
    )
    if height > room + CLEARANCE_TOLERANCE_M:
        raise table.error(
            key,
            f"{height:g} m is taller than the bounds ({room:g} m from floor to ceiling)",
            f"give at most {key} = {room:g}, or leave {key} out for floor to ceiling",
        )
    return height


def line_y(course: ObstacleCourse, x: float) -> float:
    """y of the straight start-to-goal line (in the xy plane) at ``x``."""
    (start_x, start_y, _), (goal_x, goal_y, _) = course.start_position, course.goal_position
    if abs(goal_x - start_x) < 1e-12:
        return start_y
    fraction = (x - start_x) / (goal_x - start_x)
    return start_y + fraction * (goal_y - start_y)


def wall_spacing(
    course: ObstacleCourse,
    count: int,
    thickness_m: float,
    jitter_m: float,
    clear_radius_m: float,
    min_spacing_m: float,
) -> tuple[float, float] | None:
    """(first centre x, spacing) for ``count`` walls across x between start and goal.

    Wall ``i`` sits at ``first + i * spacing`` plus a jitter in ``[-jitter_m, jitter_m]``; the
    walls stay ``clear_radius_m`` from the start and goal and at least ``min_spacing_m`` of
    free flight apart. ``None`` when they do not fit.
    """
    low = min(course.start_position[0], course.goal_position[0]) + clear_radius_m + 0.5 * thickness_m
    high = max(course.start_position[0], course.goal_position[0]) - clear_radius_m - 0.5 * thickness_m
    spacing = (high - low) / count
    if high <= low or spacing - 2.0 * jitter_m - thickness_m < min_spacing_m:
        return None
    return low + 0.5 * spacing, spacing


def check_walls_fit(
    table: TableReader,
    course: ObstacleCourse,
    count: int,
    thickness_m: float,
    jitter_m: float,
    clear_radius_m: float,
    min_spacing_m: float,
) -> tuple[float, float]:
    """:func:`wall_spacing`, raising :class:`WorldError` on ``table.count`` when walls do not fit."""
    fitted = wall_spacing(course, count, thickness_m, jitter_m, clear_radius_m, min_spacing_m)
    if fitted is None:
        length = abs(course.goal_position[0] - course.start_position[0])
        raise table.error(
            "count",
            f"{count} walls of thickness_m = {thickness_m:g} with jitter_m = {jitter_m:g} do not fit "
            f"in the {length:g} m between start and goal along x while keeping clear_radius_m = "
            f"{clear_radius_m:g} and {min_spacing_m:g} m of flight between walls",
            "use a smaller count, jitter_m or clear_radius_m, or move the goal further along x",
        )
    return fitted


def keep_clear(
    obstacles: list[Obstacle], course: ObstacleCourse, clear_radius_m: float
) -> tuple[Obstacle, ...]:
    """Drop any obstacle closer than ``clear_radius_m`` to the start or goal point.

    Generators construct their obstacles clear already; this is the guarantee, not the method.
    """
    endpoints = [course.start_position, course.goal_position]
    return tuple(
        obstacle
        for obstacle in obstacles
        if np.all(
            signed_distance(endpoints, pack_obstacles([obstacle])) >= clear_radius_m - CLEARANCE_TOLERANCE_M
        )
    )


def box_between(
    x_range: tuple[float, float], y_range: tuple[float, float], z_range: tuple[float, float]
) -> Box | None:
    """Axis-aligned box filling the given ranges, or ``None`` when any range is empty."""
    size = (x_range[1] - x_range[0], y_range[1] - y_range[0], z_range[1] - z_range[0])
    if min(size) <= 1e-9:
        return None
    centre = (0.5 * sum(x_range), 0.5 * sum(y_range), 0.5 * sum(z_range))
    return Box(position=centre, size=size)


def fitted_spacing(generator: object, course: ObstacleCourse, count: int, thickness_m: float, jitter_m: float,
                   clear_radius_m: float, min_flight_m: float) -> tuple[float, float]:
    """(first x, spacing) of a generator's walls or gates, as :func:`wall_spacing` fits them.

    ``from_table`` already rejects generators that do not fit; this raises for one built by hand.
    """
    fitted = wall_spacing(course, count, thickness_m, jitter_m, clear_radius_m, min_flight_m)
    if fitted is None:
        raise ValueError(f"{generator} does not fit between the start and goal of {course.source}")
    return fitted
