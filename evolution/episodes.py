"""Which episodes genomes fly: seeds for training, validation and test, disjoint by construction.

Every genome of a generation flies the SAME training episodes (common random numbers): the
episode seeds depend only on (run seed, generation, index). Validation episodes are fixed for
the whole run; test episodes are never used during evolution. A seed's top bits name its
purpose, so the three sets can never share a seed (and so never share a layout or noise draw).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

TRAINING = 0
VALIDATION = 1
TEST = 2
_PURPOSE_SHIFT = 60


def episode_seed(run_seed: int, purpose: int, generation: int, index: int, *more: int) -> int:
    """The seed of one episode: purpose in the top bits, a hash of the rest below them."""
    words = np.random.SeedSequence([run_seed, purpose, generation, index, *more]).generate_state(2, np.uint32)
    low = ((int(words[0]) << 32) | int(words[1])) & ((1 << _PURPOSE_SHIFT) - 1)
    return (purpose << _PURPOSE_SHIFT) | low


def purpose_of(seed: int) -> int:
    return seed >> _PURPOSE_SHIFT


@dataclass(frozen=True)
class EpisodeSet:
    """Episodes as parallel tuples: episode i flies ``worlds[i]`` with ``seeds[i]``."""

    worlds: tuple[str, ...]
    seeds: tuple[int, ...]
    difficulty_cap: float = 1.0
    """Curriculum level in (0, 1]: worlds that draw a difficulty (the mixed generator) draw it from
    their range scaled by this (1 = the world as written)."""

    def __len__(self) -> int:
        return len(self.seeds)


def episodes_for(
    worlds: tuple[str, ...], per_world: int, run_seed: int, purpose: int, generation: int = 0, pool: int = 0,
    difficulty_cap: float = 1.0, round_: int | None = None,
) -> EpisodeSet:
    """``per_world`` episodes on each world, seeds for ``purpose`` (TRAINING / VALIDATION / TEST).

    ``round_``: another draw within the same generation (the weight refinement flies a new set per
    round, :mod:`spikefly.evolution.refine`); None is the generation's own set.

    ``pool`` > 0: the episodes are drawn (without repeats within a generation) from a fixed pool
    of ``pool`` episodes per world instead of being new every generation, so a task whose
    episodes are slow to make (audio clips) can cache them.
    """
    names, seeds = [], []
    for world_index, world in enumerate(worlds):
        if pool:
            key = [run_seed, purpose, generation, world_index] + ([] if round_ is None else [round_])
            picks = np.random.default_rng(key).choice(pool, min(per_world, pool), replace=False)
            indices = [(0, int(pick)) for pick in picks]
        else:
            indices = [(generation, episode) for episode in range(per_world)]
        for episode_generation, episode in indices:
            names.append(world)
            more = () if round_ is None or pool else (round_,)
            seeds.append(episode_seed(run_seed, purpose, episode_generation, world_index * 1_000_003 + episode, *more))
    return EpisodeSet(tuple(names), tuple(seeds), difficulty_cap)


def episode_row(world: str, seed: int, outcome: str, total: float, steps: int, info: dict[str, Any], counts) -> dict[str, Any]:
    """One flown episode as a row of ``spikefly evaluate``'s report (``counts``: the controller's op counts)."""
    return {
        "world": str(world), "seed": seed, "outcome": outcome, "return": round(float(total), 6), "steps": int(steps),
        "time_s": round(float(info["time_s"]), 6), "min_clearance_m": round(float(info["min_clearance_m"]), 6),
        "rotor_energy_j": round(float(info["rotor_energy_j"]), 6), "synaptic_ops": int(counts.synaptic_ops),
        "spikes": int(counts.spikes), "neuron_updates": int(counts.neuron_updates), "input_events": int(counts.input_events),
    }
