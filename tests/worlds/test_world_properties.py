"""Property tests of the loader: valid courses round-trip through TOML; any mutation of a valid
document (a key deleted, a key added, a value replaced by one of another type, or a number
changed) either loads, and then lays out, or raises WorldError, never another exception."""

from __future__ import annotations

import datetime
import math
import tomllib
from pathlib import Path

import numpy as np
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from spikefly.worlds import (
    Box,
    Cylinder,
    ForestGenerator,
    ObstacleCourse,
    Sphere,
    WorldError,
    bundled_worlds,
    load_world,
    loads_world,
    pack_obstacles,
    signed_distance,
)


def numbers(low: float, high: float) -> st.SearchStrategy[float | int]:
    """Floats in [low, high], sometimes written as TOML integers."""
    floats = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if math.ceil(low) > math.floor(high):
        return floats
    return st.one_of(floats, st.integers(math.ceil(low), math.floor(high)))


@st.composite
def course_documents(draw) -> tuple[dict, ObstacleCourse]:
    """A valid obstacle-course document and the course it must load as."""
    low = [draw(numbers(-50, 50)) for _ in range(3)]
    extent = [draw(numbers(1, 40)) for _ in range(3)]
    high = [a + b for a, b in zip(low, extent, strict=True)]

    def inside() -> list[float]:
        return [a + draw(st.floats(0.05, 0.95)) * b for a, b in zip(low, extent, strict=True)]

    start, goal = inside(), inside()
    assume(math.dist(start, goal) > 0.05)
    goal_radius = draw(numbers(0.01, 2))
    if math.dist(start, goal) <= goal_radius:
        goal_radius = 0.5 * math.dist(start, goal)
    document: dict = {
        "name": draw(st.text(min_size=1, max_size=20).filter(str.strip)),
        "kind": "obstacle_course",
        "time_limit_s": draw(numbers(0.1, 600)),
        "bounds": {"min": low, "max": high},
        "start": {"position": start},
        "goal": {"position": goal, "radius": goal_radius},
    }
    start_yaw = 0.0
    if draw(st.booleans()):
        start_yaw = document["start"]["yaw"] = draw(numbers(-7, 7))
    obstacles, tables = [], []
    for _ in range(draw(st.integers(0, 5))):
        position = inside()
        shape = draw(st.sampled_from(["box", "cylinder", "sphere"]))
        table: dict = {"shape": shape, "position": position}
        if shape == "box":
            table["size"] = [draw(numbers(0.01, 5)) for _ in range(3)]
            yaw = draw(st.one_of(st.none(), numbers(-7, 7)))
            if yaw is not None:
                table["yaw"] = yaw
            obstacle = Box(tuple(position), tuple(table["size"]), 0.0 if yaw is None else yaw)
        elif shape == "cylinder":
            table["radius"], table["height"] = draw(numbers(0.01, 3)), draw(numbers(0.01, 5))
            obstacle = Cylinder(tuple(position), table["radius"], table["height"])
        else:
            table["radius"] = draw(numbers(0.01, 3))
            obstacle = Sphere(tuple(position), table["radius"])
        # Keep only obstacles a valid course may have (clear of the start, goal centre outside).
        to_start, to_goal = signed_distance([start, goal], pack_obstacles([obstacle]))
        if to_start >= 0.1 + 1e-6 and to_goal > 1e-6:
            obstacles.append(obstacle)
            tables.append(table)
    if tables:
        document["obstacles"] = tables
    generators = ()
    if draw(st.booleans()):
        corner = [a + draw(st.floats(0.0, 0.4)) * b for a, b in zip(low[:2], extent[:2], strict=True)]
        far = [a + draw(st.floats(0.6, 1.0)) * b for a, b in zip(low[:2], extent[:2], strict=True)]
        radius = sorted([draw(numbers(0.05, 0.5)), draw(numbers(0.05, 0.5))])
        forest = {
            "kind": "forest",
            "region_min": corner,
            "region_max": far,
            "radius": radius,
            "height": draw(st.floats(0.1, 1.0)) * extent[2],
            "density_per_m2": draw(numbers(0, 0.3)),
            "min_gap_m": draw(numbers(0, 2)),
            "clear_radius_m": draw(numbers(0, 3)),
        }
        document["generators"] = [forest]
        generators = (
            ForestGenerator(
                region_min=tuple(corner),
                region_max=tuple(far),
                height=forest["height"],
                radius=tuple(radius),
                density_per_m2=forest["density_per_m2"],
                min_gap_m=forest["min_gap_m"],
                clear_radius_m=forest["clear_radius_m"],
            ),
        )
    expected = ObstacleCourse(
        name=document["name"],
        source="<string>",
        time_limit_s=document["time_limit_s"],
        bounds_min=tuple(low),
        bounds_max=tuple(high),
        start_position=tuple(start),
        start_yaw=start_yaw,
        goal_position=tuple(goal),
        goal_radius=goal_radius,
        obstacles=tuple(obstacles),
        generators=generators,
    )
    return document, expected


