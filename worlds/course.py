"""The obstacle course: what one world file of ``kind = "obstacle_course"`` describes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .generators import Generator
from .shapes import Obstacle, Vector3


@dataclass(frozen=True)
class ObstacleCourse:
    """A bounded flight volume with a start pose, a goal sphere and obstacles.

    Static obstacles come from the file; procedural ones are drawn by :meth:`layout` from a
    random generator, so each episode seed gives its own layout.
    """

    name: str
    """Name of the world (the file's ``name`` key)."""
    source: str
    """The file path it was loaded from, or ``"<string>"`` for text."""
    time_limit_s: float
    """Episode length limit in seconds (a time-out truncates the episode)."""
    bounds_min: Vector3
    """Lower corner [x, y, z] of the flight volume, metres; z is the floor."""
    bounds_max: Vector3
    """Upper corner [x, y, z] of the flight volume, metres; z is the ceiling."""
    start_position: Vector3
    """Take-off position [x, y, z], metres."""
    start_yaw: float
    """Heading at the start, radians about +z (0 faces +x)."""
    goal_position: Vector3
    """Centre [x, y, z] of the goal sphere, metres."""
    goal_radius: float
    """Radius of the goal sphere, metres; reaching inside it ends the episode as a success."""
    obstacles: tuple[Obstacle, ...] = ()
    """Static obstacles from the file, in file order (``obstacles[i]`` in messages)."""
    generators: tuple[Generator, ...] = ()
    """Procedural obstacle generators, applied in file order by :meth:`layout`."""

    @property
    def is_procedural(self) -> bool:
        """Whether the layout depends on the random generator (the course has generators)."""
        return bool(self.generators)

    @property
    def draws_frame(self) -> bool:
        """Whether each episode also draws the course's bounds, start, goal and time limit (a mixed generator)."""
        return any(hasattr(generator, "draw_episode") for generator in self.generators)

    def episode(self, rng: np.random.Generator) -> tuple[ObstacleCourse, tuple[Obstacle, ...]]:
        """The course an episode flies and its obstacles, drawn from ``rng``.

        For most courses this is ``(self, self.layout(rng))``. A course with a ``mixed`` generator
        draws its whole frame per episode, so the returned course has that episode's bounds, start,
        goal and time limit (and no generators: it is the fixed course of that one episode).
        """
        for generator in self.generators:
            if hasattr(generator, "draw_episode"):
                frame, obstacles = generator.draw_episode(rng, replace(self, generators=()))
                return replace(frame, obstacles=()), obstacles
        return self, self.layout(rng)

    def with_difficulty_cap(self, cap: float) -> ObstacleCourse:
        """A curriculum stage: a mixed generator's difficulty range and frame offsets scaled by ``cap``
        in (0, 1] (:meth:`MixedGenerator.with_difficulty_cap`); other courses come back unchanged."""
        if cap >= 1.0:
            return self
        generators = tuple(
            generator.with_difficulty_cap(cap) if hasattr(generator, "with_difficulty_cap") else generator
            for generator in self.generators
        )
        return replace(self, generators=generators)

    def layout(self, rng: np.random.Generator) -> tuple[Obstacle, ...]:
        """Static obstacles followed by freshly generated ones drawn from ``rng``.

        Deterministic for a given ``rng`` state. Without generators this returns
        :attr:`obstacles` and draws nothing from ``rng``. Each generator sees the obstacles
        placed before it (static ones and earlier generators' output) as ``course.obstacles``.
        A course that draws its frame (:attr:`draws_frame`) gives its episode's obstacles, which
        belong with that episode's bounds, start and goal: use :meth:`episode` for those.
        """
        if self.draws_frame:
            return self.episode(rng)[1]
        obstacles = self.obstacles
        for generator in self.generators:
            so_far = replace(self, obstacles=obstacles, generators=())
            obstacles = obstacles + generator.generate(rng, so_far)
        return obstacles
