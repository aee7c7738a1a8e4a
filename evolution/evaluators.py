"""Evaluators: fly a population of compiled networks over an episode set, serially, in a pool or on Ray.

All evaluators give identical results for the same networks and episodes: a genome's result
depends only on its network and the episodes (the rollout holds no random state; encoder
randomness is keyed by the episode seed), so splitting the population across processes cannot
change it. Pool workers receive the run settings once, at start-up, and then compact network
arrays (LIFNetwork, a few KB) per chunk; no NEAT config or genome object crosses a process.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Protocol

import numpy as np

import spikefly.envs  # noqa: F401  (registers the environments)
from spikefly.controllers import SpikingController, decoder_from_dict, encoder_from_dict
from spikefly.controllers.network import LIFNetwork
from spikefly.envs.sim import outcomes
from spikefly.envs.episode import run_episode
from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds
from spikefly.evolution.episodes import EpisodeSet
from spikefly.evolution.fused_rollout import PopulationRollout, RolloutResults, concatenate
from spikefly.evolution.settings import EvolveSettings
from spikefly.evolution.tasks import make_flyer


WORLD_CACHE = 2
"""Episode sets a :class:`Flyer` keeps drawn: the run's validation and confirmation sets, flown again
and again by the run's validation flyer (a training flyer's sets are new every generation)."""


class Evaluator(Protocol):
    def evaluate(self, networks: list[LIFNetwork], episodes: EpisodeSet) -> RolloutResults: ...

    def close(self) -> None: ...


class Flyer:
    """Flies networks over episodes on the run's physics (no parallelism of its own beyond Numba's).

    The task interface the run relies on (the audio task has the same): ``low`` / ``high`` (the
    observation bounds the encoder scales by), ``n_actions``, ``control_hz``,
    ``reference_physics`` (where the champion is re-flown, or None) and :meth:`fly`.
    """

    n_actions = 4
    reference_physics: str | None = "pybullet"

    def __init__(self, settings: EvolveSettings) -> None:
        self.settings = settings
        self.encoder = encoder_from_dict(dict(settings.encoder))
        self.decoder = decoder_from_dict(dict(settings.decoder))
        env_settings = QuadrotorSettings.from_kwargs(**settings.env_settings)
        self.control_hz = env_settings.control_hz
        space = observation_space(env_settings)
        self.low, self.high = space.low, space.high
        self._rollout = PopulationRollout(
            QuadrotorTwin(1, **settings.env_settings), self.encoder, self.decoder, settings.steps_per_action, self.low, self.high
        )
        self._worlds: dict[EpisodeSet, TwinWorlds] = {}
        """The last episode sets drawn, with their path fields: a run's validation set is flown again
        every validation, and drawing it (layouts, solvability, path fields) costs more than flying it."""

    def fly(self, networks: list[LIFNetwork], episodes: EpisodeSet, physics: str | None = None) -> RolloutResults:
        physics = physics or self.settings.physics
        if physics == "twin":
            return self._rollout.run(networks, self._drawn(episodes), list(episodes.seeds))
        return self._fly_pybullet(networks, episodes)

    def _drawn(self, episodes: EpisodeSet) -> TwinWorlds:
        """``episodes``' layouts, prepared for the twin; the last ``WORLD_CACHE`` sets are kept."""
        worlds = self._worlds.pop(episodes, None)
        if worlds is None:
            drawn = TwinWorlds.draw(episodes.worlds, episodes.seeds, episodes.difficulty_cap)
            worlds = self._rollout.twin.prepare(drawn)
        self._worlds[episodes] = worlds  # the newest last: the oldest set goes first
        while len(self._worlds) > WORLD_CACHE:
            del self._worlds[next(iter(self._worlds))]
        return worlds

    def _fly_pybullet(self, networks: list[LIFNetwork], episodes: EpisodeSet) -> RolloutResults:
        """The reference physics: each network flies each episode in the PyBullet env."""
        shape = (len(networks), len(episodes))
        returns, time_s, clearance, rotor_energy = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
        final_position = np.zeros((*shape, 3))
        codes, steps, ops = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros((*shape, 4), np.int64)
        code_of = {name: code for code, name in outcomes.NAMES.items()}
        envs: dict[str, QuadrotorAvoidEnv] = {}
        try:
            for e, (world, seed) in enumerate(zip(episodes.worlds, episodes.seeds)):
                env = envs.get(world) or envs.setdefault(world, QuadrotorAvoidEnv(world, **self.settings.env_settings))
                for g, network in enumerate(networks):
                    controller = SpikingController(
                        network, self.encoder, self.decoder, self.settings.steps_per_action, self.low, self.high, 4, seed=seed
                    )
                    flown = run_episode(env, controller.act, seed)
                    info = flown.info
                    returns[g, e], steps[g, e], codes[g, e] = flown.total_return, flown.steps, code_of[info["outcome"]]
                    time_s[g, e], clearance[g, e], rotor_energy[g, e] = info["time_s"], info["min_clearance_m"], info["rotor_energy_j"]
                    final_position[g, e] = info["position_m"]
                    ops[g, e] = tuple(controller.counts)
        finally:
            for env in envs.values():
                env.close()
        return RolloutResults(returns=returns, outcomes=codes, steps=steps, time_s=time_s, min_clearance_m=clearance,
                              rotor_energy_j=rotor_energy, final_position_m=final_position, ops=ops)


class SerialEvaluator:
    """In this process; the twin's rollout already uses every core through Numba threads."""

    def __init__(self, settings: EvolveSettings) -> None:
        self.flyer = make_flyer(settings)

    def evaluate(self, networks: list[LIFNetwork], episodes: EpisodeSet) -> RolloutResults:
        return self.flyer.fly(networks, episodes)

    def close(self) -> None:
        pass


_worker_flyer: Flyer | None = None


def _start_worker(settings: dict) -> None:
    global _worker_flyer
    import numba

    numba.set_num_threads(1)  # one process per core; Numba threads inside would oversubscribe
    _worker_flyer = make_flyer(EvolveSettings.from_dict(settings))


def _fly_chunk(networks: list[LIFNetwork], episodes: EpisodeSet) -> RolloutResults:
    assert _worker_flyer is not None, "worker not initialised"
    return _worker_flyer.fly(networks, episodes)


class PoolEvaluator:
    """A pool of worker processes (spawned, each with its own warm compiled kernels)."""

    def __init__(self, settings: EvolveSettings, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(self.workers, initializer=_start_worker, initargs=(settings.to_dict(),))

    def evaluate(self, networks: list[LIFNetwork], episodes: EpisodeSet) -> RolloutResults:
        # A few chunks per worker balance uneven episode lengths.
        chunks = max(1, min(len(networks), 4 * self.workers))
        bounds = np.linspace(0, len(networks), chunks + 1).astype(int)
        tasks = [(networks[a:b], episodes) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        return concatenate(self._pool.starmap(_fly_chunk, tasks))

    def close(self) -> None:
        self._pool.close()
        self._pool.join()


def make_evaluator(settings: EvolveSettings) -> Evaluator:
    if settings.evaluator == "pool":
        return PoolEvaluator(settings, settings.workers)
    if settings.evaluator == "ray":  # Ray is an optional extra: imported only here
        from spikefly.evolution.ray_evaluator import RayEvaluator

        return RayEvaluator(settings, address=settings.ray_address, actors=settings.workers)
    return SerialEvaluator(settings)
