"""LIF kernels: hand-checked traces, batch = single, counters, state, validation errors."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from spikefly.controllers.lif_kernels import lif_run, lif_step
from spikefly.controllers.lif_state import LIFBatchState, LIFState, pack_batch, simulate, simulate_batch
from spikefly.controllers.network import (
    DECAY_Q15,
    DECAY_SHIFT,
    RESET_SUBTRACT,
    RESET_ZERO,
    IntegerLIFNetwork,
    LIFNetwork,
    random_network,
)
from spikefly.controllers.quantize import quantize


def bias_neuron(**params: object) -> LIFNetwork:
    """One neuron, one (unconnected) input: driven by its bias alone."""
    return LIFNetwork.from_edges(1, 1, [0], [], [], [], **params)


def silent(steps: int, n_inputs: int = 1) -> np.ndarray:
    return np.zeros((steps, n_inputs), np.float32)


def trace(network: LIFNetwork, inputs: np.ndarray) -> tuple[list[int], list[float]]:
    spikes, membrane = simulate(network, inputs)
    return spikes[:, 0].tolist(), membrane[:, 0].tolist()


# ------------------------------------------------------------------ hand-checked traces


def test_refractory_period_holds_membrane_and_blocks_input():
    # bias 0.5, threshold 1: fires every 2nd step; 2 refractory steps stretch the period to 4.
    spikes, membrane = trace(bias_neuron(bias=0.5, beta=1.0, threshold=1.0, refractory_steps=2), silent(10))
    assert spikes == [0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert membrane == [0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.0]
    free_spikes, _ = trace(bias_neuron(bias=0.5, beta=1.0, threshold=1.0), silent(10))
    assert free_spikes == [0, 1] * 5


def test_reset_to_zero_versus_subtract():
    zero, zero_v = trace(bias_neuron(bias=0.75, beta=1.0, threshold=1.0, reset_mode=RESET_ZERO), silent(8))
    assert zero == [0, 1, 0, 1, 0, 1, 0, 1]
    assert zero_v == [0.75, 0.0, 0.75, 0.0, 0.75, 0.0, 0.75, 0.0]
    # Subtract keeps the excess: the rate is bias / threshold = 3 spikes per 4 steps.
    sub, sub_v = trace(bias_neuron(bias=0.75, beta=1.0, threshold=1.0, reset_mode=RESET_SUBTRACT), silent(8))
    assert sub == [0, 1, 1, 1, 0, 1, 1, 1]
    assert sub_v == [0.75, 0.5, 0.25, 0.0, 0.75, 0.5, 0.25, 0.0]


def test_adaptation_raises_threshold_and_slows_firing():
    # a decays by 0.5 at the start of each step; +1 per spike; theta = 1 + a.
    network = bias_neuron(bias=0.5, beta=1.0, threshold=1.0, adaptation_increment=1.0, adaptation_decay=0.5)
    state = LIFState.zeros(network)
    spikes, membrane = simulate(network, silent(11), state)
    assert spikes[:, 0].tolist() == [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    assert membrane[:, 0].tolist() == [0.5, 0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.0]
    # Adaptation after the spike at step 10: 1 -> (.5 .25 .125) +1 -> (.5625 .28125 .140625) +1
    # -> (.5703125 .28515625 .142578125) + 1.
    assert state.adaptation[0] == np.float32(1.142578125)
    without, _ = trace(bias_neuron(bias=0.5, beta=1.0, threshold=1.0), silent(11))
    assert sum(without) == 5 and spikes.sum() == 4


def test_input_synaptic_delay_of_d_steps():
    # Read-out (non-spiking, beta 0.5): input at t=0 through delay 0 (weight 1) and delay 3 (weight 2).
    network = LIFNetwork.from_edges(1, 1, [0], [0, 0], [0, 0], [1.0, 2.0], [0, 3], beta=0.5, spiking=False)
    inputs = silent(7)
    inputs[0, 0] = 1.0
    _, membrane = trace(network, inputs)
    assert membrane == [1.0, 0.5, 0.25, 2.125, 1.0625, 0.53125, 0.265625]


def test_neuron_to_neuron_spike_arrives_one_plus_delay_steps_later():
    # input -> n0 (fires at t=0); n0 -> n1 with delay 0 and n0 -> n2 with delay 2.
    network = LIFNetwork.from_edges(
        1, 3, [0, 1, 2], [0, 1, 1], [0, 1, 2], [1.0, 1.0, 1.0], [0, 0, 2], threshold=0.5, beta=0.0,
    )
    inputs = silent(6)
    inputs[0, 0] = 1.0
    spikes, _ = simulate(network, inputs)
    assert spikes.T.tolist() == [[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]]


@pytest.mark.parametrize(("delay", "expected"), [(0, [1] * 8), (2, [1, 0, 0, 1, 0, 0, 1, 0])])
def test_self_loop_fires_every_one_plus_delay_steps(delay, expected):
    network = LIFNetwork.from_edges(1, 1, [0], [0, 1], [0, 0], [1.0, 1.0], [0, delay], threshold=0.5, beta=0.0)
    inputs = silent(8)
    inputs[0, 0] = 1.0
    spikes, _ = trace(network, inputs)
    assert spikes == expected


def test_non_spiking_readout_integrates_and_never_fires():
    network = LIFNetwork.from_edges(1, 1, [0], [0], [0], [1.0], beta=0.5, threshold=1.0, spiking=False)
    inputs = np.array([[1.0], [1.0], [0.0], [0.0], [-2.0]], np.float32)
    spikes, membrane = trace(network, inputs)
    assert spikes == [0, 0, 0, 0, 0]
    assert membrane == [1.0, 1.5, 0.75, 0.375, -1.8125]


def test_bias_driven_firing_at_predicted_period():
    # From 0, v_n = bias (1 - beta^n) / (1 - beta) first reaches the threshold at
    # n = ceil(log(1 - threshold (1 - beta) / bias) / log(beta)) = ceil(6.58) = 7 steps.
    beta, bias, threshold = 0.9, 0.2, 1.0
    period = int(np.ceil(np.log(1 - threshold * (1 - beta) / bias) / np.log(beta)))
    spikes, _ = trace(bias_neuron(beta=beta, bias=bias, threshold=threshold), silent(700))
    assert period == 7
    assert np.flatnonzero(spikes).tolist() == list(range(period - 1, 700, period))


def test_integer_shift_decay_trace_and_floor_rounding():
    # Q.4 (1.0 = 16): bias 8, shift 1 (beta 0.5): 8, 12, 14, 15, then 15 - (15 >> 1) + 8 = 16 fires.
    # v >> 1 floors, so positive membranes decay a little less than in float, where
    # v = 0.5, 0.75, 0.875, 0.9375, 0.96875 never reaches 1.
    network = IntegerLIFNetwork(
        n_inputs=1, n_neurons=2, output_index=[0, 1], fractional_bits=4, input_fractional_bits=0,
        row_ptr=[0, 0, 0, 0], target=[], weight=[], delay=[], weight_multiplier=[1, 1],
        threshold=[16, 16], bias=[8, -3], decay_mode=[DECAY_SHIFT, DECAY_Q15], decay_shift=[1, 0],
        beta_q15=[32768, 32767], adaptation_increment=[0, 0], adaptation_decay_q15=[32768, 32768],
        refractory_steps=[0, 0], reset_mode=[RESET_ZERO, RESET_ZERO], spiking=[True, False],
    )
    spikes, membrane = simulate(network, np.zeros((6, 1), np.int32))
    assert spikes[:, 0].tolist() == [0, 0, 0, 0, 1, 0] and spikes[:, 1].sum() == 0
    assert membrane[:, 0].tolist() == [8, 12, 14, 15, 0, 8]
    # Q15 beta 0.99997 on a negative membrane floors back to the same value: -3, -6, -9, ...
    assert membrane[:, 1].tolist() == [-3, -6, -9, -12, -15, -18]


def test_integer_membrane_saturates_instead_of_wrapping():
    network = IntegerLIFNetwork(
        n_inputs=1, n_neurons=1, output_index=[0], fractional_bits=16, input_fractional_bits=0,
        row_ptr=[0, 1, 1], target=[0], weight=[127], delay=[0], weight_multiplier=[(1 << 24) - 1],
        threshold=[1], bias=[0], decay_mode=[DECAY_Q15], decay_shift=[0], beta_q15=[32768],
        adaptation_increment=[0], adaptation_decay_q15=[0], refractory_steps=[0], reset_mode=[RESET_ZERO],
        spiking=[False],
    )
    _, membrane = simulate(network, np.ones((3, 1), np.int32))
    assert membrane[:, 0].tolist() == [127 * ((1 << 24) - 1), 2**31 - 1, 2**31 - 1]


# ------------------------------------------------------------------ state, batch, counters


def test_run_continues_from_state_and_reset_restarts():
    rng = np.random.default_rng(3)
    network = random_network(rng, 4, 10, 3, 0.3, max_delay=2)
    inputs = (rng.random((80, 4)) < 0.3).astype(np.float32)
    whole = simulate(network, inputs)
    state = LIFState.zeros(network)
    first = simulate(network, inputs[:30], state)
    second = simulate(network, inputs[30:], state)
    assert np.array_equal(np.concatenate([first[0], second[0]]), whole[0])
    assert np.array_equal(np.concatenate([first[1], second[1]]), whole[1])
    state.reset()
    again = simulate(network, inputs, state)
    assert np.array_equal(again[1], whole[1]) and state.counts().neuron_updates == 80 * 10


def test_lif_step_is_callable_from_other_compiled_code():
    @njit
    def fused_loop(network, state, inputs, out_spikes, out_membrane):
        for t in range(inputs.shape[0]):
            lif_step(network, state, inputs[t], out_spikes[t], out_membrane[t])

    rng = np.random.default_rng(5)
    network = random_network(rng, 3, 8, 2, 0.4, max_delay=1)
    inputs = (rng.random((50, 3)) < 0.3).astype(np.float32)
    spikes = np.zeros((50, 2), np.uint8)
    membrane = np.zeros((50, 2), np.float32)
    fused_loop(network.kernel_arrays(), LIFState.zeros(network).kernel_arrays(), inputs, spikes, membrane)
    expected = lif_run(network.kernel_arrays(), LIFState.zeros(network).kernel_arrays(), inputs)
    assert np.array_equal(spikes, expected[0]) and np.array_equal(membrane, expected[1])


def mixed_population(seed: int) -> list[LIFNetwork]:
    rng = np.random.default_rng(seed)
    sizes = [1, 5, 17, 40, 3, 64, 9]
    return [
        random_network(rng, 6, n, min(n, 1 + i % 4), 0.25, max_delay=i % 4, membrane_readout=i % 2 == 1)
        for i, n in enumerate(sizes)
    ]


@pytest.mark.parametrize("integer", [False, True], ids=["float", "integer"])
def test_batch_equals_each_network_alone_bit_for_bit(integer):
    networks = mixed_population(11)
    if integer:
        networks = [quantize(net, decay="q15" if i % 2 else "shift") for i, net in enumerate(networks)]
    rng = np.random.default_rng(12)
    inputs = (rng.random((len(networks), 120, 6)) < 0.2).astype(np.int32 if integer else np.float32)
    batch = pack_batch(networks)
    state = LIFBatchState.zeros(batch)
    first = simulate_batch(batch, inputs[:, :70], state)
    second = simulate_batch(batch, inputs[:, 70:], state)
    spikes, membrane = np.concatenate([first[0], second[0]], 1), np.concatenate([first[1], second[1]], 1)
    assert spikes.shape == (len(networks), 120, batch.n_outputs_max)
    for b, network in enumerate(networks):
        alone_state = LIFState.zeros(network)
        alone = simulate(network, inputs[b], alone_state)
        n_out = network.n_outputs
        assert np.array_equal(spikes[b, :, :n_out], alone[0])
        assert np.array_equal(membrane[b, :, :n_out], alone[1])
        assert not spikes[b, :, n_out:].any() and not membrane[b, :, n_out:].any()  # padding
        assert state.counts(b) == alone_state.counts()


@pytest.mark.parametrize("integer", [False, True], ids=["float", "integer"])
def test_counters_equal_brute_force_count_from_recorded_spikes(integer):
    rng = np.random.default_rng(21)
    network = random_network(rng, 8, 30, 30, 0.2, max_delay=2)
    network = network.replace(output_index=np.arange(30))
    inputs = (rng.random((300, 8)) < 0.15).astype(np.float32) * rng.uniform(-1, 2, (300, 8)).astype(np.float32)
    if integer:
        network = quantize(network, input_fractional_bits=8)
        inputs = np.round(inputs * 256).astype(np.int32)
    state = LIFState.zeros(network)
    spikes, _ = simulate(network, inputs, state)
    fan_out = np.diff(network.row_ptr)
    counts = state.counts()
    assert spikes.sum() > 100
    assert counts.neuron_updates == 300 * 30
    assert counts.spikes == spikes.sum()
    assert counts.input_events == np.count_nonzero(inputs)
    assert counts.synaptic_ops == int(((inputs != 0) * fan_out[:8]).sum() + (spikes * fan_out[8:]).sum())


# ------------------------------------------------------------------ validation


def edges_kwargs(**changes: object) -> dict[str, object]:
    """A small valid network (2 inputs, 3 neurons, one delayed synapse) with some edges changed."""
    kwargs: dict[str, object] = {
        "n_inputs": 2, "n_neurons": 3, "output_index": [2], "sources": [0, 1, 2, 3], "targets": [0, 1, 2, 2],
        "weights": [0.5, 0.5, 1.0, 1.0], "delays": [0, 0, 0, 1],
    }
    return kwargs | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"targets": [0, 1, 2, 3]}, "target"),
        ({"targets": [0.0, 1.0, 2.0, 2.0]}, "target"),
        ({"sources": [0, 1, 2, 5]}, "sources"),
        ({"weights": [0.5, np.nan, 1.0, 1.0]}, "weight"),
        ({"weights": [0.5, 0.5]}, "weights"),
        ({"delays": [0, -1, 0, 0]}, "delay"),
        ({"output_index": [2, 2]}, "output_index"),
        ({"output_index": [3]}, "output_index"),
        ({"threshold": [1.0, 0.0, 1.0]}, "threshold"),
        ({"threshold": [1.0, 1.0]}, "threshold"),
        ({"beta": 1.5}, "beta"),
        ({"adaptation_decay": -0.1}, "adaptation_decay"),
        ({"adaptation_increment": -1.0}, "adaptation_increment"),
        ({"refractory_steps": -1}, "refractory_steps"),
        ({"reset_mode": 2}, "reset_mode"),
        ({"spiking": [1, 2, 0]}, "spiking"),
        ({"sources": [0, 1, 2, 2], "targets": [0, 1, 2, 2], "delays": [0, 0, 1, 1]}, "target"),
    ],
)
def test_validation_errors_name_the_field(changes, field):
    with pytest.raises(ValueError, match=rf"LIFNetwork\.{field}\b"):
        LIFNetwork.from_edges(**edges_kwargs(**changes))


def test_csr_row_pointer_must_be_monotone_and_sized():
    network = LIFNetwork.from_edges(**edges_kwargs())
    with pytest.raises(ValueError, match=r"LIFNetwork\.row_ptr: must be non-decreasing"):
        network.replace(row_ptr=[0, 2, 1, 3, 4, 4])
    with pytest.raises(ValueError, match=r"LIFNetwork\.row_ptr: expected shape \(6,\)"):
        network.replace(row_ptr=[0, 1, 2, 4])


def test_network_properties_and_copies():
    weights = np.array([0.5, 0.5, 1.0, 1.0])
    network = LIFNetwork.from_edges(**edges_kwargs(sources=[3, 1, 2, 0], weights=weights, delays=[4, 0, 0, 0]))
    weights[0] = 9.0  # the network holds its own copy
    assert network.n_synapses == 4 and network.max_delay == 4 and network.n_outputs == 1
    assert network.row_ptr.tolist() == [0, 1, 2, 3, 4, 4]
    assert network.weight.tolist() == [1.0, 0.5, 1.0, 0.5] and network.delay.tolist() == [0, 0, 0, 4]
    assert all(a.flags.c_contiguous for a in network.kernel_arrays())
    assert network.threshold.dtype == np.float32 and network.reset_mode.dtype == np.int8


def test_inputs_with_wrong_shape_are_rejected():
    network = LIFNetwork.from_edges(**edges_kwargs())
    with pytest.raises(ValueError, match=r"inputs must have shape \(\.\.\., 2\)"):
        simulate(network, np.zeros((5, 3), np.float32))
    with pytest.raises(ValueError, match="pack_batch: every network needs n_inputs=2"):
        pack_batch([network, random_network(np.random.default_rng(0), 3, 4, 1, 0.5)])
