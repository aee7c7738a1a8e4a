"""World files: obstacle courses (and later soundscapes) in TOML, their schema, loader and
procedural generators. Imports nothing else of spikefly. ::

    course = load_world("forest")                     # a bundled name, or a path to a .toml file
    obstacles = course.layout(numpy.random.default_rng(seed))   # static + generated
    arrays = pack_obstacles(obstacles)                # flat arrays for compiled code
    assert free_path_exists(course, obstacles)

The file format is in docs/formats.md ("World files"); the generator kinds and their keys are in
``worlds/README.md``.
"""

from .corridor import CorridorGenerator
from .course import ObstacleCourse
from .errors import WorldError
from .forest import ForestGenerator
from .generators import GENERATOR_KINDS, Generator
from .geometry import signed_distance
from .loader import bundled_worlds, load_world, loads_world
from .mixed import MixedGenerator
from .shapes import (
    SHAPE_BOX,
    SHAPE_CYLINDER,
    SHAPE_SPHERE,
    Box,
    Cylinder,
    Obstacle,
    ObstacleArrays,
    Sphere,
    pack_obstacles,
)
from .slalom import SlalomGenerator
from .solvability import free_path_exists
from .windows import WindowsGenerator

__all__ = [
    "GENERATOR_KINDS",
    "SHAPE_BOX",
    "SHAPE_CYLINDER",
    "SHAPE_SPHERE",
    "Box",
    "CorridorGenerator",
    "Cylinder",
    "ForestGenerator",
    "MixedGenerator",
    "Generator",
    "Obstacle",
    "ObstacleArrays",
    "ObstacleCourse",
    "SlalomGenerator",
    "Sphere",
    "WindowsGenerator",
    "WorldError",
    "bundled_worlds",
    "free_path_exists",
    "load_world",
    "loads_world",
    "pack_obstacles",
    "signed_distance",
]

from .suites import SuiteError, bundled_suites, suite_courses  # noqa: E402  (benchmark suites)

__all__ += ["SuiteError", "bundled_suites", "suite_courses"]
