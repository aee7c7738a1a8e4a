"""Fitness as a sum of named terms per genome, and an optional novelty archive.

Terms (each logged per genome): ``flight_return`` (mean episode return), ``synaptic_ops_cost``
and ``neuron_updates_cost`` (the ops the network did per control step, from the kernels'
counters, times a settable weight), ``size_cost`` (neurons + synapses), ``energy_cost`` and
``latency_cost`` (the board model, :mod:`spikefly.evolution.board_cost`) and ``novelty``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers.network import LIFNetwork
from spikefly.evolution.fused_rollout import RolloutResults
from spikefly.evolution.settings import EvolveSettings

TERM_NAMES = ("flight_return", "synaptic_ops_cost", "neuron_updates_cost", "size_cost", "energy_cost", "latency_cost", "novelty")
OP_NEURON_UPDATES = 0
OP_SYNAPTIC_OPS = 3


def fitness_terms(
    results: RolloutResults, networks: list[LIFNetwork], settings: EvolveSettings, board_terms: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Terms [G, len(TERM_NAMES)] (novelty left 0); fitness is the sum of a row.

    ``board_terms`` [G, 2]: energy and latency costs (:func:`spikefly.evolution.board_cost.board_terms`).
    """
    steps = np.maximum(results.steps.sum(axis=1), 1)
    terms = np.zeros((len(networks), len(TERM_NAMES)))
    terms[:, 0] = results.returns.mean(axis=1)
    terms[:, 1] = -settings.synaptic_op_cost * results.ops[:, :, OP_SYNAPTIC_OPS].sum(axis=1) / steps
    terms[:, 2] = -settings.neuron_update_cost * results.ops[:, :, OP_NEURON_UPDATES].sum(axis=1) / steps
    terms[:, 3] = -settings.size_cost * np.array([net.n_neurons + net.n_synapses for net in networks])
    if board_terms is not None:
        terms[:, 4:6] = board_terms
    return terms


def success_rate(results: RolloutResults) -> NDArray[np.float64]:
    """Mean episode success per genome [G]: reached the goal (quadrotor), event F1 (audio)."""
    return results.success.mean(axis=1)


def beats_champion(successes: NDArray[np.float64], score: list[float], champion: dict, margin: float) -> bool:
    """Whether a validated candidate replaces the champion.

    ``successes`` [E]: the candidate's per-episode success on the validation episodes, ``score``
    its (success rate, mean return); ``champion`` holds the same (``"successes"``, ``"score"``).
    With ``margin`` > 0 the comparison is paired, episode by episode: the candidate must gain
    more than ``margin`` standard deviations of the gain (a sign test on 0/1 successes: the episodes
    only it flew, less those only the champion flew, beyond ``margin`` x the square root of their
    sum), so that the best of many candidates does not win on a few lucky episodes. ``margin`` 0,
    or a champion without per-episode successes (a checkpoint from before they were kept):
    higher success rate, then higher return."""
    kept = champion.get("successes")
    if margin <= 0 or kept is None or len(kept) != len(successes):
        return list(score) > list(champion["score"])
    gain = np.asarray(successes, np.float64) - np.asarray(kept, np.float64)
    return bool(gain.sum() > margin * np.sqrt(np.square(gain).sum()))


def curriculum_success(fitness: NDArray[np.float64], successes: NDArray[np.float64], share: float = 0.1) -> float:
    """Mean success of the top ``share`` of genomes by fitness (at least one): the curriculum's
    promotion test, steadier than the best genome's few episodes, which luck alone can fill."""
    count = max(1, int(round(share * len(fitness))))
    top = np.argsort(-np.asarray(fitness), kind="stable")[:count]
    return float(np.asarray(successes)[top].mean())


class NoveltyArchive:
    """Behaviour = final positions over the episodes; novelty = mean distance to the k nearest.

    Neighbours are drawn from the current population and the archive; the ``per_generation``
    most novel genomes join the archive each generation.
    """

    def __init__(self, neighbours: int, per_generation: int = 2, archive: list[list[float]] | None = None) -> None:
        self.neighbours = neighbours
        self.per_generation = per_generation
        self.archive: list[list[float]] = list(archive or [])

    def score(self, behaviours: NDArray[np.float64]) -> NDArray[np.float64]:
        """Novelty [G] of behaviours [G, D]; adds the most novel to the archive."""
        pool = behaviours if not self.archive else np.concatenate([behaviours, np.array(self.archive)])
        distances = np.linalg.norm(behaviours[:, None, :] - pool[None, :, :], axis=2)
        distances.sort(axis=1)
        k = min(self.neighbours, pool.shape[0] - 1)
        novelty = distances[:, 1:k + 1].mean(axis=1) if k > 0 else np.zeros(len(behaviours))
        for index in np.argsort(-novelty)[: self.per_generation]:
            self.archive.append(behaviours[index].tolist())
        return novelty


def behaviours(results: RolloutResults) -> NDArray[np.float64]:
    """Behaviour descriptors per genome [G, D] (final positions of every episode for the quadrotor)."""
    return results.behaviour
