"""The ``corridor`` generator: a walled, turning corridor from the start to the goal.

Keys of a ``[[generators]]`` table with ``kind = "corridor"`` (all optional; metres unless named):

- ``turns`` (3): number of bends between the start and the goal, 0 to 20.
- ``max_turn_deg`` (35.0): largest change of heading at any bend, degrees, at most 80.
- ``width_m`` (2.0): distance between the two walls' centre lines.
- ``thickness_m`` (0.2): wall thickness.
- ``height`` (floor to ceiling of ``[bounds]``): wall height from the floor.
- ``max_lateral_m`` (4.0): how far in y a bend may stray from the straight start-goal line.
- ``clear_radius_m`` (0.6): walls keep this far from the start and the goal; at most
  ``width_m / 2 - thickness_m / 2``.

The corridor's centre line is a polyline: from the bounds' edge behind the start straight (along
x) to the start, through ``turns`` bends at evenly spaced (jittered by up to a quarter of the
spacing) x with random y, to the goal, then straight on to the opposite edge of the bounds.
Its two walls are boxes along the offset polylines (mitred at the bends), so with walls floor to
ceiling the only way from start to goal is along the corridor. Bend offsets are drawn, then
shrunk toward the straight line until every bend is within ``max_turn_deg`` and every wall box
inside the bounds (the straight corridor is the last resort and is checked when loading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from .generator_common import keep_clear, line_y, read_clear_radius, read_height
from .shapes import Box, Obstacle, bounding_boxes, pack_obstacles
from .table_reader import TableReader

if TYPE_CHECKING:
    from .course import ObstacleCourse

CORRIDOR_KEYS = (
    "kind",
    "turns",
    "max_turn_deg",
    "width_m",
    "thickness_m",
    "height",
    "max_lateral_m",
    "clear_radius_m",
)
"""Every key a corridor generator table accepts."""

_SHRINK_FACTOR = 0.8
"""Bend offsets are multiplied by this until the corridor is valid."""
_SHRINK_STEPS = 30
"""Shrinks tried before falling back to the straight corridor."""
_TOLERANCE_M = 1e-9


@dataclass(frozen=True)
class CorridorGenerator:
    """Two walls along a random polyline from start to goal, forming a turning corridor."""

    KEYS: ClassVar[tuple[str, ...]] = CORRIDOR_KEYS
    """Every key its ``[[generators]]`` table accepts."""

    height: float
    """Wall height from the floor, metres."""
    turns: int = 3
    """Number of bends between the start and the goal."""
    max_turn_deg: float = 35.0
    """Largest change of heading at any bend (including at the start and goal), degrees."""
    width_m: float = 2.0
    """Distance between the centre lines of the two walls, metres."""
    thickness_m: float = 0.2
    """Wall thickness, metres."""
    max_lateral_m: float = 4.0
    """Largest y distance of a bend from the straight start-goal line, metres."""
    clear_radius_m: float = 0.6
    """Walls keep at least this far from the start and goal, metres."""
    kind: str = field(default="corridor", init=False)
    """Generator kind, always ``"corridor"``."""

    @classmethod
    def from_table(cls, table: TableReader, course: ObstacleCourse) -> CorridorGenerator:
        """Read and check a ``[[generators]]`` table of kind ``"corridor"``."""
        table.check_keys(CORRIDOR_KEYS, 'a "corridor" generator')
        generator = cls(
            height=read_height(table, course),
            turns=table.integer(
                "turns", "turns = 3", "the number of bends", default=3, minimum=0, maximum=20
            ),
            max_turn_deg=table.number(
                "max_turn_deg",
                "max_turn_deg = 35.0",
                "the largest bend angle in degrees",
                default=35.0,
                non_negative=True,
            ),
            width_m=table.number(
                "width_m", "width_m = 2.0", "the corridor width in metres", default=2.0, positive=True
            ),
            thickness_m=table.number(
                "thickness_m", "thickness_m = 0.2", "the wall thickness in metres", default=0.2, positive=True
            ),
            max_lateral_m=table.number(
                "max_lateral_m",
                "max_lateral_m = 4.0",
                "how far in metres a bend may stray sideways from the start-goal line",
                default=4.0,
                non_negative=True,
            ),
            clear_radius_m=read_clear_radius(table, 0.6),
        )
        if generator.max_turn_deg > 80.0:
            raise table.error(
                "max_turn_deg",
                f"{generator.max_turn_deg:g} degrees is too sharp (limit 80)",
                "give a bend angle such as max_turn_deg = 35.0",
            )
        wall_gap = 0.5 * (generator.width_m - generator.thickness_m)
        if generator.clear_radius_m > wall_gap:
            raise table.error(
                "clear_radius_m",
                f"{generator.clear_radius_m:g} m is more than the {wall_gap:g} m from the corridor's "
                "centre to its walls (width_m/2 - thickness_m/2)",
                f"use clear_radius_m <= {wall_gap:g} or a larger width_m",
            )
        if abs(course.goal_position[0] - course.start_position[0]) < 1.0:
            raise table.error(
                "kind",
                "a corridor runs along x, but the start and goal are less than 1 m apart in x",
                "move the goal along x away from the start, or use another generator",
            )
        straight = generator._walls(course, np.zeros((generator.turns, 2)), 0.0)
        if straight is None:
            raise table.error(
                "width_m",
                f"a straight corridor {generator.width_m:g} m wide from start to goal does not fit "
                "inside the bounds",
                "use a smaller width_m, move the start and goal away from the bounds' sides in y, "
                "or widen the bounds",
            )
        return generator

    def generate(self, rng: np.random.Generator, course: ObstacleCourse) -> tuple[Obstacle, ...]:
        """Draw the bends from ``rng`` and build the walls."""
        draws = np.column_stack((rng.uniform(-0.25, 0.25, self.turns), rng.uniform(-1.0, 1.0, self.turns)))
        factor = 1.0
        for _ in range(_SHRINK_STEPS):
            walls = self._walls(course, draws, factor)
            if walls is not None:
                return keep_clear(walls, course, self.clear_radius_m)
            factor *= _SHRINK_FACTOR
        walls = self._walls(course, draws, 0.0) or []
        return keep_clear(walls, course, self.clear_radius_m)

    def centre_line(
        self, course: ObstacleCourse, draws: NDArray[np.float64], factor: float
    ) -> NDArray[np.float64]:
        """Corridor centre polyline float64[turns + 4, 2] (x, y) in metres.

        ``draws[i]`` = (x jitter as a fraction of the bend spacing, y offset as a fraction of
        ``max_lateral_m``); ``factor`` scales the y offsets (0 gives a straight corridor).
        """
        (start_x, start_y, _), (goal_x, goal_y, _) = course.start_position, course.goal_position
        forward = 1.0 if goal_x > start_x else -1.0
        behind_x = course.bounds_min[0] if forward > 0 else course.bounds_max[0]
        beyond_x = course.bounds_max[0] if forward > 0 else course.bounds_min[0]
        spacing = (goal_x - start_x) / (self.turns + 1)
        bends = [
            (x, line_y(course, x) + factor * draws[i, 1] * self.max_lateral_m)
            for i in range(self.turns)
            for x in [start_x + (i + 1 + draws[i, 0]) * spacing]
        ]
        points = [(behind_x, start_y), (start_x, start_y), *bends, (goal_x, goal_y), (beyond_x, goal_y)]
        # Drop zero-length lead-in or lead-out segments (start or goal on the bounds' edge).
        kept = [points[0]]
        for point in points[1:]:
            if math.dist(point, kept[-1]) > 1e-6:
                kept.append(point)
        return np.asarray(kept, dtype=np.float64)

    def _walls(
        self, course: ObstacleCourse, draws: NDArray[np.float64], factor: float
    ) -> list[Obstacle] | None:
        """The wall boxes, or ``None`` when a bend is too sharp or a wall leaves the bounds."""
        points = self.centre_line(course, draws, factor)
        direction = np.diff(points, axis=0)
        length = np.linalg.norm(direction, axis=1)
        direction /= length[:, None]
        normal = np.column_stack((-direction[:, 1], direction[:, 0]))  # to the left
        cross = direction[:-1, 0] * direction[1:, 1] - direction[:-1, 1] * direction[1:, 0]
        turn = np.arctan2(cross, np.einsum("ij,ij->i", direction[:-1], direction[1:]))
        if np.any(np.abs(turn) > math.radians(self.max_turn_deg) + 1e-12):
            return None
        # Mitred offset of every vertex: along the bisector of the adjoining normals.
        mitre = np.empty_like(points)
        mitre[0], mitre[-1] = normal[0], normal[-1]
        bisector = normal[:-1] + normal[1:]
        bisector /= np.linalg.norm(bisector, axis=1)[:, None]
        mitre[1:-1] = bisector / np.einsum("ij,ij->i", bisector, normal[:-1])[:, None]
        half_width = 0.5 * self.width_m
        # Outer walls at a bend are lengthened so the mitred joint has no notch.
        joint = np.zeros(len(points))
        joint[1:-1] = 0.5 * self.thickness_m * np.tan(0.5 * np.abs(turn))
        z_min = course.bounds_min[2]
        boxes: list[Obstacle] = []
        for side in (1.0, -1.0):
            offset = points + side * half_width * mitre
            outer = np.zeros(len(points), dtype=bool)
            outer[1:-1] = side * cross < 0  # a left bend has its outside on the right
            for i in range(len(direction)):
                along = float(np.dot(offset[i + 1] - offset[i], direction[i]))
                if along <= _TOLERANCE_M:
                    return None  # a bend too tight for the width: the wall would fold back
                start_extra = float(joint[i]) if outer[i] else 0.0
                end_extra = float(joint[i + 1]) if outer[i + 1] else 0.0
                centre = offset[i] + direction[i] * 0.5 * (along + end_extra - start_extra)
                boxes.append(
                    Box(
                        position=(float(centre[0]), float(centre[1]), z_min + 0.5 * self.height),
                        size=(along + start_extra + end_extra, self.thickness_m, self.height),
                        yaw=float(math.atan2(direction[i, 1], direction[i, 0])),
                    )
                )
        lower, upper = bounding_boxes(pack_obstacles(boxes))
        inside = np.all(lower >= np.asarray(course.bounds_min) - _TOLERANCE_M) and np.all(
            upper <= np.asarray(course.bounds_max) + _TOLERANCE_M
        )
        return boxes if inside else None
