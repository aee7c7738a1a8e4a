#!/usr/bin/env python
"""Write the ``heldout`` benchmark suite: fixed obstacle courses that no run may train or select on.

    python worlds/suites/make_heldout.py            # (re)write worlds/suites/heldout/*.toml, checked
    python worlds/suites/make_heldout.py --check    # exit 1 if the files on disk differ from what it would write
    python worlds/suites/make_heldout.py --draw 1 --out /tmp/draw1   # the same 22 courses drawn anew, never bundled

Every course is drawn here, with placement rules and parameters of this folder's own (``heldout_kit.py``), on
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
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # a script beside its toolkit, run or loaded by path
import heldout_kit  # noqa: E402
from heldout_kit import (  # noqa: E402
    CLEARANCE_M,
    MAX_OBSTACLES,
    PACE_MPS,
    Course,
    ball,
    box,
    corridor,
    crate,
    scatter,
    trunk,
    wall,
)

OUT_DIR = Path(__file__).resolve().parent / "heldout"
"""Where the suite's TOML files go."""


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
    parser.add_argument("--draw", type=int, default=0, metavar="N",
                        help="N > 0: draw every course anew with the same rules (more courses no run has seen; "
                             "give --out, the bundled suite is draw 0)")
    args = parser.parse_args(argv)
    if args.draw < 0 or (args.draw and args.out.resolve() == OUT_DIR):
        parser.error(f"--draw {args.draw}: give N >= 0, and an --out folder for N > 0 (the bundled suite is draw 0)")
    heldout_kit.draw = args.draw
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
