"""Hand-written pilots for the quadrotor env: a demo before evolution, and a fixed reference.

They read only the observation, like any evolved controller.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_layout
from spikefly.envs.sim.range_sensor import ray_directions


class ReactivePilot:
    """Potential-field pilot for ``action_mode="velocity"``: attracted by the goal, repelled by near rays.

    Each ray closer than ``influence_m`` pushes away along its direction with a strength growing
    as ``1/d - 1/influence_m``; the heading turns toward the commanded direction of travel.
    """

    def __init__(self, settings: QuadrotorSettings, *, influence_m: float = 1.6, repulsion: float = 1.2, cruise: float = 0.8) -> None:
        if settings.action_mode != "velocity":
            raise ValueError("ReactivePilot flies action_mode='velocity' only")
        self.settings = settings
        self.layout = observation_layout(settings)
        directions = ray_directions(settings.n_rays, settings.fov_deg, False)
        self._ray_xy = directions[:, :2]
        # the row nearest the horizontal plane
        level_row = int(np.argmin(np.abs(np.asarray(settings.ray_elevations_deg))))
        self._level = slice(level_row * settings.n_rays, (level_row + 1) * settings.n_rays)
        self.influence_m = influence_m
        self.repulsion = repulsion
        self.cruise = cruise

    def __call__(self, observation: NDArray[np.float32]) -> NDArray[np.float32]:
        s, layout = self.settings, self.layout
        ranges_m = observation[layout["ranges"]][self._level].astype(np.float64) * s.max_range_m
        goal = np.array([observation[layout["goal_bearing_cos"]][0], observation[layout["goal_bearing_sin"]][0]])
        near = ranges_m < self.influence_m
        push = np.zeros(2)
        if near.any():
            strength = 1.0 / np.maximum(ranges_m[near], 0.05) - 1.0 / self.influence_m
            push = -(strength[:, None] * self._ray_xy[near]).sum(axis=0)
        direction = goal + self.repulsion * push
        norm = float(np.linalg.norm(direction))
        direction = direction / norm if norm > 1e-9 else goal
        closest = float(ranges_m.min())
        speed = self.cruise * min(1.0, max(0.25, (closest - 0.3) / self.influence_m))
        goal_height = float(observation[layout["goal_height"]][0])
        yaw_rate = float(np.clip(1.5 * math.atan2(direction[1], direction[0]), -1.0, 1.0))
        return np.array(
            [speed * direction[0], speed * direction[1], np.clip(2.0 * goal_height, -1.0, 1.0), yaw_rate],
            dtype=np.float32,
        )
