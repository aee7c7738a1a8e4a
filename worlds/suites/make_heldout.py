#!/usr/bin/env python
"""Write the ``heldout`` benchmark suite: fixed obstacle courses that no run may train or select on.

    python worlds/suites/make_heldout.py            # (re)write worlds/suites/heldout/*.toml, checked
    python worlds/suites/make_heldout.py --check    # exit 1 if the files on disk differ from what it would write

Every course is drawn here, with placement rules and parameters of this script's own, on
purpose independent of the project's procedural generators (``worlds/forest.py``,
``windows.py``, ``slalom.py``, ``corridor.py``): a controller evolved on those generators' layouts
meets shapes, spacings, heights and proportions here that its training distribution did not
define. The script is deterministic: each course draws from its own ``random.Random`` seeded
by the course name (Python guarantees that ``random()`` sequence across versions) and rounds
every number to the millimetre, so the files only change when this script changes.

Each written course is checked: it loads with :func:`spikefly.worlds.loads_world`, has no
``[[generators]]``, has fewer than 250 obstacles, and has a free path from start to goal with
0.15 m clearance (:func:`spikefly.worlds.free_path_exists`; the drone's collision radius is
0.07 m). Its time limit allows the intended route (through the openings, along the corridor,
or the straight line times a weaving factor) at 1.2 m/s plus a few seconds for take-off and
turning towards the goal; when SciPy is installed the script also measures the shortest
0.15 m-clearance path on a 0.2 m grid and checks it fits the limit at 1.2 m/s.

The courses are a test set: NEVER list them in ``spikefly evolve --world`` (training) or use them
to pick a champion, tune settings or stop early. Fly them with ``spikefly evaluate CONTROLLER
--suite heldout``.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import textwrap
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "heldout"
"""Where the suite's TOML files go."""
SUITE_SEED = 16
"""Mixed into every course's seed (issue 16: controllers that fly courses they have never seen)."""
CLEARANCE_M = 0.15
"""Free path clearance every course must offer (the drone's collision radius is 0.07 m)."""
PACE_MPS = 1.2
"""Average progress along the route the time limit allows for."""
SLACK_S = 3.0
"""Time added for take-off and settling, on top of the route at PACE_MPS."""
TURN_RATE_RPS = 1.0
"""Turning towards the goal from a start yaw that faces away is allowed this rate (the drone does 1.5)."""
MAX_OBSTACLES = 250
START_CLEAR_M = 1.2
"""Default least distance from the start and goal centres to any obstacle surface."""

Point2 = tuple[float, float]
Point3 = tuple[float, float, float]


def _r(value: float) -> float:
    """Millimetre rounding without negative zero, so the files are stable text."""
    return round(float(value), 3) + 0.0


# -- solids and exact distances (vertical prisms and spheres) -------------------------------------------------
@dataclass(frozen=True)
class Solid:
    """An obstacle as this script reasons about it: a vertical prism (circle or turned rectangle
    footprint between z0 and z1) or a sphere; ``toml`` is what the world file gets."""

    kind: str  # "circle" (cylinder), "rect" (box), "sphere"
    x: float
    y: float
    z0: float = 0.0
    z1: float = 0.0
    r: float = 0.0  # circle / sphere radius
    hx: float = 0.0  # rect half sizes and yaw
    hy: float = 0.0
    yaw: float = 0.0
    z: float = 0.0  # sphere centre height

    def corners(self) -> list[Point2]:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return [(self.x + c * a - s * b, self.y + s * a + c * b)
                for a, b in ((self.hx, self.hy), (-self.hx, self.hy), (-self.hx, -self.hy), (self.hx, -self.hy))]

    def toml(self) -> dict[str, object]:
        if self.kind == "sphere":
            return {"shape": "sphere", "position": [self.x, self.y, self.z], "radius": self.r}
        mid, height = (self.z0 + self.z1) / 2, self.z1 - self.z0
        if self.kind == "circle":
            return {"shape": "cylinder", "position": [self.x, self.y, mid], "radius": self.r, "height": height}
        entry: dict[str, object] = {"shape": "box", "position": [self.x, self.y, mid], "size": [2 * self.hx, 2 * self.hy, height]}
        if self.yaw:
            entry["yaw"] = self.yaw
        return entry


def cylinder(x: float, y: float, radius: float, z0: float, z1: float) -> Solid:
    return Solid("circle", _r(x), _r(y), _r(z0), _r(z1), r=_r(radius))


def box(x: float, y: float, z0: float, z1: float, size_x: float, size_y: float, yaw: float = 0.0) -> Solid:
    """A box from ``z0`` to ``z1`` with full horizontal sizes along its own (turned) axes."""
    return Solid("rect", _r(x), _r(y), _r(z0), _r(z1), hx=_r(size_x) / 2, hy=_r(size_y) / 2, yaw=_r(yaw))


def sphere(x: float, y: float, z: float, radius: float) -> Solid:
    return Solid("sphere", _r(x), _r(y), z=_r(z), r=_r(radius))


def _point_rect(px: float, py: float, rect: Solid) -> float:
    c, s = math.cos(rect.yaw), math.sin(rect.yaw)
    dx, dy = px - rect.x, py - rect.y
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    return math.hypot(max(abs(lx) - rect.hx, 0.0), max(abs(ly) - rect.hy, 0.0))


