"""Compiled control steps of the Numba twin: one drone (:func:`drone_reset`, :func:`drone_advance`,
:func:`drone_observe`) and a batch (:func:`twin_reset_batch`, :func:`twin_step_batch`).

The twin shares with the PyBullet env the flight controller, motor model and drag
(:mod:`flight_control`), the observation (:mod:`observation`), the reward
(:func:`reward.compute_reward_terms`) and the world files; it replaces PyBullet with
:func:`twin_physics.rigid_body_step` and the analytic geometry of :mod:`twin_geometry`.
Collisions are detected, not resolved: a collision ends the episode.

The kernels take their arrays grouped in named tuples: :class:`Drone` (state), :class:`Course`
(worlds), :class:`Airframe`, :class:`Sensing` and :class:`Disturbance` (wind and noise). A drone's
state, updated in place (a batch's rows):

- ``position`` (3,) m, ``quaternion`` (4,) xyzw, ``velocity`` (3,) m/s,
  ``angular_velocity`` (3,) rad/s — world frame;
- ``motor_rpm`` (4,), ``integral`` (3,) velocity-error integral, ``gust`` (3,) and ``wind`` (3,) m/s;
- ``counters`` int64[2]: control steps taken, outcome code (:mod:`outcomes`);
- ``scalars`` float64[5]: see the ``SCALAR_*`` indices.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from numba import njit, prange

from spikefly.envs.sim import outcomes
from spikefly.envs.sim.flight_control import guided_setpoint, rotor_power_w, rpm_mode_wrench, velocity_mode_wrench
from spikefly.envs.sim.guidance import GUIDANCE_GAP, GUIDANCE_GOAL, gap_setpoint
from spikefly.envs.sim.observation import assemble_observation_into, geofence_ranges, heading_of
from spikefly.envs.sim.path_field import goal_potential
from spikefly.envs.sim.reward import compute_reward_terms
from spikefly.envs.twin.geometry import cast_rays, sphere_clearance, sphere_collides
from spikefly.envs.twin.physics import rigid_body_step

COUNTER_STEPS = 0
COUNTER_OUTCOME = 1

SCALAR_TIME_S = 0
SCALAR_DISTANCE_M = 1  # progress potential after the latest step: distance to the goal centre (straight or path)
SCALAR_MIN_CLEARANCE_M = 2
SCALAR_CLEARANCE_M = 3  # after the latest step
SCALAR_ROTOR_ENERGY_J = 4
N_SCALARS = 5

# Same margin as the PyBullet backend when deciding no contact is reachable in a control step.
_CONTACT_MARGIN_M = 0.02


# -- the kernels' arguments, grouped ------------------------------------------------------------
# Named tuples of arrays and scalars, which Numba passes (and caches) like their fields. A drone
# kernel takes one drone's state (a batch slices its row once with drone_row) and the whole set of
# courses with the index of its own: it slices only the arrays it reads, as a kernel handed each
# array separately would (every slice is a reference count to update).


class Drone(NamedTuple):
    """One drone's state (the module docstring's arrays), or a batch's with a leading drone axis."""

    position: Any
    quaternion: Any
    velocity: Any
    angular_velocity: Any
    motor_rpm: Any
    integral: Any
    gust: Any
    wind: Any
    counters: Any
    scalars: Any


class Course(NamedTuple):
    """Worlds' arrays [W, ...] (:class:`~spikefly.envs.twin.worlds.TwinWorlds`) with each one's step limit."""

    shape: Any
    obstacle_position: Any
    half_extents: Any
    yaw: Any
    count: Any
    bounds_min: Any
    bounds_max: Any
    start: Any
    start_yaw: Any
    goal: Any
    goal_radius: Any
    max_steps: Any
    """Control steps the time limit allows."""
    path_values: Any
    path_low: Any
    path_step: Any
    path_dims: Any


class Airframe(NamedTuple):
    """What every drone of a run shares: control mode, physics steps, size, hover speed, reward weights."""

    velocity_mode: bool
    """The cascaded velocity controller flies the set-points (``action_mode`` "velocity", "guided" or "gap"); else motor commands."""
    guidance: int
    """The law whose set-point the action is added to (:data:`spikefly.envs.sim.guidance.GUIDANCE_GOAL`
    for ``action_mode="guided"``, ``GUIDANCE_GAP`` for "gap", ``GUIDANCE_NONE`` otherwise)."""
    physics_steps: int
    hover_rpm: float
    radius_m: float
    thrust_to_weight: float
    """Bound of every flown drone's thrust-to-weight ratio (gates the contact tests)."""
    reward_weights: Any


