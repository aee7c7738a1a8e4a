"""Loading world files: bundled names or paths, TOML parsing, schema and geometry checks.

The format is the one in docs/formats.md ("World files"); every problem raises :class:`WorldError`
naming the file, the key and the fix.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np

from .course import ObstacleCourse
from .errors import WorldError
from .generators import read_generator
from .geometry import signed_distance
from .shapes import Box, Cylinder, Obstacle, Sphere, Vector3, pack_obstacles, select_obstacles
from .table_reader import TableReader, closest_key

BUNDLED_DIR = Path(__file__).resolve().parent
"""Folder holding the bundled ``*.toml`` worlds (package data)."""

START_CLEARANCE_M = 0.1
"""Least distance from the start position to any static obstacle's surface."""

COURSE_KEYS = ("name", "kind", "time_limit_s", "bounds", "start", "goal", "obstacles", "generators")
BOUNDS_KEYS = ("min", "max")
START_KEYS = ("position", "yaw")
GOAL_KEYS = ("position", "radius")
OBSTACLE_KEYS = {
    "box": ("shape", "position", "size", "yaw"),
    "cylinder": ("shape", "position", "radius", "height"),
    "sphere": ("shape", "position", "radius"),
}
"""Keys accepted by each obstacle ``shape``."""

_OBSTACLE_EXAMPLE = '[[obstacles]] shape = "sphere", position = [6.0, 0.0, 1.0], radius = 0.4'
_GENERATOR_EXAMPLE = '[[generators]] kind = "forest"'
_SYNTAX_FIX = (
    "correct the TOML on that line: strings need double quotes, lists look like [1.0, 2.0], "
    "decimals use a point, tables are [name] and repeated tables [[name]], each key once per table"
)


def bundled_worlds() -> list[str]:
    """Names of the bundled obstacle courses, sorted (``load_world(name)`` loads each).

    The bundled soundscapes: :func:`spikefly.worlds.soundscape.bundled_soundscapes`.
    """
    return sorted(
        path.stem for path in BUNDLED_DIR.glob("*.toml")
        if tomllib.loads(path.read_text(encoding="utf-8")).get("kind", "obstacle_course") == "obstacle_course"
    )


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.lower().endswith(".toml")


def load_world(name_or_path: str | os.PathLike[str]) -> ObstacleCourse:
    """Load a world by bundled name (``"forest"``) or from any ``.toml`` path.

    A string without a path separator or ``.toml`` suffix is a bundled name. Relative paths
    inside the file are relative to the file's folder.
    """
    text, path = read_world_file(name_or_path, "world", bundled_worlds(), "load_world")
    return loads_world(text, source=str(path), base_dir=path.resolve().parent)


def read_world_file(
    name_or_path: str | os.PathLike[str], noun: str, names: list[str], loader: str
) -> tuple[str, Path]:
    """The text and path of a world file given by bundled name (one of ``names``) or path.

    ``noun`` ("world", "soundscape") and ``loader`` (the function a user called) word the
    errors, which name the file and the fix.
    """
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        path = Path(name_or_path)
    else:
        name = str(name_or_path)
        path = BUNDLED_DIR / f"{name}.toml"
        if not path.is_file():  # a bundled file of the other kind loads, and its kind is the error
            guess = closest_key(name, names)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise WorldError(
                name,
                None,
                f"no bundled {noun} named {name!r}{hint}",
                f"use a bundled {noun} ({', '.join(names)}) or a path to a .toml file, e.g. ./my_{noun}.toml",
            )
    source = str(path)
    try:
        return path.read_bytes().decode("utf-8"), path
    except FileNotFoundError:
        if path.stem in names and len(path.parts) == 1:
            fix = f"for the bundled {noun} pass its name alone, {loader}({path.stem!r})"
        else:
            fix = f"check the path, or use a bundled {noun}: {', '.join(names)}"
        raise WorldError(source, None, "no such file", fix) from None
    except IsADirectoryError:
        raise WorldError(
            source, None, "this is a folder, not a file", "give the path of a .toml file"
        ) from None
    except UnicodeDecodeError as error:
        raise WorldError(
            source,
            None,
            f"not UTF-8 text ({error.reason} at byte {error.start})",
            "save the world file as UTF-8 text",
        ) from None
    except OSError as error:
        raise WorldError(
            source, None, f"cannot read the file ({error.strerror})", "check the path and its permissions"
        ) from None


