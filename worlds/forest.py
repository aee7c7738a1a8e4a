"""The ``forest`` generator: vertical tree trunks scattered over a region.

Keys of a ``[[generators]]`` table with ``kind = "forest"`` (all optional; metres unless named):

- ``region_min`` (bounds min [x, y] + 0.5): lower corner [x, y] of the area trunks stand in.
- ``region_max`` (bounds max [x, y] - 0.5): upper corner [x, y]; trunks lie wholly inside.
- ``radius`` ([0.15, 0.3]): trunk radius range [min, max], drawn uniformly.
- ``height`` (floor to ceiling of ``[bounds]``): trunk height; trunks stand on the floor.
- ``density_per_m2`` (0.12): target trunks per square metre of region (at most 10).
- ``min_gap_m`` (0.8): guaranteed free gap between trunk surfaces, and to earlier obstacles.
- ``clear_radius_m`` (1.5): no trunk comes closer than this to the start or the goal.

Trunks are placed by rejection sampling with a bounded number of tries, so a crowded region
gets fewer trunks than ``density_per_m2`` asks for (never more than 2000).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .generator_common import keep_clear, read_clear_radius, read_height
from .geometry import signed_distance
from .shapes import Cylinder, Obstacle, pack_obstacles
from .table_reader import TableReader

if TYPE_CHECKING:
    from .course import ObstacleCourse

FOREST_KEYS = (
    "kind",
    "region_min",
    "region_max",
    "radius",
    "height",
    "density_per_m2",
    "min_gap_m",
    "clear_radius_m",
)
"""Every key a forest generator table accepts."""

REGION_MARGIN_M = 0.5
"""Default region: the bounds shrunk by this much on every side in x and y."""
MAX_TRUNKS = 2000
"""Upper limit on trunks per forest, whatever the density and region size."""
_TRIES_PER_TRUNK = 30
"""Rejection-sampling budget: candidates drawn per wanted trunk."""
_BATCH = 64
"""Candidates drawn from the random generator at once."""
_AXIS_SAMPLE_SPACING_M = 0.2
"""Spacing of the points along a trunk axis tested against other obstacles."""


@dataclass(frozen=True)
class ForestGenerator:
    """Vertical cylinder trunks scattered over an xy region with a guaranteed gap."""

    KEYS: ClassVar[tuple[str, ...]] = FOREST_KEYS
    """Every key its ``[[generators]]`` table accepts."""

    region_min: tuple[float, float]
    """Lower corner [x, y] of the region trunks stand in, metres."""
    region_max: tuple[float, float]
    """Upper corner [x, y] of the region, metres; trunks lie wholly inside."""
    height: float
    """Trunk height in metres; trunks stand on the floor (bounds min z)."""
    radius: tuple[float, float] = (0.15, 0.3)
    """Trunk radius range [min, max] in metres, drawn uniformly."""
    density_per_m2: float = 0.12
    """Target number of trunks per square metre of region."""
    min_gap_m: float = 0.8
    """Guaranteed free gap between the surfaces of any two trunks (and to earlier obstacles)."""
    clear_radius_m: float = 1.5
    """No trunk comes closer than this to the start or the goal, metres."""
    kind: str = field(default="forest", init=False)
    """Generator kind, always ``"forest"``."""

    @classmethod
    def from_table(cls, table: TableReader, course: ObstacleCourse) -> ForestGenerator:
        """Read and check a ``[[generators]]`` table of kind ``"forest"``."""
        table.check_keys(FOREST_KEYS, 'a "forest" generator')
        low_x, low_y = course.bounds_min[0] + REGION_MARGIN_M, course.bounds_min[1] + REGION_MARGIN_M
        high_x, high_y = course.bounds_max[0] - REGION_MARGIN_M, course.bounds_max[1] - REGION_MARGIN_M
        region_min = table.vector(
            "region_min",
            2,
            f"region_min = [{low_x:g}, {low_y:g}]",
            "the lower [x, y] corner of the forest in metres",
            default=(low_x, low_y),
        )
        region_max = table.vector(
            "region_max",
            2,
            f"region_max = [{high_x:g}, {high_y:g}]",
            "the upper [x, y] corner of the forest in metres",
            default=(high_x, high_y),
        )
        for key, corner in (("region_min", region_min), ("region_max", region_max)):
            for axis, name in enumerate("xy"):
                low, high = course.bounds_min[axis], course.bounds_max[axis]
                if not low <= corner[axis] <= high:
                    raise table.error(
                        key,
                        f"{name} = {corner[axis]:g} lies outside the bounds [{low:g}, {high:g}]",
                        f"keep the forest region inside [bounds], or leave {key} out "
                        f"for the bounds less {REGION_MARGIN_M:g} m",
                    )
        if any(region_max[axis] <= region_min[axis] for axis in range(2)):
            raise table.error(
                "region_max",
                f"region_max {list(region_max)} is not above region_min {list(region_min)} in x and y",
                "make region_max larger than region_min on both axes",
            )
        radius = table.number_range(
            "radius",
            "radius = [0.15, 0.3]",
            "the trunk radius range [min, max] in metres",
            default=(0.15, 0.3),
            positive=True,
        )
        density = table.number(
            "density_per_m2",
            "density_per_m2 = 0.12",
            "the number of trunks per square metre",
            default=0.12,
            non_negative=True,
        )
        if density > 10.0:
            raise table.error(
                "density_per_m2",
                f"{density:g} trunks per square metre is more than can stand (limit 10)",
                "give a density such as density_per_m2 = 0.12",
            )
        return cls(
            region_min=(region_min[0], region_min[1]),
            region_max=(region_max[0], region_max[1]),
            height=read_height(table, course),
            radius=radius,
            density_per_m2=density,
            min_gap_m=table.number(
                "min_gap_m",
                "min_gap_m = 0.8",
                "the free gap between trunk surfaces in metres",
                default=0.8,
                non_negative=True,
            ),
            clear_radius_m=read_clear_radius(table, 1.5),
        )

    @property
    def target_count(self) -> int:
        """Trunks asked for: density times region area, at most ``MAX_TRUNKS``."""
        area_m2 = (self.region_max[0] - self.region_min[0]) * (self.region_max[1] - self.region_min[1])
        return min(MAX_TRUNKS, round(self.density_per_m2 * area_m2))

    def generate(self, rng: np.random.Generator, course: ObstacleCourse) -> tuple[Obstacle, ...]:
        """Draw trunks from ``rng``; ``course.obstacles`` are kept ``min_gap_m`` away too."""
        target = self.target_count
        floor_z = course.bounds_min[2]
        existing = pack_obstacles(course.obstacles)
        sample_count = max(2, math.ceil(self.height / _AXIS_SAMPLE_SPACING_M) + 1)
        sample_z = np.linspace(floor_z, floor_z + self.height, sample_count)
        sample_slack = 0.5 * self.height / (sample_count - 1)
        endpoints = np.array([course.start_position, course.goal_position])
        centre_z = floor_z + 0.5 * self.height

        placed_xy = np.empty((0, 2))
        placed_radius = np.empty(0)
        tries = 0
        budget = _TRIES_PER_TRUNK * target + 100
        while len(placed_radius) < target and tries < budget:
            radius = rng.uniform(self.radius[0], self.radius[1], _BATCH)
            unit = rng.random((_BATCH, 2))
            tries += _BATCH
            low = np.asarray(self.region_min) + radius[:, None]
            high = np.asarray(self.region_max) - radius[:, None]
            xy = low + unit * (high - low)
            fits = np.all(high >= low, axis=1)
            # Exact cylinder distance from the start and the goal.
            offset = endpoints[None, :, :] - np.c_[xy, np.full(_BATCH, centre_z)][:, None, :]
            radial = np.hypot(offset[..., 0], offset[..., 1]) - radius[:, None]
            axial = np.abs(offset[..., 2]) - 0.5 * self.height
            distance = np.hypot(np.maximum(radial, 0), np.maximum(axial, 0)) + np.minimum(
                np.maximum(radial, axial), 0
            )
            fits &= np.all(distance >= self.clear_radius_m, axis=1)
            if len(existing.shape):
                axis_points = np.concatenate(
                    [np.repeat(xy, sample_count, axis=0), np.tile(sample_z, _BATCH)[:, None]], axis=1
                )
                to_existing = signed_distance(axis_points, existing).reshape(_BATCH, sample_count)
                fits &= to_existing.min(axis=1) >= radius + self.min_gap_m + sample_slack
            for index in np.flatnonzero(fits):
                if len(placed_radius) >= target:
                    break
                centre_gap = np.hypot(*(placed_xy - xy[index]).T)
                if np.all(centre_gap >= placed_radius + radius[index] + self.min_gap_m):
                    placed_xy = np.vstack([placed_xy, xy[index]])
                    placed_radius = np.append(placed_radius, radius[index])
        trunks: list[Obstacle] = [
            Cylinder(position=(float(x), float(y), centre_z), radius=float(r), height=self.height)
            for (x, y), r in zip(placed_xy, placed_radius, strict=True)
        ]
        return keep_clear(trunks, course, self.clear_radius_m)
