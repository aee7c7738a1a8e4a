"""Evolution-strategy refinement of one genome's weights, written back into the genome.

NEAT finds topologies well and tunes weights poorly: a mutation moves one weight at a time, and a
good move is judged on a few noisy episodes. Every ``refine_every`` generations the run hands the
previous generation's best genome to CMA-ES (pycma), which moves all of its weights and biases at
once. The parameters are the weights of the enabled connections that reach an output and the
biases of the neurons that do (what the compiled network uses); biases are searched at a fifth of
the weights' scale, and both stay inside the NEAT config's value bounds. Every candidate of an
iteration flies the same episodes (common random numbers); each iteration draws new ones.

A final check flies the genome as it was and as refined on one more fresh episode set; the
refined weights are written back only if they score higher there, so a refinement never makes the
genome worse on episodes it was not tuned on. NEAT then evaluates it with the rest of the
generation as usual. Everything is seeded by (run seed, generation): a resumed run refines the
same way, and serial, pool and Ray evaluators give the same result.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spikefly.evolution.compile import reachable_nodes

BIAS_SCALE = 0.2
"""Biases are searched at this fraction of the weights' step size (their range is a fifth as wide)."""

Scorer = Callable[[list, int], NDArray[np.float64]]
"""``scorer(genomes, round)``: fitness of each genome on the episodes of that round (all the same)."""


@dataclass(frozen=True)
class RefinementReport:
    """What one refinement did (logged as the generation's ``refinement`` record)."""

    genome: int
    """Key of the refined genome."""
    parameters: int
    """Weights and biases searched."""
    before: float
    """Fitness of the genome as it was, on the check episodes."""
    after: float
    """Fitness of the refined genome on the same check episodes."""
    accepted: bool
    """Whether the refined weights were written back (``after > before``)."""
    candidates: int
    """Genomes flown, candidates and check included."""

    def to_dict(self) -> dict[str, object]:
        return {"genome": self.genome, "parameters": self.parameters, "before": round(self.before, 6),
                "after": round(self.after, 6), "accepted": self.accepted, "candidates": self.candidates}


class WeightVector:
    """The searched parameters of a genome as a vector, and the genome with a vector written in."""

    def __init__(self, genome, genome_config) -> None:
        kept = reachable_nodes(genome, genome_config)
        self.connections = [key for key, gene in genome.connections.items()
                            if gene.enabled and key[1] in kept and (key[0] < 0 or key[0] in kept)]
        self.nodes = sorted(key for key in kept if key in genome.nodes)
        self.scale = np.concatenate([np.ones(len(self.connections)), np.full(len(self.nodes), BIAS_SCALE)])
        self.low = np.concatenate([np.full(len(self.connections), genome_config.weight_min_value),
                                   np.full(len(self.nodes), genome_config.bias_min_value)])
        self.high = np.concatenate([np.full(len(self.connections), genome_config.weight_max_value),
                                    np.full(len(self.nodes), genome_config.bias_max_value)])

    def __len__(self) -> int:
        return len(self.connections) + len(self.nodes)

    def read(self, genome) -> NDArray[np.float64]:
        return np.array([genome.connections[key].weight for key in self.connections]
                        + [genome.nodes[key].bias for key in self.nodes], np.float64)

    def write(self, genome, values: NDArray[np.float64]) -> None:
        values = np.clip(values, self.low, self.high)
        for key, value in zip(self.connections, values[: len(self.connections)]):
            genome.connections[key].weight = float(value)
        for key, value in zip(self.nodes, values[len(self.connections):]):
            genome.nodes[key].bias = float(value)

    def with_values(self, genome, values: NDArray[np.float64]):
        copied = copy.deepcopy(genome)
        self.write(copied, values)
        return copied


def refine_genome(
    genome, genome_config, scorer: Scorer, *, iterations: int, population: int, sigma: float, seed: list[int]
) -> RefinementReport:
    """Run CMA-ES on ``genome``'s weights for ``iterations`` rounds (0 .. iterations-1 of ``scorer``),
    check the result on round ``iterations`` and write it into ``genome`` if it scores higher there."""
    try:
        import cma
    except ImportError as error:  # a core dependency; only a broken install lacks it
        raise ImportError('refinement needs pycma: pip install "cma>=4.4"') from error

    vector = WeightVector(genome, genome_config)
    start = vector.read(genome)
    if len(vector) == 0:
        return RefinementReport(genome.key, 0, 0.0, 0.0, False, 0)
    rng = np.random.default_rng(seed)
    options = {
        "popsize": population,
        "randn": lambda *shape: rng.standard_normal(shape),
        "seed": float("nan"),  # never touch numpy's global random state; rng above draws every sample
        "bounds": [list(vector.low / vector.scale), list(vector.high / vector.scale)],
        "CMA_diagonal": len(vector) > 400,  # separable CMA for large genomes: O(n) per sample
        "verbose": -9,
        "verb_log": 0,  # no outcmaes files
        "verb_disp": 0,
    }
    strategy = cma.CMAEvolutionStrategy(start / vector.scale, sigma, options)
    flown = 0
    for round_ in range(iterations):
        samples = strategy.ask()
        fitness = scorer([vector.with_values(genome, np.asarray(x) * vector.scale) for x in samples], round_)
        flown += len(samples)
        strategy.tell(samples, (-np.asarray(fitness, np.float64)).tolist())
    refined = np.clip(np.asarray(strategy.mean) * vector.scale, vector.low, vector.high)
    before, after = (float(value) for value in scorer([genome, vector.with_values(genome, refined)], iterations))
    accepted = after > before
    if accepted:
        vector.write(genome, refined)
    return RefinementReport(genome.key, len(vector), before, after, accepted, flown + 2)
