"""Seconds per validation: the first (layouts drawn, path fields built) against the next ones.

    python benchmarks/validation.py [--episodes 150] [--candidates 2] [--repeats 3]

A run validates its best genomes on the same episodes every ``validation_every`` generations.
Drawing those layouts (the mixed generator, its solvability check) and building their path
fields costs more than flying them, so the flyer keeps the drawn set
(:class:`spikefly.evolution.evaluators.Flyer`). Prints both times, their ratio and the memory
the kept set holds; the results of the first and later validations must be equal.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spikefly.controllers import encoder_from_dict, random_network
from spikefly.evolution.episodes import VALIDATION, episodes_for
from spikefly.evolution.evaluators import Flyer
from spikefly.evolution.settings import EvolveSettings
from spikefly.evolution.tasks import validation_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=EvolveSettings.validation_episodes, help="validation episodes")
    parser.add_argument("--candidates", type=int, default=EvolveSettings.validation_top, help="networks validated")
    parser.add_argument("--repeats", type=int, default=3, help="later validations timed")
    args = parser.parse_args(argv)

    settings = validation_settings(EvolveSettings())
    flyer = Flyer(settings)
    channels = encoder_from_dict(dict(settings.encoder)).n_channels(len(flyer.low))
    networks = [random_network(np.random.default_rng(g), channels, 8, 8, 0.2) for g in range(args.candidates)]
    episodes = episodes_for(settings.worlds, args.episodes, settings.seed, VALIDATION)
    flyer.fly(networks, episodes_for(settings.worlds, 2, settings.seed + 1, VALIDATION))  # compile the kernels first

    started = time.perf_counter()
    first = flyer.fly(networks, episodes)
    first_s = time.perf_counter() - started
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        again = flyer.fly(networks, episodes)
        times.append(time.perf_counter() - started)
        np.testing.assert_array_equal(again.returns, first.returns)
    later_s = float(np.median(times))
    kept = flyer._drawn(episodes)
    print(f"validation of {args.candidates} networks on {args.episodes} {'/'.join(settings.worlds)} episodes "
          f"(randomisation {settings.validation_randomise}):")
    print(f"  first (layouts drawn, path fields built): {first_s:.2f} s")
    print(f"  later (the kept set; median of {args.repeats}): {later_s:.2f} s")
    print(f"  ratio first / later: {first_s / later_s:.1f}x; the kept set's path fields: {kept.path_values.nbytes / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
