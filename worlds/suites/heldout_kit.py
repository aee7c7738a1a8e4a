"""The toolkit behind ``make_heldout.py``: exact solids and distances, a course under construction
written as a world file, and the placement rules the held-out courses are drawn with.

Its rules and parameters are this folder's own, independent of the project's procedural
generators, so a controller evolved on generated layouts meets spacings, shapes and proportions
here that its training did not define. Everything is deterministic and rounded to the millimetre.
"""

from __future__ import annotations

import math
import random
import textwrap
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SUITE_SEED = 16
"""Mixed into every course's seed (issue 16: controllers that fly courses they have never seen)."""
DRAW_SALT = 0x5A5A00
"""A redrawn suite N (``make_heldout.py --draw N``) mixes ``DRAW_SALT + N`` into the seed as well."""
draw = 0
"""Which draw of the suite is being written: 0, the bundled one; N > 0, the same rules drawn anew."""
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
        salt = SUITE_SEED ^ (DRAW_SALT + draw) if draw else SUITE_SEED
        self.rng = random.Random(zlib.crc32(self.name.encode()) ^ salt)

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
            f"# Held-out benchmark course {self.name!r} (suite 'heldout'{f', draw {draw}' if draw else ''}, kind: {self.kind}).",
            "# GENERATED by worlds/suites/make_heldout.py -- do not edit; regenerate with",
            f"#     python worlds/suites/make_heldout.py{f' --draw {draw} --out FOLDER' if draw else ''}",
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