class Sensing(NamedTuple):
    """The range rays and the observation's scales."""

    ray_directions: Any
    start_m: float
    max_range_m: float
    geofence: bool
    goal_distance_scale_m: float
    velocity_scale_mps: float
    n_rays: int
    """Rays per row (``QuadrotorSettings.n_rays``)."""
    n_rows: int
    """Rows of rays (``len(ray_elevations_deg)``); any up/down rays follow them."""
    ray_spacing_rad: float
    """Azimuth between neighbouring rays of a row."""


class Disturbance(NamedTuple):
    """Wind and sensor noise per drone (or episode), with a leading drone axis."""

    mean_wind: Any
    """[B, 3] m/s."""
    gust_decay: float
    gust_scale: float
    gust_noise: Any
    """[B, T, 3] standard normals (T = 0: no gusts)."""
    range_noise: Any
    """[B, T, R] metres added to the readings, NaN a dropout (T = 0: a clean sensor)."""


@njit(cache=True, inline="always")
def drone_row(drones, b):
    """Drone ``b`` of a batch (views)."""
    return Drone(drones.position[b], drones.quaternion[b], drones.velocity[b], drones.angular_velocity[b],
                 drones.motor_rpm[b], drones.integral[b], drones.gust[b], drones.wind[b], drones.counters[b], drones.scalars[b])


@njit(cache=True, inline="always")
def _path(courses, w):
    return courses.path_values[w], courses.path_low[w], courses.path_step[w], courses.path_dims[w]


@njit(cache=True)
def drone_reset(drone, courses, w, airframe, sensing):
    """Put ``drone`` at rest at course ``w``'s start, facing its start yaw, rotors at hover speed.

    The course's path field (values, low, step, dims) gives progress; dims all 0: straight-line progress.
    """
    position, quaternion, velocity = drone.position, drone.quaternion, drone.velocity
    angular_velocity, integral, gust = drone.angular_velocity, drone.integral, drone.gust
    motor_rpm, counters, scalars = drone.motor_rpm, drone.counters, drone.scalars
    start, start_yaw = courses.start[w], courses.start_yaw[w]
    for i in range(3):
        position[i] = start[i]
        velocity[i] = 0.0
        angular_velocity[i] = 0.0
        integral[i] = 0.0
        gust[i] = 0.0
    quaternion[0] = 0.0
    quaternion[1] = 0.0
    quaternion[2] = math.sin(0.5 * start_yaw)
    quaternion[3] = math.cos(0.5 * start_yaw)
    for i in range(4):
        motor_rpm[i] = airframe.hover_rpm
    counters[COUNTER_STEPS] = 0
    counters[COUNTER_OUTCOME] = outcomes.NONE
    scalars[SCALAR_TIME_S] = 0.0
    scalars[SCALAR_DISTANCE_M] = goal_potential(start[0], start[1], start[2], courses.goal[w], _path(courses, w))
    clearance = sphere_clearance(start[0], start[1], start[2], airframe.radius_m, courses.shape[w],
                                 courses.obstacle_position[w], courses.half_extents[w], courses.yaw[w], courses.count[w],
                                 sensing.max_range_m)
    scalars[SCALAR_MIN_CLEARANCE_M] = clearance
    scalars[SCALAR_CLEARANCE_M] = clearance
    scalars[SCALAR_ROTOR_ENERGY_J] = 0.0


@njit(cache=True, inline="always")
def drone_observe(drone, courses, w, sensing, range_noise, ranges, observation):
    """Cast the rays of ``drone`` on course ``w`` and assemble its observation into ``ranges`` and ``observation``.

    With ``sensing.geofence`` the rays also stop at the bounds (``QuadrotorSettings.geofence_rays``).
    ``range_noise`` (R,) metres added to the readings before clipping to [0, max range] (NaN
    marks a dropout: the reading is lost and reads max range); size 0 for a clean sensor.
    """
    position, quaternion, max_range_m = drone.position, drone.quaternion, sensing.max_range_m
    bounds_min, bounds_max = courses.bounds_min[w], courses.bounds_max[w]
    heading = heading_of(quaternion)
    cast_rays(
        position, heading, sensing.ray_directions, sensing.start_m, max_range_m, courses.shape[w],
        courses.obstacle_position[w], courses.half_extents[w], courses.yaw[w], courses.count[w], bounds_min[2], ranges,
    )
    if sensing.geofence:
        geofence_ranges(ranges, position, heading, sensing.ray_directions, bounds_min, bounds_max)
    if range_noise.shape[0] > 0:
        for i in range(ranges.shape[0]):
            noisy = max_range_m if math.isnan(range_noise[i]) else ranges[i] + range_noise[i]
            ranges[i] = min(max(noisy, 0.0), max_range_m)
    assemble_observation_into(
        observation, position, quaternion, drone.velocity, ranges, courses.goal[w], bounds_min[2], bounds_max[2],
        max_range_m, sensing.goal_distance_scale_m, sensing.velocity_scale_mps,
    )


