"""Every bundled world can actually be flown in PyBullet: plan a path on the free-cell grid, fly it.

The planner and the waypoint follower are test scaffolding with privileged knowledge (the
layout and the drone's position); they show that a path exists AND that the drone's dynamics,
speed limits and time limit allow flying it.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest

from spikefly.worlds import bundled_worlds
from spikefly.worlds.solvability import free_cell_grid

CLEARANCE_M = 0.35  # drone sphere 0.07 m + room for tracking error
CELL_M = 0.2
CRUISE_MPS = 1.5


def plan_path(course, obstacles) -> np.ndarray:
    """Breadth-first search over 26-connected free cells; returns waypoints (P, 3) from start to goal."""
    free, centres = free_cell_grid(course, obstacles, CLEARANCE_M, CELL_M)
    grid = np.stack(np.meshgrid(*centres, indexing="ij"), axis=-1)
    start = np.unravel_index(np.argmin(np.where(free, np.linalg.norm(grid - course.start_position, axis=-1), np.inf)), free.shape)
    goal_distance = np.linalg.norm(grid - course.goal_position, axis=-1)
    parents = {start: None}
    queue = deque([start])
    steps = [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)]
    while queue:
        cell = queue.popleft()
        if goal_distance[cell] < course.goal_radius * 0.5:
            path = []
            while cell is not None:
                path.append(grid[cell])
                cell = parents[cell]
            return np.array(path[::-1])
        for step in steps:
            nxt = (cell[0] + step[0], cell[1] + step[1], cell[2] + step[2])
            if all(0 <= nxt[a] < free.shape[a] for a in range(3)) and free[nxt] and nxt not in parents:
                parents[nxt] = cell
                queue.append(nxt)
    raise AssertionError(f"{course.name}: no path with {CLEARANCE_M} m clearance")


def follow(env, path: np.ndarray, yaw: float) -> dict:
    """Fly toward a carrot 0.6 m ahead on the path, holding the start heading."""
    info = {"position_m": np.asarray(env.unwrapped.course.start_position)}
    progress = 0
    while True:
        position = info["position_m"]
        distances = np.linalg.norm(path[progress:] - position, axis=1)
        progress += int(np.argmin(distances[:40]))
        ahead = np.cumsum(np.r_[0.0, np.linalg.norm(np.diff(path[progress:], axis=0), axis=1)])
        carrot = path[progress + min(int(np.searchsorted(ahead, 0.6)), len(ahead) - 1)]
        direction = carrot - position
        velocity = direction / max(np.linalg.norm(direction), 1e-9) * CRUISE_MPS
        forward = math.cos(yaw) * velocity[0] + math.sin(yaw) * velocity[1]
        lateral = -math.sin(yaw) * velocity[0] + math.cos(yaw) * velocity[1]
        action = np.array([forward / 2.0, lateral / 2.0, np.clip(velocity[2], -1, 1), 0.0], dtype=np.float32)
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return info


@pytest.mark.parametrize("world", bundled_worlds())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_planned_path_through_each_bundled_world_reaches_the_goal(make_env, world, seed):
    env = make_env(world)
    env.reset(seed=seed)
    path = plan_path(env.course, env.layout)
    info = follow(env, path, env.course.start_yaw)
    assert info["outcome"] == "goal", (world, seed, info["outcome"], info["position_m"])
    assert info["min_clearance_m"] > 0.05
