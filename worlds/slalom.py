"""The ``slalom`` generator: gates across the course with their gaps on alternating sides.

Keys of a ``[[generators]]`` table with ``kind = "slalom"`` (all optional; metres unless named):

- ``count`` (4): number of gates, 1 to 50.
- ``gap_m`` (1.5): width of the opening in each gate.
- ``lateral_offset_m`` ([1.0, 2.5]): range [min, max] of the distance of an opening's centre
  from the start-goal line.
- ``thickness_m`` (0.2): gate thickness along x.
- ``height`` (floor to ceiling of ``[bounds]``): gate height from the floor.
- ``jitter_m`` (0.5): random shift of each gate along x from even spacing.
- ``clear_radius_m`` (1.5): no gate comes closer than this to the start or the goal.

Each gate is a barrier perpendicular to x made of two boxes that fill the bounds in y except
for one opening ``gap_m`` wide. Openings alternate between the +y and -y side of the
start-goal line (which side comes first is random), so the drone must weave.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .generator_common import (
    box_between,
    check_walls_fit,
    fitted_spacing,
    keep_clear,
    line_y,
    read_clear_radius,
    read_height,
)
from .shapes import Obstacle
from .table_reader import TableReader

if TYPE_CHECKING:
    from .course import ObstacleCourse

SLALOM_KEYS = (
    "kind",
    "count",
    "gap_m",
    "lateral_offset_m",
    "thickness_m",
    "height",
    "jitter_m",
    "clear_radius_m",
)
"""Every key a slalom generator table accepts."""

MIN_FLIGHT_BETWEEN_GATES_M = 1.0
"""Least free distance along x between two consecutive gates."""
MIN_POST_WIDTH_M = 0.1
"""Least width of gate left between an opening and the bounds' side."""


@dataclass(frozen=True)
class SlalomGenerator:
    """Gates across x whose openings alternate sides of the start-goal line."""

    KEYS: ClassVar[tuple[str, ...]] = SLALOM_KEYS
    """Every key its ``[[generators]]`` table accepts."""

    height: float
    """Gate height from the floor, metres."""
    count: int = 4
    """Number of gates."""
    gap_m: float = 1.5
    """Width of the opening in each gate, metres."""
    lateral_offset_m: tuple[float, float] = (1.0, 2.5)
    """Range [min, max] of the distance of an opening's centre from the start-goal line, metres."""
    thickness_m: float = 0.2
    """Gate thickness along x, metres."""
    jitter_m: float = 0.5
    """Largest random shift of a gate along x from even spacing, metres."""
    clear_radius_m: float = 1.5
    """No gate comes closer than this to the start or the goal, metres."""
    kind: str = field(default="slalom", init=False)
    """Generator kind, always ``"slalom"``."""

    @classmethod
    def from_table(cls, table: TableReader, course: ObstacleCourse) -> SlalomGenerator:
        """Read and check a ``[[generators]]`` table of kind ``"slalom"``."""
        table.check_keys(SLALOM_KEYS, 'a "slalom" generator')
        generator = cls(
            height=read_height(table, course),
            count=table.integer(
                "count", "count = 4", "the number of gates", default=4, minimum=1, maximum=50
            ),
            gap_m=table.number(
                "gap_m",
                "gap_m = 1.5",
                "the width of each gate's opening in metres",
                default=1.5,
                positive=True,
            ),
            lateral_offset_m=table.number_range(
                "lateral_offset_m",
                "lateral_offset_m = [1.0, 2.5]",
                "the [min, max] distance of an opening from the start-goal line in metres",
                default=(1.0, 2.5),
            ),
            thickness_m=table.number(
                "thickness_m", "thickness_m = 0.2", "the gate thickness in metres", default=0.2, positive=True
            ),
            jitter_m=table.number(
                "jitter_m",
                "jitter_m = 0.5",
                "the random shift of each gate along x in metres",
                default=0.5,
                non_negative=True,
            ),
            clear_radius_m=read_clear_radius(table, 1.5),
        )
        if generator.lateral_offset_m[0] < 0:
            raise table.error(
                "lateral_offset_m",
                f"expected distances >= 0, got {list(generator.lateral_offset_m)}",
                "give the [min, max] distance of an opening from the start-goal line, e.g. "
                "lateral_offset_m = [1.0, 2.5]",
            )
        generator._check_fits(table, course)
        return generator

    def _check_fits(self, table: TableReader, course: ObstacleCourse) -> None:
        first, spacing = check_walls_fit(
            table,
            course,
            self.count,
            self.thickness_m,
            self.jitter_m,
            self.clear_radius_m,
            MIN_FLIGHT_BETWEEN_GATES_M,
        )
        reach = self.lateral_offset_m[1] + 0.5 * self.gap_m + MIN_POST_WIDTH_M
        for x in (first - self.jitter_m, first + (self.count - 1) * spacing + self.jitter_m):
            centre = line_y(course, x)
            if centre - reach < course.bounds_min[1] or centre + reach > course.bounds_max[1]:
                raise table.error(
                    "lateral_offset_m",
                    f"an opening {self.gap_m:g} m wide up to {self.lateral_offset_m[1]:g} m from the "
                    f"start-goal line (y = {centre:g} at x = {x:g}) does not fit inside the bounds in y",
                    "use a smaller lateral_offset_m or gap_m, or widen the bounds in y",
                )

    def generate(self, rng: np.random.Generator, course: ObstacleCourse) -> tuple[Obstacle, ...]:
        """Draw the gates' x positions, the first side and each opening's offset from ``rng``."""
        first, spacing = fitted_spacing(
            self, course, self.count, self.thickness_m, self.jitter_m, self.clear_radius_m, MIN_FLIGHT_BETWEEN_GATES_M
        )
        (_, y_min, z_min), (_, y_max, _) = course.bounds_min, course.bounds_max
        z_range = (z_min, z_min + self.height)
        side = 1.0 if rng.integers(2) else -1.0
        boxes: list[Obstacle] = []
        for index in range(self.count):
            x = first + index * spacing + rng.uniform(-self.jitter_m, self.jitter_m)
            opening = line_y(course, x) + side * rng.uniform(*self.lateral_offset_m)
            side = -side
            x_range = (x - 0.5 * self.thickness_m, x + 0.5 * self.thickness_m)
            for box in (
                box_between(x_range, (y_min, opening - 0.5 * self.gap_m), z_range),
                box_between(x_range, (opening + 0.5 * self.gap_m, y_max), z_range),
            ):
                if box is not None:
                    boxes.append(box)
        return keep_clear(boxes, course, self.clear_radius_m)
