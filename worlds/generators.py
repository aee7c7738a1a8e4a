"""Procedural obstacle generators: the registry of kinds and the ``[[generators]]`` reader.

A generator is a frozen dataclass with a ``kind`` field, a ``from_table(table, course)``
class method that reads and checks its ``[[generators]]`` table, and
``generate(rng, course) -> tuple[Obstacle, ...]`` that draws a layout from ``rng``. Every key of
every kind, with its default, is documented in that kind's module and in ``worlds/README.md``:

- ``forest`` (:mod:`.forest`): vertical trunks with a guaranteed gap.
- ``windows`` (:mod:`.windows`): walls across x, each with one window at a random (y, z).
- ``slalom`` (:mod:`.slalom`): gates whose openings alternate sides, forcing a weave.
- ``corridor`` (:mod:`.corridor`): a walled corridor that bends between start and goal.
- ``mixed`` (:mod:`.mixed`): a whole course per episode (length, bounds, start, goal, heading) filled
  with segments of every kind of obstacle, checked solvable.

All generated obstacles stay inside the bounds and keep ``clear_radius_m`` from the start and
goal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .corridor import CorridorGenerator
from .forest import ForestGenerator
from .mixed import MixedGenerator
from .slalom import SlalomGenerator
from .table_reader import TableReader
from .windows import WindowsGenerator

if TYPE_CHECKING:
    from .course import ObstacleCourse

Generator = ForestGenerator | WindowsGenerator | SlalomGenerator | CorridorGenerator | MixedGenerator
"""Any procedural obstacle generator."""

GENERATOR_KINDS: dict[str, type[Generator]] = {
    "forest": ForestGenerator,
    "windows": WindowsGenerator,
    "slalom": SlalomGenerator,
    "corridor": CorridorGenerator,
    "mixed": MixedGenerator,
}
"""Generator class by the ``kind`` written in a ``[[generators]]`` table."""


def read_generator(table: TableReader, course: ObstacleCourse) -> Generator:
    """The generator a ``[[generators]]`` table describes, checked against ``course``."""
    kinds = tuple(GENERATOR_KINDS)
    if not table.has("kind"):  # a misspelt "kind" is better reported as unknown than missing
        every_key = (key for generator in GENERATOR_KINDS.values() for key in generator.KEYS)
        table.check_keys(tuple(dict.fromkeys(every_key)), "a generator")
    kind = table.string("kind", 'kind = "forest"', f"the generator kind ({', '.join(kinds)})", choices=kinds)
    return GENERATOR_KINDS[kind].from_table(table, course)
