"""The ``mixed`` generator: a whole course drawn per episode, every kind of obstacle in it.

Unlike the other generators it also draws the course's frame: its length, bounds, start height
and heading, goal position and time limit. The file's ``[bounds]``, ``[start]``, ``[goal]`` and
``time_limit_s`` only serve to load it (they must still be valid) and are replaced every episode.
Keys of a ``[[generators]]`` table with ``kind = "mixed"`` (all optional; metres unless named):

- ``length_m`` ([15, 40]): straight-line start-to-goal distance range.
- ``width_m`` ([8, 16]): width of the bounds across the course.
- ``ceiling_m`` ([3, 5]): height of the bounds above the floor (z = 0).
- ``start_height_m`` ([0.8, 2.0]): start altitude range.
- ``goal_height_m`` ([0.6, 2.6]): goal altitude range (kept 0.6 m below the ceiling).
- ``goal_offset_m`` (4.0): largest sideways offset of the goal from the start's axis.
- ``start_yaw_deg`` (90): the start heading is off the goal's direction by up to this.
- ``rotate`` (true): turn the whole course by a random multiple of 90 degrees about the start.
- ``segment_length_m`` ([5, 9]): the course is cut into segments of this length along its axis,
  each holding one kind of obstacle (or none).
- ``kinds`` (all six): the kinds segments draw from, uniformly; repeat a name to weight it:
  ``"forest"`` (trunks, radius ``trunk_radius``, at least ``min_gap_m`` apart), ``"boxes"`` (any
  size and yaw, standing or floating), ``"spheres"`` (any height), ``"window"`` (a wall across
  the bounds with one window at a random place and height), ``"chicane"`` (two offset walls whose
  openings are on opposite sides), ``"corridor"`` (an entry wall and a walled corridor that bends).
- ``trunk_radius`` ([0.05, 0.4]): trunk radius range.
- ``forest_density_per_m2`` ([0.04, 0.3]): trunk density range, from sparse to dense.
- ``min_gap_m`` (0.8): least free gap between trunks, and the narrowest opening of any kind.
- ``difficulty`` ([0, 1]): each episode draws a difficulty d in this range. d scales the share
  of segments that hold obstacles (50 % to 100 %), the density of forests and clutter, and
  narrows windows, chicane openings and corridors down to ``min_gap_m``-class openings.
- ``clear_radius_m`` (1.5): no obstacle closer than this to the start or the goal.
- ``time_base_s`` (6.0) and ``time_per_m_s`` (0.75): the time limit is base + per metre x length.

Every layout is checked solvable (:func:`~.solvability.free_path_exists` with 0.15 m clearance on
a 0.2 m grid); an unsolvable draw is drawn again (up to 8 times, then with the last segment's
obstacles removed one segment at a time), so every episode has a way through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .forest import ForestGenerator
from .generator_common import box_between, keep_clear, read_clear_radius
from .shapes import Box, Cylinder, Obstacle, Sphere
from .solvability import free_path_exists
from .table_reader import TableReader

if TYPE_CHECKING:
    from .course import ObstacleCourse

SEGMENT_KINDS = ("forest", "boxes", "spheres", "window", "chicane", "corridor")
"""The kinds of obstacle a segment of a mixed course can hold."""

MIXED_KEYS = (
    "kind", "length_m", "width_m", "ceiling_m", "start_height_m", "goal_height_m", "goal_offset_m",
    "start_yaw_deg", "rotate", "segment_length_m", "kinds", "trunk_radius", "forest_density_per_m2",
    "min_gap_m", "difficulty", "clear_radius_m", "time_base_s", "time_per_m_s",
)
"""Every key a mixed generator table accepts."""

SOLVABLE_CLEARANCE_M = 0.15
"""Clearance the solvability check keeps from every surface (the drone's radius is ~0.1 m)."""
SOLVABLE_CELL_M = 0.2
"""Grid cell of the solvability check."""
_REDRAWS = 8
"""Whole-layout redraws before segments are emptied one at a time."""
_START_BACK_M = 2.0
"""Bounds reach this far behind the start and beyond the goal along the course's axis."""
_WALL_M = 0.2
"""Thickness of walls (windows, chicanes, corridors)."""


@dataclass(frozen=True)
class MixedGenerator:
    """A randomised course frame filled with segments of forests, clutter, walls and corridors."""

    KEYS: ClassVar[tuple[str, ...]] = MIXED_KEYS
    """Every key its ``[[generators]]`` table accepts."""

    length_m: tuple[float, float] = (15.0, 40.0)
    """Start-to-goal distance range, metres."""
    width_m: tuple[float, float] = (8.0, 16.0)
    """Bounds width range across the course, metres."""
    ceiling_m: tuple[float, float] = (3.0, 5.0)
    """Bounds height range above the floor, metres."""
    start_height_m: tuple[float, float] = (0.8, 2.0)
    """Start altitude range, metres."""
    goal_height_m: tuple[float, float] = (0.6, 2.6)
    """Goal altitude range, metres (at most the ceiling less 0.6 m)."""
    goal_offset_m: float = 4.0
    """Largest sideways offset of the goal from the start's axis, metres."""
    start_yaw_deg: float = 90.0
    """Largest angle between the start heading and the direction of the goal, degrees."""
    rotate: bool = True
    """Turn each course by a random multiple of 90 degrees about the start."""
    segment_length_m: tuple[float, float] = (5.0, 9.0)
    """Length range of the segments the course is cut into, metres."""
    kinds: tuple[str, ...] = SEGMENT_KINDS
    """Kinds the segments draw from, uniformly (a repeated name weighs more)."""
    trunk_radius: tuple[float, float] = (0.05, 0.4)
    """Trunk radius range, metres."""
    forest_density_per_m2: tuple[float, float] = (0.04, 0.3)
    """Trunk density range (sparse at difficulty 0, dense at 1), per square metre."""
    min_gap_m: float = 0.8
    """Least free gap between trunks; also the scale of the narrowest openings, metres."""
    difficulty: tuple[float, float] = (0.0, 1.0)
    """Range each episode's difficulty is drawn from, within [0, 1]."""
    clear_radius_m: float = 1.5
    """No obstacle closer than this to the start or the goal, metres."""
    time_base_s: float = 6.0
    """Time limit = time_base_s + time_per_m_s x length."""
    time_per_m_s: float = 0.75
    """Seconds of time limit per metre of start-to-goal distance."""
    frame_scale: float = 1.0
    """Curriculum stage in (0, 1], not a file key: scales the course length above its minimum, the
    start heading error and the goal's sideways and height offsets (1 = the ranges as written)."""
    kind: str = field(default="mixed", init=False)
    """Generator kind, always ``"mixed"``."""

    @classmethod
    def from_table(cls, table: TableReader, course: ObstacleCourse) -> MixedGenerator:
        """Read and check a ``[[generators]]`` table of kind ``"mixed"``."""
        table.check_keys(MIXED_KEYS, 'a "mixed" generator')
        if course.obstacles:
            raise table.error("kind", "a mixed generator draws the whole course, so it cannot keep static [[obstacles]]",
                              "remove the [[obstacles]] tables, or use the forest/windows/slalom/corridor generators")
        defaults = cls()

        def length_range(key: str, meaning: str, low_limit: float) -> tuple[float, float]:
            value = table.number_range(key, f"{key} = {list(getattr(defaults, key))}", meaning,
                                       default=getattr(defaults, key), positive=True)
            if value[0] < low_limit:
                raise table.error(key, f"{value[0]:g} is below the least {low_limit:g}",
                                  f"give {key} = [{low_limit:g} or more, ...]")
            return value

        length = length_range("length_m", "the start-to-goal distance range in metres", 2 * defaults.clear_radius_m + 2.0)
        width = length_range("width_m", "the bounds width range in metres", 4.0)
        ceiling = length_range("ceiling_m", "the bounds height range in metres", 2.0)
        start_height = length_range("start_height_m", "the start altitude range in metres", 0.3)
        goal_height = length_range("goal_height_m", "the goal altitude range in metres", 0.3)
        if start_height[1] > ceiling[0] - 0.3:
            raise table.error("start_height_m", f"a start at {start_height[1]:g} m is within 0.3 m of the lowest "
                              f"ceiling ({ceiling[0]:g} m)", "lower start_height_m or raise ceiling_m")
        segment = length_range("segment_length_m", "the segment length range in metres", 2.0)
        kinds_value = table.data.get("kinds", list(SEGMENT_KINDS))
        if (not isinstance(kinds_value, list) or not kinds_value
                or not all(isinstance(k, str) and k in SEGMENT_KINDS for k in kinds_value)):
            raise table.error("kinds", f"expected a non-empty list of segment kinds, got {kinds_value!r}",
                              f"choose from {list(SEGMENT_KINDS)}, e.g. kinds = [\"forest\", \"window\"]")
        difficulty = table.number_range("difficulty", "difficulty = [0.0, 1.0]", "the difficulty range in [0, 1]",
                                        default=defaults.difficulty)
        if not 0.0 <= difficulty[0] <= difficulty[1] <= 1.0:
            raise table.error("difficulty", f"{list(difficulty)} is not a range within [0, 1]",
                              "give difficulty = [low, high] with 0 <= low <= high <= 1")
        rotate = table.data.get("rotate", True)
        if not isinstance(rotate, bool):
            raise table.error("rotate", f"expected true or false, got {rotate!r}", "write rotate = true or rotate = false")
        start_yaw = table.number("start_yaw_deg", "start_yaw_deg = 90.0", "the largest start heading error in degrees",
                                 default=defaults.start_yaw_deg, non_negative=True)
        if start_yaw > 180.0:
            raise table.error("start_yaw_deg", f"{start_yaw:g} degrees is more than a half turn",
                              "give start_yaw_deg between 0 and 180")
        return cls(
            length_m=length, width_m=width, ceiling_m=ceiling, start_height_m=start_height, goal_height_m=goal_height,
            goal_offset_m=table.number("goal_offset_m", "goal_offset_m = 4.0", "the goal's largest sideways offset in metres",
                                       default=defaults.goal_offset_m, non_negative=True),
            start_yaw_deg=start_yaw, rotate=rotate, segment_length_m=segment, kinds=tuple(kinds_value),
            trunk_radius=length_range("trunk_radius", "the trunk radius range in metres", 0.01),
            forest_density_per_m2=table.number_range(
                "forest_density_per_m2", "forest_density_per_m2 = [0.04, 0.3]", "the trunk density range per square metre",
                default=defaults.forest_density_per_m2, positive=True),
            min_gap_m=table.number("min_gap_m", "min_gap_m = 0.8", "the least gap in metres", default=defaults.min_gap_m,
                                   positive=True),
            difficulty=difficulty,
            clear_radius_m=read_clear_radius(table, defaults.clear_radius_m),
            time_base_s=table.number("time_base_s", "time_base_s = 6.0", "the time limit's base in seconds",
                                     default=defaults.time_base_s, non_negative=True),
            time_per_m_s=table.number("time_per_m_s", "time_per_m_s = 0.75", "seconds of time limit per metre",
                                      default=defaults.time_per_m_s, positive=True),
        )

    # -- drawing ---------------------------------------------------------------------------

    def with_difficulty(self, low: float, high: float) -> MixedGenerator:
        """A copy drawing its difficulty from [low, high]."""
        return replace(self, difficulty=(float(low), float(high)))

    def with_difficulty_cap(self, cap: float) -> MixedGenerator:
        """A curriculum stage: the difficulty range and the frame's offsets scaled by ``cap`` in (0, 1]."""
        return replace(self, difficulty=(self.difficulty[0] * cap, self.difficulty[1] * cap), frame_scale=float(cap))

    def generate(self, rng: np.random.Generator, course: ObstacleCourse) -> tuple[Obstacle, ...]:
        """The obstacles of :meth:`draw_episode` (whose course frame should be used with them)."""
        return self.draw_episode(rng, course)[1]

    def draw_episode(self, rng: np.random.Generator, course: ObstacleCourse) -> tuple[ObstacleCourse, tuple[Obstacle, ...]]:
        """A new course frame and its obstacles, drawn from ``rng``; always solvable."""
        frame = self._draw_frame(rng, course)
        difficulty = rng.uniform(*self.difficulty)
        segments = self._segments(rng, frame)
        layout: list[list[Obstacle]] = []
        for _ in range(_REDRAWS):
            layout = [self._fill(rng, frame, kind, x0, x1, difficulty) for kind, x0, x1 in segments]
            if free_path_exists(frame, _flat(layout), SOLVABLE_CLEARANCE_M, SOLVABLE_CELL_M):
                break
        else:
            while layout and not free_path_exists(frame, _flat(layout), SOLVABLE_CLEARANCE_M, SOLVABLE_CELL_M):
                layout.pop()
        turns = int(rng.integers(4)) if self.rotate else 0
        return _rotated(frame, _flat(layout), turns)

    def _draw_frame(self, rng: np.random.Generator, course: ObstacleCourse) -> ObstacleCourse:
        """The course along +x from (0, 0): length, bounds, start and goal, heading, time limit."""
        scale = self.frame_scale
        length = self.length_m[0] + scale * (rng.uniform(*self.length_m) - self.length_m[0])
        width = rng.uniform(*self.width_m)
        ceiling = rng.uniform(*self.ceiling_m)
        start_z = min(rng.uniform(*self.start_height_m), ceiling - 0.3)
        goal_z = min(start_z + scale * (rng.uniform(*self.goal_height_m) - start_z), ceiling - 0.6)
        half_width = 0.5 * width
        offset_limit = max(0.0, min(self.goal_offset_m, half_width - 1.0))
        goal_y = scale * rng.uniform(-offset_limit, offset_limit)
        # The start's axis is centred between the goal's offset and the walls' room on each side.
        start_y = 0.0
        goal_x = math.sqrt(max(length**2 - goal_y**2, (2 * self.clear_radius_m + 1.0) ** 2))
        heading = math.atan2(goal_y - start_y, goal_x) + scale * math.radians(rng.uniform(-self.start_yaw_deg, self.start_yaw_deg))
        return replace(
            course,
            time_limit_s=self.time_base_s + self.time_per_m_s * length,
            bounds_min=(-_START_BACK_M, -half_width, 0.0),
            bounds_max=(goal_x + _START_BACK_M, half_width, ceiling),
            start_position=(0.0, start_y, start_z),
            start_yaw=math.atan2(math.sin(heading), math.cos(heading)),
            goal_position=(goal_x, goal_y, goal_z),
            obstacles=(),
            generators=(),
        )

    def _segments(self, rng: np.random.Generator, frame: ObstacleCourse) -> list[tuple[str, float, float]]:
        """(kind, x0, x1) pieces between the start's and the goal's clear zones; kind "" is empty."""
        x, end = self.clear_radius_m, frame.goal_position[0] - self.clear_radius_m
        pieces = []
        while end - x >= self.segment_length_m[0] * 0.5:
            x1 = min(end, x + rng.uniform(*self.segment_length_m))
            pieces.append((self.kinds[int(rng.integers(len(self.kinds)))], x, x1))
            x = x1
        return pieces

    def _fill(self, rng: np.random.Generator, frame: ObstacleCourse, kind: str, x0: float, x1: float,
              d: float) -> list[Obstacle]:
        """The obstacles of one segment [x0, x1] of ``kind`` at difficulty ``d``."""
        if rng.random() > 0.5 + 0.5 * d:  # easier courses leave more segments open
            return []
        fill = {"forest": self._forest, "boxes": self._boxes, "spheres": self._spheres, "window": self._window,
                "chicane": self._chicane, "corridor": self._corridor}[kind]
        obstacles = fill(rng, frame, x0, x1, d)
        return list(keep_clear(obstacles, frame, self.clear_radius_m))

    def _forest(self, rng, frame, x0, x1, d) -> list[Obstacle]:
        low, high = self.forest_density_per_m2
        trees = ForestGenerator(
            region_min=(x0, frame.bounds_min[1] + 0.3), region_max=(x1, frame.bounds_max[1] - 0.3),
            height=frame.bounds_max[2] - frame.bounds_min[2], radius=self.trunk_radius,
            density_per_m2=low + d * (high - low) * rng.uniform(0.6, 1.0), min_gap_m=self.min_gap_m,
            clear_radius_m=self.clear_radius_m,
        )
        return list(trees.generate(rng, frame))

    def _boxes(self, rng, frame, x0, x1, d) -> list[Obstacle]:
        area = (x1 - x0) * (frame.bounds_max[1] - frame.bounds_min[1])
        count = max(1, round(area * (0.02 + 0.06 * d) * rng.uniform(0.6, 1.2)))
        ceiling = frame.bounds_max[2]
        boxes: list[Obstacle] = []
        for _ in range(count):
            size_x, size_y = rng.uniform(0.3, 2.5, 2)
            if rng.random() < 0.6:  # standing on the floor, up to the ceiling
                height = rng.uniform(0.5, ceiling)
                z = 0.5 * height
            else:  # floating at any height
                height = rng.uniform(0.3, min(2.0, ceiling))
                z = rng.uniform(0.5 * height, ceiling - 0.5 * height)
            reach = 0.5 * math.hypot(size_x, size_y)  # keeps any yaw inside the bounds
            x = rng.uniform(x0, x1)
            y = rng.uniform(frame.bounds_min[1] + reach, max(frame.bounds_min[1] + reach, frame.bounds_max[1] - reach))
            boxes.append(Box(position=(float(x), float(y), float(z)), size=(float(size_x), float(size_y), float(height)),
                             yaw=float(rng.uniform(-math.pi, math.pi))))
        return boxes

    def _spheres(self, rng, frame, x0, x1, d) -> list[Obstacle]:
        area = (x1 - x0) * (frame.bounds_max[1] - frame.bounds_min[1])
        count = max(1, round(area * (0.03 + 0.07 * d) * rng.uniform(0.6, 1.2)))
        ceiling = frame.bounds_max[2]
        spheres: list[Obstacle] = []
        for _ in range(count):
            radius = rng.uniform(0.2, 1.0)
            position = (rng.uniform(x0, x1), rng.uniform(frame.bounds_min[1] + radius, frame.bounds_max[1] - radius),
                        rng.uniform(radius, ceiling - radius))  # from resting on the floor to touching the ceiling
            spheres.append(Sphere(position=tuple(float(v) for v in position), radius=float(radius)))
        return spheres

    def _wall_with_opening(self, frame, x: float, y_range: tuple[float, float], z_range: tuple[float, float]) -> list[Obstacle]:
        """A wall across the bounds at ``x`` with a rectangular opening (up to four boxes)."""
        (_, y_low, floor), (_, y_high, ceiling) = frame.bounds_min, frame.bounds_max
        xs = (x - 0.5 * _WALL_M, x + 0.5 * _WALL_M)
        pieces = [box_between(xs, (y_low, y_range[0]), (floor, ceiling)),
                  box_between(xs, (y_range[1], y_high), (floor, ceiling)),
                  box_between(xs, y_range, (floor, z_range[0])),
                  box_between(xs, y_range, (z_range[1], ceiling))]
        return [piece for piece in pieces if piece is not None]

    def _opening_y(self, rng, frame, width: float, side: float = 0.0) -> tuple[float, float]:
        """A lateral opening of ``width`` inside the bounds (on one side of the middle when ``side`` is +-1)."""
        width = min(width, frame.bounds_max[1] - frame.bounds_min[1] - 0.8)  # a wide min_gap_m in a narrow course
        low, high = frame.bounds_min[1] + 0.4, max(frame.bounds_min[1] + 0.4, frame.bounds_max[1] - 0.4 - width)
        middle = 0.5 * (low + high)
        if side > 0:
            low = middle
        elif side < 0:
            high = middle
        y = rng.uniform(low, max(low, high))
        return y, y + width

    def _window(self, rng, frame, x0, x1, d) -> list[Obstacle]:
        width = self.min_gap_m + (1 - d) * 1.4 + rng.uniform(0.2, 0.6)
        height = self.min_gap_m + (1 - d) * 0.8 + rng.uniform(0.1, 0.4)
        ceiling = frame.bounds_max[2]
        height = min(height, ceiling - 0.4)
        z = rng.uniform(0.2, max(0.2, ceiling - 0.2 - height))
        return self._wall_with_opening(frame, 0.5 * (x0 + x1), self._opening_y(rng, frame, width), (z, z + height))

    def _chicane(self, rng, frame, x0, x1, d) -> list[Obstacle]:
        width = self.min_gap_m + 0.4 + (1 - d) * 1.3
        side = 1.0 if rng.random() < 0.5 else -1.0
        span = min(x1 - x0, rng.uniform(2.0, 4.0))
        first = x0 + 0.5 * (x1 - x0 - span)
        floor, ceiling = frame.bounds_min[2], frame.bounds_max[2]
        walls = self._wall_with_opening(frame, first, self._opening_y(rng, frame, width, side), (floor, ceiling))
        return walls + self._wall_with_opening(frame, first + span, self._opening_y(rng, frame, width, -side), (floor, ceiling))

    def _corridor(self, rng, frame, x0, x1, d) -> list[Obstacle]:
        width = self.min_gap_m + 0.6 + (1 - d) * 1.0
        floor, ceiling = frame.bounds_min[2], frame.bounds_max[2]
        entry_low, entry_high = self._opening_y(rng, frame, width)
        width = entry_high - entry_low
        centre_in = entry_low + 0.5 * width
        shift = rng.uniform(-1.0, 1.0) * min(2.5, x1 - x0 - 1.0) * d
        width = min(width, frame.bounds_max[1] - frame.bounds_min[1] - 0.8)
        y_low, y_high = frame.bounds_min[1] + 0.4 + 0.5 * width, frame.bounds_max[1] - 0.4 - 0.5 * width
        centre_out = float(np.clip(centre_in + shift, y_low, y_high))
        obstacles = self._wall_with_opening(frame, x0, (centre_in - 0.5 * width, centre_in + 0.5 * width), (floor, ceiling))
        length = math.hypot(x1 - x0, centre_out - centre_in)
        yaw = math.atan2(centre_out - centre_in, x1 - x0)
        for side in (-1.0, 1.0):  # side walls from the entry to the exit, yawed along the bend
            normal = side * 0.5 * (width + _WALL_M)
            mid_x = 0.5 * (x0 + x1) - math.sin(yaw) * normal
            mid_y = 0.5 * (centre_in + centre_out) + math.cos(yaw) * normal
            obstacles.append(Box(position=(mid_x, mid_y, 0.5 * (floor + ceiling)), size=(length, _WALL_M, ceiling - floor),
                                 yaw=yaw))
        return obstacles


def _flat(layout: list[list[Obstacle]]) -> tuple[Obstacle, ...]:
    return tuple(obstacle for segment in layout for obstacle in segment)


def _turn(point: tuple[float, float, float], turns: int) -> tuple[float, float, float]:
    x, y, z = point
    for _ in range(turns % 4):
        x, y = -y, x
    return (float(x), float(y), float(z))


def _rotated(frame: ObstacleCourse, obstacles: tuple[Obstacle, ...], turns: int) -> tuple[ObstacleCourse, tuple[Obstacle, ...]]:
    """The frame and obstacles turned by ``turns`` quarter turns about the origin (the start's xy)."""
    if turns % 4 == 0:
        return frame, obstacles
    corners = np.array([_turn(frame.bounds_min, turns), _turn(frame.bounds_max, turns)])
    angle = turns * 0.5 * math.pi
    turned: list[Obstacle] = []
    for obstacle in obstacles:
        position = _turn(obstacle.position, turns)
        if isinstance(obstacle, Box):
            yaw = math.atan2(math.sin(obstacle.yaw + angle), math.cos(obstacle.yaw + angle))
            turned.append(Box(position=position, size=obstacle.size, yaw=yaw))
        elif isinstance(obstacle, Cylinder):
            turned.append(Cylinder(position=position, radius=obstacle.radius, height=obstacle.height))
        else:
            turned.append(Sphere(position=position, radius=obstacle.radius))
    yaw = frame.start_yaw + angle
    return replace(
        frame,
        bounds_min=tuple(float(v) for v in corners.min(axis=0)),
        bounds_max=tuple(float(v) for v in corners.max(axis=0)),
        start_position=_turn(frame.start_position, turns),
        start_yaw=math.atan2(math.sin(yaw), math.cos(yaw)),
        goal_position=_turn(frame.goal_position, turns),
    ), tuple(turned)
