"""Inner flight controller, motor model and drag as pure Numba kernels over plain floats.

One call per physics step turns the drone's state and the action into the body-frame force and
torque to apply. The same kernels serve the PyBullet environment and the batched Numba twin, so
the two share one controller, one motor model and one drag model. They run 8 times per control
step for every drone, so they allocate nothing: rotations are 9-tuples, vectors are scalars.

``params`` is a structured array of flight records (:func:`spikefly.envs.sim.drone_model.flight_record`)
with one or two rows: ``params[0]`` is the drone the controller assumes (nominal constants and
gains), the last row the drone actually flown, whose mass, inertia, rotor coefficients and motor
lag may differ per episode (model error, :mod:`spikefly.envs.sim.randomisation`). The controller
reads only the first row, the motors and the rigid body only the last. One array rather than two
arguments: the PyBullet env calls these from Python every physics step, and each array argument
costs the dispatcher ~0.4 us.

Conventions: world frame z up; quaternions (x, y, z, w) as PyBullet returns them; body frame x
forward, y left, z up; angular velocity in the world frame (PyBullet's ``getBaseVelocity``).
A rotation ``(r00, r01, r02, r10, ..., r22)`` maps body to world; its column j is body axis j.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def rotation_of(quaternion):
    """Body-to-world rotation of a unit quaternion (x, y, z, w), row-major as a 9-tuple."""
    x, y, z, w = quaternion[0], quaternion[1], quaternion[2], quaternion[3]
    return (
        1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - z * w), 2.0 * (x * z + y * w),
        2.0 * (x * y + z * w), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - x * w),
        2.0 * (x * z - y * w), 2.0 * (y * z + x * w), 1.0 - 2.0 * (x * x + y * y),
    )


@njit(cache=True)
def rotor_power_w(motor_rpm, torque_coefficient):
    """Mechanical power the rotors absorb, W: reaction torque x angular speed, summed.

    ``motor_rpm`` (4,) RPM; ``torque_coefficient`` km in N·m per RPM². Integrated over a flight
    this is the energy of flight in joules (divide by a motor and propeller efficiency for
    electrical energy).
    """
    total = 0.0
    for i in range(motor_rpm.shape[0]):
        total += motor_rpm[i] * motor_rpm[i] * abs(motor_rpm[i])
    return torque_coefficient * (2.0 * math.pi / 60.0) * total


@njit(cache=True, inline="always")
def _motor_wrench(command0, command1, command2, command3, motor_rpm, r, velocity, wind, p):
    """Advance the motor lag one physics step and return the body-frame force and torque.

    ``command*``: commanded RPM of motors 0..3; ``motor_rpm`` (4,) is updated in place; ``r`` the
    rotation 9-tuple; ``velocity``, ``wind``: world frame, m/s; ``p`` the flown drone's flight
    record (motor lag, rotor coefficients, arm, drag). Returns (fx, fy, fz, tx, ty, tz) in N and N·m.
    """
    motor_rpm[0] += p.motor_alpha * (command0 - motor_rpm[0])
    motor_rpm[1] += p.motor_alpha * (command1 - motor_rpm[1])
    motor_rpm[2] += p.motor_alpha * (command2 - motor_rpm[2])
    motor_rpm[3] += p.motor_alpha * (command3 - motor_rpm[3])
    thrust0 = p.thrust_coefficient * motor_rpm[0] * motor_rpm[0]
    thrust1 = p.thrust_coefficient * motor_rpm[1] * motor_rpm[1]
    thrust2 = p.thrust_coefficient * motor_rpm[2] * motor_rpm[2]
    thrust3 = p.thrust_coefficient * motor_rpm[3] * motor_rpm[3]
    torque_ratio = p.torque_coefficient / p.thrust_coefficient
    torque_x = p.arm_xy_m * (-thrust0 - thrust1 + thrust2 + thrust3)
    torque_y = p.arm_xy_m * (-thrust0 + thrust1 + thrust2 - thrust3)
    torque_z = torque_ratio * (-thrust0 + thrust1 - thrust2 + thrust3)
    # Linear drag on the air-relative velocity, in the body frame.
    rel_x = velocity[0] - wind[0]
    rel_y = velocity[1] - wind[1]
    rel_z = velocity[2] - wind[2]
    body_x = r[0] * rel_x + r[3] * rel_y + r[6] * rel_z
    body_y = r[1] * rel_x + r[4] * rel_y + r[7] * rel_z
    body_z = r[2] * rel_x + r[5] * rel_y + r[8] * rel_z
    force_x = -p.drag_x * body_x
    force_y = -p.drag_y * body_y
    force_z = thrust0 + thrust1 + thrust2 + thrust3 - p.drag_z * body_z
    return force_x, force_y, force_z, torque_x, torque_y, torque_z


@njit(cache=True)
def clip_unit(value):
    """``value`` clipped to [-1, 1] (set-points and actions; shared with :mod:`guidance`)."""
    return min(max(value, -1.0), 1.0)


GUIDED_CRUISE = 0.7
"""``action_mode="guided"``: forward set-point at action 0 when facing the goal, as a fraction of
``max_speed_xy_mps`` (it falls with the cosine of the goal bearing, to 0 at 90 degrees and beyond)."""
GUIDED_YAW_GAIN = 2.0
"""``action_mode="guided"``: yaw-rate set-point per radian of goal bearing, 1/s."""
GUIDED_CLIMB_GAIN = 1.0
"""``action_mode="guided"``: vertical set-point per metre of goal height above the drone, 1/s."""


@njit(cache=True, inline="always")
def guided_setpoint(action, position, quaternion, goal, params):
    """``action_mode="guided"``: the velocity-mode action (a 4-tuple) for ``action`` (4,).

    A goal-seeking guidance law gives the set-points at action 0: turn toward the goal
    (``GUIDED_YAW_GAIN`` times its bearing), fly forward at ``GUIDED_CRUISE`` of full speed times
    the bearing's cosine (none while it is behind), and climb or sink toward its height
    (``GUIDED_CLIMB_GAIN``). The action is added to them, each clipped to [-1, 1]: forward,
    lateral, vertical, yaw rate, in the velocity mode's units. A controller then only has to learn
    how to deviate from the straight line, e.g. slide sideways away from a near obstacle. It reads
    the goal's bearing and height, which are in every observation. ``params[0]``: the nominal
    flight record (its speed limits).
    """
    p = params[0]
    r = rotation_of(quaternion)
    yaw = math.atan2(r[3], r[0])
    bearing = math.atan2(goal[1] - position[1], goal[0] - position[0]) - yaw
    bearing = math.atan2(math.sin(bearing), math.cos(bearing))
    return (
        clip_unit(GUIDED_CRUISE * max(math.cos(bearing), 0.0) + action[0]),
        clip_unit(action[1]),
        clip_unit(GUIDED_CLIMB_GAIN * (goal[2] - position[2]) / p.max_speed_z_mps + action[2]),
        clip_unit(GUIDED_YAW_GAIN * bearing / p.max_yaw_rate_rps + action[3]),
    )


@njit(cache=True, inline="always")
def rpm_mode_wrench(quaternion, velocity, action, motor_rpm, wind, params):
    """``action_mode="rpm"``: action (4,) in [-1, 1] maps linearly to [0, max_rpm] per motor.

    ``params``: flight records (see the module docstring): the nominal max RPM, the flown motors.
    """
    p = params[0]
    half = 0.5 * p.max_rpm
    return _motor_wrench(
        half * (clip_unit(action[0]) + 1.0), half * (clip_unit(action[1]) + 1.0), half * (clip_unit(action[2]) + 1.0),
        half * (clip_unit(action[3]) + 1.0), motor_rpm, rotation_of(quaternion), velocity, wind,
        params[params.shape[0] - 1],
    )


@njit(cache=True)
def _motor_command(thrust, max_thrust, thrust_coefficient):
    return math.sqrt(min(max(thrust, 0.0), max_thrust) / thrust_coefficient)


@njit(cache=True, inline="always")
def velocity_mode_wrench(quaternion, velocity, angular_velocity, action, motor_rpm, integral, wind, params):
    """``action_mode="velocity"``: one physics step of the cascaded controller and motors.

    ``action`` (4,) in [-1, 1]: forward and lateral velocity in the heading (yaw) frame, vertical
    velocity, yaw rate — scaled by ``p.max_speed_xy_mps``, ``p.max_speed_z_mps``,
    ``p.max_yaw_rate_rps``. Cascade: velocity error (P + I) -> desired acceleration -> thrust
    vector with tilt limit -> desired attitude (geometric SO(3) error) -> body-rate set-point ->
    torque (with gyroscopic feed-forward) -> X mixer -> RPM commands -> motor lag.
    ``integral`` (3,) holds the velocity-error integral (m) and ``motor_rpm`` (4,) the rotor
    speeds; both are updated in place. ``params``: flight records (see the module docstring); the
    cascade uses the nominal drone, the motors the flown one. Returns the body-frame
    (fx, fy, fz, tx, ty, tz).
    """
    p = params[0]
    r = rotation_of(quaternion)
    yaw = math.atan2(r[3], r[0])
    cos_yaw = math.cos(yaw)
    sin_yaw = math.sin(yaw)
    forward = clip_unit(action[0]) * p.max_speed_xy_mps
    lateral = clip_unit(action[1]) * p.max_speed_xy_mps
    vertical = clip_unit(action[2]) * p.max_speed_z_mps
    yaw_rate_setpoint = clip_unit(action[3]) * p.max_yaw_rate_rps

    error0 = cos_yaw * forward - sin_yaw * lateral - velocity[0]
    error1 = sin_yaw * forward + cos_yaw * lateral - velocity[1]
    error2 = vertical - velocity[2]
    # Integrate only near the set-point: the integral then trims wind and model error without
    # winding up (and overshooting) while the drone accelerates.
    if abs(error0) < p.integral_band_mps:
        integral[0] = min(max(integral[0] + error0 * p.dt_s, -0.5), 0.5)
    if abs(error1) < p.integral_band_mps:
        integral[1] = min(max(integral[1] + error1 * p.dt_s, -0.5), 0.5)
    if abs(error2) < p.integral_band_mps:
        integral[2] = min(max(integral[2] + error2 * p.dt_s, -0.5), 0.5)
    # Desired force (world): P + I on velocity, drag feed-forward on ground velocity, gravity.
    force0 = p.mass_kg * (p.velocity_gain_xy * error0 + p.velocity_integral_gain * integral[0])
    force1 = p.mass_kg * (p.velocity_gain_xy * error1 + p.velocity_integral_gain * integral[1])
    force2 = p.mass_kg * (p.velocity_gain_z * error2 + p.velocity_integral_gain * integral[2] + p.gravity_mps2)
    drag_b0 = p.drag_x * (r[0] * velocity[0] + r[3] * velocity[1] + r[6] * velocity[2])
    drag_b1 = p.drag_y * (r[1] * velocity[0] + r[4] * velocity[1] + r[7] * velocity[2])
    drag_b2 = p.drag_z * (r[2] * velocity[0] + r[5] * velocity[1] + r[8] * velocity[2])
    force0 += r[0] * drag_b0 + r[1] * drag_b1 + r[2] * drag_b2
    force1 += r[3] * drag_b0 + r[4] * drag_b1 + r[5] * drag_b2
    force2 += r[6] * drag_b0 + r[7] * drag_b1 + r[8] * drag_b2
    max_thrust = 4.0 * p.thrust_coefficient * p.max_rpm * p.max_rpm
    force2 = min(max(force2, 0.2 * p.mass_kg * p.gravity_mps2), 0.9 * max_thrust)
    horizontal = math.sqrt(force0 * force0 + force1 * force1)
    max_horizontal = force2 * math.tan(p.max_tilt_rad)
    if horizontal > max_horizontal:
        force0 *= max_horizontal / horizontal
        force1 *= max_horizontal / horizontal

    # Desired attitude: body z along the force, heading kept at the current yaw.
    norm = math.sqrt(force0 * force0 + force1 * force1 + force2 * force2)
    z0, z1, z2 = force0 / norm, force1 / norm, force2 / norm
    y0, y1, y2 = -z2 * sin_yaw, z2 * cos_yaw, z0 * sin_yaw - z1 * cos_yaw  # z x (cos, sin, 0)
    y_norm = math.sqrt(y0 * y0 + y1 * y1 + y2 * y2)
    y0, y1, y2 = y0 / y_norm, y1 / y_norm, y2 / y_norm
    x0, x1, x2 = y1 * z2 - y2 * z1, y2 * z0 - y0 * z2, y0 * z1 - y1 * z0
    # e_R = vee(R_d^T R - R^T R_d) / 2 with R_d = [x y z]; column j of R is body axis j.
    error_roll = 0.5 * ((z0 * r[1] + z1 * r[4] + z2 * r[7]) - (r[2] * y0 + r[5] * y1 + r[8] * y2))
    error_pitch = 0.5 * ((x0 * r[2] + x1 * r[5] + x2 * r[8]) - (r[0] * z0 + r[3] * z1 + r[6] * z2))

    wx, wy, wz = angular_velocity[0], angular_velocity[1], angular_velocity[2]
    rate0 = r[0] * wx + r[3] * wy + r[6] * wz
    rate1 = r[1] * wx + r[4] * wy + r[7] * wz
    rate2 = r[2] * wx + r[5] * wy + r[8] * wz
    momentum0, momentum1, momentum2 = p.inertia_x * rate0, p.inertia_y * rate1, p.inertia_z * rate2
    torque0 = p.inertia_x * p.rate_gain * (-p.attitude_gain * error_roll - rate0) + (rate1 * momentum2 - rate2 * momentum1)
    torque1 = p.inertia_y * p.rate_gain * (-p.attitude_gain * error_pitch - rate1) + (rate2 * momentum0 - rate0 * momentum2)
    torque2 = p.inertia_z * p.yaw_rate_gain * (yaw_rate_setpoint - rate2) + (rate0 * momentum1 - rate1 * momentum0)
    collective = force0 * r[2] + force1 * r[5] + force2 * r[8]

    # X mixer: the allocation matrix has orthogonal rows, so its inverse is written out.
    torque_ratio = p.torque_coefficient / p.thrust_coefficient
    roll_share = torque0 / (4.0 * p.arm_xy_m)
    pitch_share = torque1 / (4.0 * p.arm_xy_m)
    yaw_share = torque2 / (4.0 * torque_ratio)
    quarter = 0.25 * collective
    max_motor = p.thrust_coefficient * p.max_rpm * p.max_rpm
    k = p.thrust_coefficient
    return _motor_wrench(
        _motor_command(quarter - roll_share - pitch_share - yaw_share, max_motor, k),
        _motor_command(quarter - roll_share + pitch_share + yaw_share, max_motor, k),
        _motor_command(quarter + roll_share + pitch_share - yaw_share, max_motor, k),
        _motor_command(quarter + roll_share - pitch_share + yaw_share, max_motor, k),
        motor_rpm, r, velocity, wind, params[params.shape[0] - 1],
    )