def loads_world(
    text: str, source: str = "<string>", base_dir: str | os.PathLike[str] | None = None
) -> ObstacleCourse:
    """Parse a world from TOML ``text``; ``source`` names it in errors.

    ``base_dir`` is the folder relative paths in the text are relative to (default: the
    current folder).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise syntax_error(error, text, source) from None
    except RecursionError:
        raise too_deep(source) from None
    folder = Path(base_dir) if base_dir is not None else None
    return read_course(TableReader(data, source, base_dir=folder))


def too_deep(source: str) -> WorldError:
    """A :class:`WorldError` for a file nested beyond what the TOML reader can follow."""
    return WorldError(source, None, "nested too deeply to read (arrays or tables inside each other thousands deep)",
                      "write the world as docs/formats.md shows")


def syntax_error(error: tomllib.TOMLDecodeError, text: str, source: str) -> WorldError:
    """A :class:`WorldError` pointing at the line of a TOML syntax error."""
    message = str(error)
    found = re.search(r"at line (\d+), column (\d+)", message)
    if found is None:
        return WorldError(source, "end of file", f"TOML syntax error: {message}", _SYNTAX_FIX)
    line_number = int(found.group(1))
    lines = text.splitlines()
    line = lines[line_number - 1].strip() if 0 < line_number <= len(lines) else ""
    key = re.match(r"\s*([A-Za-z0-9_.\"'-]+)\s*=", line)
    place = f"line {line_number}" + (f" ({key.group(1)})" if key else "")
    shown = f": {line}" if line else ""
    return WorldError(source, place, f"TOML syntax error: {message}{shown}", _SYNTAX_FIX)


def read_course(table: TableReader) -> ObstacleCourse:
    """The obstacle course described by the top-level ``table``, fully checked."""
    if table.has("kind") and table.data["kind"] == "soundscape":
        raise table.error(
            "kind",
            "this is a soundscape: it is heard by the audio environment, not flown by the quadrotor",
            'use a world with kind = "obstacle_course" here, or pass the soundscape to the audio env '
            "(spikefly evolve --env audio --world ...)",
        )
    table.check_keys(COURSE_KEYS, "an obstacle course")
    table.string("kind", 'kind = "obstacle_course"', "the world kind", choices=("obstacle_course",))
    name = table.string("name", 'name = "my-course"', "the world's name", non_empty=True)
    time_limit_s = table.number(
        "time_limit_s", "time_limit_s = 20.0", "the episode time limit in seconds", positive=True
    )
    bounds = table.table(
        "bounds", "[bounds] with min and max", "[bounds] min = [-2.0, -6.0, 0.0], max = [26.0, 6.0, 4.0]"
    )
    bounds.check_keys(BOUNDS_KEYS, "[bounds]")
    bounds_min = _vector3(bounds, "min", "min = [-2.0, -6.0, 0.0]", "the lower corner [x, y, z] in metres")
    bounds_max = _vector3(bounds, "max", "max = [26.0, 6.0, 4.0]", "the upper corner [x, y, z] in metres")
    for axis, letter in enumerate("xyz"):
        if bounds_max[axis] <= bounds_min[axis]:
            raise bounds.error(
                "max",
                f"max {letter} = {bounds_max[axis]:g} is not above min {letter} = {bounds_min[axis]:g}",
                "make bounds.max larger than bounds.min on every axis, e.g. max = [26.0, 6.0, 4.0]",
            )
    start = table.table("start", "[start] with position (and yaw)", "[start] position = [0.0, 0.0, 1.0]")
    start.check_keys(START_KEYS, "[start]")
    start_position = _vector3(
        start, "position", "position = [0.0, 0.0, 1.0]", "the start [x, y, z] in metres"
    )
    start_yaw = start.number("yaw", "yaw = 0.0", "the start heading in radians", default=0.0)
    goal = table.table(
        "goal", "[goal] with position and radius", "[goal] position = [24.0, 0.0, 1.0], radius = 0.5"
    )
    goal.check_keys(GOAL_KEYS, "[goal]")
    goal_position = _vector3(
        goal, "position", "position = [24.0, 0.0, 1.0]", "the goal centre [x, y, z] in metres"
    )
    goal_radius = goal.number("radius", "radius = 0.5", "the goal radius in metres", positive=True)
    for reader, key, point in ((start, "position", start_position), (goal, "position", goal_position)):
        _check_inside(reader, key, point, bounds_min, bounds_max)
    if math.dist(start_position, goal_position) <= goal_radius:
        raise goal.error(
            "position",
            f"the start {list(start_position)} lies inside the goal sphere (radius {goal_radius:g} m)",
            "move the goal away from the start or give a smaller goal radius",
        )
    obstacles = tuple(_read_obstacle(entry) for entry in table.table_array("obstacles", _OBSTACLE_EXAMPLE))
    _check_clear(start, goal, start_position, goal_position, obstacles)
    course = ObstacleCourse(
        name=name,
        source=table.source,
        time_limit_s=time_limit_s,
        bounds_min=bounds_min,
        bounds_max=bounds_max,
        start_position=start_position,
        start_yaw=start_yaw,
        goal_position=goal_position,
        goal_radius=goal_radius,
        obstacles=obstacles,
    )
    generators = tuple(
        read_generator(entry, course) for entry in table.table_array("generators", _GENERATOR_EXAMPLE)
    )
    framed = [index for index, generator in enumerate(generators) if hasattr(generator, "draw_episode")]
    if framed and len(generators) > 1:
        raise WorldError(table.source, f"generators[{framed[0]}].kind",
                         "a mixed generator draws the whole course, so it must be the only generator",
                         "keep the mixed generator alone, or use the forest/windows/slalom/corridor generators together")
    return replace(course, generators=generators)


def _vector3(table: TableReader, key: str, example: str, meaning: str, positive: bool = False) -> Vector3:
    x, y, z = table.vector(key, 3, example, meaning, positive=positive)
    return (x, y, z)


def _check_inside(table: TableReader, key: str, point: Vector3, low: Vector3, high: Vector3) -> None:
    for axis, letter in enumerate("xyz"):
        if not low[axis] < point[axis] < high[axis]:
            raise table.error(
                key,
                f"{list(point)} is outside the bounds: {letter} = {point[axis]:g} is not strictly "
                f"between {low[axis]:g} and {high[axis]:g}",
                f"move {table.key_path(key)} inside [bounds], or enlarge [bounds]",
            )


def _read_obstacle(table: TableReader) -> Obstacle:
    shapes = tuple(OBSTACLE_KEYS)
    if not table.has("shape"):  # a misspelt "shape" is better reported as unknown than missing
        table.check_keys(tuple(dict.fromkeys(sum(OBSTACLE_KEYS.values(), ()))), "an obstacle")
    shape = table.string(
        "shape", 'shape = "box"', f"the obstacle shape ({', '.join(shapes)})", choices=shapes
    )
    table.check_keys(OBSTACLE_KEYS[shape], f"a {shape} obstacle")
    position = _vector3(table, "position", "position = [6.0, 1.5, 2.0]", "the centre [x, y, z] in metres")
    if shape == "box":
        size = _vector3(
            table, "size", "size = [0.4, 3.0, 4.0]", "the full extents [x, y, z] in metres", positive=True
        )
        yaw = table.number("yaw", "yaw = 0.3", "the rotation about z in radians", default=0.0)
        return Box(position=position, size=size, yaw=yaw)
    radius = table.number("radius", "radius = 0.2", f"the {shape} radius in metres", positive=True)
    if shape == "cylinder":
        height = table.number("height", "height = 4.0", "the cylinder height in metres", positive=True)
        return Cylinder(position=position, radius=radius, height=height)
    return Sphere(position=position, radius=radius)


def _check_clear(
    start: TableReader,
    goal: TableReader,
    start_position: Vector3,
    goal_position: Vector3,
    obstacles: tuple[Obstacle, ...],
) -> None:
    """Start at least ``START_CLEARANCE_M`` from every obstacle; goal centre outside all."""
    if not obstacles:
        return
    arrays = pack_obstacles(obstacles)
    for index in range(len(obstacles)):
        single = select_obstacles(arrays, slice(index, index + 1))
        to_start, to_goal = signed_distance(np.array([start_position, goal_position]), single)
        shape = type(obstacles[index]).__name__.lower()
        described = f"obstacles[{index}] (the {_ordinal(index + 1)} [[obstacles]] entry, a {shape})"
        if to_start < START_CLEARANCE_M:
            where = "inside" if to_start < 0 else f"only {to_start:.3g} m from"
            raise start.error(
                "position",
                f"the start {list(start_position)} is {where} {described}; it must be at least "
                f"{START_CLEARANCE_M:g} m clear",
                f"move the start away from obstacles[{index}], or move or shrink that obstacle",
            )
        if to_goal <= 0:
            raise goal.error(
                "position",
                f"the goal {list(goal_position)} is inside {described}",
                f"move the goal out of obstacles[{index}], or move or shrink that obstacle",
            )


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
