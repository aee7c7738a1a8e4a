"""``spikefly/QuadrotorAvoid-v0``: fly a quadrotor to a goal through obstacles, from range sensors."""

from __future__ import annotations

import math
import os
from typing import Any

import gymnasium
import numpy as np
from spikefly.envs.sim.pybullet_client import pybullet
from gymnasium import spaces
from gymnasium.utils import EzPickle
from numpy.typing import NDArray

from spikefly.envs.sim import outcomes
from spikefly.envs.render.camera import chase_view
from spikefly.envs.sim.drone_model import DEFAULT_URDF, flight_params, load_drone
from spikefly.envs.sim.flight_control import guided_setpoint
from spikefly.envs.sim.guidance import gap_setpoint
from spikefly.envs.sim.observation import assemble_observation, geofence_ranges, heading_of
from spikefly.envs.sim.pybullet_quadrotor import PyBulletQuadrotor, Vector3
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.envs.sim.path_field import PathField, goal_potential, path_field
from spikefly.envs.sim.randomisation import (
    contact_thrust_to_weight,
    draw_randomisation,
    gust_coefficients,
    plant_params,
    randomisation_on,
)
from spikefly.envs.sim.range_sensor import ray_spacing_rad, sensor_rays
from spikefly.envs.sim.reward import TERM_NAMES, compute_reward_terms
from spikefly.envs.reset_options import reset_options
from spikefly.worlds import Obstacle, ObstacleCourse, load_world, pack_obstacles



