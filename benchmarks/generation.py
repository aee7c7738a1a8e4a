"""Seconds per generation, split into evaluation, compilation and neat-python bookkeeping.

    python benchmarks/generation.py [--population 150] [--episodes 3] [--generations 8]

Population 150 x 3 forest episodes on the twin (default settings of ``spikefly evolve``).
Target: <= 3 s per generation in all. The bookkeeping (reproduction, mutation in Python) is
neat-python's own; anchors.md measured ~0.5 s for it at population 150. Speciation is
spikefly's (distances over arrays, :mod:`spikefly.evolution.speciation`); each generation it is
also timed against neat-python's own on a copy of the same species set, in the same run.

The head node's share (compile plus bookkeeping, per genome) is printed against the cluster
target, 0.2 ms per genome at population 1,000 (``--population 1000``).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import time

import numpy as np

from spikefly.evolution.compile import compile_genome
from spikefly.evolution.episodes import TRAINING, episodes_for
from spikefly.evolution.evaluators import SerialEvaluator
from spikefly.evolution.fitness import fitness_terms
from spikefly.evolution.genome import peek_count, seed_everything
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
    speciation = {"spikefly": [], "neat-python": []}
    species_set = population.species
    own_speciate = species_set.speciate

    def timed_speciate(config_, members, generation):
        comparison = time.perf_counter()
        theirs = copy.deepcopy(species_set)
        theirs.__class__ = neat.DefaultSpeciesSet
        species_set.indexer = itertools.count(peek_count(theirs.indexer))  # deepcopy drew one id from it
        start = time.perf_counter()
        neat.DefaultSpeciesSet.speciate(theirs, config_, members, generation)
        speciation["neat-python"].append(time.perf_counter() - start)
        fitness.finished += time.perf_counter() - comparison  # the comparison is not bookkeeping
        start = time.perf_counter()
        own_speciate(config_, members, generation)
        speciation["spikefly"].append(time.perf_counter() - start)

    species_set.speciate = timed_speciate
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
            for values in (*timings.values(), *speciation.values()):
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
    per_genome = {name: 1e3 * value / args.population for name, value in means.items()}
    ours, theirs = (1e3 * float(np.mean(speciation[name])) / args.population for name in ("spikefly", "neat-python"))
    print(f"speciation: {ours:.3f} ms/genome (neat-python's own on the same species: {theirs:.3f} ms/genome, "
          f"{theirs / max(ours, 1e-12):.1f}x slower)")
    head = per_genome["compile"] + per_genome["neat"]
    print(f"head node: compile {per_genome['compile']:.3f} + bookkeeping {per_genome['neat']:.3f} = {head:.3f} ms/genome "
          f"(cluster target <= 0.2 ms/genome at population 1000; ratio {head / 0.2:.1f})")


if __name__ == "__main__":
    main()
