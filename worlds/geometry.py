"""Exact signed distances from points to packed obstacles (vectorised numpy)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .shapes import SHAPE_BOX, SHAPE_CYLINDER, SHAPE_SPHERE, ObstacleArrays

_MAX_PAIRS_PER_CHUNK = 1 << 21
"""Points x obstacles evaluated at once; bounds the temporary memory to a few tens of MB."""


def _box_distance(
    offset: NDArray[np.float64], half: NDArray[np.float64], yaw: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Signed distance for offsets float64[M, K, 3] from K box centres (half sizes [K, 3])."""
    cos_yaw, sin_yaw = np.cos(yaw), np.sin(yaw)
    # Rotate the offset by -yaw into the box frame.
    local_x = cos_yaw * offset[..., 0] + sin_yaw * offset[..., 1]
    local_y = -sin_yaw * offset[..., 0] + cos_yaw * offset[..., 1]
    local = np.stack((local_x, local_y, offset[..., 2]), axis=-1)
    excess = np.abs(local) - half
    outside = np.linalg.norm(np.maximum(excess, 0.0), axis=-1)
    inside = np.minimum(excess.max(axis=-1), 0.0)
    return outside + inside


def _cylinder_distance(offset: NDArray[np.float64], half: NDArray[np.float64]) -> NDArray[np.float64]:
    """Signed distance for offsets float64[M, K, 3] from K vertical cylinder centres."""
    radial = np.hypot(offset[..., 0], offset[..., 1]) - half[:, 0]
    axial = np.abs(offset[..., 2]) - half[:, 2]
    outside = np.hypot(np.maximum(radial, 0.0), np.maximum(axial, 0.0))
    inside = np.minimum(np.maximum(radial, axial), 0.0)
    return outside + inside


def _sphere_distance(offset: NDArray[np.float64], half: NDArray[np.float64]) -> NDArray[np.float64]:
    """Signed distance for offsets float64[M, K, 3] from K sphere centres."""
    return np.linalg.norm(offset, axis=-1) - half[:, 0]


def _nearest(points: NDArray[np.float64], arrays: ObstacleArrays) -> NDArray[np.float64]:
    """Minimum signed distance over all obstacles for points float64[M, 3]."""
    result = np.full(points.shape[0], np.inf)
    for code in (SHAPE_BOX, SHAPE_CYLINDER, SHAPE_SPHERE):
        chosen = np.flatnonzero(arrays.shape == code)
        if chosen.size == 0:
            continue
        offset = points[:, None, :] - arrays.position_m[chosen][None, :, :]
        half = arrays.half_extents_m[chosen]
        if code == SHAPE_BOX:
            distance = _box_distance(offset, half, arrays.yaw_rad[chosen])
        elif code == SHAPE_CYLINDER:
            distance = _cylinder_distance(offset, half)
        else:
            distance = _sphere_distance(offset, half)
        np.minimum(result, distance.min(axis=1), out=result)
    return result


def signed_distance(points: ArrayLike, arrays: ObstacleArrays) -> NDArray[np.float64]:
    """Exact Euclidean signed distance from each point to the nearest obstacle surface.

    Args:
        points: float64[M, 3] (or [3] for one point), metres.
        arrays: packed obstacles (:func:`pack_obstacles`).

    Returns:
        float64[M] (a numpy float for a single point [3]) in metres: positive outside every obstacle,
        negative inside one, zero on a surface; ``+inf`` when there are no obstacles.
        Exact for boxes turned about z, finite vertical cylinders (side, caps and rim) and
        spheres.
    """
    query = np.asarray(points, dtype=np.float64)
    single = query.ndim == 1
    query = np.atleast_2d(query)
    if query.ndim != 2 or query.shape[1] != 3:
        raise ValueError(f"points must have shape (M, 3), got {np.shape(points)}")
    count = len(arrays.shape)
    result = np.full(query.shape[0], np.inf)
    if count > 0:
        chunk = max(1, _MAX_PAIRS_PER_CHUNK // count)
        for start in range(0, query.shape[0], chunk):
            result[start : start + chunk] = _nearest(query[start : start + chunk], arrays)
    return result[0] if single else result
