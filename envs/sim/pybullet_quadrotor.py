"""PyBullet backend of the quadrotor: one DIRECT client, the drone, one compound obstacle body.

Knows nothing of Gymnasium; :mod:`spikefly.envs.quadrotor_env` wraps it. Every PyBullet call
passes the client id. Python work per physics step is kept to the few calls that must cross into
PyBullet (read state, apply one force and one torque, step, read contacts); the controller
arithmetic runs in :mod:`spikefly.envs.sim.flight_control`.
"""

from __future__ import annotations

import math
import os

import numpy as np
from spikefly.envs.sim.pybullet_client import pybullet
import pybullet_data
from numpy.typing import NDArray

from spikefly.envs.sim import outcomes
from spikefly.envs.sim.drone_model import DroneParams, FlightParams, flight_record
from spikefly.envs.sim.flight_control import rotor_power_w, rpm_mode_wrench, velocity_mode_wrench
from spikefly.envs.sim.observation import heading_of, ray_segments
from spikefly.worlds import SHAPE_BOX, SHAPE_CYLINDER, ObstacleArrays

# Rays start just outside the drone's own collision sphere so they never hit it.
_RAY_START_MARGIN_M = 1e-3
# Obstacle-layout rebuilds between two full scene resets (which free leaked collision shapes).
_SCENE_RESET_EVERY = 200
_COMPOUND_LIMIT = 16
# Extra distance kept when deciding that no contact is reachable within a control step.
_CONTACT_MARGIN_M = 0.02

Vector3 = tuple[float, float, float]
#: (position m, quaternion xyzw, velocity m/s, angular velocity rad/s), world frame, as PyBullet returns them.
DroneState = tuple[Vector3, tuple[float, float, float, float], Vector3, Vector3]


