"""Drone control steps per second: the Numba twin against the PyBullet env, in one run.

    python benchmarks/twin.py [--drones 256] [--steps 300]

Forest world, 30 Hz control, 240 Hz physics, 16 rays. Three figures:
1. the twin stepping 256 drones from Python (``QuadrotorTwin.step``, random actions);
2. the PyBullet env, one drone (what a process pool would parallelise);
3. the fused rollout: a population of spiking networks (24 neurons, delta encoder, 8 LIF
   substeps per control step) flying whole episodes inside one compiled call.
Targets: ratio twin/pybullet >= 50; fused >= 300,000 drone control steps per second on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spikefly.controllers import DeltaEncoder, RateDecoder, random_network
from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds
from spikefly.evolution.fused_rollout import PopulationRollout


def twin_rate(drones: int, steps: int) -> float:
    worlds = TwinWorlds.draw(["forest"] * 8, list(range(8)))
    twin = QuadrotorTwin(drones)
    actions = np.random.default_rng(0).normal(0.0, 0.3, size=(steps, drones, 4)).clip(-1, 1)
    twin.reset(worlds)
    twin.step(actions[0])  # compile / warm
    twin.reset(worlds)
    flown, elapsed = 0, 0.0
    for action in actions:
        flown += int(np.count_nonzero(twin.counters[:, 1] == 0))  # drones still flying take a step
        start = time.perf_counter()
        twin.step(action)
        elapsed += time.perf_counter() - start
        finished = twin.counters[:, 1] != 0
        if finished.any():  # keep the batch full, off the clock
            twin.reset_drones(finished, twin.world_index)
    return flown / elapsed


def pybullet_rate(steps: int) -> float:
    env = QuadrotorAvoidEnv("forest")
    env.reset(seed=0)
    actions = np.random.default_rng(0).normal(0.0, 0.3, size=(steps, 4)).clip(-1, 1).astype(np.float32)
    env.step(actions[0])  # compile / warm the shared kernels outside the clock
    env.reset(seed=0)
    elapsed = 0.0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        elapsed += time.perf_counter() - start
        if terminated or truncated:
            env.reset(seed=0)
    env.close()
    return steps / elapsed


def fused_rate(genomes: int, episodes: int) -> tuple[float, int, float]:
    encoder, decoder = DeltaEncoder(threshold=0.05), RateDecoder(signed_pairs=True)
    networks = [
        random_network(np.random.default_rng(g), encoder.n_channels(26), 24, decoder.n_outputs_needed(4), 0.15, weight_scale=1.0)
        for g in range(genomes)
    ]
    seeds = list(range(episodes))
    worlds = TwinWorlds.draw(["forest"] * episodes, seeds)
    space = observation_space(QuadrotorSettings())
    rollout = PopulationRollout(QuadrotorTwin(1), encoder, decoder, 8, space.low, space.high)
    rollout.run(networks[:2], worlds, seeds)  # compile / warm
    start = time.perf_counter()
    results = rollout.run(networks, worlds, seeds)
    elapsed = time.perf_counter() - start
    steps = int(results.steps.sum())
    return steps / elapsed, steps, elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drones", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300, help="control steps per measurement")
    parser.add_argument("--genomes", type=int, default=128, help="population size for the fused rollout")
    parser.add_argument("--episodes", type=int, default=2, help="episodes per genome for the fused rollout")
    args = parser.parse_args(argv)

    twin = twin_rate(args.drones, args.steps)
    pybullet = pybullet_rate(max(args.steps, 600))
    fused, fused_steps, fused_seconds = fused_rate(args.genomes, args.episodes)
    print(f"forest, 30 Hz control, 240 Hz physics, 16 rays, {args.drones} drones")
    print(f"twin drone control steps/s (batch of {args.drones}, from Python): {twin:,.0f}")
    print(f"pybullet env control steps/s (one drone): {pybullet:,.0f}")
    print(f"ratio twin/pybullet: {twin / pybullet:.0f}   (target >= 50)")
    print(
        f"fused rollout with spiking controllers ({args.genomes} genomes x {args.episodes} episodes, "
        f"{fused_steps:,} drone control steps in {fused_seconds:.2f} s): {fused:,.0f} steps/s   (target >= 300,000)"
    )
    print(f"ratio fused/pybullet: {fused / pybullet:.0f}")


if __name__ == "__main__":
    main()