class QuadrotorAvoidEnv(gymnasium.Env[NDArray[np.float32], NDArray[np.float32]], EzPickle):
    """
    ## Description

    A Crazyflie 2.x-class quadrotor (PyBullet, 240 Hz physics, 30 Hz control by default) flies
    from the world's start to its goal sphere through static obstacles, seeing them only through
    a ring of range-sensor rays. Worlds are TOML files (``spikefly.worlds``); procedural worlds
    draw a new layout from every episode's seed. Rotors have a first-order lag, the airframe
    linear drag; sensor noise, wind and model error (mass, thrust, motor lag) are optional
    domain randomisation, drawn from the episode's seed as the Numba twin draws them.

    ## Action Space

    ``Box(-1, 1, (4,), float32)``. Out-of-range values are clipped; NaN or infinity is an error.

    | mode | index | meaning | at +1 |
    |---|---|---|---|
    | ``velocity`` (default) | 0 | forward velocity set-point (heading frame) | ``max_speed_xy_mps`` (2 m/s) |
    | | 1 | lateral (left) velocity set-point | ``max_speed_xy_mps`` |
    | | 2 | vertical velocity set-point | ``max_speed_z_mps`` (1 m/s) |
    | | 3 | yaw rate set-point (counter-clockwise) | ``max_yaw_rate_rps`` (1.5 rad/s) |
    | ``guided`` | 0..3 | the velocity mode's set-points, each added to a goal-seeking guidance law's and clipped | as ``velocity`` |
    | ``gap`` | 0..3 | the velocity mode's set-points, each added to a gap-seeking guidance law's and clipped | as ``velocity`` |
    | ``rpm`` | 0..3 | motor command, motors front-right, rear-right, rear-left, front-left | max RPM (-1 is 0 RPM) |

    In velocity mode a cascaded controller (velocity P+I -> tilt-limited thrust vector ->
    geometric attitude control -> body rates -> X mixer) runs at the physics rate. In guided mode,
    once per control step, the guidance law turns toward the goal, flies forward at 0.7 of full
    speed times the cosine of the goal bearing and climbs or sinks toward the goal's height
    (:func:`spikefly.envs.sim.flight_control.guided_setpoint`); the action is what the controller
    adds to that, so action 0 flies straight at the goal and a controller learns only how to
    deviate. On a drone it is a few lines of the flight stack,
    beside the velocity controller, and reads only what the observation holds (the goal's
    bearing and height). Gap mode (``action_mode="gap"``) adds the action to a gap-seeking law
    instead: from the same observation the controller reads, it flies toward the free direction
    nearest the goal, keeps going one way along a wall, and slows near obstacles
    (:func:`spikefly.envs.sim.guidance.gap_setpoint`). The evolution default uses gap mode;
    ``spikefly export --format c`` writes its law as C beside the network.

    ## Observation Space

    ``Box(float32)`` of ``R + 10`` elements, ``R = n_rays x len(ray_elevations_deg) (+2 with up_down_rays)``; 26 by default.

    | index | observation | range | unit / scaling |
    |---|---|---|---|
    | 0 .. n_rays-1 | range readings of the first elevation row (level by default), right to left over ``fov_deg`` | [0, 1] | distance / ``max_range_m`` (1 = nothing in range) |
    | then n_rays per row | the rows of the further ``ray_elevations_deg``, in their order | [0, 1] | distance / ``max_range_m`` |
    | last two of R | up and down readings (only with ``up_down_rays``) | [0, 1] | distance / ``max_range_m`` |
    | R | sine of the goal bearing relative to the heading (+ = goal to the left) | [-1, 1] | |
    | R+1 | cosine of the goal bearing | [-1, 1] | |
    | R+2 | distance to the goal centre | [0, 1] | metres / ``goal_distance_scale_m`` (20), clipped |
    | R+3 | goal height above the drone | [-1, 1] | metres / 2, clipped |
    | R+4 .. R+6 | velocity in the body frame (forward, left, up) | [-1, 1] | m/s / ``velocity_scale_mps`` (4), clipped |
    | R+7 | roll | [-1, 1] | radians / pi |
    | R+8 | pitch | [-1, 1] | radians / pi |
    | R+9 | altitude within the world's bounds | [0, 1] | 0 at the floor, 1 at the ceiling |

    Rays stop at obstacles and the ground; with ``geofence_rays`` also where they leave the world's bounds.

    ## Rewards

    The sum of named terms, each in ``info["reward_terms"]`` (weights: ``RewardWeights``):
    ``progress`` (metres the goal distance shrank: straight-line, or around obstacles with
    ``progress_metric="path"``), ``goal`` (+10 on arrival), ``collision``
    (-10), ``out_of_bounds`` (-10), ``time`` (-0.1 per second) and ``control_effort``
    (-0.05 x mean squared action per second), and ``timeout`` (0 by default: ``timeout_penalty``
    charges an episode that ends at its time limit short of the goal).

    ## Starting State

    At rest at the world's start position and yaw, rotors spinning at hover speed.

    ## Episode End

    ``terminated`` when the drone touches an obstacle or the ground (``collision``), reaches the
    goal sphere (``goal``) or leaves the world's bounds (``out_of_bounds``), checked after every
    physics step; ``truncated`` when the world's ``time_limit_s`` runs out (``timeout``).
    ``info["outcome"]`` names it (None while flying). ``info`` also has ``min_clearance_m`` (the
    smallest distance between the drone's 7 cm collision sphere and an obstacle so far, capped at
    ``max_range_m``), ``position_m``, ``velocity_mps``, ``time_s``, ``rotor_energy_j`` (mechanical energy the
    rotors absorbed) and ``world``.

    ## Arguments

    ``gymnasium.make("spikefly/QuadrotorAvoid-v0", world="forest", render_mode=None, **settings)``
    where ``world`` is a bundled name (``spikefly.worlds.bundled_worlds()``) or a path to a
    world file, and ``settings`` are the fields of ``QuadrotorSettings`` (rays, speeds, noise,
    wind, rates, reward weights). ``reset(options={"world": name_or_path})`` switches world.
    ``render_mode="rgb_array"`` returns chase-camera frames (TinyRenderer, CPU);
    ``render_mode="human"`` opens the PyBullet GUI and needs a display.

    Domain randomisation settings (all 0 = off by default; ``spikefly.envs.sim.randomisation`` has
    presets). Each is drawn per episode from the ``reset`` seed (without one, from the env's
    generator), identically in the twin:

    | setting | effect |
    |---|---|
    | ``range_noise_std_m`` | Gaussian noise on every range reading, m |
    | ``range_dropout_prob`` | chance that a reading is lost and reads max range |
    | ``wind_speed_mps`` | mean horizontal wind: speed uniform in [0, this], any heading |
    | ``wind_gust_std_mps`` | Ornstein-Uhlenbeck gusts per axis (``wind_gust_time_constant_s``, 1.5 s) |
    | ``mass_variation`` | true mass and inertia: nominal x U(1 - v, 1 + v) |
    | ``thrust_variation`` | true thrust coefficient kf, torque coefficient km with it: nominal x U(1 - v, 1 + v) |
    | ``motor_lag_variation`` | true motor time constant: nominal x U(1 - v, 1 + v) |

    Model error (the last three, each below 0.5) changes only the drone flown; the inner
    controller keeps the nominal constants, as a real one would not know the true mass.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def __init__(self, world: str | os.PathLike[str] = "forest", render_mode: str | None = None, **settings: Any) -> None:
        EzPickle.__init__(self, world, render_mode, **settings)  # pickling re-creates the env from its arguments
        self.settings = QuadrotorSettings.from_kwargs(**settings)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r}: choose None or one of {self.metadata['render_modes']}")
        if render_mode == "human" and not os.environ.get("DISPLAY"):
            raise RuntimeError(
                "render_mode='human' opens the PyBullet GUI and needs a display, but DISPLAY is not set. "
                "Fix: use render_mode='rgb_array' on a headless machine."
            )
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": self.settings.control_hz}
        s = self.settings
        self.drone = load_drone(s.urdf_path or DEFAULT_URDF)
        self._flight = flight_params(
            self.drone, s.physics_hz, max_speed_xy_mps=s.max_speed_xy_mps, max_speed_z_mps=s.max_speed_z_mps,
            max_yaw_rate_rps=s.max_yaw_rate_rps,
        )
        self._rays = sensor_rays(s)
        # action_mode="gap": what the guidance law takes beside the action and the observation (fixed per env).
        self._gap_sensing = (self._rays, s.n_rays, len(s.ray_elevations_deg), ray_spacing_rad(s.n_rays, s.fov_deg),
                             s.max_range_m, s.goal_distance_scale_m, s.velocity_scale_mps, self._flight.max_yaw_rate_rps)
        self._sim = PyBulletQuadrotor(
            self.drone, self._flight, self._rays, s.max_range_m, gui=render_mode == "human",
            thrust_to_weight_bound=contact_thrust_to_weight(self.drone.thrust_to_weight, s),
        )
        self._visual = render_mode is not None
        self._sim.set_ground(0.0, visual=self._visual)

        self.observation_space = observation_space(s)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)

        self._max_steps = 0
        self._steps = 0
        self._time_s = 0.0
        self._distance_m = 0.0
        self._path: PathField | None = None
        self._rotor_energy_j = 0.0
        self._outcome = outcomes.NONE
        self._gust_mps = np.zeros(3)
        self._mean_wind_mps = np.zeros(3)
        self._gust_decay, self._gust_scale = gust_coefficients(s)
        self._gust_noise = np.zeros((0, 3))  # [T, 3] standard normals of this episode's gusts
        self._range_noise = np.zeros((0, len(self._rays)))  # [T, R] m added to readings, NaN = dropout
        self._reward_weights = s.reward.as_array()
        self._terms = np.zeros(len(TERM_NAMES))
        #: The world file as loaded; a course that draws its frame per episode (the mixed generator)
        #: gives each episode its own ``course``.
        self.world_course: ObstacleCourse = self._load_course(world)
        #: The course of the current episode (its bounds, start, goal and time limit).
        self.course: ObstacleCourse = self.world_course
        #: The obstacles of the current episode (static and generated), set by reset().
        self.layout: tuple[Obstacle, ...] = ()
        self._layout_pending = True

    # -- world -----------------------------------------------------------------------------
    def _load_course(self, world: str | os.PathLike[str]) -> ObstacleCourse:
        return self._apply_course(load_world(world))

    def _apply_course(self, course: ObstacleCourse) -> ObstacleCourse:
        """Give the simulation ``course``'s floor, bounds, goal and time limit."""
        sim = self._sim
        sim.set_ground(course.bounds_min[2], visual=self._visual)
        sim.set_task(course.bounds_min, course.bounds_max, course.goal_position, course.goal_radius, visual=self._visual)
        self._max_steps = max(1, round(course.time_limit_s * self.settings.control_hz))
        self._goal = tuple(course.goal_position)
        return course

    # -- Gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = reset_options(options)
        if options.get("world") is not None:
            self.world_course = self.course = self._load_course(options["world"])
            self._layout_pending = True
        # The layout has its own generator drawn from the episode's stream: same seed, same layout
        # (spikefly.envs.twin.worlds.layout_rng draws the same one for the twin).
        layout_seed = int(self.np_random.integers(2**63))
        if self._layout_pending or self.world_course.is_procedural:
            course, self.layout = self.world_course.episode(np.random.default_rng(layout_seed))
            if course is not self.course:
                self.course = self._apply_course(course)
            packed = pack_obstacles(self.layout)
            self._sim.set_obstacles(packed, visual=self._visual)
            self._layout_pending = False
            self._path = None
            if self.settings.progress_metric == "path":
                self._path = path_field(self.course.bounds_min, self.course.bounds_max, self.course.goal_position,
                                        self.course.goal_radius, packed, self.drone.collision_radius_m, self.settings.path_cell_m)
        self._sim.reset_drone(self.course.start_position, self.course.start_yaw)
        s = self.settings
        # Wind, sensor noise and model error come from the episode's seed as the twin draws them,
        # so a seed flies the same episode in both engines. Without a seed the episode draws one
        # (only when something is randomised: clean episodes keep the stream as it was).
        episode_seed = seed
        if episode_seed is None and randomisation_on(s):
            episode_seed = int(self.np_random.integers(2**63))
        drawn = draw_randomisation(s, len(self._rays), [0 if episode_seed is None else episode_seed], self._max_steps + 1)
        self._mean_wind_mps = drawn.mean_wind[0]
        self._gust_noise, self._range_noise = drawn.gust_noise[0], drawn.range_noise[0]
        self._sim.set_plant(plant_params(self.drone, self._flight, drawn.model_scale[0]))
        self._gust_mps = np.zeros(3)
        self._sim.wind_mps[:] = self._mean_wind_mps
        self._steps = 0
        self._time_s = 0.0
        self._rotor_energy_j = 0.0
        self._outcome = outcomes.NONE
        self._distance_m = self._potential(self.course.start_position)
        observation, position, velocity = self._observe()
        return observation, self._info(position, velocity, dict.fromkeys(TERM_NAMES, 0.0))

    def step(self, action: NDArray[np.float32]):
        if self._max_steps == 0 or self._steps >= self._max_steps or self._outcome != outcomes.NONE:
            raise RuntimeError("step() called on a finished episode; call reset() first.")
        values = np.asarray(action, dtype=np.float64).reshape(-1).tolist()
        if len(values) != 4:
            raise ValueError(f"action must have 4 elements (see the action table), got shape {np.shape(action)}")
        if not all(math.isfinite(value) for value in values):
            raise ValueError(f"action contains NaN or infinity: {values}. Fix the controller that produced it.")
        clipped = [min(max(value, -1.0), 1.0) for value in values]
        s = self.settings
        if s.action_mode == "guided":
            position, quaternion, _, _ = self._sim.state
            command = np.array(guided_setpoint(np.array(clipped), np.asarray(position), np.asarray(quaternion),
                                               np.asarray(self._goal), self._sim.flight_records))
        elif s.action_mode == "gap":
            command = np.array(gap_setpoint(np.array(clipped), self._observation, *self._gap_sensing))
        else:
            command = np.array(clipped)
        self._update_wind()
        outcome, taken = self._sim.advance(command, s.action_mode != "rpm", s.physics_steps_per_control)
        elapsed_s = taken / s.physics_hz
        self._steps += 1
        self._time_s += elapsed_s
        self._rotor_energy_j += self._sim.rotor_power_w() * elapsed_s
        truncated = outcome == outcomes.NONE and self._steps >= self._max_steps
        if truncated:
            outcome = outcomes.TIMEOUT
        self._outcome = outcome
        observation, position, velocity = self._observe()
        distance = self._potential(position)
        compute_reward_terms(
            self._reward_weights, self._distance_m, distance, outcome, sum(value * value for value in clipped) / 4.0,
            elapsed_s, self._terms,
        )
        terms = dict(zip(TERM_NAMES, self._terms.tolist()))
        self._distance_m = distance
        terminated = outcome in (outcomes.GOAL, outcomes.COLLISION, outcomes.OUT_OF_BOUNDS)
        if self.render_mode == "human":
            self.render()
        return observation, float(sum(terms.values())), terminated, truncated, self._info(position, velocity, terms)

    def _potential(self, position) -> float:
        """Progress potential: straight-line distance to the goal, or the path distance around obstacles."""
        if self._path is None:
            return math.dist(position, self._goal)
        field = self._path
        dims = np.array(field.values.shape, np.int64)
        return float(goal_potential(position[0], position[1], position[2], np.asarray(self._goal, np.float64),
                                    (field.values, field.low, field.step, dims)))

    def render(self) -> NDArray[np.uint8] | None:
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to make().")
            return None
        position, quaternion, _, _ = self._sim.state
        yaw = heading_of(quaternion)
        if self.render_mode == "human":
            pybullet.resetDebugVisualizerCamera(1.6, math.degrees(yaw) - 90.0, -22.0, position, physicsClientId=self._sim.client)
            return None
        return chase_view(self._sim.client, position, yaw, self.settings.render_width, self.settings.render_height)

    def close(self) -> None:
        self._sim.close()

    # -- internals ---------------------------------------------------------------------------
    def _update_wind(self) -> None:
        if len(self._gust_noise):
            row = self._gust_noise[min(self._steps, len(self._gust_noise) - 1)]
            self._gust_mps = self._gust_decay * self._gust_mps + self._gust_scale * row
        self._sim.wind_mps[:] = self._mean_wind_mps + self._gust_mps

    def _observe(self) -> tuple[NDArray[np.float32], Vector3, Vector3]:
        s = self.settings
        position, quaternion, velocity, _ = self._sim.state
        ranges = self._sim.ranges()
        course = self.course
        if s.geofence_rays:
            sim = self._sim
            geofence_ranges(ranges, position, heading_of(quaternion), sim.ray_directions, sim.bounds_min, sim.bounds_max)
        if len(self._range_noise):  # as the twin's drone_observe: add the noise, a NaN (dropout) reads max range
            noise = self._range_noise[min(self._steps, len(self._range_noise) - 1)]
            ranges = np.where(np.isnan(noise), s.max_range_m, np.clip(ranges + noise, 0.0, s.max_range_m))
        observation = assemble_observation(
            position, quaternion, velocity, ranges, self._goal, course.bounds_min[2], course.bounds_max[2],
            s.max_range_m, s.goal_distance_scale_m, s.velocity_scale_mps,
        )
        self._observation = observation  # the gap-seeking guidance law reads what the controller read
        return observation, position, velocity

    def _info(self, position, velocity, terms: dict[str, float]) -> dict[str, Any]:
        return {
            "outcome": outcomes.NAMES[self._outcome],
            "reward_terms": terms,
            "min_clearance_m": float(self._sim.min_clearance),
            "position_m": np.asarray(position, dtype=np.float64),
            "velocity_mps": np.asarray(velocity, dtype=np.float64),
            "time_s": self._time_s,
            "rotor_energy_j": self._rotor_energy_j,
            "world": self.course.name,
        }
