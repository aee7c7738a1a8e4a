"""Compiled control steps of the Numba twin: one drone (:func:`drone_control_step`) and a batch.

The twin shares with the PyBullet env the flight controller, motor model and drag
(:mod:`flight_control`), the observation (:mod:`observation`), the reward
(:func:`reward.compute_reward_terms`) and the world files; it replaces PyBullet with
:func:`twin_physics.rigid_body_step` and the analytic geometry of :mod:`twin_geometry`.
Collisions are detected, not resolved: a collision ends the episode.

Per-drone state (rows of the batch arrays, updated in place):

- ``position`` (3,) m, ``quaternion`` (4,) xyzw, ``velocity`` (3,) m/s,
  ``angular_velocity`` (3,) rad/s — world frame;
- ``motor_rpm`` (4,), ``integral`` (3,) velocity-error integral, ``gust`` (3,) m/s;
- ``counters`` int64[2]: control steps taken, outcome code (:mod:`outcomes`);
- ``scalars`` float64[5]: see the ``SCALAR_*`` indices.
"""

from __future__ import annotations

import math

from numba import njit, prange

from spikefly.envs.sim import outcomes
from spikefly.envs.sim.flight_control import rotor_power_w, rpm_mode_wrench, velocity_mode_wrench
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


@njit(cache=True)
def drone_reset(
    position, quaternion, velocity, angular_velocity, motor_rpm, integral, gust, counters, scalars,
    start, start_yaw, goal, hover_rpm, radius_m, max_range_m, shape, obstacle_position, half_extents, yaw, count,
    path,
):
    """Put one drone at rest at ``start`` facing ``start_yaw``, rotors at hover speed.

    ``path``: the world's path-distance field (values, low, step, dims); dims all 0: straight-line progress.
    """
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
        motor_rpm[i] = hover_rpm
    counters[COUNTER_STEPS] = 0
    counters[COUNTER_OUTCOME] = outcomes.NONE
    scalars[SCALAR_TIME_S] = 0.0
    scalars[SCALAR_DISTANCE_M] = goal_potential(start[0], start[1], start[2], goal, path)
    clearance = sphere_clearance(start[0], start[1], start[2], radius_m, shape, obstacle_position, half_extents, yaw, count, max_range_m)
    scalars[SCALAR_MIN_CLEARANCE_M] = clearance
    scalars[SCALAR_CLEARANCE_M] = clearance
    scalars[SCALAR_ROTOR_ENERGY_J] = 0.0


@njit(cache=True)
def drone_observe(
    position, quaternion, velocity, scalars, ray_directions, start_m, max_range_m, geofence, shape, obstacle_position,
    half_extents, yaw, count, bounds_min, bounds_max, goal, goal_distance_scale_m, velocity_scale_mps, range_noise, ranges,
    observation,
):
    """Cast the rays and assemble the observation of one drone into ``ranges`` and ``observation``.

    With ``geofence`` the rays also stop at the bounds (``QuadrotorSettings.geofence_rays``).
    ``range_noise`` (R,) metres added to the readings before clipping to [0, max range] (NaN
    marks a dropout: the reading is lost and reads max range); size 0 for a clean sensor.
    """
    heading = heading_of(quaternion)
    cast_rays(
        position, heading, ray_directions, start_m, max_range_m, shape, obstacle_position, half_extents,
        yaw, count, bounds_min[2], ranges,
    )
    if geofence:
        geofence_ranges(ranges, position, heading, ray_directions, bounds_min, bounds_max)
    if range_noise.shape[0] > 0:
        for i in range(ranges.shape[0]):
            noisy = max_range_m if math.isnan(range_noise[i]) else ranges[i] + range_noise[i]
            ranges[i] = min(max(noisy, 0.0), max_range_m)
    assemble_observation_into(
        observation, position, quaternion, velocity, ranges, goal, bounds_min[2], bounds_max[2], max_range_m,
        goal_distance_scale_m, velocity_scale_mps,
    )


@njit(cache=True, inline="always")
def drone_advance(
    action, velocity_mode, physics_steps, params, position, quaternion, velocity, angular_velocity, motor_rpm, integral,
    wind, counters, scalars, radius_m, thrust_to_weight, max_range_m, shape, obstacle_position, half_extents, yaw, count,
    bounds_min, bounds_max, goal, goal_radius, max_steps, path, reward_weights, terms,
):
    """One control step of one drone holding ``action`` (4,) float64 already clipped to [-1, 1].

    ``params``: the drone's flight records, nominal then flown (:mod:`flight_control`);
    ``thrust_to_weight`` bounds the flown drone's (it gates the contact tests).
    Physics steps stop at the first collision (obstacle or ground), then bounds, then goal —
    the PyBullet env's order. Writes the reward terms into ``terms`` (6,) and returns the reward.
    """
    p = params[0]
    # Contacts are only tested when one is reachable within this control step (as in PyBullet).
    speed = math.sqrt(velocity[0] ** 2 + velocity[1] ** 2 + velocity[2] ** 2)
    period = physics_steps * p.dt_s
    reach = speed * period + 0.5 * 2.0 * (thrust_to_weight + 1.0) * p.gravity_mps2 * period * period + _CONTACT_MARGIN_M
    check_obstacles = scalars[SCALAR_CLEARANCE_M] < reach
    floor = bounds_min[2]
    outcome = outcomes.NONE
    taken = physics_steps
    for index in range(1, physics_steps + 1):
        if velocity_mode:
            wrench = velocity_mode_wrench(quaternion, velocity, angular_velocity, action, motor_rpm, integral, wind, params)
        else:
            wrench = rpm_mode_wrench(quaternion, velocity, action, motor_rpm, wind, params)
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
    if outcome == outcomes.NONE and counters[COUNTER_STEPS] >= max_steps:
        outcome = outcomes.TIMEOUT
    counters[COUNTER_OUTCOME] = outcome
    clearance = sphere_clearance(
        position[0], position[1], position[2], radius_m, shape, obstacle_position, half_extents, yaw, count, max_range_m
    )
    scalars[SCALAR_CLEARANCE_M] = clearance
    scalars[SCALAR_MIN_CLEARANCE_M] = min(scalars[SCALAR_MIN_CLEARANCE_M], clearance)
    distance = goal_potential(position[0], position[1], position[2], goal, path)
    mean_square = (action[0] ** 2 + action[1] ** 2 + action[2] ** 2 + action[3] ** 2) / 4.0
    compute_reward_terms(reward_weights, scalars[SCALAR_DISTANCE_M], distance, outcome, mean_square, elapsed, terms)
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


