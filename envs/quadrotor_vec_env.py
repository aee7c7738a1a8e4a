"""``spikefly/QuadrotorAvoidVec-v0``: the Numba twin as a Gymnasium vector env for RL libraries.

    envs = gymnasium.make_vec("spikefly/QuadrotorAvoid-v0", num_envs=64, world="forest")

``make_vec`` on the single env's id returns this class (its ``vector_entry_point``); pass
``vectorization_mode="sync"`` for PyBullet envs instead. Spaces, reward, outcomes and settings
are those of ``spikefly/QuadrotorAvoid-v0``. Autoreset follows Gymnasium's default next-step
mode: the step after an episode ends returns the first observation of a new episode (a new
layout for procedural worlds), with reward 0 and both flags false.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from spikefly.envs.quadrotor_settings import observation_space
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds, layout_rng
from spikefly.worlds import ObstacleCourse, load_world

# Obstacle padding per world grows with headroom so new layouts rarely force a full repack.
_PADDING_HEADROOM = 1.5


class QuadrotorAvoidVecEnv(VectorEnv):
    """``num_envs`` twin drones, each on its own episode and layout of ``world``."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int, world: str | os.PathLike[str] = "forest", render_mode: None = None, **settings: Any) -> None:
        if render_mode is not None:
            raise ValueError("the twin does not render; use spikefly/QuadrotorAvoid-v0 with render_mode='rgb_array'")
        self.num_envs = num_envs
        self.twin = QuadrotorTwin(num_envs, **settings)
        self.course: ObstacleCourse = load_world(world)
        self.single_observation_space = observation_space(self.twin.settings)
        self.single_action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._needs_reset = np.zeros(num_envs, bool)
        self._episode_rng = np.random.default_rng()

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        """New episodes everywhere; ``seed`` (int) makes the whole sequence of episodes reproducible."""
        options = dict(options or {})
        if set(options) - {"world"}:
            raise ValueError(f"reset(options=...): unknown option(s) {sorted(set(options) - {'world'})}; valid: ['world']")
        if options.get("world") is not None:
            self.course = load_world(options["world"])
        if isinstance(seed, list):
            seed = seed[0]
        if seed is not None or not hasattr(self, "_worlds"):
            self._episode_rng = np.random.default_rng(seed)
            self.action_space.seed(seed)
        episode_seeds = self._episode_seeds(self.num_envs)
        layouts = [self.course.episode(layout_rng(s)) for s in episode_seeds]
        width = int(max(len(obstacles) for _, obstacles in layouts) * _PADDING_HEADROOM) + 1
        self._worlds = self.twin.prepare(TwinWorlds.pack(layouts, min_width=width))
        observations = self.twin.reset(self._worlds, np.arange(self.num_envs), episode_seeds)
        self._needs_reset[:] = False
        return observations, {}

    def _episode_seeds(self, count: int) -> list[int]:
        return [int(s) for s in self._episode_rng.integers(2**63, size=count)]

    def step(self, actions: NDArray[np.float32]):
        twin = self.twin
        restarting = self._needs_reset.copy()
        if restarting.any():
            self._autoreset(restarting)
        observations, rewards, terminated, truncated = twin.step(actions)
        # Drones restarted this step report their first observation, as Gymnasium's next-step autoreset does.
        rewards[restarting] = 0.0
        terminated[restarting] = False
        truncated[restarting] = False
        self._needs_reset = terminated | truncated
        info = {"outcome": np.array(twin.outcomes, dtype=object), "_outcome": self._needs_reset.copy()}
        return observations, rewards, terminated, truncated, info

    def _autoreset(self, mask: NDArray[np.bool_]) -> None:
        """New episodes (and layouts) for the drones in ``mask``; the others fly on untouched."""
        indices = np.flatnonzero(mask)
        seeds = np.zeros(self.num_envs, np.int64)
        seeds[indices] = self._episode_seeds(len(indices))
        worlds = self._worlds
        for index in indices:
            course, obstacles = self.course.episode(layout_rng(int(seeds[index])))
            if not worlds.set_world(int(index), course, obstacles):
                worlds = worlds.widened(int(len(obstacles) * _PADDING_HEADROOM) + 1)
                worlds.set_world(int(index), course, obstacles)
        self._worlds = worlds
        self.twin.reset_drones(mask, np.arange(self.num_envs), seeds.tolist(), worlds=worlds)
