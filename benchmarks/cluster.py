"""Per-genome cost of evaluation vs the overhead of spreading it: Ray actors vs a process pool.

    python benchmarks/cluster.py [--population 150] [--episodes 4] [--workers 2] [--repeats 5]

Needs Ray (``pip install "spikefly[ray]"``); starts a local Ray with ``--workers`` CPUs.

Measured on this machine, population 150 from a real NEAT population of LIFGenome (forest):

- evaluation cost per genome on ONE core (serial, one Numba thread; ``--episodes`` forest episodes);
- overhead per genome of each parallel evaluator: its wall time on a "null" world whose episodes
  last one control step (so flying costs ~nothing and what is left is dispatch, transport and
  collection), minus the serial single-core time on the same null world, per genome;
- the head node's serial work per genome that no cluster parallelises: compiling genomes to
  LIF arrays (``compile_genome``) and neat-python's bookkeeping (reproduce, mutate, speciate);
- the real-workload wall time of serial (Numba threads), pool and Ray for reference.

Then a paper estimate of generation time for a 10,000-genome population on N nodes of
``--cores-per-node`` cores, from the model::

    T(N) = P * eval_cost / (N * cores)  +  P * (ray_overhead + compile + bookkeeping)

(evaluation parallelises; overhead is charged on the head node, which dispatches and collects
every batch, and compile and bookkeeping are single-threaded Python there). The last column is
the island model with one island of P / N genomes per node, which does its own compile and
bookkeeping: T = (P / N) * (eval_cost / cores + compile + bookkeeping), migration aside (a few
genomes of ~1 KB every few generations). Islands are N smaller populations, not one large one. The model ignores
network latency between nodes (a compiled network is ~5 KB pickled) and assumes per-genome
bookkeeping stays constant with population size (neat's speciation is O(P x species), so this is
optimistic for very large P).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

NULL_WORLD = """name = "null"
kind = "obstacle_course"
time_limit_s = 0.03
[bounds]
min = [-2.0, -6.0, 0.0]
max = [26.0, 6.0, 4.0]
[start]
position = [0.0, 0.0, 1.0]
yaw = 0.0
[goal]
position = [24.0, 0.0, 1.0]
radius = 0.5
"""
"""One control step per episode: evaluation is ~free, what remains is the evaluator's overhead."""


def _time_pool(settings, workers: int, repeats: int, networks, episodes) -> float:
    """Best-of-``repeats`` seconds of a warmed process pool evaluating ``networks`` on ``episodes``."""
    from spikefly.evolution.evaluators import PoolEvaluator

    pool = PoolEvaluator(settings, workers)
    try:
        pool.evaluate(networks, episodes)
        return _best_of(repeats, lambda: pool.evaluate(networks, episodes))
    finally:
        pool.close()