@njit(cache=True, parallel=True)
def twin_step_batch(
    actions, active, velocity_mode, physics_steps, params, radius_m, thrust_to_weight, reward_weights,
    position, quaternion, velocity, angular_velocity, motor_rpm, integral, gust, wind, mean_wind, counters, scalars,
    world_index, shape, obstacle_position, half_extents, yaw, count, bounds_min, bounds_max, goal, goal_radius, max_steps,
    path_values, path_low, path_step, path_dims,
    gust_decay, gust_scale, gust_noise, range_noise, ray_directions, start_m, max_range_m, geofence, goal_distance_scale_m,
    velocity_scale_mps, ranges, observations, rewards, terms,
):
    """One control step of every active drone in parallel (inactive rows are left untouched).

    ``actions`` float64[B, 4] already clipped; ``params`` [B, 2] flight records, row b the nominal
    and the flown drone b (:func:`spikefly.envs.sim.randomisation.flight_records`); ``world_index``
    int64[B]; world arrays as in
    :class:`spikefly.envs.twin.worlds.TwinWorlds`; ``gust_noise`` [B, T, 3] and ``range_noise``
    [B, T, R] per-episode noise (size 0 on the middle axis when off); outputs ``ranges`` [B, R],
    ``observations`` float32[B, n_obs], ``rewards`` [B], ``terms`` [B, 6].
    """
    for b in prange(actions.shape[0]):
        if not active[b]:
            continue
        w = world_index[b]
        update_wind(mean_wind[b], gust[b], gust_decay, gust_scale, gust_noise[b], counters[b, COUNTER_STEPS], wind[b])
        rewards[b] = drone_advance(
            actions[b], velocity_mode, physics_steps, params[b], position[b], quaternion[b], velocity[b], angular_velocity[b],
            motor_rpm[b], integral[b], wind[b], counters[b], scalars[b], radius_m, thrust_to_weight, max_range_m,
            shape[w], obstacle_position[w], half_extents[w], yaw[w], count[w], bounds_min[w], bounds_max[w], goal[w],
            goal_radius[w], max_steps[w], (path_values[w], path_low[w], path_step[w], path_dims[w]), reward_weights,
            terms[b],
        )
        noise_row = range_noise[b, min(counters[b, COUNTER_STEPS], range_noise.shape[1] - 1)] if range_noise.shape[1] > 0 else range_noise[b, 0:0, 0]
        drone_observe(
            position[b], quaternion[b], velocity[b], scalars[b], ray_directions, start_m, max_range_m, geofence, shape[w],
            obstacle_position[w], half_extents[w], yaw[w], count[w], bounds_min[w], bounds_max[w], goal[w],
            goal_distance_scale_m, velocity_scale_mps, noise_row, ranges[b], observations[b],
        )


@njit(cache=True, parallel=True)
def twin_reset_batch(
    mask, hover_rpm, radius_m, position, quaternion, velocity, angular_velocity, motor_rpm, integral, gust, wind, mean_wind,
    counters, scalars, world_index, shape, obstacle_position, half_extents, yaw, count, bounds_min, bounds_max, start,
    start_yaw, goal, path_values, path_low, path_step, path_dims, range_noise, ray_directions, start_m, max_range_m, geofence,
    goal_distance_scale_m, velocity_scale_mps, ranges, observations,
):
    """Reset the drones where ``mask`` is set and write their first observations."""
    for b in prange(mask.shape[0]):
        if not mask[b]:
            continue
        w = world_index[b]
        drone_reset(
            position[b], quaternion[b], velocity[b], angular_velocity[b], motor_rpm[b], integral[b], gust[b], counters[b],
            scalars[b], start[w], start_yaw[w], goal[w], hover_rpm, radius_m, max_range_m, shape[w], obstacle_position[w],
            half_extents[w], yaw[w], count[w], (path_values[w], path_low[w], path_step[w], path_dims[w]),
        )
        for i in range(3):
            wind[b, i] = mean_wind[b, i]
        noise_row = range_noise[b, 0] if range_noise.shape[1] > 0 else range_noise[b, 0:0, 0]
        drone_observe(
            position[b], quaternion[b], velocity[b], scalars[b], ray_directions, start_m, max_range_m, geofence, shape[w],
            obstacle_position[w], half_extents[w], yaw[w], count[w], bounds_min[w], bounds_max[w], goal[w],
            goal_distance_scale_m, velocity_scale_mps, noise_row, ranges[b], observations[b],
        )
