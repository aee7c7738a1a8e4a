"""The Numba twin of the quadrotor env: many drones stepped in one compiled call.

    twin = QuadrotorTwin(n_drones=256)                     # same settings as the env
    worlds = TwinWorlds.draw(["forest"] * 4, [0, 1, 2, 3])  # 4 layouts
    observations = twin.reset(worlds, world_index=np.arange(256) % 4, seeds=range(256))
    observations, rewards, terminated, truncated = twin.step(actions)   # actions [256, 4]

Same drone, controller, sensors, reward, outcomes and world files as the PyBullet env
(``spikefly/QuadrotorAvoid-v0``), about two orders of magnitude faster; PyBullet stays the
reference (cross-checked in tests/envs/test_twin_crosscheck.py). Drones whose episode ended
stay frozen until :meth:`reset_drones`. Knows nothing of Gymnasium; the vector env wraps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spikefly.envs.sim import outcomes
from spikefly.envs.sim.drone_model import DEFAULT_URDF, flight_params, load_drone
from spikefly.envs.sim.guidance import guidance_code
from spikefly.envs.sim.observation import N_STATE_OBSERVATIONS
from spikefly.envs.quadrotor_settings import QuadrotorSettings
# Randomisation, draw_randomisation and gust_coefficients moved to spikefly.envs.sim.randomisation
# (the PyBullet env draws from them too); importing them from here keeps working.
from spikefly.envs.sim.randomisation import (  # noqa: F401
    Randomisation,
    contact_thrust_to_weight,
    draw_randomisation,
    flight_records,
    gust_coefficients,
)
from spikefly.envs.sim.range_sensor import ray_spacing_rad, sensor_rays
from spikefly.envs.sim.reward import TERM_NAMES
from spikefly.envs.twin.kernels import (
    COUNTER_OUTCOME,
    COUNTER_STEPS,
    N_SCALARS,
    SCALAR_MIN_CLEARANCE_M,
    SCALAR_ROTOR_ENERGY_J,
    SCALAR_TIME_S,
    Airframe,
    Course,
    Disturbance,
    Drone,
    Sensing,
    twin_reset_batch,
    twin_step_batch,
)
from spikefly.envs.twin.worlds import TwinWorlds

# Rays start just outside the drone's collision sphere, as in the PyBullet backend.
_RAY_START_MARGIN_M = 1e-3


def max_control_steps(worlds: TwinWorlds, settings: QuadrotorSettings) -> NDArray[np.int64]:
    """Control steps each world's time limit allows (as the PyBullet env rounds it), int64[W]."""
    return np.maximum(1, np.round(worlds.time_limit_s * settings.control_hz)).astype(np.int64)


def courses_of(worlds: TwinWorlds, max_steps: NDArray[np.int64]) -> Course:
    """The kernels' view of ``worlds`` (arrays [W, ...]), with each world's control-step limit."""
    return Course(worlds.shape, worlds.position, worlds.half_extents, worlds.yaw, worlds.count, worlds.bounds_min,
                  worlds.bounds_max, worlds.start, worlds.start_yaw, worlds.goal, worlds.goal_radius, max_steps,
                  worlds.path_values, worlds.path_low, worlds.path_step, worlds.path_dims)


