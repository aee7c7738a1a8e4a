"""Path distance to the goal around obstacles: the potential of the ``progress_metric="path"`` reward.

With the straight-line distance as the progress potential, every detour is punished: a wall
across the course (slalom gates, a wall with one window) makes the reward point into the wall.
The path distance is the length of the shortest obstacle-free path from a point to the goal,
so moving toward an opening is progress.

The field is computed once per layout on a grid of cells (:func:`free_cell_grid`, at most
``cell_m`` per axis, free when the cell centre keeps ``clearance_m`` from every obstacle):
Dijkstra from the goal over 26-connected cell centres, an edge costing its length (so
distances are within about 8% of Euclidean in open space). Blocked cells are not walls but
expensive (:data:`BLOCKED_COST` times their length), so the field is finite everywhere and a
drone grazing an obstacle still reads a sensible value. Between cell centres the value is
interpolated trilinearly (:func:`field_value`), the same compiled function in every backend.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.worlds import ObstacleArrays
from spikefly.worlds.solvability import free_cells

DEFAULT_CELL_M = 0.25
BLOCKED_COST = 10.0
"""Cost per metre inside a blocked cell, relative to a free one."""


@dataclass(frozen=True, eq=False)
class PathField:
    """Path distance (m) to the goal at the cell centres of a regular grid."""

    values: NDArray[np.float32]
    """float32[nx, ny, nz]."""
    low: NDArray[np.float64]
    """float64[3]: centre of cell (0, 0, 0), m."""
    step: NDArray[np.float64]
    """float64[3]: spacing of the cell centres per axis, m."""


def path_field(
    bounds_min: Sequence[float], bounds_max: Sequence[float], goal: Sequence[float], goal_radius_m: float,
    arrays: ObstacleArrays, clearance_m: float, cell_m: float = DEFAULT_CELL_M,
) -> PathField:
    """The path-distance field of one layout (``clearance_m``: the drone's collision radius)."""
    free, centres = free_cells(bounds_min, bounds_max, arrays, clearance_m, cell_m)
    low = np.array([c[0] for c in centres])
    step = np.array([(c[1] - c[0]) if len(c) > 1 else cell_m for c in centres])
    values = _dijkstra(free, low, step, np.asarray(goal, np.float64), float(goal_radius_m), BLOCKED_COST)
    return PathField(values.astype(np.float32), low, step)


@njit(cache=True)
def _dijkstra(free, low, step, goal, goal_radius, blocked_cost):
    """Shortest 26-connected path length from every cell centre to the goal."""
    nx, ny, nz = free.shape
    values = np.full((nx, ny, nz), np.inf)
    heap = [(0.0, 0)]
    heap.pop()
    reach = goal_radius + 0.5 * math.sqrt(step[0] ** 2 + step[1] ** 2 + step[2] ** 2)
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                dx = low[0] + i * step[0] - goal[0]
                dy = low[1] + j * step[1] - goal[1]
                dz = low[2] + k * step[2] - goal[2]
                distance = math.sqrt(dx * dx + dy * dy + dz * dz)
                if distance <= reach:
                    values[i, j, k] = distance
                    heapq.heappush(heap, (distance, (i * ny + j) * nz + k))
    if len(heap) == 0:  # goal outside the grid: start from the nearest cell
        i = min(max(int(round((goal[0] - low[0]) / step[0])), 0), nx - 1)
        j = min(max(int(round((goal[1] - low[1]) / step[1])), 0), ny - 1)
        k = min(max(int(round((goal[2] - low[2]) / step[2])), 0), nz - 1)
        values[i, j, k] = 0.0
        heapq.heappush(heap, (0.0, (i * ny + j) * nz + k))
    while len(heap) > 0:
        value, index = heapq.heappop(heap)
        i, rest = divmod(index, ny * nz)
        j, k = divmod(rest, nz)
        if value > values[i, j, k]:
            continue
        here = 1.0 if free[i, j, k] else blocked_cost
        for di in range(-1, 2):
            a = i + di
            if a < 0 or a >= nx:
                continue
            for dj in range(-1, 2):
                b = j + dj
                if b < 0 or b >= ny:
                    continue
                for dk in range(-1, 2):
                    c = k + dk
                    if c < 0 or c >= nz or (di == 0 and dj == 0 and dk == 0):
                        continue
                    there = 1.0 if free[a, b, c] else blocked_cost
                    length = math.sqrt((di * step[0]) ** 2 + (dj * step[1]) ** 2 + (dk * step[2]) ** 2)
                    candidate = value + 0.5 * (here + there) * length
                    if candidate < values[a, b, c]:
                        values[a, b, c] = candidate
                        heapq.heappush(heap, (candidate, (a * ny + b) * nz + c))
    return values


@njit(cache=True)
def field_value(values, low, step, dims, x, y, z):
    """Trilinear interpolation of ``values[:dims[0], :dims[1], :dims[2]]`` at (x, y, z), clamped to the grid."""
    fx = min(max((x - low[0]) / step[0], 0.0), dims[0] - 1.0)
    fy = min(max((y - low[1]) / step[1], 0.0), dims[1] - 1.0)
    fz = min(max((z - low[2]) / step[2], 0.0), dims[2] - 1.0)
    i0 = min(int(fx), max(dims[0] - 2, 0))
    j0 = min(int(fy), max(dims[1] - 2, 0))
    k0 = min(int(fz), max(dims[2] - 2, 0))
    i1 = min(i0 + 1, dims[0] - 1)
    j1 = min(j0 + 1, dims[1] - 1)
    k1 = min(k0 + 1, dims[2] - 1)
    tx, ty, tz = fx - i0, fy - j0, fz - k0
    c00 = values[i0, j0, k0] * (1.0 - tx) + values[i1, j0, k0] * tx
    c10 = values[i0, j1, k0] * (1.0 - tx) + values[i1, j1, k0] * tx
    c01 = values[i0, j0, k1] * (1.0 - tx) + values[i1, j0, k1] * tx
    c11 = values[i0, j1, k1] * (1.0 - tx) + values[i1, j1, k1] * tx
    c0 = c00 * (1.0 - ty) + c10 * ty
    c1 = c01 * (1.0 - ty) + c11 * ty
    return c0 * (1.0 - tz) + c1 * tz


@njit(cache=True)
def goal_potential(x, y, z, goal, path):
    """The progress potential at (x, y, z): the path distance when ``path`` = (values, low, step, dims)
    holds a field (dims set), else the straight-line distance."""
    values, low, step, dims = path
    if dims[0] == 0:
        dx, dy, dz = goal[0] - x, goal[1] - y, goal[2] - z
        return math.sqrt(dx * dx + dy * dy + dz * dz)
    return field_value(values, low, step, dims, x, y, z)
