"""Magnitude pruning: how many synapses go, which ones, and that dropping dead neurons changes no output."""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.controllers.lif_state import simulate
from spikefly.controllers.network import LIFNetwork, random_network
from spikefly.controllers.prune import prune, prune_report

FIELDS = ("row_ptr", "target", "weight", "delay", "output_index", "threshold", "beta", "bias", "adaptation_increment",
          "adaptation_decay", "refractory_steps", "reset_mode", "spiking")


def network(seed: int = 0) -> LIFNetwork:
    return random_network(np.random.default_rng(seed), 6, 24, 4, 0.17, max_delay=2)


def edge_set(net: LIFNetwork) -> set[tuple[int, int, int, float]]:
    sources, targets, weights, delays = net.edges()
    return set(zip(sources.tolist(), targets.tolist(), delays.tolist(), weights.tolist(), strict=True))


@pytest.mark.parametrize(("sparsity", "removed"), [(0.25, 31), (0.5, 61), (0.1, 12), (1.0, 122)])
def test_removes_the_exact_count_and_keeps_the_largest_weights(sparsity, removed):
    original = network(61)  # a seed with 122 synapses
    assert original.n_synapses == 122
    pruned = prune(original, sparsity)
    assert pruned.n_synapses == 122 - removed  # round(sparsity * S), halves up: 0.25 * 122 = 30.5 -> 31
    kept, gone = edge_set(pruned), edge_set(original) - edge_set(pruned)
    assert kept <= edge_set(original) and len(gone) == removed  # kept synapses are unchanged, bit for bit
    if kept and gone:
        assert min(abs(w) for *_, w in kept) >= max(abs(w) for *_, w in gone)
    np.testing.assert_array_equal(pruned.threshold, original.threshold)
    report = prune_report(original, pruned)
    assert (report.synapses_before, report.synapses_after) == (122, 122 - removed)
    assert report.sparsity == pytest.approx(removed / 122)
    assert report.abs_weight_after <= report.abs_weight_before


def test_ties_go_in_csr_order_and_the_result_is_deterministic():
    tied = LIFNetwork.from_edges(2, 2, [1], sources=[0, 0, 1, 2, 3], targets=[0, 1, 1, 1, 0], weights=[0.5, -0.5, 0.5, 0.9, -0.5])
    pruned = prune(tied, 0.4)  # two of the four 0.5s go: the first two in CSR order
    assert edge_set(pruned) == {(1, 1, 0, 0.5), (2, 1, 0, 0.8999999761581421), (3, 0, 0, -0.5)}
    assert edge_set(prune(tied, 0.4)) == edge_set(pruned)


def test_sparsity_zero_is_identity():
    original = network(1)
    pruned = prune(original, 0.0)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(pruned, name), getattr(original, name), err_msg=name)
    assert pruned.n_inputs == original.n_inputs and pruned.n_neurons == original.n_neurons


@pytest.mark.parametrize("sparsity", [-0.1, 1.5, float("nan"), "0.5", None, True])
def test_bad_sparsity_is_a_clear_error(sparsity):
    with pytest.raises(ValueError, match=r"sparsity is the fraction of synapses to remove, a number in \[0, 1\]"):
        prune(network(), sparsity)


def test_dropping_unreachable_neurons_changes_no_output():
    original = network(2)
    pruned = prune(original, 0.7)
    slim = prune(original, 0.7, drop_unreachable=True)
    report = prune_report(original, slim)
    assert report.neurons_after == 20 and report.neurons_before == 24
    assert slim.n_synapses < pruned.n_synapses
    inputs = (np.random.default_rng(2).random((500, 6)) < 0.3).astype(np.float32)
    spikes, membrane = simulate(pruned, inputs)
    slim_spikes, slim_membrane = simulate(slim, inputs)
    assert spikes.sum() > 10
    np.testing.assert_array_equal(slim_spikes, spikes)
    np.testing.assert_array_equal(slim_membrane, membrane)


def test_read_outs_pass_no_influence_and_outputs_stay_in_action_order():
    # neuron 0 feeds only the non-spiking neuron 1, which feeds output 3; neuron 2 feeds output 3 directly
    chain = LIFNetwork.from_edges(
        1, 4, [3, 2], sources=[0, 1, 2, 3], targets=[0, 1, 3, 3], weights=[1.0, 1.0, 1.0, 1.0], spiking=[True, False, True, True],
    )
    slim = prune(chain, 0.0, drop_unreachable=True)
    assert slim.n_neurons == 2  # neurons 2 and 3 survive, renumbered 0 and 1
    assert list(slim.output_index) == [1, 0]
