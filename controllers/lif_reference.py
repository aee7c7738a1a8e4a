"""The test oracle: a readable numpy simulation of the LIF update (slow; never used in evolution).

It implements the update semantics of :mod:`spikefly.controllers.network` a second way — dense
weight matrices per delay, a Python loop over steps, the history of inputs and spikes instead of
a ring buffer — so the Numba kernels can be checked against it exactly. Exactness in float32
holds because both add the contributions arriving at a neuron in the same order (by emission
step, oldest first; inputs before neurons; ascending source) and evaluate
``(beta * v + bias) + current`` with separate float32 multiply and add.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spikefly.controllers.network import (
    COUNTER_NAMES,
    DECAY_SHIFT,
    INT32_MAX,
    INT32_MIN,
    RESET_ZERO,
    IntegerLIFNetwork,
    LIFNetwork,
)


class ReferenceTrace(NamedTuple):
    """Every neuron at every step."""

    spikes: NDArray[np.bool_]
    """bool[T, N]."""
    membrane: NDArray
    """float32[T, N], or int32[T, N] (Q.F) for integer networks; after reset."""
    counts: dict[str, int]
    """neuron_updates, spikes, input_events, synaptic_ops."""


def dense_weights(network: LIFNetwork | IntegerLIFNetwork) -> tuple[NDArray, NDArray]:
    """Weight matrices per delay: (input_weights [D+1, n_inputs, N], neuron_weights [D+1, N, N]).

    Entry ``[d, source, target]`` is the weight of the synapse from ``source`` to ``target`` with
    delay ``d`` (0 where there is none). Float networks: float32 weights. Integer networks: the
    effective int64 weight ``weight * weight_multiplier[target]`` in Q.F.
    """
    sources, targets, weights, delays = network.edges()
    if isinstance(network, IntegerLIFNetwork):
        weights = weights.astype(np.int64) * network.weight_multiplier[targets].astype(np.int64)
    matrix = np.zeros((network.max_delay + 1, network.n_inputs + network.n_neurons, network.n_neurons), weights.dtype)
    matrix[delays, sources, targets] = weights
    return matrix[:, : network.n_inputs], matrix[:, network.n_inputs :]


def _arrivals(t: int, max_delay: int, inputs: NDArray, spikes: NDArray) -> Iterator[tuple[bool, int, int, int]]:
    """(from_input, delay, emitting step, source) of every event arriving at step ``t``, in accumulation order.

    An input value emitted at step s arrives at s + delay; a neuron spike at s + 1 + delay.
    """
    for emitted in range(max(0, t - max_delay - 1), t + 1):
        input_delay = t - emitted
        if input_delay <= max_delay:
            for source in np.flatnonzero(inputs[emitted]):
                yield True, input_delay, emitted, int(source)
        spike_delay = t - 1 - emitted
        if spike_delay >= 0:
            for source in np.flatnonzero(spikes[emitted]):
                yield False, spike_delay, emitted, int(source)


def _count(counts: dict[str, int], network: LIFNetwork | IntegerLIFNetwork, x: NDArray, fired: NDArray) -> None:
    fan_out = np.diff(network.row_ptr)
    counts["neuron_updates"] += network.n_neurons
    counts["spikes"] += int(fired.sum())
    counts["input_events"] += int(np.count_nonzero(x))
    counts["synaptic_ops"] += int(fan_out[: network.n_inputs][x != 0].sum() + fan_out[network.n_inputs :][fired].sum())


def reference_run(network: LIFNetwork, inputs: ArrayLike) -> ReferenceTrace:
    """Simulate a float network from rest over ``inputs`` float32[T, n_inputs]."""
    inputs = np.asarray(inputs, dtype=np.float32)
    n_steps, n = inputs.shape[0], network.n_neurons
    input_weights, neuron_weights = dense_weights(network)
    membrane = np.zeros(n, np.float32)
    adaptation = np.zeros(n, np.float32)
    refractory = np.zeros(n, np.int64)
    spikes = np.zeros((n_steps, n), bool)
    membranes = np.zeros((n_steps, n), np.float32)
    counts = dict.fromkeys(COUNTER_NAMES, 0)
    for t in range(n_steps):
        current = np.zeros(n, np.float32)
        for from_input, delay, emitted, source in _arrivals(t, network.max_delay, inputs, spikes):
            if from_input:
                current = current + input_weights[delay, source] * inputs[emitted, source]
            else:
                current = current + neuron_weights[delay, source]
        adaptation = adaptation * network.adaptation_decay
        integrating = refractory == 0
        refractory = np.where(integrating, refractory, refractory - 1)
        membrane = np.where(integrating, network.beta * membrane + network.bias + current, membrane)
        theta = network.threshold + adaptation
        fired = integrating & network.spiking & (membrane >= theta)
        reset_value = np.where(network.reset_mode == RESET_ZERO, np.float32(0.0), membrane - theta)
        membrane = np.where(fired, reset_value, membrane)
        refractory = np.where(fired, network.refractory_steps, refractory)
        adaptation = np.where(fired, adaptation + network.adaptation_increment, adaptation)
        spikes[t], membranes[t] = fired, membrane
        _count(counts, network, inputs[t], fired)
    return ReferenceTrace(spikes, membranes, counts)


def _saturate(value: NDArray) -> NDArray[np.int64]:
    return np.clip(value, INT32_MIN, INT32_MAX).astype(np.int64)


def reference_run_int(network: IntegerLIFNetwork, inputs: ArrayLike) -> ReferenceTrace:
    """Simulate an integer network from rest over ``inputs`` int32[T, n_inputs] (int64 maths)."""
    inputs = np.asarray(inputs, dtype=np.int64)
    n_steps, n = inputs.shape[0], network.n_neurons
    input_weights, neuron_weights = dense_weights(network)
    membrane = np.zeros(n, np.int64)
    adaptation = np.zeros(n, np.int64)
    refractory = np.zeros(n, np.int64)
    spikes = np.zeros((n_steps, n), bool)
    membranes = np.zeros((n_steps, n), np.int32)
    counts = dict.fromkeys(COUNTER_NAMES, 0)
    for t in range(n_steps):
        current = np.zeros(n, np.int64)
        for from_input, delay, emitted, source in _arrivals(t, network.max_delay, inputs, spikes):
            if from_input:
                contribution = (input_weights[delay, source] * inputs[emitted, source]) >> network.input_fractional_bits
                current = _saturate(current + _saturate(contribution))
            else:
                current = _saturate(current + neuron_weights[delay, source])
        adaptation = (adaptation * network.adaptation_decay_q15) >> 15
        integrating = refractory == 0
        refractory = np.where(integrating, refractory, refractory - 1)
        decayed = np.where(
            network.decay_mode == DECAY_SHIFT,
            membrane - (membrane >> network.decay_shift.astype(np.int64)),
            (membrane * network.beta_q15) >> 15,
        )
        membrane = np.where(integrating, _saturate(decayed + network.bias + current), membrane)
        theta = network.threshold + adaptation
        fired = integrating & network.spiking & (membrane >= theta)
        reset_value = np.where(network.reset_mode == RESET_ZERO, 0, _saturate(membrane - theta))
        membrane = np.where(fired, reset_value, membrane)
        refractory = np.where(fired, network.refractory_steps, refractory)
        adaptation = np.where(fired, _saturate(adaptation + network.adaptation_increment), adaptation)
        spikes[t], membranes[t] = fired, membrane
        _count(counts, network, inputs[t], fired)
    return ReferenceTrace(spikes, membranes, counts)