class PyBulletQuadrotor:
    """One quadrotor in one PyBullet client.

    ``ray_directions``: shape (R, 3), unit vectors in the heading frame (yaw only; the range
    sensor is attitude-compensated). Readings are distances in metres from the drone's centre.
    ``flight`` is the drone the inner controller assumes; :meth:`set_plant` changes the drone
    actually flown (model error). ``thrust_to_weight_bound`` bounds the flown drone's ratio
    (gates the contact tests; default the nominal drone's).
    """

    def __init__(
        self,
        drone: DroneParams,
        flight: FlightParams,
        ray_directions: NDArray[np.float64],
        max_range_m: float,
        *,
        gui: bool = False,
        thrust_to_weight_bound: float | None = None,
    ) -> None:
        if ray_directions.ndim != 2 or ray_directions.shape[1] != 3:
            raise ValueError(f"ray_directions must have shape (R, 3), got {ray_directions.shape}")
        self.drone = drone
        self.flight = flight
        self._nominal_record = flight_record(flight)
        #: The drone flown (:meth:`set_plant`); ``flight`` until then.
        self.plant = flight
        # The records the flight code takes: (1,) while the plant is nominal, (nominal, plant) else.
        self._flight_record = self._nominal_record
        self.thrust_to_weight_bound = drone.thrust_to_weight if thrust_to_weight_bound is None else thrust_to_weight_bound
        self.ray_directions = np.ascontiguousarray(ray_directions, dtype=np.float64)
        self.max_range_m = float(max_range_m)
        self.client = pybullet.connect(pybullet.GUI if gui else pybullet.DIRECT)
        self.ground = -1
        self._ground_height_m = 0.0
        self._ground_visual = False
        self.obstacle_bodies: list[int] = []
        self.goal_marker = -1
        self._goal_visual = False
        self._rebuilds_since_reset = 0
        self._setup_scene()
        self.motor_rpm = np.zeros(4)
        self.integral = np.zeros(3)
        self.wind_mps = np.zeros(3)
        self.bounds_min = np.full(3, -np.inf)
        self.bounds_max = np.full(3, np.inf)
        self.goal_position = np.zeros(3)
        self.goal_radius_m = 0.0
        self.state: DroneState = self._read_state()
        self.clearance = self.min_clearance = self.max_range_m

    def _setup_scene(self) -> None:
        c = self.client
        pybullet.setGravity(0.0, 0.0, -self.flight.gravity_mps2, physicsClientId=c)
        pybullet.setPhysicsEngineParameter(fixedTimeStep=self.flight.dt_s, physicsClientId=c)
        self.drone_body = pybullet.loadURDF(
            self.drone.urdf_path, flags=pybullet.URDF_USE_INERTIA_FROM_FILE, physicsClientId=c
        )
        # PyBullet damps every body by default; the drag model stands in for air instead.
        pybullet.changeDynamics(self.drone_body, -1, linearDamping=0.0, angularDamping=0.0, physicsClientId=c)
        # The URDF's mass and inertia are the nominal drone's (cf2x.urdf holds both).
        self._body_mass_inertia = (self.flight.mass_kg, self.flight.inertia_x, self.flight.inertia_y, self.flight.inertia_z)
        self._apply_plant_body()

    @property
    def flight_records(self) -> NDArray:
        """The flight records the controller and motors use: nominal, then the flown drone (if it differs)."""
        return self._flight_record

    def set_plant(self, plant: FlightParams) -> None:
        """Fly ``plant`` (mass, inertia, rotor coefficients, motor lag) while the controller keeps ``flight``.

        PyBullet integrates the body with the plant's mass and inertia (changed only when they
        differ from the body's); the motors turn RPM into thrust with its coefficients.
        """
        self.plant = plant
        if plant == self.flight:
            self._flight_record = self._nominal_record
        else:
            self._flight_record = np.concatenate([self._nominal_record, flight_record(plant)])
        self._apply_plant_body()

    def _apply_plant_body(self) -> None:
        p = self.plant
        wanted = (p.mass_kg, p.inertia_x, p.inertia_y, p.inertia_z)
        if wanted != self._body_mass_inertia:
            pybullet.changeDynamics(self.drone_body, -1, mass=p.mass_kg, localInertiaDiagonal=list(wanted[1:]),
                                    physicsClientId=self.client)
            self._body_mass_inertia = wanted

    def _reset_scene(self) -> None:
        """Start the client afresh: PyBullet cannot free a removed body's compound collision shape
        (~0.5 KB per child shape per rebuild), but resetSimulation frees everything (~6 ms)."""
        pybullet.resetSimulation(physicsClientId=self.client)
        self.ground = self.goal_marker = -1
        self.obstacle_bodies = []
        self._setup_scene()
        self.set_ground(self._ground_height_m, visual=self._ground_visual)
        self.set_task(self.bounds_min, self.bounds_max, self.goal_position, self.goal_radius_m, visual=self._goal_visual)
        self._rebuilds_since_reset = 0

    # -- world ---------------------------------------------------------------------------
    def set_ground(self, height_m: float, *, visual: bool) -> None:
        """A ground plane at ``height_m`` (the floor of the world's bounds)."""
        c = self.client
        self._ground_height_m, self._ground_visual = height_m, visual
        if self.ground >= 0:
            pybullet.removeBody(self.ground, physicsClientId=c)
        if visual:
            self.ground = pybullet.loadURDF(
                os.path.join(pybullet_data.getDataPath(), "plane.urdf"), [0.0, 0.0, height_m], physicsClientId=c
            )
        else:
            shape = pybullet.createCollisionShape(pybullet.GEOM_PLANE, physicsClientId=c)
            self.ground = pybullet.createMultiBody(0.0, shape, basePosition=[0.0, 0.0, height_m], physicsClientId=c)

    def set_task(self, bounds_min, bounds_max, goal_position, goal_radius_m: float, *, visual: bool) -> None:
        """Bounds box and goal sphere; with ``visual`` the goal is drawn (it never collides)."""
        c = self.client
        self._goal_visual = visual
        self.bounds_min = np.asarray(bounds_min, dtype=np.float64)
        self.bounds_max = np.asarray(bounds_max, dtype=np.float64)
        self.goal_position = np.asarray(goal_position, dtype=np.float64)
        self.goal_radius_m = float(goal_radius_m)
        if self.goal_marker >= 0:
            pybullet.removeBody(self.goal_marker, physicsClientId=c)
            self.goal_marker = -1
        if visual:
            shape = pybullet.createVisualShape(
                pybullet.GEOM_SPHERE, radius=self.goal_radius_m, rgbaColor=[0.1, 0.8, 0.2, 0.45], physicsClientId=c
            )
            self.goal_marker = pybullet.createMultiBody(
                0.0, -1, shape, basePosition=self.goal_position.tolist(), physicsClientId=c
            )

    def set_obstacles(self, arrays: ObstacleArrays, *, visual: bool) -> None:
        """Replace the static obstacles by compound bodies of up to 16 shapes each.

        PyBullet 3.2.7 keeps at most 16 children in a compound shape (MAX_COMPOUND_COLLISION_SHAPES)
        and silently drops the rest, so a layout is built as ceil(N / 16) compound bodies; step cost
        still grows per body, not per obstacle. PyBullet draws a compound's children itself, with a
        noise texture that is replaced by flat colours when ``visual``. The drone must be reset
        afterwards: every ``_SCENE_RESET_EVERY`` rebuilds the whole scene is re-created to free
        PyBullet's memory, and the drone with it.
        """
        if self.obstacle_bodies:
            self._rebuilds_since_reset += 1
            if self._rebuilds_since_reset >= _SCENE_RESET_EVERY:
                self._reset_scene()
            else:
                for body in self.obstacle_bodies:
                    pybullet.removeBody(body, physicsClientId=self.client)
                self.obstacle_bodies = []
        c = self.client
        count = len(arrays.shape)
        for first in range(0, count, _COMPOUND_LIMIT):
            chunk = range(first, min(first + _COMPOUND_LIMIT, count))
            types, radii, half_extents, lengths, positions, orientations, colours = [], [], [], [], [], [], []
            for index in chunk:
                kind, half, yaw = int(arrays.shape[index]), arrays.half_extents_m[index].tolist(), float(arrays.yaw_rad[index])
                types.append({SHAPE_BOX: pybullet.GEOM_BOX, SHAPE_CYLINDER: pybullet.GEOM_CYLINDER}.get(kind, pybullet.GEOM_SPHERE))
                radii.append(half[0])
                half_extents.append(half)
                lengths.append(2.0 * half[2])
                positions.append(arrays.position_m[index].tolist())
                orientations.append([0.0, 0.0, math.sin(0.5 * yaw), math.cos(0.5 * yaw)])
                colours.append([0.45, 0.33, 0.22, 1.0] if kind == SHAPE_CYLINDER else [0.6, 0.62, 0.68, 1.0])
            collision = pybullet.createCollisionShapeArray(
                shapeTypes=types, radii=radii, halfExtents=half_extents, lengths=lengths,
                collisionFramePositions=positions, collisionFrameOrientations=orientations, physicsClientId=c,
            )
            body = pybullet.createMultiBody(0.0, collision, physicsClientId=c)
            self.obstacle_bodies.append(body)
            if visual:
                for index, colour in enumerate(colours):
                    pybullet.changeVisualShape(body, -1, shapeIndex=index, rgbaColor=colour, textureUniqueId=-1, physicsClientId=c)

    # -- drone ---------------------------------------------------------------------------
    def reset_drone(self, position, yaw_rad: float) -> None:
        """Restore the drone's pose at rest, rotors at hover speed; the world is untouched."""
        c = self.client
        orientation = [0.0, 0.0, math.sin(0.5 * yaw_rad), math.cos(0.5 * yaw_rad)]
        pybullet.resetBasePositionAndOrientation(self.drone_body, list(position), orientation, physicsClientId=c)
        pybullet.resetBaseVelocity(self.drone_body, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], physicsClientId=c)
        self.motor_rpm[:] = self.drone.hover_rpm
        self.integral[:] = 0.0
        self.state = self._read_state()
        self.min_clearance = self.max_range_m
        self._measure_clearance()

    def _measure_clearance(self) -> None:
        # Nothing beyond the smallest clearance so far can lower it, so the query stops there
        # (PyBullet's cost grows with the query distance). ``clearance`` is then a lower bound
        # of the true clearance, which is all the contact gating needs.
        self.clearance = self.clearance_m(self.min_clearance)
        self.min_clearance = min(self.min_clearance, self.clearance)

    def _read_state(self) -> DroneState:
        c = self.client
        position, quaternion = pybullet.getBasePositionAndOrientation(self.drone_body, physicsClientId=c)
        velocity, angular_velocity = pybullet.getBaseVelocity(self.drone_body, physicsClientId=c)
        return position, quaternion, velocity, angular_velocity

    def _contact_reachable(self, control_period_s: float) -> bool:
        """Could the drone touch an obstacle or the ground within the next control period?

        A conservative bound: distance covered from the current speed plus the most the drone
        can accelerate (full thrust plus gravity, doubled for drag and wind). Only when it could
        are contacts read after every physics step; far from everything they need not be.
        """
        position, _, velocity, _ = self.state
        speed = math.sqrt(velocity[0] ** 2 + velocity[1] ** 2 + velocity[2] ** 2)
        max_acceleration = 2.0 * (self.thrust_to_weight_bound + 1.0) * self.flight.gravity_mps2
        reach = speed * control_period_s + 0.5 * max_acceleration * control_period_s**2 + _CONTACT_MARGIN_M
        height = position[2] - self._ground_height_m - self.drone.collision_radius_m
        return self.clearance < reach or height < reach

    def advance(self, action: NDArray[np.float64], velocity_mode: bool, physics_steps: int) -> tuple[int, int]:
        """Run ``physics_steps`` physics steps holding ``action``; stop early when the episode ends.

        Returns (outcome code, physics steps taken) and leaves the final state in ``self.state``
        and the clearance in ``self.clearance``. After every physics step: collision (contact
        with an obstacle or the ground), then bounds, then the goal.
        """
        c = self.client
        body = self.drone_body
        record = self._flight_record
        step = pybullet.stepSimulation
        get_pose = pybullet.getBasePositionAndOrientation
        get_velocity = pybullet.getBaseVelocity
        apply_force = pybullet.applyExternalForce
        apply_torque = pybullet.applyExternalTorque
        contacts = pybullet.getContactPoints
        link_frame = pybullet.LINK_FRAME
        origin = (0.0, 0.0, 0.0)
        lo0, lo1, lo2 = self.bounds_min.tolist()
        hi0, hi1, hi2 = self.bounds_max.tolist()
        g0, g1, g2 = self.goal_position.tolist()
        goal_radius_sq = self.goal_radius_m**2
        check_contacts = self._contact_reachable(physics_steps * self.flight.dt_s)
        _, quaternion, velocity, angular_velocity = self.state
        outcome, taken = outcomes.NONE, physics_steps
        for index in range(1, physics_steps + 1):
            if velocity_mode:
                wrench = velocity_mode_wrench(
                    quaternion, velocity, angular_velocity, action, self.motor_rpm, self.integral, self.wind_mps, record
                )
            else:
                wrench = rpm_mode_wrench(quaternion, velocity, action, self.motor_rpm, self.wind_mps, record)
            apply_force(body, -1, wrench[:3], origin, link_frame, physicsClientId=c)
            apply_torque(body, -1, wrench[3:], link_frame, physicsClientId=c)
            step(physicsClientId=c)
            position, quaternion = get_pose(body, physicsClientId=c)
            velocity, angular_velocity = get_velocity(body, physicsClientId=c)
            if check_contacts and any(point[8] <= 0.0 for point in contacts(bodyA=body, physicsClientId=c)):
                outcome, taken = outcomes.COLLISION, index
                break
            x, y, z = position
            if not (lo0 <= x <= hi0 and lo1 <= y <= hi1 and lo2 <= z <= hi2):
                outcome, taken = outcomes.OUT_OF_BOUNDS, index
                break
            if (x - g0) ** 2 + (y - g1) ** 2 + (z - g2) ** 2 <= goal_radius_sq:
                outcome, taken = outcomes.GOAL, index
                break
        self.state = (position, quaternion, velocity, angular_velocity)
        self._measure_clearance()
        return outcome, taken

    # -- sensing -------------------------------------------------------------------------
    def ranges(self) -> NDArray[np.float64]:
        """Range readings (R,) in metres from the drone's centre, capped at ``max_range_m``."""
        position, quaternion, _, _ = self.state
        start_m = self.drone.collision_radius_m + _RAY_START_MARGIN_M
        starts, ends = ray_segments(position, heading_of(quaternion), self.ray_directions, start_m, self.max_range_m)
        hits = pybullet.rayTestBatch(starts, ends, physicsClientId=self.client)
        fractions = np.array([hit[2] for hit in hits])
        return start_m + fractions * (self.max_range_m - start_m)

    def clearance_m(self, query_m: float) -> float:
        """Distance from the drone's collision sphere to the nearest obstacle, or ``query_m`` if none is nearer."""
        nearest = query_m
        for body in self.obstacle_bodies:
            points = pybullet.getClosestPoints(self.drone_body, body, nearest, physicsClientId=self.client)
            nearest = min((point[8] for point in points), default=nearest)
        return nearest

    def rotor_power_w(self) -> float:
        """Mechanical rotor power now, W (the flown drone's torque coefficient)."""
        return rotor_power_w(self.motor_rpm, self.plant.torque_coefficient)

    def close(self) -> None:
        if self.client >= 0:
            pybullet.disconnect(physicsClientId=self.client)
            self.client = -1
