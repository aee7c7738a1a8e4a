"""Worlds packed for the Numba twin: W (course, layout) pairs as padded arrays.

A drone flies world ``w``: obstacles ``shape[w, :count[w]]`` etc., bounds, start, goal and time
limit. Many drones may share one world (every genome of a generation flies the same episodes).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.sim.path_field import DEFAULT_CELL_M, PathField, path_field
from spikefly.worlds import Obstacle, ObstacleArrays, ObstacleCourse, load_world, pack_obstacles


def layout_rng(episode_seed: int) -> np.random.Generator:
    """The generator that draws an episode's obstacle layout from its seed.

    Both backends use it: the PyBullet env's ``reset(seed=s)`` draws the same layout as the twin
    for seed ``s`` (its first draw from ``np_random`` seeds this generator).
    """
    return np.random.default_rng(int(np.random.default_rng(episode_seed).integers(2**63)))


_PATH = ("path_values", "path_low", "path_step", "path_dims")
_PER_WORLD = ("count", "bounds_min", "bounds_max", "start", "start_yaw", "goal", "goal_radius", "time_limit_s")


@dataclass(frozen=True, eq=False)
class TwinWorlds:
    """W worlds as arrays; obstacle arrays are padded to the largest layout (M)."""

    names: tuple[str, ...]
    """Name of each world's course."""
    shape: NDArray[np.int32]
    """int32[W, M]: obstacle shape codes (worlds.SHAPE_*)."""
    position: NDArray[np.float64]
    """float64[W, M, 3]: obstacle centres, m."""
    half_extents: NDArray[np.float64]
    """float64[W, M, 3]: box half sizes / cylinder (r, r, h/2) / sphere (r, r, r), m."""
    yaw: NDArray[np.float64]
    """float64[W, M]: box yaw about z, rad."""
    count: NDArray[np.int64]
    """int64[W]: obstacles used in each world."""
    bounds_min: NDArray[np.float64]
    """float64[W, 3], m; z is the floor (the ground plane)."""
    bounds_max: NDArray[np.float64]
    """float64[W, 3], m."""
    start: NDArray[np.float64]
    """float64[W, 3], m."""
    start_yaw: NDArray[np.float64]
    """float64[W], rad."""
    goal: NDArray[np.float64]
    """float64[W, 3], m."""
    goal_radius: NDArray[np.float64]
    """float64[W], m."""
    time_limit_s: NDArray[np.float64]
    """float64[W], s."""
    path_values: NDArray[np.float32] = field(default_factory=lambda: np.zeros((1, 1, 1, 1), np.float32))
    """float32[W, NX, NY, NZ]: path distance to the goal per world (:mod:`spikefly.envs.sim.path_field`),
    padded; only with :meth:`with_path_fields`."""
    path_low: NDArray[np.float64] = field(default_factory=lambda: np.zeros((1, 3)))
    """float64[W, 3]: centre of each field's first cell, m."""
    path_step: NDArray[np.float64] = field(default_factory=lambda: np.ones((1, 3)))
    """float64[W, 3]: cell spacing per axis, m."""
    path_dims: NDArray[np.int64] = field(default_factory=lambda: np.zeros((1, 3), np.int64))
    """int64[W, 3]: cells of each field; all 0 = no field (progress is the straight-line distance)."""
    path_clearance_m: float = 0.0
    """Clearance the fields were computed with (0 = no fields)."""
    path_cell_m: float = 0.0
    """Largest cell size of the fields (0 = no fields)."""

    def __post_init__(self) -> None:
        count = len(self.names)
        if self.path_dims.shape[0] != count:  # no fields: one zero row per world
            object.__setattr__(self, "path_values", np.zeros((count, 1, 1, 1), np.float32))
            object.__setattr__(self, "path_low", np.zeros((count, 3)))
            object.__setattr__(self, "path_step", np.ones((count, 3)))
            object.__setattr__(self, "path_dims", np.zeros((count, 3), np.int64))

    @property
    def has_path_fields(self) -> bool:
        return self.path_cell_m > 0.0

    def obstacle_arrays(self, w: int) -> ObstacleArrays:
        """World ``w``'s obstacles as packed arrays."""
        m = int(self.count[w])
        return ObstacleArrays(self.shape[w, :m].copy(), self.position[w, :m].copy(), self.half_extents[w, :m].copy(),
                              self.yaw[w, :m].copy())

    def _field(self, w: int, clearance_m: float, cell_m: float) -> PathField:
        return path_field(self.bounds_min[w], self.bounds_max[w], self.goal[w], float(self.goal_radius[w]),
                          self.obstacle_arrays(w), clearance_m, cell_m)

    def with_path_fields(self, clearance_m: float, cell_m: float = DEFAULT_CELL_M) -> TwinWorlds:
        """A copy carrying every world's path-distance field (the ``progress_metric="path"`` potential)."""
        fields_ = [self._field(w, clearance_m, cell_m) for w in range(len(self))]
        dims = np.array([f.values.shape for f in fields_], np.int64)
        values = np.zeros((len(self), *dims.max(axis=0)), np.float32)
        for w, f in enumerate(fields_):
            values[w, : dims[w, 0], : dims[w, 1], : dims[w, 2]] = f.values
        return replace(self, path_values=values, path_low=np.array([f.low for f in fields_]),
                       path_step=np.array([f.step for f in fields_]), path_dims=dims, path_clearance_m=clearance_m,
                       path_cell_m=cell_m)

    def __len__(self) -> int:
        return len(self.names)

    def widened(self, width: int) -> TwinWorlds:
        """A copy whose obstacle arrays are padded to ``width`` (at least the current width)."""
        width = max(width, self.shape.shape[1])
        extra = width - self.shape.shape[1]

        def pad(array: NDArray) -> NDArray:
            return np.pad(array, [(0, 0), (0, extra)] + [(0, 0)] * (array.ndim - 2))

        return replace(self, shape=pad(self.shape), position=pad(self.position), half_extents=pad(self.half_extents),
                       yaw=pad(self.yaw), **{name: getattr(self, name).copy() for name in _PER_WORLD + _PATH})

    def set_world(self, w: int, course: ObstacleCourse, obstacles: Sequence[Obstacle]) -> bool:
        """Replace world ``w`` in place (a new layout at autoreset). False if the layout is wider
        than the padding; then use :meth:`widened` first."""
        arrays = pack_obstacles(obstacles)
        m = len(arrays.shape)
        if m > self.shape.shape[1]:
            return False
        self.shape[w, :m], self.position[w, :m], self.half_extents[w, :m], self.yaw[w, :m] = (
            arrays.shape, arrays.position_m, arrays.half_extents_m, arrays.yaw_rad
        )
        self.count[w] = m
        self.bounds_min[w], self.bounds_max[w] = course.bounds_min, course.bounds_max
        self.start[w], self.start_yaw[w] = course.start_position, course.start_yaw
        self.goal[w], self.goal_radius[w], self.time_limit_s[w] = course.goal_position, course.goal_radius, course.time_limit_s
        if self.has_path_fields:
            f = self._field(w, self.path_clearance_m, self.path_cell_m)
            dims = f.values.shape
            if any(size > limit for size, limit in zip(dims, self.path_values.shape[1:])):  # a larger course: grow
                grown = np.zeros((len(self), *np.maximum(dims, self.path_values.shape[1:])), np.float32)
                grown[:, : self.path_values.shape[1], : self.path_values.shape[2], : self.path_values.shape[3]] = self.path_values
                object.__setattr__(self, "path_values", grown)
            self.path_values[w] = 0.0
            self.path_values[w, : dims[0], : dims[1], : dims[2]] = f.values
            self.path_low[w], self.path_step[w], self.path_dims[w] = f.low, f.step, dims
        names = list(self.names)
        names[w] = course.name
        object.__setattr__(self, "names", tuple(names))
        return True

    @classmethod
    def pack(cls, worlds: Sequence[tuple[ObstacleCourse, Sequence[Obstacle]]], min_width: int = 1) -> TwinWorlds:
        """Pack (course, layout) pairs, padding obstacle arrays to at least ``min_width``."""
        if not worlds:
            raise ValueError("TwinWorlds.pack: give at least one (course, layout) pair")
        packed = [pack_obstacles(obstacles) for _, obstacles in worlds]
        width = max(1, min_width, max(len(arrays.shape) for arrays in packed))
        count = len(worlds)
        shape = np.zeros((count, width), np.int32)
        position = np.zeros((count, width, 3))
        half_extents = np.zeros((count, width, 3))
        yaw = np.zeros((count, width))
        for w, arrays in enumerate(packed):
            m = len(arrays.shape)
            shape[w, :m], position[w, :m], half_extents[w, :m], yaw[w, :m] = (
                arrays.shape, arrays.position_m, arrays.half_extents_m, arrays.yaw_rad
            )
        courses = [course for course, _ in worlds]
        return cls(
            names=tuple(course.name for course in courses),
            shape=shape,
            position=position,
            half_extents=half_extents,
            yaw=yaw,
            count=np.array([len(arrays.shape) for arrays in packed], np.int64),
            bounds_min=np.array([course.bounds_min for course in courses], np.float64),
            bounds_max=np.array([course.bounds_max for course in courses], np.float64),
            start=np.array([course.start_position for course in courses], np.float64),
            start_yaw=np.array([course.start_yaw for course in courses], np.float64),
            goal=np.array([course.goal_position for course in courses], np.float64),
            goal_radius=np.array([course.goal_radius for course in courses], np.float64),
            time_limit_s=np.array([course.time_limit_s for course in courses], np.float64),
        )

    @classmethod
    def draw(cls, worlds: Sequence[str | os.PathLike[str] | ObstacleCourse], episode_seeds: Sequence[int],
             difficulty_cap: float = 1.0) -> TwinWorlds:
        """One packed world per (world, episode seed) pair, layouts drawn as the PyBullet env draws them.

        ``worlds`` are bundled names, paths or loaded courses; pairs are taken in order (zip), so
        pass equal lengths. ``difficulty_cap`` < 1 scales the difficulty range of worlds that draw one
        (:meth:`ObstacleCourse.with_difficulty_cap`, a curriculum stage).
        """
        if len(worlds) != len(episode_seeds):
            raise ValueError(f"TwinWorlds.draw: {len(worlds)} worlds but {len(episode_seeds)} seeds; pair them one to one")
        loaded: dict[object, ObstacleCourse] = {}
        pairs = []
        for world, seed in zip(worlds, episode_seeds):
            if isinstance(world, ObstacleCourse):
                course = world.with_difficulty_cap(difficulty_cap)
            else:
                key = os.fspath(world)
                course = loaded[key] = loaded.get(key) or load_world(world).with_difficulty_cap(difficulty_cap)
            pairs.append(course.episode(layout_rng(int(seed))))
        return cls.pack(pairs)
