"""The ``windows`` generator: walls across the course, each with one window to fly through.

Keys of a ``[[generators]]`` table with ``kind = "windows"`` (all optional; metres unless named):

- ``count`` (3): number of walls, 1 to 50.
- ``window_size`` ([1.2, 1.0]): window [width, height].
- ``thickness_m`` (0.2): wall thickness along x.
- ``frame_m`` (0.3): least wall left around a window (to the bounds' sides, floor, ceiling).
- ``max_lateral_m`` (3.0): how far in y a window centre may stray from the start-goal line.
- ``min_height_change_m`` (0.5): consecutive windows' centres differ in z by at least this.
- ``jitter_m`` (0.5): random shift of each wall along x from even spacing.
- ``clear_radius_m`` (1.5): no wall comes closer than this to the start or the goal.

Walls are perpendicular to x, evenly spaced (then jittered) between the start and the goal,
and span the bounds in y and z; each is built from up to four boxes (left, right, below and
above the window). Window heights differ from wall to wall, so climbing and sinking matter.
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
)
from .shapes import Obstacle
from .table_reader import TableReader

if TYPE_CHECKING:
    from .course import ObstacleCourse

WINDOWS_KEYS = (
    "kind",
    "count",
    "window_size",
    "thickness_m",
    "frame_m",
    "max_lateral_m",
    "min_height_change_m",
    "jitter_m",
    "clear_radius_m",
)
"""Every key a windows generator table accepts."""

MIN_FLIGHT_BETWEEN_WALLS_M = 1.0
"""Least free distance along x between two consecutive walls."""


@dataclass(frozen=True)
class WindowsGenerator:
    """Walls across x, each with a rectangular window at a random (y, z)."""

    KEYS: ClassVar[tuple[str, ...]] = WINDOWS_KEYS
    """Every key its ``[[generators]]`` table accepts."""

    count: int = 3
    """Number of walls."""
    window_size: tuple[float, float] = (1.2, 1.0)
    """Window [width along y, height along z] in metres."""
    thickness_m: float = 0.2
    """Wall thickness along x, metres."""
    frame_m: float = 0.3
    """Least wall left around each window (to the bounds' sides, floor and ceiling), metres."""
    max_lateral_m: float = 3.0
    """Largest y distance of a window centre from the straight start-goal line, metres."""
    min_height_change_m: float = 0.5
    """Least z difference between the centres of consecutive windows, metres."""
    jitter_m: float = 0.5
    """Largest random shift of a wall along x from even spacing, metres."""
    clear_radius_m: float = 1.5
    """No wall comes closer than this to the start or the goal, metres."""
    kind: str = field(default="windows", init=False)
    """Generator kind, always ``"windows"``."""

    @classmethod
    def from_table(cls, table: TableReader, course: ObstacleCourse) -> WindowsGenerator:
        """Read and check a ``[[generators]]`` table of kind ``"windows"``."""
        table.check_keys(WINDOWS_KEYS, 'a "windows" generator')
        generator = cls(
            count=table.integer(
                "count", "count = 3", "the number of walls", default=3, minimum=1, maximum=50
            ),
            window_size=table.vector(
                "window_size",
                2,
                "window_size = [1.2, 1.0]",
                "the window [width, height] in metres",
                default=(1.2, 1.0),
                positive=True,
            ),  # type: ignore[arg-type]
            thickness_m=table.number(
                "thickness_m", "thickness_m = 0.2", "the wall thickness in metres", default=0.2, positive=True
            ),
            frame_m=table.number(
                "frame_m",
                "frame_m = 0.3",
                "the least wall around a window in metres",
                default=0.3,
                non_negative=True,
            ),
            max_lateral_m=table.number(
                "max_lateral_m",
                "max_lateral_m = 3.0",
                "how far in metres a window may stray sideways from the start-goal line",
                default=3.0,
                non_negative=True,
            ),
            min_height_change_m=table.number(
                "min_height_change_m",
                "min_height_change_m = 0.5",
                "the least height difference between consecutive windows in metres",
                default=0.5,
                non_negative=True,
            ),
            jitter_m=table.number(
                "jitter_m",
                "jitter_m = 0.5",
                "the random shift of each wall along x in metres",
                default=0.5,
                non_negative=True,
            ),
            clear_radius_m=read_clear_radius(table, 1.5),
        )
        generator._check_fits(table, course)
        return generator

    def _height_range(self, course: ObstacleCourse) -> tuple[float, float]:
        """Range of window centre z."""
        half_height = 0.5 * self.window_size[1] + self.frame_m
        return course.bounds_min[2] + half_height, course.bounds_max[2] - half_height

    def _lateral_range(self, course: ObstacleCourse, x: float) -> tuple[float, float]:
        """Range of window centre y for a wall at ``x``."""
        centre = line_y(course, x)
        half_width = 0.5 * self.window_size[0] + self.frame_m
        return (
            max(course.bounds_min[1] + half_width, centre - self.max_lateral_m),
            min(course.bounds_max[1] - half_width, centre + self.max_lateral_m),
        )

    def _check_fits(self, table: TableReader, course: ObstacleCourse) -> None:
        first, spacing = check_walls_fit(
            table,
            course,
            self.count,
            self.thickness_m,
            self.jitter_m,
            self.clear_radius_m,
            MIN_FLIGHT_BETWEEN_WALLS_M,
        )
        low, high = self._height_range(course)
        needed = 2.0 * self.min_height_change_m if self.count > 1 else 0.0
        if high - low < needed:
            raise table.error(
                "window_size",
                f"windows {self.window_size[1]:g} m high with frame_m = {self.frame_m:g} leave "
                f"{max(high - low, 0.0):g} m of room for their height, but min_height_change_m = "
                f"{self.min_height_change_m:g} needs {needed:g} m",
                "use a lower window, a smaller frame_m or min_height_change_m, or raise the ceiling",
            )
        for x in (first - self.jitter_m, first + (self.count - 1) * spacing + self.jitter_m):
            y_low, y_high = self._lateral_range(course, x)
            if y_high < y_low:
                raise table.error(
                    "window_size",
                    f"a window {self.window_size[0]:g} m wide with frame_m = {self.frame_m:g} and "
                    f"max_lateral_m = {self.max_lateral_m:g} does not fit inside the bounds in y",
                    "use a narrower window, a smaller frame_m or a larger max_lateral_m",
                )

    def generate(self, rng: np.random.Generator, course: ObstacleCourse) -> tuple[Obstacle, ...]:
        """Draw the walls' x positions and their windows' (y, z) from ``rng``."""
        first, spacing = fitted_spacing(
            self, course, self.count, self.thickness_m, self.jitter_m, self.clear_radius_m, MIN_FLIGHT_BETWEEN_WALLS_M
        )
        (_, y_min, z_min), (_, y_max, z_max) = course.bounds_min, course.bounds_max
        z_low, z_high = self._height_range(course)
        width, height = self.window_size
        half_thickness = 0.5 * self.thickness_m
        boxes: list[Obstacle] = []
        previous_z: float | None = None
        for index in range(self.count):
            x = first + index * spacing + rng.uniform(-self.jitter_m, self.jitter_m)
            y = rng.uniform(*self._lateral_range(course, x))
            z = self._draw_height(rng, z_low, z_high, previous_z)
            previous_z = z
            x_range = (x - half_thickness, x + half_thickness)
            window_y = (y - 0.5 * width, y + 0.5 * width)
            window_z = (z - 0.5 * height, z + 0.5 * height)
            for box in (
                box_between(x_range, (y_min, window_y[0]), (z_min, z_max)),
                box_between(x_range, (window_y[1], y_max), (z_min, z_max)),
                box_between(x_range, window_y, (z_min, window_z[0])),
                box_between(x_range, window_y, (window_z[1], z_max)),
            ):
                if box is not None:
                    boxes.append(box)
        return keep_clear(boxes, course, self.clear_radius_m)

    def _draw_height(
        self, rng: np.random.Generator, low: float, high: float, previous: float | None
    ) -> float:
        """A window centre z in [low, high], ``min_height_change_m`` away from ``previous``."""
        if previous is None:
            return float(rng.uniform(low, high))
        # Uniform over [low, previous - change] united with [previous + change, high].
        below = max(0.0, previous - self.min_height_change_m - low)
        above = max(0.0, high - previous - self.min_height_change_m)
        draw = rng.uniform(0.0, below + above)
        if draw < below:
            return float(low + draw)
        return float(previous + self.min_height_change_m + (draw - below))
