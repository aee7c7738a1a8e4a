"""Inner flight controller, motor model and drag as pure Numba kernels over plain floats.

One call per physics step turns the drone's state and the action into the body-frame force and
torque to apply. The same kernels serve the PyBullet environment and the batched Numba twin, so
the two share one controller, one motor model and one drag model.

Conventions: world frame z up; quaternions (x, y, z, w) as PyBullet returns them; body frame x
forward, y left, z up; angular velocity in the world frame (PyBullet's ``getBaseVelocity``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit



@njit(cache=True)
def quaternion_to_matrix(quaternion) -> np.ndarray:
    """Rotation matrix (3, 3), body to world, from a unit quaternion (x, y, z, w)."""
    x, y, z, w = quaternion[0], quaternion[1], quaternion[2], quaternion[3]
    rotation = np.empty((3, 3))
    rotation[0, 0] = 1.0 - 2.0 * (y * y + z * z)
    rotation[0, 1] = 2.0 * (x * y - z * w)
    rotation[0, 2] = 2.0 * (x * z + y * w)
    rotation[1, 0] = 2.0 * (x * y + z * w)
    rotation[1, 1] = 1.0 - 2.0 * (x * x + z * z)
    rotation[1, 2] = 2.0 * (y * z - x * w)
    rotation[2, 0] = 2.0 * (x * z - y * w)
    rotation[2, 1] = 2.0 * (y * z + x * w)
    rotation[2, 2] = 1.0 - 2.0 * (x * x + y * y)
    return rotation


@njit(cache=True)
def _motor_wrench(rpm_command, motor_rpm, rotation, velocity, wind, p):
    """Advance the motor lag one physics step and return the body-frame force and torque.

    ``rpm_command``, ``motor_rpm``: shape (4,), RPM; ``motor_rpm`` is updated in place.
    ``velocity``, ``wind``: world frame, m/s. Returns (fx, fy, fz, tx, ty, tz) in N and N·m.
    """
    thrust = np.empty(4)
    for i in range(4):
        motor_rpm[i] += p.motor_alpha * (rpm_command[i] - motor_rpm[i])
        thrust[i] = p.thrust_coefficient * motor_rpm[i] * motor_rpm[i]
    torque_ratio = p.torque_coefficient / p.thrust_coefficient
    torque_x = p.arm_xy_m * (-thrust[0] - thrust[1] + thrust[2] + thrust[3])
    torque_y = p.arm_xy_m * (-thrust[0] + thrust[1] + thrust[2] - thrust[3])
    torque_z = torque_ratio * (-thrust[0] + thrust[1] - thrust[2] + thrust[3])
    # Linear drag on the air-relative velocity, in the body frame.
    rel_x = velocity[0] - wind[0]
    rel_y = velocity[1] - wind[1]
    rel_z = velocity[2] - wind[2]
    body_x = rotation[0, 0] * rel_x + rotation[1, 0] * rel_y + rotation[2, 0] * rel_z
    body_y = rotation[0, 1] * rel_x + rotation[1, 1] * rel_y + rotation[2, 1] * rel_z
    body_z = rotation[0, 2] * rel_x + rotation[1, 2] * rel_y + rotation[2, 2] * rel_z
    force_x = -p.drag_x * body_x
    force_y = -p.drag_y * body_y
    force_z = thrust[0] + thrust[1] + thrust[2] + thrust[3] - p.drag_z * body_z
    return force_x, force_y, force_z, torque_x, torque_y, torque_z


@njit(cache=True)
def rpm_mode_wrench(quaternion, velocity, action, motor_rpm, wind, params):
    """``action_mode="rpm"``: action (4,) in [-1, 1] maps linearly to [0, max_rpm] per motor.

    ``params``: :func:`spikefly.envs.drone_model.flight_record` of the drone.
    """
    p = params[0]
    rotation = quaternion_to_matrix(quaternion)
    rpm_command = np.empty(4)
    for i in range(4):
        rpm_command[i] = p.max_rpm * 0.5 * (min(max(action[i], -1.0), 1.0) + 1.0)
    return _motor_wrench(rpm_command, motor_rpm, rotation, velocity, wind, p)


@njit(cache=True)
def velocity_mode_wrench(quaternion, velocity, angular_velocity, action, motor_rpm, integral, wind, params):
    """``action_mode="velocity"``: one physics step of the cascaded controller and motors.

    ``action`` (4,) in [-1, 1]: forward and lateral velocity in the heading (yaw) frame, vertical
    velocity, yaw rate — scaled by ``p.max_speed_xy_mps``, ``p.max_speed_z_mps``,
    ``p.max_yaw_rate_rps``. Cascade: velocity error (P + I) -> desired acceleration -> thrust
    vector with tilt limit -> desired attitude (geometric SO(3) error) -> body-rate set-point ->
    torque (with gyroscopic feed-forward) -> X mixer -> RPM commands -> motor lag.
    ``integral`` (3,) holds the velocity-error integral (m) and ``motor_rpm`` (4,) the rotor
    speeds; both are updated in place. ``params``: :func:`spikefly.envs.drone_model.flight_record`.
    Returns the body-frame (fx, fy, fz, tx, ty, tz).
    """
    p = params[0]
    rotation = quaternion_to_matrix(quaternion)
    yaw = math.atan2(rotation[1, 0], rotation[0, 0])
    cos_yaw = math.cos(yaw)
    sin_yaw = math.sin(yaw)
    forward = min(max(action[0], -1.0), 1.0) * p.max_speed_xy_mps
    lateral = min(max(action[1], -1.0), 1.0) * p.max_speed_xy_mps
    vertical = min(max(action[2], -1.0), 1.0) * p.max_speed_z_mps
    yaw_rate_setpoint = min(max(action[3], -1.0), 1.0) * p.max_yaw_rate_rps

    error = np.empty(3)
    error[0] = cos_yaw * forward - sin_yaw * lateral - velocity[0]
    error[1] = sin_yaw * forward + cos_yaw * lateral - velocity[1]
    error[2] = vertical - velocity[2]
    for i in range(3):
        # Integrate only near the set-point: the integral then trims wind and model error
        # without winding up (and overshooting) while the drone accelerates.
        if abs(error[i]) < p.integral_band_mps:
            integral[i] = min(max(integral[i] + error[i] * p.dt_s, -0.5), 0.5)
    # Desired force (world): P + I on velocity, drag feed-forward on ground velocity, gravity.
    force = np.empty(3)
    force[0] = p.mass_kg * (p.velocity_gain_xy * error[0] + p.velocity_integral_gain * integral[0])
    force[1] = p.mass_kg * (p.velocity_gain_xy * error[1] + p.velocity_integral_gain * integral[1])
    force[2] = p.mass_kg * (p.velocity_gain_z * error[2] + p.velocity_integral_gain * integral[2] + p.gravity_mps2)
    drag = (p.drag_x, p.drag_y, p.drag_z)
    for i in range(3):
        body_velocity = rotation[0, i] * velocity[0] + rotation[1, i] * velocity[1] + rotation[2, i] * velocity[2]
        for j in range(3):
            force[j] += rotation[j, i] * drag[i] * body_velocity
    max_thrust = 4.0 * p.thrust_coefficient * p.max_rpm * p.max_rpm
    force[2] = min(max(force[2], 0.2 * p.mass_kg * p.gravity_mps2), 0.9 * max_thrust)
    horizontal = math.sqrt(force[0] * force[0] + force[1] * force[1])
    max_horizontal = force[2] * math.tan(p.max_tilt_rad)
    if horizontal > max_horizontal:
        force[0] *= max_horizontal / horizontal
        force[1] *= max_horizontal / horizontal

    # Desired attitude: body z along the force, heading kept at the current yaw.
    norm = math.sqrt(force[0] ** 2 + force[1] ** 2 + force[2] ** 2)
    z_axis = force / norm
    y_axis = np.array([z_axis[1] * 0.0 - z_axis[2] * sin_yaw, z_axis[2] * cos_yaw - z_axis[0] * 0.0, z_axis[0] * sin_yaw - z_axis[1] * cos_yaw])
    y_axis /= math.sqrt(y_axis[0] ** 2 + y_axis[1] ** 2 + y_axis[2] ** 2)
    x_axis = np.array([y_axis[1] * z_axis[2] - y_axis[2] * z_axis[1], y_axis[2] * z_axis[0] - y_axis[0] * z_axis[2], y_axis[0] * z_axis[1] - y_axis[1] * z_axis[0]])
    desired = np.empty((3, 3))
    desired[:, 0] = x_axis
    desired[:, 1] = y_axis
    desired[:, 2] = z_axis
    # e_R = vee(R_d^T R - R^T R_d) / 2
    mismatch = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            for k in range(3):
                mismatch[i, j] += desired[k, i] * rotation[k, j] - rotation[k, i] * desired[k, j]
    attitude_error = 0.5 * np.array([mismatch[2, 1], mismatch[0, 2], mismatch[1, 0]])

    body_rate = np.empty(3)
    for i in range(3):
        body_rate[i] = rotation[0, i] * angular_velocity[0] + rotation[1, i] * angular_velocity[1] + rotation[2, i] * angular_velocity[2]
    inertia = np.array([p.inertia_x, p.inertia_y, p.inertia_z])
    rate_setpoint = -p.attitude_gain * attitude_error
    rate_setpoint[2] = yaw_rate_setpoint
    gains = np.array([p.rate_gain, p.rate_gain, p.yaw_rate_gain])
    momentum = inertia * body_rate
    gyroscopic = np.array([
        body_rate[1] * momentum[2] - body_rate[2] * momentum[1],
        body_rate[2] * momentum[0] - body_rate[0] * momentum[2],
        body_rate[0] * momentum[1] - body_rate[1] * momentum[0],
    ])
    torque = inertia * gains * (rate_setpoint - body_rate) + gyroscopic
    collective = force[0] * rotation[0, 2] + force[1] * rotation[1, 2] + force[2] * rotation[2, 2]

    # X mixer: the allocation matrix has orthogonal rows, so its inverse is written out.
    torque_ratio = p.torque_coefficient / p.thrust_coefficient
    roll_share = torque[0] / (4.0 * p.arm_xy_m)
    pitch_share = torque[1] / (4.0 * p.arm_xy_m)
    yaw_share = torque[2] / (4.0 * torque_ratio)
    max_motor_thrust = p.thrust_coefficient * p.max_rpm * p.max_rpm
    rpm_command = np.empty(4)
    roll_sign = (-1.0, -1.0, 1.0, 1.0)
    pitch_sign = (-1.0, 1.0, 1.0, -1.0)
    yaw_sign = (-1.0, 1.0, -1.0, 1.0)
    for i in range(4):
        motor_thrust = 0.25 * collective + roll_sign[i] * roll_share + pitch_sign[i] * pitch_share + yaw_sign[i] * yaw_share
        motor_thrust = min(max(motor_thrust, 0.0), max_motor_thrust)
        rpm_command[i] = math.sqrt(motor_thrust / p.thrust_coefficient)
    return _motor_wrench(rpm_command, motor_rpm, rotation, velocity, wind, p)
