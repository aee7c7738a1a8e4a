"""The quadrotor observation vector, assembled in compiled code (one definition for every backend).

Layout: see :func:`spikefly.envs.quadrotor_settings.observation_layout` and the env docstring.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from spikefly.envs.sim.flight_control import rotation_of

N_STATE_OBSERVATIONS = 10
"""Observation elements after the R range readings: goal bearing sin and cos, goal distance, goal
height, body velocity (3), roll, pitch and height above the floor."""


@njit(cache=True)
def ray_segments(position, yaw_rad, directions, start_m, max_range_m):
    """Start and end points (R, 3) of the rays: heading-frame ``directions`` (R, 3) turned by yaw."""
    count = directions.shape[0]
    starts = np.empty((count, 3))
    ends = np.empty((count, 3))
    cos_yaw = math.cos(yaw_rad)
    sin_yaw = math.sin(yaw_rad)
    for i in range(count):
        wx = cos_yaw * directions[i, 0] - sin_yaw * directions[i, 1]
        wy = sin_yaw * directions[i, 0] + cos_yaw * directions[i, 1]
        wz = directions[i, 2]
        starts[i, 0] = position[0] + start_m * wx
        starts[i, 1] = position[1] + start_m * wy
        starts[i, 2] = position[2] + start_m * wz
        ends[i, 0] = position[0] + max_range_m * wx
        ends[i, 1] = position[1] + max_range_m * wy
        ends[i, 2] = position[2] + max_range_m * wz
    return starts, ends


@njit(cache=True)
def geofence_ranges(ranges_m, position, yaw_rad, directions, bounds_min, bounds_max):
    """Shorten each reading in ``ranges_m`` (R,) to where its ray leaves the box [bounds_min, bounds_max].

    Rays start at the drone's centre ``position``; ``directions`` (R, 3) are in the heading frame,
    turned by ``yaw_rad``. A drone on or outside a face reads 0 along rays heading out through it.
    """
    cos_yaw = math.cos(yaw_rad)
    sin_yaw = math.sin(yaw_rad)
    for j in range(directions.shape[0]):
        world = (cos_yaw * directions[j, 0] - sin_yaw * directions[j, 1],
                 sin_yaw * directions[j, 0] + cos_yaw * directions[j, 1],
                 directions[j, 2])
        exit_m = ranges_m[j]
        for axis in range(3):
            w = world[axis]
            if w > 1e-12:
                exit_m = min(exit_m, (bounds_max[axis] - position[axis]) / w)
            elif w < -1e-12:
                exit_m = min(exit_m, (bounds_min[axis] - position[axis]) / w)
        ranges_m[j] = max(exit_m, 0.0)


@njit(cache=True)
def heading_of(quaternion) -> float:
    """Yaw (rad) of a quaternion (x, y, z, w)."""
    x, y, z, w = quaternion[0], quaternion[1], quaternion[2], quaternion[3]
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


@njit(cache=True)
def assemble_observation(
    position, quaternion, velocity, ranges_m, goal, floor_m, ceiling_m, max_range_m, goal_distance_scale_m, velocity_scale_mps
):
    """The float32 observation (R + 10,) from the drone state and range readings ``ranges_m`` (R,)."""
    out = np.empty(ranges_m.shape[0] + N_STATE_OBSERVATIONS, dtype=np.float32)
    assemble_observation_into(
        out, position, quaternion, velocity, ranges_m, goal, floor_m, ceiling_m, max_range_m, goal_distance_scale_m,
        velocity_scale_mps,
    )
    return out


@njit(cache=True)
def assemble_observation_into(
    out, position, quaternion, velocity, ranges_m, goal, floor_m, ceiling_m, max_range_m, goal_distance_scale_m,
    velocity_scale_mps,
):
    """:func:`assemble_observation` writing into ``out`` float32[R + 10] (no allocation, for hot loops)."""
    count = ranges_m.shape[0]
    for i in range(count):
        out[i] = ranges_m[i] / max_range_m
    r = rotation_of(quaternion)
    yaw = math.atan2(r[3], r[0])
    pitch = -math.asin(min(max(r[6], -1.0), 1.0))
    roll = math.atan2(r[7], r[8])
    dx = goal[0] - position[0]
    dy = goal[1] - position[1]
    dz = goal[2] - position[2]
    bearing = math.atan2(dy, dx) - yaw
    out[count] = math.sin(bearing)
    out[count + 1] = math.cos(bearing)
    out[count + 2] = min(math.sqrt(dx * dx + dy * dy + dz * dz) / goal_distance_scale_m, 1.0)
    out[count + 3] = min(max(dz / 2.0, -1.0), 1.0)
    for i in range(3):
        body = r[i] * velocity[0] + r[3 + i] * velocity[1] + r[6 + i] * velocity[2]
        out[count + 4 + i] = min(max(body / velocity_scale_mps, -1.0), 1.0)
    out[count + 7] = roll / math.pi
    out[count + 8] = pitch / math.pi
    out[count + 9] = min(max((position[2] - floor_m) / (ceiling_m - floor_m), 0.0), 1.0)