@njit(cache=True, inline="always")
def noise_row(disturbances, b, step):
    """Drone ``b``'s range noise at control step ``step`` (the last row past the end; size 0 for a clean sensor)."""
    range_noise = disturbances.range_noise
    if range_noise.shape[1] > 0:
        return range_noise[b, min(step, range_noise.shape[1] - 1)]
    return range_noise[b, 0:0, 0]


@njit(cache=True, inline="always")
def drone_advance(action, observation, airframe, params, drone, courses, w, sensing, terms):
    """One control step of ``drone`` on course ``w`` holding ``action`` (4,) float64 already clipped to [-1, 1].

    ``observation``: what the controller read this step (the gap-seeking guidance law reads it).

    ``params``: the drone's flight records, nominal then flown (:mod:`flight_control`);
    ``airframe.thrust_to_weight`` bounds the flown drone's (it gates the contact tests).
    Physics steps stop at the first collision (obstacle or ground), then bounds, then goal —
    the PyBullet env's order. Writes the reward terms into ``terms`` (6,) and returns the reward.
    """
    p = params[0]
    position, quaternion, velocity = drone.position, drone.quaternion, drone.velocity
    angular_velocity, motor_rpm, integral = drone.angular_velocity, drone.motor_rpm, drone.integral
    wind, counters, scalars = drone.wind, drone.counters, drone.scalars
    physics_steps, radius_m, thrust_to_weight = airframe.physics_steps, airframe.radius_m, airframe.thrust_to_weight
    shape, obstacle_position, half_extents = courses.shape[w], courses.obstacle_position[w], courses.half_extents[w]
    yaw, count, goal, goal_radius = courses.yaw[w], courses.count[w], courses.goal[w], courses.goal_radius[w]
    bounds_min, bounds_max = courses.bounds_min[w], courses.bounds_max[w]
    # Contacts are only tested when one is reachable within this control step (as in PyBullet).
    speed = math.sqrt(velocity[0] ** 2 + velocity[1] ** 2 + velocity[2] ** 2)
    period = physics_steps * p.dt_s
    reach = speed * period + 0.5 * 2.0 * (thrust_to_weight + 1.0) * p.gravity_mps2 * period * period + _CONTACT_MARGIN_M
    check_obstacles = scalars[SCALAR_CLEARANCE_M] < reach
    floor = bounds_min[2]
    outcome = outcomes.NONE
    taken = physics_steps
    if airframe.guidance == GUIDANCE_GOAL:
        command = guided_setpoint(action, position, quaternion, goal, params)
    elif airframe.guidance == GUIDANCE_GAP:
        command = gap_setpoint(action, observation, sensing.ray_directions, sensing.n_rays, sensing.n_rows,
                               sensing.ray_spacing_rad, sensing.max_range_m, sensing.goal_distance_scale_m,
                               sensing.velocity_scale_mps, p.max_yaw_rate_rps)
    else:
        command = (action[0], action[1], action[2], action[3])
    for index in range(1, physics_steps + 1):
        if airframe.velocity_mode:
            wrench = velocity_mode_wrench(quaternion, velocity, angular_velocity, command, motor_rpm, integral, wind, params)
        else:
            wrench = rpm_mode_wrench(quaternion, velocity, command, motor_rpm, wind, params)
        rigid_body_step(position, quaternion, velocity, angular_velocity, wrench, params)
        x, y, z = position[0], position[1], position[2]
        if check_obstacles:
            collided = sphere_collides(x, y, z, radius_m, shape, obstacle_position, half_extents, yaw, count, floor)
        else:
            collided = z - floor <= radius_m
        if collided:
            outcome, taken = outcomes.COLLISION, index
            break
        if not (bounds_min[0] <= x <= bounds_max[0] and bounds_min[1] <= y <= bounds_max[1] and bounds_min[2] <= z <= bounds_max[2]):
            outcome, taken = outcomes.OUT_OF_BOUNDS, index
            break
        if (x - goal[0]) ** 2 + (y - goal[1]) ** 2 + (z - goal[2]) ** 2 <= goal_radius * goal_radius:
            outcome, taken = outcomes.GOAL, index
            break
    elapsed = taken * p.dt_s
    counters[COUNTER_STEPS] += 1
    scalars[SCALAR_TIME_S] += elapsed
    scalars[SCALAR_ROTOR_ENERGY_J] += rotor_power_w(motor_rpm, params[params.shape[0] - 1].torque_coefficient) * elapsed
    if outcome == outcomes.NONE and counters[COUNTER_STEPS] >= courses.max_steps[w]:
        outcome = outcomes.TIMEOUT
    counters[COUNTER_OUTCOME] = outcome
    clearance = sphere_clearance(
        position[0], position[1], position[2], radius_m, shape, obstacle_position, half_extents, yaw, count, sensing.max_range_m
    )
    scalars[SCALAR_CLEARANCE_M] = clearance
    scalars[SCALAR_MIN_CLEARANCE_M] = min(scalars[SCALAR_MIN_CLEARANCE_M], clearance)
    distance = goal_potential(position[0], position[1], position[2], goal, _path(courses, w))
    mean_square = (action[0] ** 2 + action[1] ** 2 + action[2] ** 2 + action[3] ** 2) / 4.0
    compute_reward_terms(airframe.reward_weights, scalars[SCALAR_DISTANCE_M], distance, outcome, mean_square, elapsed, terms)
    scalars[SCALAR_DISTANCE_M] = distance
    reward = 0.0
    for i in range(terms.shape[0]):
        reward += terms[i]
    return reward


