"""The baselines' training envs as SB3 ``VecEnv``s: the quadrotor's twin drones, the audio clips.

:class:`TwinVecEnvMethods` puts SB3's interface (same-step autoreset, ``terminal_observation``,
``TimeLimit.truncated``) over the Numba twin's vector env, so PPO collects from many drones in
one process; every drone step is counted in ``env_steps``. The audio task uses SB3's
``DummyVecEnv`` with the same count. SB3 is imported on first use (it is an optional extra).
"""

from __future__ import annotations

from functools import cache, partial
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from spikefly.envs import AUDIO_EVENT_ID

if TYPE_CHECKING:
    from spikefly.evolution.baselines.rl import BaselineSettings


def make_twin_vec_env(n_envs: int, world: str, env_settings: dict[str, Any], seed: int):
    """An SB3 ``VecEnv`` of ``n_envs`` twin drones on ``world`` (see :class:`TwinVecEnvMethods`)."""
    return _twin_vec_env_class()(n_envs, world, env_settings, seed)


@cache
def _twin_vec_env_class() -> type:
    """TwinVecEnvMethods on SB3's VecEnv, built on first use: SB3 is an optional dependency."""
    from stable_baselines3.common.vec_env import VecEnv

    return type("TwinVecEnv", (TwinVecEnvMethods, VecEnv), {"__doc__": TwinVecEnvMethods.__doc__})


class TwinVecEnvMethods:
    """SB3's VecEnv interface over the twin vector env, with SB3's same-step autoreset.

    A drone whose episode ends returns the first observation of its next episode, the final one
    in ``infos[i]["terminal_observation"]``, ``infos[i]["outcome"]`` and, for time-outs,
    ``infos[i]["TimeLimit.truncated"] = True`` (so PPO bootstraps them). ``env_steps`` counts
    every drone step taken.
    """

    def __init__(self, n_envs: int, world: str, env_settings: dict[str, Any], seed: int) -> None:
        from spikefly.envs.quadrotor_vec_env import QuadrotorAvoidVecEnv

        self.twin_env = QuadrotorAvoidVecEnv(n_envs, world, **env_settings)
        super().__init__(n_envs, self.twin_env.single_observation_space, self.twin_env.single_action_space)
        self._first_seed = seed
        self._actions: NDArray[np.float32] | None = None
        self.env_steps = 0
        self.outcomes: dict[str, int] = {}

    def reset(self):
        seed = self._seeds[0] if self._seeds[0] is not None else self._first_seed
        observations, _ = self.twin_env.reset(seed=seed)
        self._first_seed = None
        self._reset_seeds()
        return observations

    def step_async(self, actions) -> None:
        self._actions = np.asarray(actions, np.float32)

    def step_wait(self):
        env = self.twin_env
        observations, rewards, terminated, truncated, info = env.step(self._actions)
        self.env_steps += self.num_envs
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            for index in np.flatnonzero(done):
                outcome = info["outcome"][index]
                infos[index] = {"terminal_observation": observations[index].copy(), "outcome": outcome,
                                "TimeLimit.truncated": bool(truncated[index] and not terminated[index])}
                self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            # SB3 expects the next episode's first observation in the same step (Gymnasium's twin
            # does next-step autoreset): restart the finished drones now.
            env._autoreset(done)
            env._needs_reset[:] = False
            observations = observations.copy()
            observations[done] = env.twin.observations[done]
        return observations, rewards.astype(np.float32), done, infos

    def close(self) -> None:
        self.twin_env.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.twin_env, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        raise AttributeError(f"TwinVecEnv: cannot set {attr_name!r} on the twin drones")

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        raise AttributeError(f"TwinVecEnv: the twin drones have no per-env method {method_name!r}")

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))


def flight_vec_env(settings: BaselineSettings):
    """The quadrotor task's training env: the twin vector env on the one training world."""
    return make_twin_vec_env(settings.n_envs, settings.worlds[0], settings.env_settings, settings.seed)


def listening_vec_env(settings: BaselineSettings):
    """A DummyVecEnv of audio envs (env i listens to world i % W), wrapped to count every step in ``env_steps``."""
    import gymnasium
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper

    class StepCounter(VecEnvWrapper):
        def __init__(self, venv) -> None:
            super().__init__(venv)
            self.env_steps = 0

        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            self.env_steps += self.num_envs
            return self.venv.step_wait()

    worlds = settings.worlds
    makers = [partial(gymnasium.make, AUDIO_EVENT_ID, world=worlds[i % len(worlds)], **settings.env_settings)
              for i in range(settings.n_envs)]
    return StepCounter(DummyVecEnv(makers))