def all_floats(course: ObstacleCourse) -> bool:
    values = [
        course.time_limit_s,
        course.start_yaw,
        course.goal_radius,
        *course.bounds_min,
        *course.bounds_max,
        *course.start_position,
        *course.goal_position,
    ]
    return all(type(value) is float for value in values)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(course_documents())
def test_valid_courses_round_trip_through_toml(document_and_course) -> None:
    document, expected = document_and_course
    loaded = loads_world(tomli_w.dumps(document))
    assert loaded == expected
    assert all_floats(loaded)
    generated = loaded.layout(np.random.default_rng(0))
    assert generated[: len(expected.obstacles)] == expected.obstacles


# -- mutations --------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-3, 60),
    st.floats(),  # NaN and infinities included
    st.text(max_size=12),
    st.datetimes(),
    st.dates(),
    st.times(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def documents() -> list[dict]:
    """Valid documents to mutate: every bundled world and DESIGN.md's example."""
    paths = [Path(load_world(name).source) for name in bundled_worlds()]
    paths.append(Path(__file__).parent / "data" / "pillars_demo.toml")
    return [tomllib.loads(path.read_text(encoding="utf-8")) for path in paths]


DOCUMENTS = documents()


def places(node, found: list) -> list:
    """Every (container, key) pair below ``node``: table keys and list positions."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        found.append((node, key))
        if isinstance(value, dict | list):
            places(value, found)
    return found


def same_kind(a: object, b: object) -> bool:
    kinds = (bool, int, float, str, datetime.datetime, datetime.date, datetime.time, list, dict)
    return next(k for k in kinds if isinstance(a, k)) is next(k for k in kinds if isinstance(b, k))


@st.composite
def mutated_documents(draw) -> str:
    document = tomllib.loads(tomli_w.dumps(draw(st.sampled_from(DOCUMENTS))))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        spots = places(document, [])
        action = draw(st.sampled_from(["delete", "add", "replace", "renumber"]))
        if action == "add":
            tables = [document] + [value[key] for value, key in spots if isinstance(value[key], dict)]
            table = draw(st.sampled_from(tables))
            table[draw(st.text(max_size=14))] = draw(TOML_VALUES)
            continue
        if not spots:
            continue
        container, key = draw(st.sampled_from(spots))
        if action == "delete":
            del container[key]
        elif action == "renumber":  # plausible numbers reach the geometry checks and generators
            numeric = [(c, k) for c, k in spots if type(c[k]) in (int, float)]
            if numeric:
                container, key = draw(st.sampled_from(numeric))
                container[key] = draw(st.one_of(st.integers(-5, 60), st.floats(-30.0, 30.0)))
        else:
            old = container[key]
            container[key] = draw(TOML_VALUES.filter(lambda new, old=old: not same_kind(new, old)))
    return tomli_w.dumps(document)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_any_mutation_either_loads_or_raises_world_error(text: str) -> None:
    try:
        course = loads_world(text, source="mutant.toml")
    except WorldError as error:
        assert str(error).startswith("mutant.toml")
        assert "Fix: " in str(error)
        return
    layout = course.layout(np.random.default_rng(0))
    assert len(layout) >= len(course.obstacles)
