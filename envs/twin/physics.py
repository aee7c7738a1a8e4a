"""Rigid-body integration of the Numba twin, matching PyBullet's free flight.

PyBullet (3.2.7, one free base body, damping switched off) integrates semi-implicitly: velocity
from the forces at the start of the step, then position from the new velocity; world-frame
angular velocity with the gyroscopic term, ``w += I_w^-1 (tau_w - w x I_w w) dt`` with
``I_w = R I R^T``, then the orientation advanced by the rotation of angle ``|w| dt`` about ``w``.
Measured equal to 1e-14 m and 1e-15 rad over 3 s (shared/reference/anchors.md); the twin's
cross-check tests hold it to < 1 cm under the full controller.
"""

from __future__ import annotations

import math

from numba import njit

from spikefly.envs.sim.flight_control import rotation_of


@njit(cache=True, inline="always")
def rigid_body_step(position, quaternion, velocity, angular_velocity, wrench, params):
    """Advance one physics step in place (allocation-free: it runs 8 times per control step).

    ``position`` (3,) m, ``quaternion`` (4,) xyzw, ``velocity`` (3,) m/s and
    ``angular_velocity`` (3,) rad/s are world-frame arrays updated in place; ``wrench`` is the
    body-frame (fx, fy, fz, tx, ty, tz) from the flight controller; ``params`` the flight records
    (:mod:`spikefly.envs.sim.flight_control`): the last row's mass and inertia are the drone flown.
    """
    p = params[params.shape[0] - 1]
    dt = p.dt_s
    r = rotation_of(quaternion)
    fx, fy, fz, tx, ty, tz = wrench
    scale = dt / p.mass_kg
    velocity[0] += (r[0] * fx + r[1] * fy + r[2] * fz) * scale
    velocity[1] += (r[3] * fx + r[4] * fy + r[5] * fz) * scale
    velocity[2] += (r[6] * fx + r[7] * fy + r[8] * fz) * scale - p.gravity_mps2 * dt
    position[0] += velocity[0] * dt
    position[1] += velocity[1] * dt
    position[2] += velocity[2] * dt

    # Angular, in the body frame: w_b = R^T w, so that I_w^-1 (tau_w - w x I_w w) = R I^-1 (tau_b - w_b x I w_b).
    wx, wy, wz = angular_velocity[0], angular_velocity[1], angular_velocity[2]
    b0 = r[0] * wx + r[3] * wy + r[6] * wz
    b1 = r[1] * wx + r[4] * wy + r[7] * wz
    b2 = r[2] * wx + r[5] * wy + r[8] * wz
    m0, m1, m2 = p.inertia_x * b0, p.inertia_y * b1, p.inertia_z * b2
    a0 = (tx - (b1 * m2 - b2 * m1)) / p.inertia_x
    a1 = (ty - (b2 * m0 - b0 * m2)) / p.inertia_y
    a2 = (tz - (b0 * m1 - b1 * m0)) / p.inertia_z
    angular_velocity[0] += (r[0] * a0 + r[1] * a1 + r[2] * a2) * dt
    angular_velocity[1] += (r[3] * a0 + r[4] * a1 + r[5] * a2) * dt
    angular_velocity[2] += (r[6] * a0 + r[7] * a1 + r[8] * a2) * dt

    # Orientation: q <- exp(w dt) * q (rotation about the world-frame angular velocity).
    wx, wy, wz = angular_velocity[0], angular_velocity[1], angular_velocity[2]
    rate = math.sqrt(wx * wx + wy * wy + wz * wz)
    angle = rate * dt
    if angle > 0.0:
        s = math.sin(0.5 * angle) / rate
        ax, ay, az, aw = wx * s, wy * s, wz * s, math.cos(0.5 * angle)
        qx, qy, qz, qw = quaternion[0], quaternion[1], quaternion[2], quaternion[3]
        nx = aw * qx + ax * qw + ay * qz - az * qy
        ny = aw * qy - ax * qz + ay * qw + az * qx
        nz = aw * qz + ax * qy - ay * qx + az * qw
        nw = aw * qw - ax * qx - ay * qy - az * qz
        norm = math.sqrt(nx * nx + ny * ny + nz * nz + nw * nw)
        quaternion[0], quaternion[1], quaternion[2], quaternion[3] = nx / norm, ny / norm, nz / norm, nw / norm
