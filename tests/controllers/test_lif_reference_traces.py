"""The Numba kernels reproduce the numpy oracle exactly: float32 bit for bit, integer bit for bit.

Exact float equality is by design: kernel and oracle add the currents arriving at a neuron in the
same order and evaluate ``(beta * v + bias) + current`` without fused multiply-add.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikefly.controllers.lif_state import LIFState, simulate
from spikefly.controllers.lif_reference import dense_weights, reference_run, reference_run_int
from spikefly.controllers.network import IntegerLIFNetwork, LIFNetwork, random_network
from spikefly.controllers.quantize import quantize

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def all_neurons_out(network: LIFNetwork, rng: np.random.Generator) -> LIFNetwork:
    """Every neuron an output, in a shuffled action order, so the whole trace is compared."""
    return network.replace(output_index=rng.permutation(network.n_neurons))


def draw_inputs(rng: np.random.Generator, steps: int, n_inputs: int, analog: bool) -> np.ndarray:
    events = rng.random((steps, n_inputs)) < rng.uniform(0.05, 0.5)
    values = rng.normal(0.5, 1.0, (steps, n_inputs)) if analog else np.ones((steps, n_inputs))
    return (events * values).astype(np.float32)


def assert_same(network, inputs, kernel_state, kernel_out, oracle) -> None:
    spikes, membrane = kernel_out
    order = network.output_index
    np.testing.assert_array_equal(spikes.astype(bool), oracle.spikes[:, order])
    np.testing.assert_array_equal(membrane, oracle.membrane[:, order])
    assert kernel_state.counts()._asdict() == oracle.counts


network_shapes = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "n_inputs": st.integers(1, 6),
    "n_neurons": st.integers(1, 14),
    "connectivity": st.floats(0.05, 0.8),
    "max_delay": st.integers(0, 4),
    "weight_scale": st.floats(0.1, 2.0),
    "membrane_readout": st.booleans(),
    "analog": st.booleans(),
    "steps": st.integers(1, 80),
})


@SETTINGS
@given(network_shapes)
def test_float_kernel_equals_oracle_exactly(shape):
    rng = np.random.default_rng(shape["seed"])
    network = random_network(
        rng, shape["n_inputs"], shape["n_neurons"], 1, shape["connectivity"],
        max_delay=shape["max_delay"], weight_scale=shape["weight_scale"], membrane_readout=shape["membrane_readout"],
    )
    network = all_neurons_out(network, rng)
    inputs = draw_inputs(rng, shape["steps"], shape["n_inputs"], shape["analog"])
    state = LIFState.zeros(network)
    assert_same(network, inputs, state, simulate(network, inputs, state), reference_run(network, inputs))


def test_float_kernel_equals_oracle_on_a_benchmark_sized_network():
    rng = np.random.default_rng(2024)
    network = all_neurons_out(random_network(rng, 16, 64, 4, 0.1, max_delay=3), rng)
    inputs = draw_inputs(rng, 400, 16, analog=True)
    state = LIFState.zeros(network)
    oracle = reference_run(network, inputs)
    assert 0.01 < oracle.spikes.mean() < 0.5  # the comparison exercises spikes, resets, refractoriness
    assert_same(network, inputs, state, simulate(network, inputs, state), oracle)


def random_integer_network(rng: np.random.Generator, n_inputs: int, n_neurons: int, max_delay: int, input_bits: int) -> IntegerLIFNetwork:
    """Wide-ranging integer parameters: large multipliers (saturation), both decay modes, Q.8."""
    template = random_network(rng, n_inputs, n_neurons, 1, 0.4, max_delay=max_delay)
    one = 1 << 8
    return IntegerLIFNetwork(
        n_inputs=n_inputs, n_neurons=n_neurons, output_index=rng.permutation(n_neurons),
        fractional_bits=8, input_fractional_bits=input_bits,
        row_ptr=template.row_ptr, target=template.target, delay=template.delay,
        weight=rng.integers(-128, 128, template.n_synapses),
        weight_multiplier=np.where(rng.random(n_neurons) < 0.2, rng.integers(1 << 20, 1 << 24, n_neurons), rng.integers(0, 8, n_neurons)),
        threshold=rng.integers(1, 2 * one, n_neurons),
        bias=rng.integers(-one // 4, one // 4, n_neurons),
        decay_mode=rng.integers(0, 2, n_neurons), decay_shift=rng.integers(0, 31, n_neurons),
        beta_q15=rng.integers(0, 32769, n_neurons),
        adaptation_increment=rng.integers(0, one, n_neurons), adaptation_decay_q15=rng.integers(0, 32769, n_neurons),
        refractory_steps=rng.integers(0, 4, n_neurons), reset_mode=rng.integers(0, 2, n_neurons),
        spiking=rng.random(n_neurons) < 0.8,
    )


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1), n_inputs=st.integers(1, 5), n_neurons=st.integers(1, 12),
    max_delay=st.integers(0, 3), input_bits=st.sampled_from([0, 4, 8]), steps=st.integers(1, 60),
)
def test_integer_kernel_equals_integer_oracle_bit_for_bit(seed, n_inputs, n_neurons, max_delay, input_bits, steps):
    rng = np.random.default_rng(seed)
    network = random_integer_network(rng, n_inputs, n_neurons, max_delay, input_bits)
    magnitude = 1 if input_bits == 0 else 1 << (input_bits + 2)
    inputs = (rng.integers(-magnitude, magnitude + 1, (steps, n_inputs)) * (rng.random((steps, n_inputs)) < 0.3)).astype(np.int32)
    state = LIFState.zeros(network)
    assert_same(network, inputs, state, simulate(network, inputs, state), reference_run_int(network, inputs))


def test_quantized_kernel_equals_integer_oracle_in_both_decay_modes():
    rng = np.random.default_rng(77)
    network = all_neurons_out(random_network(rng, 16, 48, 4, 0.15, max_delay=2), rng)
    inputs = (rng.random((300, 16)) < 0.1).astype(np.int32)
    for decay in ("shift", "q15"):
        integer = quantize(network, decay=decay)
        state = LIFState.zeros(integer)
        oracle = reference_run_int(integer, inputs)
        assert oracle.spikes.sum() > 100
        assert_same(integer, inputs, state, simulate(integer, inputs, state), oracle)


def test_dense_weights_place_each_synapse_by_delay_source_and_target():
    network = LIFNetwork.from_edges(2, 2, [1], [0, 2, 3], [1, 1, 0], [0.5, -1.0, 2.0], [3, 0, 1])
    input_weights, neuron_weights = dense_weights(network)
    assert input_weights.shape == (4, 2, 2) and neuron_weights.shape == (4, 2, 2)
    assert input_weights[3, 0, 1] == 0.5 and neuron_weights[0, 0, 1] == -1.0 and neuron_weights[1, 1, 0] == 2.0
    assert np.count_nonzero(input_weights) + np.count_nonzero(neuron_weights) == 3