def _rects_overlap(a: Solid, b: Solid) -> bool:
    """Separating axis test for two turned rectangles."""
    for rect in (a, b):
        for angle in (rect.yaw, rect.yaw + math.pi / 2):
            axis = (math.cos(angle), math.sin(angle))
            pa = [p[0] * axis[0] + p[1] * axis[1] for p in a.corners()]
            pb = [p[0] * axis[0] + p[1] * axis[1] for p in b.corners()]
            if max(pa) < min(pb) or max(pb) < min(pa):
                return False
    return True


def _footprint_distance(a: Solid, b: Solid) -> float:
    """Horizontal distance between two prisms' footprints (0 when they overlap)."""
    if a.kind == "circle" and b.kind == "circle":
        return max(math.hypot(a.x - b.x, a.y - b.y) - a.r - b.r, 0.0)
    if a.kind == "circle":
        return max(_point_rect(a.x, a.y, b) - a.r, 0.0)
    if b.kind == "circle":
        return max(_point_rect(b.x, b.y, a) - b.r, 0.0)
    if _rects_overlap(a, b):
        return 0.0
    return min(min(_point_rect(px, py, b) for px, py in a.corners()), min(_point_rect(px, py, a) for px, py in b.corners()))


def _interval_gap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(b0 - a1, a0 - b1, 0.0)


def point_distance(point: Point3, solid: Solid) -> float:
    """Distance from a point to a solid's surface (0 inside)."""
    px, py, pz = point
    if solid.kind == "sphere":
        return max(math.dist(point, (solid.x, solid.y, solid.z)) - solid.r, 0.0)
    horizontal = (max(math.hypot(px - solid.x, py - solid.y) - solid.r, 0.0) if solid.kind == "circle"
                  else _point_rect(px, py, solid))
    return math.hypot(horizontal, _interval_gap(pz, pz, solid.z0, solid.z1))


def gap(a: Solid, b: Solid) -> float:
    """Exact distance between two solids (0 when they touch or overlap)."""
    if a.kind == "sphere" and b.kind == "sphere":
        return max(math.dist((a.x, a.y, a.z), (b.x, b.y, b.z)) - a.r - b.r, 0.0)
    if a.kind == "sphere" or b.kind == "sphere":
        ball, prism = (a, b) if a.kind == "sphere" else (b, a)
        return max(point_distance((ball.x, ball.y, ball.z), prism) - ball.r, 0.0)
    return math.hypot(_footprint_distance(a, b), _interval_gap(a.z0, a.z1, b.z0, b.z1))


# -- a course under construction ------------------------------------------------------------------------------
@dataclass
class Course:
    name: str
    kind: str
    summary: str
    bounds_min: Point3
    bounds_max: Point3
    start: Point3
    goal: Point3
    yaw_offset_deg: float = 0.0
    """Start heading relative to the bearing of the goal (positive: turned left of it)."""
    goal_radius: float = 0.5
    route: list[Point3] = field(default_factory=list)
    """Waypoints of the intended way between start and goal (openings, corridor bends)."""
    weave: float = 1.0
    """Factor on the route length for weaving between obstacles that are not on the route."""
    solids: list[Solid] = field(default_factory=list)
    comments: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(zlib.crc32(self.name.encode()) ^ SUITE_SEED)

    # random numbers: only random() is guaranteed stable across Python versions
    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.rng.random()

    @property
    def floor(self) -> float:
        return self.bounds_min[2]

    @property
    def ceiling(self) -> float:
        return self.bounds_max[2]

    @property
    def start_yaw(self) -> float:
        bearing = math.atan2(self.goal[1] - self.start[1], self.goal[0] - self.start[0])
        yaw = bearing + math.radians(self.yaw_offset_deg)
        return math.atan2(math.sin(yaw), math.cos(yaw))

    def note(self, text: str) -> None:
        """A comment written above the next obstacle."""
        self.comments[len(self.solids)] = text

    def add(self, solid: Solid) -> None:
        self.solids.append(solid)

    def fits(self, solid: Solid, least_gap: float, clear: float = START_CLEAR_M) -> bool:
        """Whether ``solid`` keeps ``least_gap`` from every placed solid and ``clear`` from start and goal."""
        if point_distance(self.start, solid) < clear or point_distance(self.goal, solid) < clear:
            return False
        return all(gap(solid, other) >= least_gap for other in self.solids)

    def route_length(self) -> float:
        points = [self.start, *self.route, self.goal]
        return sum(math.dist(a, b) for a, b in zip(points, points[1:])) * self.weave

    def time_limit(self) -> float:
        turn_s = abs(math.radians(self.yaw_offset_deg)) / TURN_RATE_RPS
        seconds = self.route_length() / PACE_MPS + SLACK_S + turn_s
        return float(5 * math.ceil(seconds / 5))

    def toml(self) -> str:
        length = self.route_length()
        lines = [
            f"# Held-out benchmark course {self.name!r} (suite 'heldout', kind: {self.kind}).",
            "# GENERATED by worlds/suites/make_heldout.py -- do not edit; regenerate with",
            "#     python worlds/suites/make_heldout.py",
            "# NEVER use this course for training or for selection (validation, early stopping, choosing",
            "# a champion, tuning settings): it measures how a controller flies a course it has never seen.",
            "# Fly it with: spikefly evaluate CONTROLLER --suite heldout",
            *(f"# {line}" for line in textwrap.wrap(self.summary, 96)),
            f"# Route about {length:.1f} m; time limit = route at {PACE_MPS} m/s + {SLACK_S:g} s take-off"
            + (f" + turning from a start heading {self.yaw_offset_deg:+.0f} deg off the goal bearing." if self.yaw_offset_deg else "."),
            f'name = "{self.name}"',
            'kind = "obstacle_course"',
            f"time_limit_s = {_number(self.time_limit())}",
            "",
            "[bounds]",
            f"min = {_vector(self.bounds_min)}",
            f"max = {_vector(self.bounds_max)}",
            "",
            "[start]",
            f"position = {_vector(self.start)}",
            f"yaw = {_number(self.start_yaw)}",
            "",
            "[goal]",
            f"position = {_vector(self.goal)}",
            f"radius = {_number(self.goal_radius)}",
        ]
        for index, solid in enumerate(self.solids):
            lines.append("")
            if index in self.comments:
                lines.append(f"# {self.comments[index]}")
            lines.append("[[obstacles]]")
            for key, value in solid.toml().items():
                lines.append(f"{key} = {_vector(value) if isinstance(value, list) else _value(value)}")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return repr(_r(value))


