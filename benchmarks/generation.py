"""Seconds per generation, split into evaluation, compilation and neat-python bookkeeping.

    python benchmarks/generation.py [--population 150] [--episodes 3] [--generations 8]

Population 150 x 3 forest episodes on the twin (default settings of ``spikefly evolve``).
Target: <= 3 s per generation in all. The bookkeeping (reproduction, mutation, speciation in
Python) is neat-python's own; anchors.md measured ~0.5 s for it at population 150.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spikefly.evolution.compile import compile_genome
from spikefly.evolution.episodes import TRAINING, episodes_for
from spikefly.evolution.evaluators import SerialEvaluator
from spikefly.evolution.fitness import fitness_terms
from spikefly.evolution.genome import seed_everything
from spikefly.evolution.neat_config import load_neat_config
from spikefly.evolution.settings import EvolveSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--population", type=int, default=150)
    parser.add_argument("--episodes", type=int, default=3, help="episodes per genome")
    parser.add_argument("--generations", type=int, default=8, help="measured generations (after one warm-up)")
    args = parser.parse_args(argv)

    import neat

    settings = EvolveSettings(population=args.population, episodes_per_world=args.episodes)
    evaluator = SerialEvaluator(settings)
    encoder, decoder = evaluator.flyer.encoder, evaluator.flyer.decoder
    config = load_neat_config(
        None, num_inputs=encoder.n_channels(len(evaluator.flyer.low)), num_outputs=decoder.n_outputs_needed(4),
        overrides={"NEAT": {"pop_size": args.population}},
    )
    seed_everything(0)
    population = neat.Population(config)
    timings = {"compile": [], "evaluate": [], "neat": []}
    steps = []

    def fitness(genomes, _config) -> None:
        start = time.perf_counter()
        networks = [compile_genome(genome, config.genome_config) for _, genome in genomes]
        timings["compile"].append(time.perf_counter() - start)
        start = time.perf_counter()
        episodes = episodes_for(settings.worlds, settings.episodes_per_world, 0, TRAINING, len(timings["evaluate"]))
        results = evaluator.evaluate(networks, episodes)
        timings["evaluate"].append(time.perf_counter() - start)
        steps.append(int(results.steps.sum()))
        for (_, genome), value in zip(genomes, fitness_terms(results, networks, settings).sum(axis=1)):
            genome.fitness = float(value)
        fitness.finished = time.perf_counter()

    for generation in range(args.generations + 1):
        population.run(fitness, 1)
        timings["neat"].append(time.perf_counter() - fitness.finished)
        if generation == 0:  # the first generation compiles the kernels
            for values in timings.values():
                values.clear()
            steps.clear()
    evaluator.close()

    means = {name: float(np.mean(values)) for name, values in timings.items()}
    total = sum(means.values())
    print(f"population {args.population} x {args.episodes} forest episodes on the twin, {args.generations} generations")
    print(f"evaluation: {means['evaluate']:.3f} s/generation ({np.mean(steps) / means['evaluate']:,.0f} drone control steps/s)")
    print(f"compilation (genomes -> LIF arrays): {means['compile']:.3f} s/generation")
    print(f"neat-python bookkeeping (reproduce, mutate, speciate): {means['neat']:.3f} s/generation")
    print(f"total: {total:.3f} s/generation   (target <= 3 s)")
    print(f"ratio total/target: {total / 3.0:.2f}")


if __name__ == "__main__":
    main()
