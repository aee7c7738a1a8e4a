"""Obstacle shapes and their packed array form.

The dataclasses are what a world file describes; :func:`pack_obstacles` turns a sequence of
them into :class:`ObstacleArrays`, the flat form that vectorised and compiled code reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Vector3 = tuple[float, float, float]

SHAPE_BOX = 0
"""``ObstacleArrays.shape`` code of a :class:`Box`."""
SHAPE_CYLINDER = 1
"""``ObstacleArrays.shape`` code of a :class:`Cylinder`."""
SHAPE_SPHERE = 2
"""``ObstacleArrays.shape`` code of a :class:`Sphere`."""


@dataclass(frozen=True)
class Box:
    """A box, optionally turned about the vertical axis."""

    position: Vector3
    """Centre [x, y, z] in metres."""
    size: Vector3
    """FULL extents [x, y, z] in metres along the box's own axes (before yaw), all > 0."""
    yaw: float = 0.0
    """Rotation about +z in radians (counter-clockwise seen from above)."""


@dataclass(frozen=True)
class Cylinder:
    """A vertical cylinder (axis along z) with flat caps."""

    position: Vector3
    """Centre [x, y, z] in metres (half way up the axis)."""
    radius: float
    """Radius in metres, > 0."""
    height: float
    """Full height along z in metres, > 0."""


@dataclass(frozen=True)
class Sphere:
    """A sphere."""

    position: Vector3
    """Centre [x, y, z] in metres."""
    radius: float
    """Radius in metres, > 0."""


Obstacle = Box | Cylinder | Sphere
"""Any static obstacle shape."""


class ObstacleArrays(NamedTuple):
    """N obstacles as flat arrays (the form compiled code reads)."""

    shape: NDArray[np.int32]
    """int32[N]: ``SHAPE_BOX``, ``SHAPE_CYLINDER`` or ``SHAPE_SPHERE``."""
    position_m: NDArray[np.float64]
    """float64[N, 3]: centres, metres."""
    half_extents_m: NDArray[np.float64]
    """float64[N, 3]: box half sizes; cylinder (r, r, h/2); sphere (r, r, r); metres."""
    yaw_rad: NDArray[np.float64]
    """float64[N]: rotation about +z, radians (0 for cylinders and spheres)."""


def pack_obstacles(obstacles: Iterable[Obstacle]) -> ObstacleArrays:
    """Pack obstacles into :class:`ObstacleArrays` (works for none: arrays of length 0)."""
    shapes: list[int] = []
    positions: list[tuple[float, ...]] = []
    half_extents: list[tuple[float, ...]] = []
    yaws: list[float] = []
    for obstacle in obstacles:
        if isinstance(obstacle, Box):
            shapes.append(SHAPE_BOX)
            half_extents.append(tuple(0.5 * s for s in obstacle.size))
            yaws.append(obstacle.yaw)
        elif isinstance(obstacle, Cylinder):
            shapes.append(SHAPE_CYLINDER)
            half_extents.append((obstacle.radius, obstacle.radius, 0.5 * obstacle.height))
            yaws.append(0.0)
        elif isinstance(obstacle, Sphere):
            shapes.append(SHAPE_SPHERE)
            half_extents.append((obstacle.radius,) * 3)
            yaws.append(0.0)
        else:
            raise TypeError(f"expected a Box, Cylinder or Sphere, got {type(obstacle).__name__}")
        positions.append(tuple(obstacle.position))
    count = len(shapes)
    return ObstacleArrays(
        shape=np.asarray(shapes, dtype=np.int32).reshape(count),
        position_m=np.asarray(positions, dtype=np.float64).reshape(count, 3),
        half_extents_m=np.asarray(half_extents, dtype=np.float64).reshape(count, 3),
        yaw_rad=np.asarray(yaws, dtype=np.float64).reshape(count),
    )


def select_obstacles(arrays: ObstacleArrays, index: NDArray[np.intp] | slice) -> ObstacleArrays:
    """The obstacles of ``arrays`` at ``index`` (an index array or slice)."""
    return ObstacleArrays(
        shape=arrays.shape[index],
        position_m=arrays.position_m[index],
        half_extents_m=arrays.half_extents_m[index],
        yaw_rad=arrays.yaw_rad[index],
    )


def bounding_boxes(arrays: ObstacleArrays) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Axis-aligned bounding boxes: (lower float64[N, 3], upper float64[N, 3]) in metres."""
    half = arrays.half_extents_m.copy()
    is_box = arrays.shape == SHAPE_BOX
    cos_yaw = np.abs(np.cos(arrays.yaw_rad[is_box]))
    sin_yaw = np.abs(np.sin(arrays.yaw_rad[is_box]))
    box_half = arrays.half_extents_m[is_box]
    half[is_box, 0] = cos_yaw * box_half[:, 0] + sin_yaw * box_half[:, 1]
    half[is_box, 1] = sin_yaw * box_half[:, 0] + cos_yaw * box_half[:, 1]
    return arrays.position_m - half, arrays.position_m + half