def _value(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else _number(value)  # type: ignore[arg-type]


def _vector(values: Sequence[float]) -> str:
    return "[" + ", ".join(_number(v) for v in values) + "]"


# -- placement rules ------------------------------------------------------------------------------------------
def scatter(course: Course, count: int, region: tuple[float, float, float, float], least_gap: float,
            draw: Callable[[Course, float, float], Solid], tries: int = 60, clear: float = START_CLEAR_M) -> int:
    """Place up to ``count`` solids drawn by ``draw(course, x, y)`` at uniform points of ``region``
    (x0, x1, y0, y1), each keeping ``least_gap`` to all others; returns how many were placed."""
    x0, x1, y0, y1 = region
    placed = 0
    for _ in range(count * tries):
        if placed == count:
            break
        solid = draw(course, course.uniform(x0, x1), course.uniform(y0, y1))
        if _inside_region(solid, region) and course.fits(solid, least_gap, clear):
            course.add(solid)
            placed += 1
    return placed


def _inside_region(solid: Solid, region: tuple[float, float, float, float]) -> bool:
    x0, x1, y0, y1 = region
    if solid.kind == "rect":
        points = solid.corners()
        return all(x0 <= px <= x1 and y0 <= py <= y1 for px, py in points)
    return x0 + solid.r <= solid.x <= x1 - solid.r and y0 + solid.r <= solid.y <= y1 - solid.r


def trunk(radius: tuple[float, float]) -> Callable[[Course, float, float], Solid]:
    def draw(course: Course, x: float, y: float) -> Solid:
        return cylinder(x, y, course.uniform(*radius), course.floor, course.ceiling)
    return draw


def crate(footprint: tuple[float, float], height: tuple[float, float], full_height: float = 0.0,
          hanging: float = 0.0, least_headroom: float = 1.2) -> Callable[[Course, float, float], Solid]:
    """Boxes of random footprint and yaw: standing on the floor (``height`` range, clipped to leave
    ``least_headroom`` below the ceiling), floor to ceiling (chance ``full_height``), or hanging from
    the ceiling (chance ``hanging``, leaving ``least_headroom`` above the floor)."""
    def draw(course: Course, x: float, y: float) -> Solid:
        sx, sy = course.uniform(*footprint), course.uniform(*footprint)
        yaw = course.uniform(-math.pi / 2, math.pi / 2)
        roll = course.rng.random()
        room = course.ceiling - course.floor
        if roll < full_height:
            z0, z1 = course.floor, course.ceiling
        elif roll < full_height + hanging:
            drop = min(course.uniform(*height), room - least_headroom)
            z0, z1 = course.ceiling - drop, course.ceiling
        else:
            z0, z1 = course.floor, course.floor + min(course.uniform(*height), room - least_headroom)
        return box(x, y, z0, z1, sx, sy, yaw)
    return draw


def ball(radius: tuple[float, float], low: float, overhead: float) -> Callable[[Course, float, float], Solid]:
    """Spheres resting low (chance ``low``: centre within its radius of the floor), overhead
    (chance ``overhead``: touching or near the ceiling) or anywhere in between."""
    def draw(course: Course, x: float, y: float) -> Solid:
        r = course.uniform(*radius)
        roll = course.rng.random()
        if roll < low:
            z = course.floor + r * course.uniform(0.6, 1.05)
        elif roll < low + overhead:
            z = course.ceiling - r * course.uniform(0.6, 1.05)
        else:
            z = course.uniform(course.floor + r + 0.2, course.ceiling - r - 0.2)
        return sphere(x, y, z, r)
    return draw


def wall(course: Course, x: float, opening_y: float, opening_z: float, width: float, height: float,
         yaw: float = 0.0, thickness: float = 0.2) -> Point3:
    """A wall across the whole course (y bounds, floor to ceiling) through (x, centre y), turned by
    ``yaw`` from facing +x, with one rectangular opening of ``width`` x ``height`` centred at
    ``opening_y`` (where the wall crosses that y) and ``opening_z``; an opening as tall as the room
    is a side gap. Up to four boxes; returns the opening's centre (for the route)."""
    ymin, ymax = course.bounds_min[1], course.bounds_max[1]
    mid = (ymin + ymax) / 2
    cos_yaw = math.cos(yaw)
    along = (-math.sin(yaw), math.cos(yaw))
    reach = thickness * abs(math.tan(yaw)) + 0.3  # ends reach past the bounds' sides, no wedge left open
    s_lo, s_hi = (ymin - mid) / cos_yaw - reach, (ymax - mid) / cos_yaw + reach
    s_c = (opening_y - mid) / cos_yaw
    z_lo, z_hi = max(course.floor, opening_z - height / 2), min(course.ceiling, opening_z + height / 2)

    def piece(s0: float, s1: float, z0: float, z1: float) -> None:
        if s1 - s0 > 0.02 and z1 - z0 > 0.02:
            s = (s0 + s1) / 2
            course.add(box(x + along[0] * s, mid + along[1] * s, z0, z1, thickness, s1 - s0, yaw))

    piece(s_lo, s_c - width / 2, course.floor, course.ceiling)
    piece(s_c + width / 2, s_hi, course.floor, course.ceiling)
    piece(s_c - width / 2, s_c + width / 2, course.floor, z_lo)
    piece(s_c - width / 2, s_c + width / 2, z_hi, course.ceiling)
    return (x + along[0] * s_c, mid + along[1] * s_c, (z_lo + z_hi) / 2)


def corridor(course: Course, centre: Sequence[Point2], width: float, thickness: float = 0.2) -> None:
    """Floor-to-ceiling walls on both sides of the polyline ``centre`` (free width ``width`` between
    the wall faces), one box per straight piece, mitred at the bends by lengthening each box by
    ``thickness / 2 * tan(turn / 2)`` at the joint (the overshoot hides inside its neighbour)."""
    directions = []
    for (ax, ay), (bx, by) in zip(centre, centre[1:]):
        length = math.hypot(bx - ax, by - ay)
        directions.append(((bx - ax) / length, (by - ay) / length))
    normals = [(-dy, dx) for dx, dy in directions]
    turns = [0.0] + [abs(math.atan2(a[0] * b[1] - a[1] * b[0], a[0] * b[0] + a[1] * b[1]))
                     for a, b in zip(directions, directions[1:])] + [0.0]
    for side in (1.0, -1.0):
        offset = side * (width / 2 + thickness / 2)
        corners = [(centre[0][0] + offset * normals[0][0], centre[0][1] + offset * normals[0][1])]
        for i in range(1, len(centre) - 1):
            n0, n1 = normals[i - 1], normals[i]
            scale = offset / (1 + n0[0] * n1[0] + n0[1] * n1[1])
            corners.append((centre[i][0] + scale * (n0[0] + n1[0]), centre[i][1] + scale * (n0[1] + n1[1])))
        corners.append((centre[-1][0] + offset * normals[-1][0], centre[-1][1] + offset * normals[-1][1]))
        for i, (dx, dy) in enumerate(directions):
            (ax, ay), (bx, by) = corners[i], corners[i + 1]
            before, after = (thickness / 2 * math.tan(turns[i] / 2), thickness / 2 * math.tan(turns[i + 1] / 2))
            length = math.hypot(bx - ax, by - ay) + before + after
            shift = (after - before) / 2
            cx, cy = (ax + bx) / 2 + dx * shift, (ay + by) / 2 + dy * shift
            course.add(box(cx, cy, course.floor, course.ceiling, length, thickness, math.atan2(dy, dx)))


# -- the courses ------------------------------------------------------------------------------------------------
def forest_sparse() -> Course:
    c = Course("forest-sparse", "forest", "A sparse forest of thin and middling trunks (radius 0.05-0.2 m, at least 2 m apart); "
               "the goal lies 2.5 m to the side.", (-2.0, -6.0, 0.0), (24.0, 6.0, 4.0), (0.0, 0.0, 1.0), (21.0, -2.5, 1.3),
               weave=1.15)
    c.note("trunks, floor to ceiling")
    scatter(c, 22, (2.0, 23.5, -5.5, 5.5), 2.0, trunk((0.05, 0.2)))
    return c


def forest_dense() -> Course:
    c = Course("forest-dense", "forest", "A dense forest: trunks of radius 0.1-0.4 m packed as close as 0.8 m apart; the drone "
               "starts turned 45 degrees right of the goal.", (-2.0, -4.0, 0.0), (20.0, 4.0, 3.5), (0.0, 0.0, 1.0),
               (17.5, 1.5, 1.5), yaw_offset_deg=-45.0, weave=1.35)
    c.note("trunks, floor to ceiling, gaps down to 0.8 m")
    scatter(c, 120, (1.0, 19.5, -3.7, 3.7), 0.8, trunk((0.1, 0.4)), tries=80)
    return c


def forest_long() -> Course:
    c = Course("forest-long", "forest", "A 38 m forest crossing with trunks of every size (radius 0.05-0.4 m, gaps from 1 m) "
               "and two fallen logs; the goal is 7 m to the side and 1.3 m higher than the start.",
               (-2.0, -7.0, 0.0), (40.0, 7.0, 5.0), (0.0, -3.0, 1.2), (37.5, 4.0, 2.5), yaw_offset_deg=30.0, weave=1.2)
    c.note("fallen logs")
    for x in (9.0, 24.0):
        log = box(x + c.uniform(-1, 1), c.uniform(-3, 3), 0.0, 0.45, c.uniform(2.5, 4.0), 0.45, c.uniform(-1.2, 1.2))
        if c.fits(log, 1.0):
            c.add(log)
    c.note("trunks, floor to ceiling")
    scatter(c, 80, (1.5, 39.5, -6.7, 6.7), 1.0, trunk((0.05, 0.4)))
    return c


def forest_thin() -> Course:
    c = Course("forest-thin", "forest", "Saplings: very thin trunks (radius 0.05-0.1 m) 0.9 m apart and more in a narrow "
               "strip, hard to see between range rays.", (-1.5, -3.5, 0.0), (17.5, 3.5, 3.0), (0.0, 0.5, 1.2),
               (16.0, -0.5, 1.0), weave=1.3)
    c.note("saplings, floor to ceiling")
    scatter(c, 90, (1.0, 17.3, -3.3, 3.3), 0.9, trunk((0.05, 0.1)), tries=80)
    return c


def boxes_scatter() -> Course:
    c = Course("boxes-scatter", "boxes", "Boxes of random sizes (0.3-1.6 m across) and yaws, some floor to ceiling, others low "
               "enough to fly over; the goal is 3 m to the side.", (-2.0, -5.0, 0.0), (22.0, 5.0, 4.0), (0.0, 0.0, 1.0),
               (20.0, 3.0, 1.2), weave=1.25)
    c.note("boxes standing on the floor")
    scatter(c, 40, (1.5, 21.5, -4.8, 4.8), 1.0, crate((0.3, 1.6), (0.5, 2.6), full_height=0.4))
    return c


def boxes_hanging() -> Course:
    c = Course("boxes-hanging", "boxes", "Boxes standing on the floor and hanging from a 5 m ceiling, random sizes and yaws; "
               "the goal is up at 2.6 m and the drone starts turned 60 degrees left of it.",
               (-2.0, -5.0, 0.0), (25.0, 5.0, 5.0), (0.0, -1.0, 0.8), (23.0, 1.0, 2.6), yaw_offset_deg=60.0, weave=1.25)
    c.note("boxes on the floor and from the ceiling")
    scatter(c, 45, (1.5, 24.5, -4.8, 4.8), 0.9, crate((0.4, 1.8), (1.0, 3.4), full_height=0.15, hanging=0.45,
                                                       least_headroom=1.3))
    return c


def boxes_crates() -> Course:
    c = Course("boxes-crates", "boxes", "A yard of small crates (0.3-0.8 m) of every height under a 3 m ceiling, 0.8 m "
               "apart; the drone starts facing 90 degrees right of the goal.", (-1.5, -4.0, 0.0), (17.5, 4.0, 3.0),
               (0.0, 0.0, 1.0), (15.5, -1.0, 1.0), yaw_offset_deg=-90.0, weave=1.3)
    c.note("crates")
    scatter(c, 70, (1.0, 17.3, -3.8, 3.8), 0.8, crate((0.3, 0.8), (0.4, 1.9), full_height=0.35), tries=80)
    return c


def spheres_low_high() -> Course:
    c = Course("spheres-low-high", "spheres", "Spheres lying on the floor and hanging at the ceiling (radius 0.3-0.9 m), with a "
               "few in between: the drone must keep a middle height; the goal is 0.9 m higher than the start.",
               (-2.0, -5.0, 0.0), (22.0, 5.0, 4.5), (0.0, 0.0, 1.1), (20.0, -1.5, 2.0), weave=1.2)
    c.note("boulders and overhead spheres")
    scatter(c, 45, (1.5, 21.5, -4.8, 4.8), 0.8, ball((0.3, 0.9), low=0.45, overhead=0.4))
    return c


def spheres_cloud() -> Course:
    c = Course("spheres-cloud", "spheres", "A cloud of spheres (radius 0.2-0.7 m) at every height under a 6 m ceiling; the goal "
               "is 4 m to the side and up at 4 m, and the drone starts turned 45 degrees left of it.",
               (-2.0, -6.0, 0.0), (28.0, 6.0, 6.0), (0.0, -1.0, 1.5), (26.0, 3.0, 4.0), yaw_offset_deg=45.0, weave=1.25)
    c.note("spheres anywhere")
    scatter(c, 110, (1.5, 27.5, -5.8, 5.8), 0.8, ball((0.2, 0.7), low=0.15, overhead=0.15), tries=80)
    return c


def spheres_boulders() -> Course:
    c = Course("spheres-boulders", "spheres", "Big boulders (radius 0.8-1.5 m) to steer round or hop over, and lamps (radius "
               "0.2-0.4 m) hanging overhead; short course with a low goal.", (-2.0, -5.0, 0.0), (17.0, 5.0, 4.0),
               (0.0, 1.0, 1.0), (15.0, -1.0, 0.7), weave=1.25)
    c.note("boulders")
    scatter(c, 12, (1.0, 16.5, -4.8, 4.8), 0.9, ball((0.8, 1.5), low=1.0, overhead=0.0))
    c.note("lamps overhead")
    scatter(c, 14, (1.0, 16.5, -4.8, 4.8), 0.8, ball((0.2, 0.4), low=0.0, overhead=1.0))
    return c


def windows_climb() -> Course:
    c = Course("windows-climb", "windows", "Four walls with windows ever higher (0.9 m to 3.5 m above the floor) and to either "
               "side: the drone must climb to a high goal.", (-2.0, -4.5, 0.0), (22.0, 4.5, 4.5), (0.0, 0.0, 1.0),
               (20.0, 0.5, 3.3))
    for i, (x, z) in enumerate(((4.0, 0.9), (8.5, 1.8), (13.0, 2.7), (17.0, 3.5))):
        y = c.uniform(-2.8, 2.8)
        width, height = c.uniform(1.0, 1.4), c.uniform(0.8, 1.0)
        c.note(f"wall {i + 1}: window at y {y:.1f}, z {z:.1f}")
        c.route.append(wall(c, x, y, z, width, height))
    return c


def windows_sink() -> Course:
    c = Course("windows-sink", "windows", "Four walls whose windows step down from 3 m to just above the floor: the drone "
               "starts high and must sink to a low goal.", (-2.0, -4.0, 0.0), (20.0, 4.0, 4.0), (0.0, 0.0, 3.0),
               (18.5, -1.0, 0.7))
    for i, (x, z) in enumerate(((3.5, 3.0), (7.5, 2.2), (11.5, 1.4), (15.0, 0.6))):
        y = c.uniform(-2.5, 2.5)
        width, height = c.uniform(1.0, 1.3), c.uniform(0.8, 1.0)
        z = max(z, height / 2 + 0.15) if i == 3 else z
        c.note(f"wall {i + 1}: window at y {y:.1f}, z {z:.1f}")
        c.route.append(wall(c, x, y, z, width, height))
    return c


def windows_slanted() -> Course:
    c = Course("windows-slanted", "windows", "Three walls turned 20-30 degrees from square, each with a window far to one side "
               "at its own height; the drone starts turned 60 degrees right of the goal.",
               (-2.0, -5.0, 0.0), (24.0, 5.0, 4.0), (0.0, 1.0, 1.5), (22.0, -1.0, 1.5), yaw_offset_deg=-60.0)
    for i, (x, yaw, y, z) in enumerate(((5.0, 0.45, -2.8, 1.0), (11.0, -0.38, 3.0, 2.6), (17.0, 0.5, -1.5, 1.7))):
        y += c.uniform(-0.5, 0.5)
        width, height = c.uniform(0.9, 1.3), c.uniform(0.8, 1.1)
        c.note(f"slanted wall {i + 1} (yaw {yaw:+.2f} rad): window at y {y:.1f}, z {z:.1f}")
        c.route.append(wall(c, x, y, z, width, height, yaw=yaw))
    return c


def chicane_tight() -> Course:
    c = Course("chicane-tight", "chicane", "Five walls with a 1.2-1.4 m gap each, alternating sides 1.6-2.6 m off the "
               "centre line: a tight weave.", (-2.0, -4.0, 0.0), (22.0, 4.0, 3.5), (0.0, 0.0, 1.2), (20.0, 0.0, 1.2))
    side = -1.0
    for i, x in enumerate((3.5, 7.0, 10.5, 14.0, 17.0)):
        y = side * c.uniform(1.6, 2.6)
        c.note(f"gate {i + 1}: gap at y {y:.1f}")
        c.route.append(wall(c, x + c.uniform(-0.4, 0.4), y, 1.75, c.uniform(1.2, 1.4), 3.5))
        side = -side
    return c


def chicane_offset() -> Course:
    c = Course("chicane-offset", "chicane", "Turned walls reaching past the centre line from alternate sides (side gaps 1.3-1.6 m, "
               "parallel walls 20-29 degrees from square): S-turns; the drone starts 30 degrees right of the goal.",
               (-2.0, -5.0, 0.0), (26.0, 5.0, 4.0), (0.0, -1.0, 1.0), (24.0, 1.0, 1.0), yaw_offset_deg=-30.0)
    side = 1.0
    for i, x in enumerate((4.0, 8.5, 13.0, 17.5, 21.0)):
        y = side * c.uniform(3.0, 3.6)
        yaw = c.uniform(0.35, 0.5)  # parallel walls, so neighbours never meet
        c.note(f"wall {i + 1}: side gap at y {y:.1f}, yaw {yaw:+.2f} rad")
        c.route.append(wall(c, x, y, 2.0, c.uniform(1.3, 1.6), 4.0, yaw=yaw))
        side = -side
    return c


def chicane_over_under() -> Course:
    c = Course("chicane-over-under", "chicane", "Walls across the whole course alternating: a low wall to fly over, a hanging wall "
               "to fly under, a wall with a side gap; 1.1-1.4 m of room each time.",
               (-2.0, -4.0, 0.0), (21.0, 4.0, 4.0), (0.0, 0.0, 1.5), (19.0, 0.0, 1.5))
    ymin, ymax = c.bounds_min[1], c.bounds_max[1]
    for i, x in enumerate((3.5, 7.0, 10.5, 14.0, 16.5)):
        room = c.uniform(1.1, 1.4)
        form = ("over", "under", "side", "under", "over")[i]
        if form == "over":
            top = c.ceiling - room
            c.note(f"low wall {i + 1}: fly over it (top at {top:.1f} m)")
            c.add(box(x, 0.0, c.floor, top, 0.25, ymax - ymin + 0.6))
            c.route.append((x, 0.0, top + room / 2))
        elif form == "under":
            bottom = room
            c.note(f"hanging wall {i + 1}: fly under it (bottom at {bottom:.1f} m)")
            c.add(box(x, 0.0, bottom, c.ceiling, 0.25, ymax - ymin + 0.6))
            c.route.append((x, 0.0, bottom / 2))
        else:
            y = c.uniform(2.0, 2.6)
            c.note(f"wall {i + 1}: side gap at y {y:.1f}")
            c.route.append(wall(c, x, y, 2.0, room, 4.0))
    return c


def corridor_zigzag() -> Course:
    c = Course("corridor-zigzag", "corridor", "A floor-to-ceiling corridor 2 m wide zigzagging 40 degrees either side of its axis "
               "(turns of up to 80 degrees at its four bends).", (-2.0, -6.0, 0.0), (23.0, 6.0, 3.5), (0.0, 0.0, 1.2), (20.5, 0.0, 1.2))
    bends = [(4.0, 0.0), (7.5, 3.0), (11.0, 0.2), (14.5, 3.2), (18.0, 0.0)]
    c.note("corridor walls (left side, then right side)")
    corridor(c, [(-2.0, 0.0), *bends, (23.0, 0.0)], 2.0)
    c.route.extend((x, y, 1.2) for x, y in bends)
    return c


def corridor_drift() -> Course:
    c = Course("corridor-drift", "corridor", "A 1.8 m corridor that swings 6 m to the side through bends of up to 60 degrees; the "
               "goal sits at its far end, well off the start's axis.", (-2.0, -3.0, 0.0), (27.0, 9.0, 4.0),
               (0.0, 0.0, 1.5), (24.5, 6.0, 1.5))
    bends = [(3.5, 0.0), (6.0, 3.5), (10.0, 4.5), (13.0, 1.5), (17.0, 2.5), (20.0, 6.0)]
    c.note("corridor walls (left side, then right side)")
    corridor(c, [(-2.0, 0.0), *bends, (27.0, 6.0)], 1.8)
    c.route.extend((x, y, 1.5) for x, y in bends)
    return c


def corridor_ducts() -> Course:
    c = Course("corridor-ducts", "corridor", "A 2.2 m corridor with three bends, low beams hanging across it and humps on its "
               "floor: the drone must sink and climb inside; it starts turned 60 degrees left.",
               (-2.0, -5.0, 0.0), (22.0, 5.0, 4.0), (0.0, 0.0, 1.8), (20.0, -1.0, 1.8), yaw_offset_deg=60.0)
    bends = [(4.0, 0.0), (8.0, 2.5), (13.0, -1.5), (17.0, -1.0)]
    centre = [(-2.0, 0.0), *bends, (22.0, -1.0)]
    c.note("corridor walls (left side, then right side)")
    corridor(c, centre, 2.2)
    passes = {}
    for segment, t, z0, z1, what in ((1, 0.5, 1.3, 4.0, "beam"), (2, 0.45, 0.0, 2.6, "hump"), (3, 0.55, 2.2, 4.0, "beam")):
        (ax, ay), (bx, by) = centre[segment], centre[segment + 1]
        x, y = ax + t * (bx - ax), ay + t * (by - ay)
        c.note(f"{what} across the corridor ({'fly under' if what == 'beam' else 'fly over'})")
        c.add(box(x, y, z0, z1, 0.4, 2.4, math.atan2(by - ay, bx - ax)))
        passes[segment] = (x, y, z0 / 2 if what == "beam" else (z1 + c.ceiling) / 2)
    for i, (x, y) in enumerate(bends):  # segment i + 1 runs from bend i to bend i + 1
        c.route.append((x, y, 1.8))
        if i + 1 in passes:
            c.route.append(passes[i + 1])
    return c


def mixed_forest_windows() -> Course:
    c = Course("mixed-forest-windows", "mixed", "A forest, then a wall with a high window, then spheres at every height; the "
               "goal is 4 m to the side.", (-2.0, -5.0, 0.0), (32.0, 5.0, 4.0), (0.0, 0.0, 1.0), (30.0, 4.0, 1.5),
               weave=1.2)
    c.note("forest")
    scatter(c, 40, (1.5, 12.0, -4.8, 4.8), 0.9, trunk((0.08, 0.35)))
    y = c.uniform(-2.0, 2.0)
    c.note(f"wall: window at y {y:.1f}, z 2.6")
    window = wall(c, 15.0, y, 2.6, 1.2, 0.9)
    c.note("spheres")
    scatter(c, 30, (17.0, 31.5, -4.8, 4.8), 0.8, ball((0.25, 0.7), low=0.3, overhead=0.3))
    c.route.append(window)
    return c


def mixed_warehouse() -> Course:
    c = Course("mixed-warehouse", "mixed", "A 35 m warehouse: scattered crates, then two gates with side gaps, then beams hanging "
               "from the ceiling over low crates, and lamps; the drone starts facing 90 degrees left of the goal, which is "
               "high and off to the side.", (-2.0, -6.0, 0.0), (37.0, 6.0, 5.0), (0.0, 2.0, 1.0), (35.0, -3.0, 2.5),
               yaw_offset_deg=90.0, weave=1.2)
    c.note("crates")
    scatter(c, 35, (1.5, 12.0, -5.8, 5.8), 1.0, crate((0.4, 1.5), (0.6, 3.0), full_height=0.3))
    gates = []
    for i, (x, y) in enumerate(((15.0, -3.5), (19.0, 3.0))):
        c.note(f"gate {i + 1}: side gap at y {y:.1f}")
        gates.append(wall(c, x, y, 2.5, c.uniform(1.3, 1.6), 5.0, yaw=c.uniform(-0.2, 0.2)))
    c.note("beams hanging across, low crates under them")
    for x in (23.0, 27.0, 31.0):
        bottom = c.uniform(2.0, 2.6)
        c.add(box(x, 0.0, bottom, c.ceiling, 0.3, 12.6, c.uniform(-0.2, 0.2)))
    scatter(c, 10, (21.5, 33.0, -5.8, 5.8), 1.0, crate((0.4, 1.2), (0.4, 0.9)))
    c.note("lamps")
    scatter(c, 10, (21.5, 34.0, -5.8, 5.8), 0.8, ball((0.2, 0.35), low=0.0, overhead=1.0))
    c.route.extend(gates)
    return c


def mixed_park() -> Course:
    c = Course("mixed-park", "mixed", "A park: trees, benches (low boxes), boulders and a slanted fence with a gap; the goal is "
               "5 m to the side and the drone starts 75 degrees right of it.", (-2.0, -7.0, 0.0), (27.0, 7.0, 4.5),
               (0.0, -4.0, 1.2), (25.0, 1.0, 1.8), yaw_offset_deg=-75.0, weave=1.2)
    c.note("fence with a gap")
    fence = wall(c, 13.0, c.uniform(-4.0, 4.0), 2.25, 1.5, 4.5, yaw=0.35)
    c.note("trees")
    scatter(c, 40, (1.5, 26.5, -6.8, 6.8), 1.1, trunk((0.1, 0.35)))
    c.note("benches")
    scatter(c, 10, (1.5, 26.5, -6.8, 6.8), 1.0, crate((0.4, 1.8), (0.45, 0.5)))
    c.note("boulders")
    scatter(c, 8, (1.5, 26.5, -6.8, 6.8), 0.9, ball((0.4, 0.9), low=1.0, overhead=0.0))
    c.route.append(fence)
    return c


COURSES: tuple[Callable[[], Course], ...] = (
    forest_sparse, forest_dense, forest_long, forest_thin,
    boxes_scatter, boxes_hanging, boxes_crates,
    spheres_low_high, spheres_cloud, spheres_boulders,
    windows_climb, windows_sink, windows_slanted,
    chicane_tight, chicane_offset, chicane_over_under,
    corridor_zigzag, corridor_drift, corridor_ducts,
    mixed_forest_windows, mixed_warehouse, mixed_park,
)


def build() -> list[Course]:
    """Every course of the suite, drawn (cheap: no checks)."""
    return [make() for make in COURSES]


# -- checks -----------------------------------------------------------------------------------------------------
def check(course: Course, text: str) -> dict[str, float]:
    """Load ``text`` as spikefly does and check the suite's promises; figures for the listing."""
    from spikefly.worlds import free_path_exists, loads_world

    world = loads_world(text, source=f"{course.name}.toml")
    problems = []
    if world.generators:
        problems.append("has generators")
    if len(world.obstacles) >= MAX_OBSTACLES:
        problems.append(f"{len(world.obstacles)} obstacles (at most {MAX_OBSTACLES - 1})")
    if not free_path_exists(world, world.obstacles, clearance_m=CLEARANCE_M):
        problems.append(f"no free path with {CLEARANCE_M} m clearance")
    shortest = _shortest_path_m(world)
    if shortest is not None and shortest / PACE_MPS + 1.0 > world.time_limit_s:
        problems.append(f"shortest path {shortest:.1f} m does not fit {world.time_limit_s:g} s at {PACE_MPS} m/s")
    if problems:
        raise SystemExit(f"{course.name}: " + "; ".join(problems))
    return {"obstacles": len(world.obstacles), "route_m": course.route_length(), "shortest_m": shortest or float("nan"),
            "time_limit_s": world.time_limit_s}


def _shortest_path_m(world, cell_m: float = 0.2) -> float | None:
    """Length of the shortest path keeping CLEARANCE_M (26-connected grid, Dijkstra), or None without SciPy."""
    try:
        import numpy as np
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import dijkstra
    except ImportError:
        return None
    from spikefly.worlds.solvability import free_cell_grid

    free, centres = free_cell_grid(world, world.obstacles, CLEARANCE_M, cell_m)
    shape = free.shape
    index = np.full(shape, -1, np.int64)
    index[free] = np.arange(int(free.sum()))
    step = np.array([c[1] - c[0] for c in centres])
    rows, cols, weights = [], [], []
    for dx in (0, 1):
        for dy in (-1, 0, 1):
            for dz in (-1, 0, 1):
                if (dx, dy, dz) <= (0, 0, 0):
                    continue
                src = tuple(slice(max(0, -d), n - max(0, d)) for d, n in zip((dx, dy, dz), shape))
                dst = tuple(slice(max(0, d), n - max(0, -d)) for d, n in zip((dx, dy, dz), shape))
                a, b = index[src], index[dst]
                ok = (a >= 0) & (b >= 0)
                rows.append(a[ok])
                cols.append(b[ok])
                weights.append(np.full(int(ok.sum()), float(np.linalg.norm(step * (dx, dy, dz)))))
    n = int(free.sum())
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    grid = np.stack(np.meshgrid(*centres, indexing="ij"), axis=-1)
    start = index[free & (np.linalg.norm(grid - world.start_position, axis=-1) <= 2 * cell_m)]
    goal = index[free & (np.linalg.norm(grid - world.goal_position, axis=-1) <= world.goal_radius)]
    if start.size == 0 or goal.size == 0:
        return float("inf")
    distance = dijkstra(graph, directed=False, indices=start, min_only=True)
    return float(distance[goal].min())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing them")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default: {OUT_DIR})")
    args = parser.parse_args(argv)
    courses = build()
    texts = {f"{course.name}.toml": course.toml() for course in courses}
    if args.check:
        on_disk = {path.name: path.read_text(encoding="utf-8") for path in sorted(args.out.glob("*.toml"))}
        stale = sorted(name for name in texts.keys() | on_disk.keys() if texts.get(name) != on_disk.get(name))
        for name in stale:
            print(f"differs: {args.out / name}")
        return 1 if stale else 0
    print(f"{'course':<22} {'kind':<9} {'obstacles':>9} {'route m':>8} {'shortest m':>10} {'limit s':>8}")
    for course in courses:
        figures = check(course, texts[f"{course.name}.toml"])
        print(f"{course.name:<22} {course.kind:<9} {figures['obstacles']:>9} {figures['route_m']:>8.1f} "
              f"{figures['shortest_m']:>10.1f} {figures['time_limit_s']:>8.0f}")
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.toml"):
        if old.name not in texts:
            old.unlink()
    for name, text in texts.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(texts)} courses to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