@njit(cache=True)
def update_wind(mean_wind, gust, gust_decay, gust_scale, gust_noise, step, wind):
    """Ornstein-Uhlenbeck gusts: ``gust = decay * gust + scale * noise[step]``; ``wind = mean + gust``.

    ``gust_noise`` [T, 3] standard normals drawn per episode (size 0 when gusts are off).
    """
    if gust_noise.shape[0] > 0:
        row = min(step, gust_noise.shape[0] - 1)
        for i in range(3):
            gust[i] = gust_decay * gust[i] + gust_scale * gust_noise[row, i]
    for i in range(3):
        wind[i] = mean_wind[i] + gust[i]


@njit(cache=True)
def twin_step_batch(actions, active, airframe, params, drones, world_index, courses, disturbances, sensing, ranges,
                    observations, rewards, terms):
    """One control step of every active drone in parallel (inactive rows are left untouched).

    ``actions`` float64[B, 4] already clipped; ``params`` [B, 2] flight records, row b the nominal
    and the flown drone b (:func:`spikefly.envs.sim.randomisation.flight_records`); ``drones`` and
    ``disturbances`` [B, ...]; ``world_index`` int64[B] into ``courses`` [W, ...]; outputs
    ``ranges`` [B, R], ``observations`` float32[B, n_obs], ``rewards`` [B], ``terms`` [B, 6].

    ``airframe``, ``drones``, ``courses``, ``disturbances`` and ``sensing`` come as plain tuples of
    the fields of :class:`Airframe`, :class:`Drone`, ... and are named here: this kernel is called
    from Python every control step, and Numba types a plain tuple's arguments several times faster
    than a named tuple's.
    """
    _step_batch(actions, active, Airframe(*airframe), params, Drone(*drones), world_index, Course(*courses),
                Disturbance(*disturbances), Sensing(*sensing), ranges, observations, rewards, terms)


@njit(cache=True, parallel=True)
def _step_batch(actions, active, airframe, params, drones, world_index, courses, disturbances, sensing, ranges,
                observations, rewards, terms):
    for b in prange(actions.shape[0]):
        if not active[b]:
            continue
        w, drone = world_index[b], drone_row(drones, b)
        update_wind(disturbances.mean_wind[b], drone.gust, disturbances.gust_decay, disturbances.gust_scale,
                    disturbances.gust_noise[b], drone.counters[COUNTER_STEPS], drone.wind)
        rewards[b] = drone_advance(actions[b], observations[b], airframe, params[b], drone, courses, w, sensing, terms[b])
        drone_observe(drone, courses, w, sensing, noise_row(disturbances, b, drone.counters[COUNTER_STEPS]), ranges[b],
                      observations[b])


@njit(cache=True)
def twin_reset_batch(mask, airframe, drones, world_index, courses, disturbances, sensing, ranges, observations):
    """Reset the drones where ``mask`` is set and write their first observations (arguments as :func:`twin_step_batch`'s)."""
    _reset_batch(mask, Airframe(*airframe), Drone(*drones), world_index, Course(*courses), Disturbance(*disturbances),
                 Sensing(*sensing), ranges, observations)


@njit(cache=True, parallel=True)
def _reset_batch(mask, airframe, drones, world_index, courses, disturbances, sensing, ranges, observations):
    for b in prange(mask.shape[0]):
        if not mask[b]:
            continue
        w, drone = world_index[b], drone_row(drones, b)
        drone_reset(drone, courses, w, airframe, sensing)
        for i in range(3):
            drone.wind[i] = disturbances.mean_wind[b, i]
        drone_observe(drone, courses, w, sensing, noise_row(disturbances, b, 0), ranges[b], observations[b])
