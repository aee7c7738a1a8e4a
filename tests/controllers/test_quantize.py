"""Quantisation: formats, error bounds, and how close integer networks fly to their float originals.

Measured on these seeds (16 inputs, 64 neurons, 10% connectivity, ~6% firing, 1000 steps):
feed-forward networks keep ~98% of float spikes at the same step (worst seed ~94%); recurrent
random networks are chaotic, so after ~20-30 steps spike times decorrelate (~50% coincide) while
per-neuron firing rates still correlate > 0.99 and total spikes stay within ~4%.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.controllers.lif_state import simulate
from spikefly.controllers.network import DECAY_Q15, DECAY_SHIFT, LIFNetwork, random_network
from spikefly.controllers.quantize import dequantize, quantization_report, quantize, quantize_inputs


def feed_forward(network: LIFNetwork) -> LIFNetwork:
    """The same network with only input -> neuron synapses."""
    sources, targets, weights, delays = network.edges()
    keep = sources < network.n_inputs
    params = {name: getattr(network, name) for name in (
        "threshold", "beta", "bias", "adaptation_increment", "adaptation_decay", "refractory_steps", "reset_mode", "spiking",
    )}
    return LIFNetwork.from_edges(
        network.n_inputs, network.n_neurons, network.output_index, sources[keep], targets[keep], weights[keep], delays[keep], **params,
    )


def bench_network(seed: int, decay: str, recurrent: bool) -> tuple[LIFNetwork, np.ndarray]:
    rng = np.random.default_rng(seed)
    network = random_network(rng, 16, 64, 64, 0.1, max_delay=seed % 3)
    if decay == "shift":  # betas on the shift grid, so only weights and Q.F rounding differ
        network = network.replace(beta=1.0 - 2.0 ** -rng.integers(1, 6, 64))
    network = network if recurrent else feed_forward(network)
    inputs = (rng.random((1000, 16)) < 0.1).astype(np.float32)
    return network, inputs


@pytest.mark.parametrize("decay", ["shift", "q15"])
def test_feed_forward_spike_trains_mostly_equal(decay):
    coincidences = []
    for seed in range(4):
        network, inputs = bench_network(seed, decay, recurrent=False)
        integer = quantize(network, decay=decay)
        float_spikes, _ = simulate(network, inputs)
        int_spikes, _ = simulate(integer, quantize_inputs(inputs, integer))
        assert float_spikes.sum() > 500
        coincidences.append((float_spikes & int_spikes).sum() / max(float_spikes.sum(), int_spikes.sum()))
        assert (float_spikes == int_spikes).mean() > 0.99
    assert min(coincidences) > 0.9 and np.mean(coincidences) > 0.95


@pytest.mark.parametrize("decay", ["shift", "q15"])
def test_recurrent_networks_keep_their_firing_rates(decay):
    for seed in range(3):
        network, inputs = bench_network(seed, decay, recurrent=True)
        integer = quantize(network, decay=decay)
        float_rate = simulate(network, inputs)[0].mean(axis=0)
        int_rate = simulate(integer, quantize_inputs(inputs, integer))[0].mean(axis=0)
        assert np.corrcoef(float_rate, int_rate)[0, 1] > 0.98
        assert abs(int_rate.sum() / float_rate.sum() - 1.0) < 0.08


def test_membrane_readout_tracks_float_within_weight_error():
    rng = np.random.default_rng(8)
    network = feed_forward(random_network(rng, 16, 20, 4, 0.3, membrane_readout=True))
    integer = quantize(network, decay="q15")
    inputs = (rng.random((200, 16)) < 0.1).astype(np.float32)
    float_v = simulate(network, inputs)[1]
    int_v = simulate(integer, quantize_inputs(inputs, integer))[1] / 2.0**16
    assert np.abs(float_v - int_v).max() < 0.05 * np.abs(float_v).max()


def test_weight_error_is_at_most_half_a_step_of_the_receiving_neuron():
    network = random_network(np.random.default_rng(4), 16, 64, 4, 0.1)
    integer = quantize(network)
    report = quantization_report(network, integer)
    half_step = integer.weight_multiplier[network.target] / 2.0**16 / 2
    restored = dequantize(integer).weight
    assert np.all(np.abs(restored - network.weight) <= half_step + 1e-6)
    assert report.max_weight_error == pytest.approx(np.abs(restored.astype(np.float64) - network.weight).max())
    assert report.max_weight_error < np.abs(network.weight).max() / 127
    assert report.max_threshold_error <= 2.0**-17 and report.max_bias_error <= 2.0**-17


def test_largest_incoming_weight_maps_to_full_scale():
    network = LIFNetwork.from_edges(2, 2, [1], [0, 1, 0], [0, 0, 1], [0.5, -2.0, 1.0])
    integer = quantize(network, weight_bits=8)
    assert integer.weight.tolist() == [32, 127, -127]  # CSR order: source 0 -> (0, 1), source 1 -> 0
    assert integer.weight_multiplier.tolist() == [1033, 517]  # ceil(2.0 * 65536 / 127), ceil(1.0 * 65536 / 127)
    four_bit = quantize(network, weight_bits=4)
    assert np.abs(four_bit.weight).max() == 7


def test_decay_modes():
    network = LIFNetwork.from_edges(1, 4, [0], [], [], [], beta=[0.875, 0.9, 1.0, 0.0])
    shift = quantize(network, decay="shift")
    assert shift.decay_mode.tolist() == [DECAY_SHIFT, DECAY_SHIFT, DECAY_Q15, DECAY_SHIFT]
    assert shift.decay_shift.tolist() == [3, 3, 0, 0]  # 0.9 is nearest to 1 - 2**-3; beta 1 is the Q15 identity
    assert shift.beta_q15[2] == 32768
    q15 = quantize(network, decay="q15")
    assert q15.decay_mode.tolist() == [DECAY_Q15] * 4
    assert q15.beta_q15.tolist() == [28672, 29491, 32768, 0]
    assert dequantize(shift).beta.tolist() == [0.875, 0.875, 1.0, 0.0]


def test_analog_inputs_use_input_fractional_bits():
    network = LIFNetwork.from_edges(1, 1, [0], [0], [0], [1.0], beta=0.0, spiking=False)
    integer = quantize(network, input_fractional_bits=16)
    inputs = np.array([[0.25], [-1.5], [3.0]], np.float32)
    assert quantize_inputs(inputs, integer)[:, 0].tolist() == [16384, -98304, 196608]
    _, membrane = simulate(integer, quantize_inputs(inputs, integer))
    expected = np.floor(inputs[:, 0] * 127 * integer.weight_multiplier[0])  # 127 * 517 / 65536 = 1.00186
    assert membrane[:, 0].tolist() == expected.tolist()


def test_values_beyond_the_q_format_are_errors_naming_the_field():
    network = LIFNetwork.from_edges(1, 1, [0], [], [], [], bias=40000.0)
    with pytest.raises(ValueError, match="bias reaches 40000.*use fewer fractional_bits"):
        quantize(network, fractional_bits=16)
    assert quantize(network, fractional_bits=8).bias[0] == 40000 * 256
    with pytest.raises(ValueError, match="decay must be 'shift' or 'q15'"):
        quantize(network, decay="exp")