def _best_of(repeats: int, function) -> float:
    """The fastest of ``repeats`` timings (the machine is shared: the minimum is the least disturbed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--population", type=int, default=150)
    parser.add_argument("--episodes", type=int, default=4, help="forest episodes per genome (default: 4, as evolve)")
    parser.add_argument("--workers", type=int, default=2, help="pool processes and Ray actors (default: 2)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target-population", type=int, default=10_000)
    parser.add_argument("--cores-per-node", type=int, default=2)
    args = parser.parse_args(argv)

    import neat
    import numba
    import ray

    from spikefly.evolution.compile import compile_genome
    from spikefly.evolution.episodes import TRAINING, episodes_for
    from spikefly.evolution.evaluators import SerialEvaluator
    from spikefly.evolution.fitness import fitness_terms
    from spikefly.evolution.genome import seed_everything
    from spikefly.evolution.neat_config import load_neat_config
    from spikefly.evolution.ray_evaluator import RayEvaluator
    from spikefly.evolution.settings import EvolveSettings

    population_size = args.population
    null_dir = Path(tempfile.mkdtemp(prefix="spikefly-null-world-"))
    (null_dir / "null.toml").write_text(NULL_WORLD)
    real = EvolveSettings(population=population_size, episodes_per_world=args.episodes)
    null = EvolveSettings(population=population_size, episodes_per_world=args.episodes, worlds=(str(null_dir / "null.toml"),))
    real_episodes = episodes_for(real.worlds, args.episodes, 0, TRAINING, 0)
    null_episodes = episodes_for(null.worlds, args.episodes, 0, TRAINING, 0)

    # A real population, a few generations in (so genomes have grown a little), and the head's serial work.
    serial = SerialEvaluator(real)
    flyer = serial.flyer
    config = load_neat_config(None, num_inputs=flyer.encoder.n_channels(len(flyer.low)),
                              num_outputs=flyer.decoder.n_outputs_needed(4), overrides={"NEAT": {"pop_size": population_size}})
    seed_everything(0)
    population = neat.Population(config)
    head = {"compile": [], "bookkeeping": []}
    captured: list = []

    def fitness(genomes, _config) -> None:
        start = time.perf_counter()
        networks = [compile_genome(genome, config.genome_config) for _, genome in genomes]
        head["compile"].append(time.perf_counter() - start)
        results = serial.evaluate(networks, episodes_for(real.worlds, args.episodes, 0, TRAINING, len(head["compile"])))
        for (_, genome), value in zip(genomes, fitness_terms(results, networks, real).sum(axis=1)):
            genome.fitness = float(value)
        captured[:] = networks
        fitness.finished = time.perf_counter()

    for _ in range(args.repeats + 1):
        population.run(fitness, 1)
        head["bookkeeping"].append(time.perf_counter() - fitness.finished)
    networks = list(captured)
    compile_per_genome = float(np.median(head["compile"][1:])) / population_size
    bookkeeping_per_genome = float(np.median(head["bookkeeping"][1:])) / population_size

    # Serial on one core: the per-genome evaluation cost, and the null-world floor.
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    serial_null = SerialEvaluator(null)
    serial.evaluate(networks[:2], real_episodes)
    serial_null.evaluate(networks[:2], null_episodes)
    one_core = _best_of(args.repeats, lambda: serial.evaluate(networks, real_episodes))
    null_serial = _best_of(args.repeats, lambda: serial_null.evaluate(networks, null_episodes))
    numba.set_num_threads(threads)
    serial_threads = _best_of(args.repeats, lambda: serial.evaluate(networks, real_episodes))

    pool_real = _time_pool(real, args.workers, args.repeats, networks, real_episodes)
    pool_null_time = _time_pool(null, args.workers, args.repeats, networks, null_episodes)

    start = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - start
    batch = max(1, -(-population_size // (4 * args.workers)))
    try:
        start = time.perf_counter()
        evaluator = RayEvaluator(real, actors=args.workers)  # one at a time: each takes every CPU
        actors_start = time.perf_counter() - start
        try:
            evaluator.evaluate(networks, real_episodes)
            ray_real = _best_of(args.repeats, lambda: evaluator.evaluate(networks, real_episodes))
        finally:
            evaluator.close()
        evaluator = RayEvaluator(null, actors=args.workers)
        try:
            evaluator.evaluate(networks, null_episodes)
            ray_null = _best_of(args.repeats, lambda: evaluator.evaluate(networks, null_episodes))
        finally:
            evaluator.close()
    finally:
        ray.shutdown()

    eval_cost = one_core / population_size
    pool_overhead = max(0.0, pool_null_time - null_serial) / population_size
    ray_overhead = max(0.0, ray_null - null_serial) / population_size
    print(f"machine: {os.cpu_count()} cores (shared); population {population_size} x {args.episodes} forest episodes on the twin; "
          f"{args.workers} workers; best of {args.repeats}")
    print(f"ray.init: {ray_start:.1f} s; {args.workers} warmed actors ready: {actors_start:.1f} s (once per run)")
    print(f"evaluation cost per genome, one core:       {eval_cost * 1e3:7.3f} ms")
    print(f"null-world floor per genome, one core:      {null_serial / population_size * 1e3:7.3f} ms")
    print(f"pool overhead per genome:                   {pool_overhead * 1e3:7.3f} ms   (ratio to evaluation cost {pool_overhead / eval_cost:.3f})")
    print(f"Ray overhead per genome (batches of {batch}):  {ray_overhead * 1e3:7.3f} ms   (ratio to evaluation cost {ray_overhead / eval_cost:.3f};"
          f" Ray / pool {ray_overhead / max(pool_overhead, 1e-9):.2f})")
    print(f"head node, per genome: compile {compile_per_genome * 1e3:.3f} ms, neat-python bookkeeping {bookkeeping_per_genome * 1e3:.3f} ms")
    print(f"wall time, {population_size} genomes: serial 1 core {one_core:.3f} s, serial {threads} Numba threads {serial_threads:.3f} s, "
          f"pool {pool_real:.3f} s, Ray {ray_real:.3f} s  (Ray / pool {ray_real / pool_real:.2f})")

    target, cores = args.target_population, args.cores_per_node
    head_serial = target * (ray_overhead + compile_per_genome + bookkeeping_per_genome)
    print()
    print(f"Paper estimate: one generation of {target:,} genomes x {args.episodes} episodes, nodes of {cores} cores")
    print(f"  T(N) = P*{eval_cost * 1e3:.3f} ms/(N*{cores}) + P*({ray_overhead * 1e3:.3f} + {compile_per_genome * 1e3:.3f} + "
          f"{bookkeeping_per_genome * 1e3:.3f}) ms   [eval / (N*cores) + (Ray overhead + compile + bookkeeping) on the head]")
    print("| nodes | cores | evaluation (s) | head node (s) | generation (s) | speed-up vs 1 node | efficiency "
          "| islands, one per node (s) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    single = None
    for nodes in (1, 2, 4, 8, 16, 32, 64):
        evaluation = target * eval_cost / (nodes * cores)
        total = evaluation + head_serial
        single = single or total
        # An island of P/N genomes per node does its own compile and bookkeeping: nothing is left on a head.
        island = target / nodes * (eval_cost / cores + compile_per_genome + bookkeeping_per_genome)
        print(f"| {nodes} | {nodes * cores} | {evaluation:.2f} | {head_serial:.2f} | {total:.2f} | {single / total:.2f}x | "
              f"{single / total / nodes:.0%} | {island:.2f} |")
    print(f"limit as N grows: {head_serial:.2f} s per generation (the head node's serial share); "
          f"half of it is reached at N = {target * eval_cost / cores / head_serial:.1f} nodes")


if __name__ == "__main__":
    main()
