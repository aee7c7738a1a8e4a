"""Is a layout flyable? A 3-D grid flood fill from the start to the goal with a clearance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .geometry import signed_distance
from .shapes import Obstacle, ObstacleArrays, bounding_boxes, pack_obstacles, select_obstacles

if TYPE_CHECKING:
    from .course import ObstacleCourse

MAX_CELLS = 50_000_000
"""Largest grid :func:`free_cell_grid` builds (about 50 MB of booleans per array)."""


def free_cell_grid(
    course: ObstacleCourse, obstacles: Sequence[Obstacle], clearance_m: float, cell_m: float
) -> tuple[NDArray[np.bool_], tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]]:
    """Which grid cells a drone centre may occupy with ``clearance_m`` to spare.

    The bounds are split into cells of at most ``cell_m`` per axis. A cell is free when its
    centre is more than ``clearance_m`` from every obstacle surface and from every face of the
    bounds (floor, ceiling and sides).

    Returns:
        free: bool[nx, ny, nz].
        centres: the cell centre coordinates along x, y and z (float64[nx], [ny], [nz]), metres.
    """
    return free_cells(course.bounds_min, course.bounds_max, pack_obstacles(obstacles), clearance_m, cell_m)


def free_cells(
    bounds_min: Sequence[float], bounds_max: Sequence[float], arrays: ObstacleArrays, clearance_m: float, cell_m: float
) -> tuple[NDArray[np.bool_], tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]]:
    """:func:`free_cell_grid` from the bounds and packed obstacles."""
    if cell_m <= 0 or clearance_m < 0:
        raise ValueError(f"need cell_m > 0 and clearance_m >= 0, got {cell_m} and {clearance_m}")
    low, high = np.asarray(bounds_min, float), np.asarray(bounds_max, float)
    counts = np.maximum(1, np.ceil((high - low) / cell_m - 1e-9).astype(np.int64))
    if int(np.prod(counts)) > MAX_CELLS:
        raise ValueError(
            f"a grid of {counts.tolist()} cells is too large; pass a larger cell_m than {cell_m}"
        )
    centres = tuple(
        low[axis] + (np.arange(counts[axis]) + 0.5) * (high[axis] - low[axis]) / counts[axis]
        for axis in range(3)
    )
    inside = [
        (c > low[axis] + clearance_m) & (c < high[axis] - clearance_m) for axis, c in enumerate(centres)
    ]
    free = inside[0][:, None, None] & inside[1][None, :, None] & inside[2][None, None, :]
    lower, upper = bounding_boxes(arrays)
    # Each obstacle only touches the cells near its bounding box: evaluate just those.
    for index in range(len(arrays.shape)):
        window = []
        for axis in range(3):
            first = np.searchsorted(centres[axis], lower[index, axis] - clearance_m, side="left")
            last = np.searchsorted(centres[axis], upper[index, axis] + clearance_m, side="right")
            window.append(slice(first, last))
        if any(part.stop <= part.start for part in window):
            continue
        grid = np.meshgrid(*(centres[axis][window[axis]] for axis in range(3)), indexing="ij")
        points = np.stack([axis_grid.ravel() for axis_grid in grid], axis=1)
        distance = signed_distance(points, select_obstacles(arrays, slice(index, index + 1)))
        free[tuple(window)] &= (distance > clearance_m).reshape(grid[0].shape)
    return free, centres


def _cells_near(
    centres: tuple[NDArray[np.float64], ...], point: Sequence[float], radius_m: float
) -> NDArray[np.bool_]:
    """bool[nx, ny, nz]: cells whose centre is within ``radius_m`` of ``point``."""
    squared = [(centres[axis] - point[axis]) ** 2 for axis in range(3)]
    distance2 = squared[0][:, None, None] + squared[1][None, :, None] + squared[2][None, None, :]
    return distance2 <= radius_m**2


def _run_labels(free: NDArray[np.bool_], axis: int) -> NDArray[np.int64]:
    """Label every maximal run of free cells along ``axis`` (1, 2, ...; 0 for blocked cells)."""
    moved = np.moveaxis(free, axis, -1)
    starts = moved.copy()
    starts[..., 1:] &= ~moved[..., :-1]
    labels: NDArray[np.int64] = np.cumsum(starts.ravel(), dtype=np.int64).reshape(moved.shape)
    labels[~moved] = 0
    return np.moveaxis(labels, -1, axis)


def free_path_exists(
    course: ObstacleCourse,
    obstacles: Sequence[Obstacle],
    clearance_m: float = 0.15,
    cell_m: float = 0.1,
) -> bool:
    """Whether a drone centre can get from the start to the goal keeping ``clearance_m`` free.

    Moves are between face-adjacent free cells (:func:`free_cell_grid`) inside the bounds. The
    path may begin at any free cell within ``max(clearance_m, half a cell diagonal)`` plus half
    a cell diagonal of the start (the drone may first back away from a close obstacle) and ends
    at any free cell whose centre is within ``goal_radius`` plus half a cell diagonal of the goal.

    The flood fill spreads along whole runs of free cells per axis at a time (vectorised), so
    it takes a number of sweeps proportional to the turns of the path, not its length.
    """
    free, centres = free_cell_grid(course, obstacles, clearance_m, cell_m)
    half_diagonal = 0.5 * float(np.linalg.norm([c[1] - c[0] if len(c) > 1 else cell_m for c in centres]))
    reached = free & _cells_near(
        centres, course.start_position, max(clearance_m, half_diagonal) + half_diagonal
    )
    goal = free & _cells_near(centres, course.goal_position, course.goal_radius + half_diagonal)
    if not goal.any():
        return False
    labels = [_run_labels(free, axis) for axis in range(3)]
    count = int(reached.sum())
    stalled_axes = 0
    axis = 0
    while count and stalled_axes < 3:
        if (reached & goal).any():
            return True
        hit_runs = np.zeros(int(labels[axis].max()) + 1, dtype=bool)
        hit_runs[labels[axis][reached]] = True
        hit_runs[0] = False
        reached = hit_runs[labels[axis]]
        new_count = int(reached.sum())
        stalled_axes = stalled_axes + 1 if new_count == count else 0
        count = new_count
        axis = (axis + 1) % 3
    return bool((reached & goal).any())