class QuadrotorTwin:
    """``n_drones`` quadrotors on the Numba twin; settings are :class:`QuadrotorSettings` fields."""

    def __init__(self, n_drones: int, **settings: Any) -> None:
        if not (isinstance(n_drones, int) and n_drones >= 1):
            raise ValueError(f"n_drones={n_drones!r}: must be an integer >= 1")
        self.settings = s = QuadrotorSettings.from_kwargs(**settings)
        self.drone = load_drone(s.urdf_path or DEFAULT_URDF)
        self.flight = flight_params(
            self.drone, s.physics_hz, max_speed_xy_mps=s.max_speed_xy_mps, max_speed_z_mps=s.max_speed_z_mps,
            max_yaw_rate_rps=s.max_yaw_rate_rps,
        )
        #: [B, 2] flight records per drone: the nominal drone (the controller's), the drone flown
        #: (model error drawn per episode; nominal when off).
        self.flight_records = flight_records(self.drone, self.flight, np.ones((n_drones, 3)))
        #: Bound of every drawn drone's thrust-to-weight ratio (gates the contact tests).
        self.contact_thrust_to_weight = contact_thrust_to_weight(self.drone.thrust_to_weight, s)
        self.ray_directions = sensor_rays(s)
        self.ray_start_m = self.drone.collision_radius_m + _RAY_START_MARGIN_M
        self.reward_weights = s.reward.as_array()
        n_ranges = len(self.ray_directions)
        self.n_drones = n_drones
        self.observation_size = n_ranges + N_STATE_OBSERVATIONS
        self.position = np.zeros((n_drones, 3))
        self.quaternion = np.zeros((n_drones, 4))
        self.velocity = np.zeros((n_drones, 3))
        self.angular_velocity = np.zeros((n_drones, 3))
        self.motor_rpm = np.zeros((n_drones, 4))
        self.integral = np.zeros((n_drones, 3))
        self.gust = np.zeros((n_drones, 3))
        self.wind = np.zeros((n_drones, 3))
        self.mean_wind = np.zeros((n_drones, 3))
        self.counters = np.zeros((n_drones, 2), np.int64)
        self.scalars = np.zeros((n_drones, N_SCALARS))
        self.ranges = np.zeros((n_drones, n_ranges))
        self.observations = np.zeros((n_drones, self.observation_size), np.float32)
        self.rewards = np.zeros(n_drones)
        self.terms = np.zeros((n_drones, len(TERM_NAMES)))
        self.world_index = np.zeros(n_drones, np.int64)
        self.worlds: TwinWorlds | None = None
        self._max_steps = np.zeros(0, np.int64)
        self._gust_noise = np.zeros((n_drones, 0, 3))
        self._range_noise = np.zeros((n_drones, 0, n_ranges))
        self._gust_decay, self._gust_scale = gust_coefficients(s)
        self._kernel_arguments()
        self._courses: tuple = ()
        self._batch_arguments: tuple = ()

    # -- what the kernels take (built once; the arrays in them are updated in place) ---------------
    def _kernel_arguments(self) -> None:
        s = self.settings
        self.airframe = Airframe(s.action_mode != "rpm", guidance_code(s.action_mode), s.physics_steps_per_control,
                                 float(self.drone.hover_rpm), float(self.drone.collision_radius_m),
                                 float(self.contact_thrust_to_weight), self.reward_weights)
        """What every drone shares (:class:`~spikefly.envs.twin.kernels.Airframe`)."""
        self.sensing = Sensing(self.ray_directions, float(self.ray_start_m), float(s.max_range_m), bool(s.geofence_rays),
                               float(s.goal_distance_scale_m), float(s.velocity_scale_mps), int(s.n_rays),
                               len(s.ray_elevations_deg), ray_spacing_rad(s.n_rays, s.fov_deg))
        """The rays and the observation's scales (:class:`~spikefly.envs.twin.kernels.Sensing`)."""
        self._drones = Drone(self.position, self.quaternion, self.velocity, self.angular_velocity, self.motor_rpm,
                             self.integral, self.gust, self.wind, self.counters, self.scalars)

    # -- episodes ----------------------------------------------------------------------------
    def prepare(self, worlds: TwinWorlds) -> TwinWorlds:
        """``worlds`` with what these settings need: path fields for ``progress_metric="path"``."""
        s = self.settings
        if s.progress_metric == "path" and not (
            worlds.has_path_fields and worlds.path_cell_m == s.path_cell_m
            and worlds.path_clearance_m == self.drone.collision_radius_m
        ):
            return worlds.with_path_fields(self.drone.collision_radius_m, s.path_cell_m)
        return worlds

    def reset(self, worlds: TwinWorlds, world_index: ArrayLike | None = None, seeds: Iterable[int] | None = None) -> NDArray[np.float32]:
        """Start every drone on its world (``world_index`` [B], default drone b on world b % W).

        ``seeds`` (one per drone) draw the domain randomisation (wind, sensor noise, model error); layouts are
        already fixed in ``worlds``. Returns the observations float32[B, n_obs].
        """
        index = np.arange(self.n_drones) % len(worlds) if world_index is None else world_index
        return self.reset_drones(np.ones(self.n_drones, bool), index, seeds, worlds=worlds)

    def reset_drones(
        self, mask: ArrayLike, world_index: ArrayLike, seeds: Iterable[int] | None = None, *, worlds: TwinWorlds | None = None
    ) -> NDArray[np.float32]:
        """Reset only the drones where ``mask`` [B] is true, onto ``world_index`` [B] (others ignored).

        ``worlds`` replaces the world set (drones still flying must find their world at the same
        index in it, as :meth:`TwinWorlds.widened` and :meth:`TwinWorlds.set_world` keep it).
        """
        if worlds is not None:
            self.worlds = self.prepare(worlds)
            self._max_steps = max_control_steps(worlds, self.settings)
        if self.worlds is None:
            raise RuntimeError("call reset(worlds, ...) before reset_drones()")
        mask = np.asarray(mask, dtype=bool)
        index = np.asarray(world_index, dtype=np.int64)
        if mask.shape != (self.n_drones,) or index.shape != (self.n_drones,):
            raise ValueError(f"mask and world_index must have shape ({self.n_drones},)")
        if index[mask].size and (index[mask].min() < 0 or index[mask].max() >= len(self.worlds)):
            raise ValueError(f"world_index must lie in [0, {len(self.worlds)})")
        self.world_index[mask] = index[mask]
        seed_list = list(range(self.n_drones) if seeds is None else seeds)
        if len(seed_list) != self.n_drones:
            raise ValueError(f"give one seed per drone ({self.n_drones}), got {len(seed_list)}")
        drawn = draw_randomisation(self.settings, self.ranges.shape[1], seed_list, int(self._max_steps.max()) + 1, mask)
        self.mean_wind[mask] = drawn.mean_wind[mask]
        self.flight_records[mask] = flight_records(self.drone, self.flight, drawn.model_scale)[mask]
        self._gust_noise, self._range_noise = drawn.gust_noise, drawn.range_noise
        if worlds is not None:
            self._courses = tuple(courses_of(self.worlds, self._max_steps))
        disturbances = Disturbance(self.mean_wind, float(self._gust_decay), float(self._gust_scale), self._gust_noise,
                                   self._range_noise)
        # The batch kernels take the named tuples as plain ones (see twin_step_batch), built here once per reset.
        self._batch_arguments = (tuple(self.airframe), tuple(self._drones), self.world_index, self._courses,
                                 tuple(disturbances), tuple(self.sensing))
        twin_reset_batch(mask, *self._batch_arguments, self.ranges, self.observations)
        return self.observations.copy()

    def step(self, actions: ArrayLike) -> tuple[NDArray[np.float32], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_]]:
        """One control step of every drone still flying; returns (observations, rewards, terminated, truncated).

        Finished drones keep their last observation, get reward 0 and stay terminated or
        truncated until reset. Actions [B, 4] are clipped to [-1, 1]; NaN is an error.
        """
        if self.worlds is None:
            raise RuntimeError("call reset(worlds, ...) before step()")
        commands = np.asarray(actions, dtype=np.float64)
        if commands.shape != (self.n_drones, 4):
            raise ValueError(f"actions must have shape ({self.n_drones}, 4), got {commands.shape}")
        if not np.all(np.isfinite(commands)):
            rows = np.flatnonzero(~np.all(np.isfinite(commands), axis=1))
            raise ValueError(f"actions contain NaN or infinity for drone(s) {rows[:10].tolist()}")
        commands = np.ascontiguousarray(np.clip(commands, -1.0, 1.0))
        active = self.counters[:, COUNTER_OUTCOME] == outcomes.NONE
        self.rewards[:] = 0.0
        self.terms[~active] = 0.0
        airframe, drones, world_index, courses, disturbances, sensing = self._batch_arguments
        twin_step_batch(commands, active, airframe, self.flight_records, drones, world_index, courses, disturbances, sensing,
                        self.ranges, self.observations, self.rewards, self.terms)
        outcome = self.counters[:, COUNTER_OUTCOME]
        truncated = outcome == outcomes.TIMEOUT
        terminated = (outcome != outcomes.NONE) & ~truncated
        return self.observations.copy(), self.rewards.copy(), terminated, truncated

    # -- read-outs ---------------------------------------------------------------------------
    @property
    def outcomes(self) -> list[str | None]:
        """Outcome name per drone (None while flying)."""
        return [outcomes.NAMES[int(code)] for code in self.counters[:, COUNTER_OUTCOME]]

    @property
    def steps(self) -> NDArray[np.int64]:
        return self.counters[:, COUNTER_STEPS].copy()

    @property
    def time_s(self) -> NDArray[np.float64]:
        return self.scalars[:, SCALAR_TIME_S].copy()

    @property
    def min_clearance_m(self) -> NDArray[np.float64]:
        return self.scalars[:, SCALAR_MIN_CLEARANCE_M].copy()

    @property
    def rotor_energy_j(self) -> NDArray[np.float64]:
        return self.scalars[:, SCALAR_ROTOR_ENERGY_J].copy()

    def reward_terms(self) -> dict[str, NDArray[np.float64]]:
        """The latest step's reward terms by name, each [B]."""
        return {name: self.terms[:, i].copy() for i, name in enumerate(TERM_NAMES)}
