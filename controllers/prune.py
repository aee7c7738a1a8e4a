"""Magnitude pruning: remove the weakest synapses of a float LIF network, optionally its dead neurons.

:func:`prune` removes ``round(sparsity * S)`` synapses (halves round up), smallest ``|weight|``
first. Ties are broken by CSR position: among equal magnitudes the synapse stored first (lower
source, then storage order) goes first, so the result depends on the network alone. The kept
synapses keep their CSR order and exact weights; neuron parameters are unchanged.

``drop_unreachable=True`` then removes every neuron that cannot influence an output: a neuron
is kept when it is an output, or when it spikes and has a synapse to a kept neuron (a
non-spiking read-out never fires, so influence cannot pass through it). Dropping the others
changes no output spike or membrane, bit for bit (the kept neurons receive the same
contributions in the same order); it only saves updates, memory and operation counts. Kept
neurons keep their relative order and are renumbered ``0 .. N'-1``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers.network import LIFNetwork

_NEURON_FIELDS = (
    "threshold", "beta", "bias", "adaptation_increment", "adaptation_decay", "refractory_steps", "reset_mode", "spiking",
)


class PruneReport(NamedTuple):
    """What pruning removed."""

    synapses_before: int
    synapses_after: int
    neurons_before: int
    neurons_after: int
    abs_weight_before: float
    """Sum of |weight| over all synapses (membrane units), before."""
    abs_weight_after: float

    @property
    def sparsity(self) -> float:
        """Fraction of synapses removed (0 when there were none)."""
        return 1.0 - self.synapses_after / self.synapses_before if self.synapses_before else 0.0


def _check_sparsity(sparsity: float) -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float, np.integer, np.floating)) or not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"prune: sparsity is the fraction of synapses to remove, a number in [0, 1]; got {sparsity!r}")
    return float(sparsity)


def _rebuild(network: LIFNetwork, keep_synapse: NDArray[np.bool_], keep_neuron: NDArray[np.bool_]) -> LIFNetwork:
    """``network`` with only the given synapses and neurons (neurons renumbered in order)."""
    sources, targets, weights, delays = network.edges()
    new_index = np.cumsum(keep_neuron) - 1  # old neuron -> new neuron, where kept
    source_neuron = sources - network.n_inputs
    source_kept = (source_neuron < 0) | keep_neuron[np.maximum(source_neuron, 0)]
    keep = keep_synapse & source_kept & keep_neuron[targets]
    new_sources = np.where(source_neuron < 0, sources, network.n_inputs + new_index[np.maximum(source_neuron, 0)])
    params = {name: getattr(network, name)[keep_neuron] for name in _NEURON_FIELDS}
    return LIFNetwork.from_edges(
        network.n_inputs, int(keep_neuron.sum()), new_index[network.output_index],
        new_sources[keep], new_index[targets[keep]], weights[keep], delays[keep], **params,
    )


def _influencing(network: LIFNetwork, keep_synapse: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """bool[N]: neurons with a path of spiking neurons to an output, over the kept synapses."""
    sources, targets, _, _ = network.edges()
    from_neuron = keep_synapse & (sources >= network.n_inputs)
    source_neuron, target_neuron = sources[from_neuron] - network.n_inputs, targets[from_neuron]
    transmits = network.spiking[source_neuron]
    source_neuron, target_neuron = source_neuron[transmits], target_neuron[transmits]
    kept = np.zeros(network.n_neurons, bool)
    kept[network.output_index] = True
    while True:  # at most N rounds; each adds the spiking sources feeding a kept neuron
        grown = kept.copy()
        grown[source_neuron[kept[target_neuron]]] = True
        if np.array_equal(grown, kept):
            return kept
        kept = grown


def prune(network: LIFNetwork, sparsity: float, *, drop_unreachable: bool = False) -> LIFNetwork:
    """Remove the ``round(sparsity * S)`` smallest-|weight| synapses (rules: module docstring).

    ``sparsity`` in [0, 1]: 0 returns an equal copy, 1 removes every synapse.
    ``drop_unreachable`` also removes the neurons that can no longer influence an output.
    """
    if not isinstance(network, LIFNetwork):
        raise TypeError(f"prune: expected a LIFNetwork, got {type(network).__name__} (prune before quantizing)")
    sparsity = _check_sparsity(sparsity)
    n_remove = math.floor(sparsity * network.n_synapses + 0.5)
    order = np.argsort(np.abs(network.weight), kind="stable")  # stable: ties go in CSR order
    keep_synapse = np.ones(network.n_synapses, bool)
    keep_synapse[order[:n_remove]] = False
    if drop_unreachable and network.n_outputs == 0:
        raise ValueError("prune: drop_unreachable keeps what influences an output, and this network has no outputs")
    keep_neuron = _influencing(network, keep_synapse) if drop_unreachable else np.ones(network.n_neurons, bool)
    return _rebuild(network, keep_synapse, keep_neuron)


def prune_report(original: LIFNetwork, pruned: LIFNetwork) -> PruneReport:
    """Synapse and neuron counts and total |weight| of ``original`` and its ``pruned`` version."""
    return PruneReport(
        synapses_before=original.n_synapses,
        synapses_after=pruned.n_synapses,
        neurons_before=original.n_neurons,
        neurons_after=pruned.n_neurons,
        abs_weight_before=float(np.abs(original.weight.astype(np.float64)).sum()),
        abs_weight_after=float(np.abs(pruned.weight.astype(np.float64)).sum()),
    )


__all__ = ["PruneReport", "prune", "prune_report"]
