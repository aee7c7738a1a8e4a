"""Numba kernels that simulate LIF networks: one step, a run, a population batch; float and integer.

The update semantics are written once, in :mod:`spikefly.controllers.network`; these kernels
follow them exactly and the numpy oracle in :mod:`spikefly.controllers.lif_reference` checks
them. Kernels are pure functions over plain arrays and ints (``@njit(cache=True)``), so other
compiled code (the fused physics + encoder + network + decoder loop) can call ``lif_step`` and
``lif_step_int`` directly. Pass C-contiguous arrays only: any other layout compiles anew.

Every kernel takes a network and its state as two tuples (the ``kernel_arrays()`` of networks,
batches and states), in this order:

- float network: ``row_ptr, target, weight, delay, threshold, beta, bias, adaptation_increment,
  adaptation_decay, refractory_steps, reset_mode, spiking, output_index``
- integer network: ``row_ptr, target, weight, delay, weight_multiplier, threshold, bias,
  decay_mode, decay_shift, beta_q15, adaptation_increment, adaptation_decay_q15,
  refractory_steps, reset_mode, spiking, output_index, input_fractional_bits``
- state: ``membrane`` float32[N] (int32 Q.F in integer mode), ``adaptation`` (same dtype),
  ``refractory`` int32[N], ``ring`` [L, N] (same dtype, ``L = max_delay + 2``), ``step``
  int64[1], ``counters`` int64[4], ``spiked`` uint8[N] (spikes of the latest step).

Batches concatenate networks of different sizes (same ``n_inputs``); ``row_ptr`` stays local to
each network and offsets locate each network's slice (:class:`LIFBatch`).

Performance notes (measured, see ``benchmarks/lif_kernel.py``): ``lif_step`` and the run loops
are compiled without the Numba runtime (``_nrt=False``: they allocate nothing, and without it
no reference counting runs on every call) and ``lif_step`` is inlined into its callers
(``inline="always"``), so the vectorised neuron loop's alias checks are hoisted out of the time
loop (without inlining, code loaded from the cache ran 25% slower than freshly compiled code).
Together they make one network ~2.8x and the batch ~1.7x faster. Passing the arrays as two
tuples instead of 20 arguments changed none of it (measured side by side,
``benchmarks/compare_revisions.py``).

The thin shells over them (:class:`~spikefly.controllers.lif_state.LIFState`,
:func:`~spikefly.controllers.lif_state.pack_batch`, :func:`~spikefly.controllers.lif_state.simulate`,
...) own no arithmetic and live in :mod:`spikefly.controllers.lif_state`. The float, integer and
batch variants stay side by side here so that they stay identical.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from spikefly.controllers.network import (
    COUNTER_INPUT_EVENTS,
    COUNTER_NEURON_UPDATES,
    COUNTER_SPIKES,
    COUNTER_SYNAPTIC_OPS,
    DECAY_SHIFT,
    INT32_MAX,
    INT32_MIN,
    RESET_ZERO,
)

_ZERO = np.float32(0.0)
OUTPUT_INDEX = 12
"""Where ``output_index`` is in a float network's tuple."""
OUTPUT_INDEX_INT = 15
"""Where ``output_index`` is in an integer network's tuple."""
INPUT_FRACTIONAL_BITS = 16
"""Where ``input_fractional_bits`` is in an integer network's tuple (its last entry)."""


# ---------------------------------------------------------------------------------------------
# Float32 kernels
# ---------------------------------------------------------------------------------------------


@njit(cache=True, _nrt=False, inline="always")
def lif_step(network, state, inputs, out_spikes, out_membrane):
    """Advance one network one step (float32). ``inputs`` float32[n_inputs] (spikes as 1.0).

    Writes ``out_spikes`` uint8[>= n_out] and ``out_membrane`` float32[>= n_out] (membrane after
    reset) for the outputs; updates the state arrays in place. In a hot loop of your own, compile
    that loop with ``_nrt=False`` too (as :func:`lif_run_into` is), or call :func:`lif_run_into`.
    ``network`` and ``state``: the tuples of the module docstring.
    """
    (row_ptr, target, weight, delay, threshold, beta, bias, adaptation_increment, adaptation_decay,
     refractory_steps, reset_mode, spiking, output_index) = network
    membrane, adaptation, refractory, ring, step, counters, spiked = state
    n_neurons = threshold.shape[0]
    n_inputs = row_ptr.shape[0] - 1 - n_neurons
    ring_length = ring.shape[0]
    slot = step[0] % ring_length
    input_events = 0
    synaptic_ops = 0
    for i in range(n_inputs):
        x = inputs[i]
        if x != 0:
            input_events += 1
            synaptic_ops += row_ptr[i + 1] - row_ptr[i]
            for k in range(row_ptr[i], row_ptr[i + 1]):
                arrival = slot + delay[k]
                if arrival >= ring_length:
                    arrival -= ring_length
                ring[np.uint64(arrival), np.uint64(target[k])] += weight[k] * x  # unsigned: no negative-index wraparound
    # Every neuron, branch-free so that it vectorises: decay, take current, integrate, test.
    row = ring[slot]
    n_spikes = 0
    for j in range(n_neurons):
        a = adaptation[j] * adaptation_decay[j]
        adaptation[j] = a
        current = row[j]
        row[j] = _ZERO
        counter = refractory[j]
        integrating = counter == 0
        v = beta[j] * membrane[j] + bias[j] + current
        v = v if integrating else membrane[j]
        membrane[j] = v
        refractory[j] = counter - (0 if integrating else 1)
        fired = integrating & spiking[j] & (v >= threshold[j] + a)
        spiked[j] = fired
        n_spikes += fired
    # The few that fired: reset, refractoriness, adaptation, delivery (order within a step is free:
    # a spike changes only its own neuron and later ring slots).
    if n_spikes > 0:
        for j in range(n_neurons):
            if spiked[j]:
                theta = threshold[j] + adaptation[j]
                membrane[j] = _ZERO if reset_mode[j] == RESET_ZERO else membrane[j] - theta
                refractory[j] = refractory_steps[j]
                adaptation[j] = adaptation[j] + adaptation_increment[j]
                source = n_inputs + j
                synaptic_ops += row_ptr[source + 1] - row_ptr[source]
                for k in range(row_ptr[source], row_ptr[source + 1]):
                    arrival = slot + 1 + delay[k]
                    if arrival >= ring_length:
                        arrival -= ring_length
                    ring[np.uint64(arrival), np.uint64(target[k])] += weight[k]
    for k in range(output_index.shape[0]):
        out_spikes[k] = spiked[output_index[k]]
        out_membrane[k] = membrane[output_index[k]]
    counters[COUNTER_NEURON_UPDATES] += n_neurons
    counters[COUNTER_SPIKES] += n_spikes
    counters[COUNTER_INPUT_EVENTS] += input_events
    counters[COUNTER_SYNAPTIC_OPS] += synaptic_ops
    step[0] += 1


@njit(cache=True, _nrt=False)
def lif_run_into(network, state, inputs, out_spikes, out_membrane):
    """``T`` steps: ``inputs`` float32[T, n_inputs] into ``out_spikes`` uint8[T, >= n_out] and
    ``out_membrane`` float32[T, >= n_out]."""
    for t in range(inputs.shape[0]):
        lif_step(network, state, inputs[t], out_spikes[t], out_membrane[t])


@njit(cache=True)
def lif_run(network, state, inputs):
    """Run one network over ``inputs`` float32[T, n_inputs].

    Returns (out_spikes uint8[T, n_out], out_membrane float32[T, n_out]); state updated in place.
    """
    n_steps = inputs.shape[0]
    n_out = network[OUTPUT_INDEX].shape[0]
    out_spikes = np.zeros((n_steps, n_out), np.uint8)
    out_membrane = np.zeros((n_steps, n_out), np.float32)
    lif_run_into(network, state, inputs, out_spikes, out_membrane)
    return out_spikes, out_membrane


@njit(cache=True, parallel=True)
def lif_run_batch(batch, state, inputs):
    """Run B networks in parallel over ``inputs`` float32[B, T, n_inputs].

    Offsets are int64[B + 1]; ``ring`` is flat (network b: ``ring_offset[b]:ring_offset[b+1]``,
    laid out [L_b, N_b]); ``step`` int64[B]; ``counters`` int64[B, 4]. Returns (spikes
    uint8[B, T, n_out_max], membrane float32[B, T, n_out_max]), zero-padded past each n_out.
    ``batch``: :meth:`LIFBatch.kernel_arrays` (the offsets, then the networks' arrays); ``state``:
    :meth:`LIFBatchState.kernel_arrays`.
    """
    (neuron_offset, row_ptr_offset, synapse_offset, output_offset,
     row_ptr, target, weight, delay, threshold, beta, bias, adaptation_increment, adaptation_decay,
     refractory_steps, reset_mode, spiking, output_index) = batch
    membrane, adaptation, refractory, ring, ring_offset, step, counters, spiked = state
    n_networks = neuron_offset.shape[0] - 1
    n_steps = inputs.shape[1]
    n_out_max = 0
    for b in range(n_networks):
        n_out_max = max(n_out_max, output_offset[b + 1] - output_offset[b])
    out_spikes = np.zeros((n_networks, n_steps, n_out_max), np.uint8)
    out_membrane = np.zeros((n_networks, n_steps, n_out_max), np.float32)
    for b in prange(n_networks):
        n0, n1 = neuron_offset[b], neuron_offset[b + 1]
        s0, s1 = synapse_offset[b], synapse_offset[b + 1]
        ring_b = ring[ring_offset[b]:ring_offset[b + 1]].reshape(((ring_offset[b + 1] - ring_offset[b]) // (n1 - n0), n1 - n0))
        lif_run_into(
            (row_ptr[row_ptr_offset[b]:row_ptr_offset[b + 1]], target[s0:s1], weight[s0:s1], delay[s0:s1],
             threshold[n0:n1], beta[n0:n1], bias[n0:n1], adaptation_increment[n0:n1], adaptation_decay[n0:n1],
             refractory_steps[n0:n1], reset_mode[n0:n1], spiking[n0:n1], output_index[output_offset[b]:output_offset[b + 1]]),
            (membrane[n0:n1], adaptation[n0:n1], refractory[n0:n1], ring_b, step[b:b + 1], counters[b], spiked[n0:n1]),
            inputs[b], out_spikes[b], out_membrane[b],
        )
    return out_spikes, out_membrane


# ---------------------------------------------------------------------------------------------
# Integer (fixed-point) kernels
# ---------------------------------------------------------------------------------------------


@njit(cache=True, _nrt=False)
def saturate_int32(value):
    """Clamp an int64 to the int32 range (every stored integer-mode value passes through this)."""
    return min(max(value, INT32_MIN), INT32_MAX)


@njit(cache=True, _nrt=False, inline="always")
def lif_step_int(network, state, inputs, out_spikes, out_membrane):
    """Advance one integer network one step. ``inputs`` int32[n_inputs] (1 per spike, or Q currents).

    Writes ``out_spikes`` uint8[>= n_out] and ``out_membrane`` int32[>= n_out] (Q.F). Arithmetic
    rules: :mod:`spikefly.controllers.network`. ``network`` and ``state``: the tuples of the module docstring.
    """
    (row_ptr, target, weight, delay, weight_multiplier, threshold, bias, decay_mode, decay_shift, beta_q15,
     adaptation_increment, adaptation_decay_q15, refractory_steps, reset_mode, spiking, output_index,
     input_fractional_bits) = network
    membrane, adaptation, refractory, ring, step, counters, spiked = state
    n_neurons = threshold.shape[0]
    n_inputs = row_ptr.shape[0] - 1 - n_neurons
    ring_length = ring.shape[0]
    slot = step[0] % ring_length
    input_shift = np.int64(input_fractional_bits)
    input_events = 0
    synaptic_ops = 0
    for i in range(n_inputs):
        x = np.int64(inputs[i])
        if x != 0:
            input_events += 1
            synaptic_ops += row_ptr[i + 1] - row_ptr[i]
            for k in range(row_ptr[i], row_ptr[i + 1]):
                receiver = np.uint64(target[k])
                contribution = (np.int64(weight[k]) * np.int64(weight_multiplier[receiver]) * x) >> input_shift
                arrival = slot + delay[k]
                if arrival >= ring_length:
                    arrival -= ring_length
                ring[np.uint64(arrival), receiver] = saturate_int32(np.int64(ring[np.uint64(arrival), receiver]) + saturate_int32(contribution))
    row = ring[slot]
    n_spikes = 0
    for j in range(n_neurons):
        a = (np.int64(adaptation[j]) * np.int64(adaptation_decay_q15[j])) >> 15
        adaptation[j] = a
        current = np.int64(row[j])
        row[j] = 0
        counter = refractory[j]
        integrating = counter == 0
        v = np.int64(membrane[j])
        by_shift = v - (v >> np.int64(decay_shift[j]))
        by_q15 = (v * np.int64(beta_q15[j])) >> 15
        decayed = by_shift if decay_mode[j] == DECAY_SHIFT else by_q15
        v = saturate_int32(decayed + np.int64(bias[j]) + current) if integrating else v
        membrane[j] = v
        refractory[j] = counter - (0 if integrating else 1)
        fired = integrating & spiking[j] & (v >= np.int64(threshold[j]) + a)
        spiked[j] = fired
        n_spikes += fired
    if n_spikes > 0:
        for j in range(n_neurons):
            if spiked[j]:
                v = np.int64(membrane[j])
                theta = np.int64(threshold[j]) + np.int64(adaptation[j])
                membrane[j] = 0 if reset_mode[j] == RESET_ZERO else saturate_int32(v - theta)
                refractory[j] = refractory_steps[j]
                adaptation[j] = saturate_int32(np.int64(adaptation[j]) + np.int64(adaptation_increment[j]))
                source = n_inputs + j
                synaptic_ops += row_ptr[source + 1] - row_ptr[source]
                for k in range(row_ptr[source], row_ptr[source + 1]):
                    receiver = np.uint64(target[k])
                    arrival = slot + 1 + delay[k]
                    if arrival >= ring_length:
                        arrival -= ring_length
                    contribution = np.int64(weight[k]) * np.int64(weight_multiplier[receiver])
                    ring[np.uint64(arrival), receiver] = saturate_int32(np.int64(ring[np.uint64(arrival), receiver]) + contribution)
    for k in range(output_index.shape[0]):
        out_spikes[k] = spiked[output_index[k]]
        out_membrane[k] = membrane[output_index[k]]
    counters[COUNTER_NEURON_UPDATES] += n_neurons
    counters[COUNTER_SPIKES] += n_spikes
    counters[COUNTER_INPUT_EVENTS] += input_events
    counters[COUNTER_SYNAPTIC_OPS] += synaptic_ops
    step[0] += 1


@njit(cache=True, _nrt=False)
def lif_run_into_int(network, state, inputs, out_spikes, out_membrane):
    """``T`` integer steps: ``inputs`` int32[T, n_inputs] into uint8 / int32 [T, >= n_out]."""
    for t in range(inputs.shape[0]):
        lif_step_int(network, state, inputs[t], out_spikes[t], out_membrane[t])


@njit(cache=True)
def lif_run_int(network, state, inputs):
    """Run one integer network over ``inputs`` int32[T, n_inputs].

    Returns (out_spikes uint8[T, n_out], out_membrane int32[T, n_out] in Q.F).
    """
    n_steps = inputs.shape[0]
    n_out = network[OUTPUT_INDEX_INT].shape[0]
    out_spikes = np.zeros((n_steps, n_out), np.uint8)
    out_membrane = np.zeros((n_steps, n_out), np.int32)
    lif_run_into_int(network, state, inputs, out_spikes, out_membrane)
    return out_spikes, out_membrane


@njit(cache=True, parallel=True)
def lif_run_batch_int(batch, state, inputs):
    """Integer twin of :func:`lif_run_batch`: ``inputs`` int32[B, T, n_inputs]; returns
    (spikes uint8[B, T, n_out_max], membrane int32[B, T, n_out_max])."""
    (neuron_offset, row_ptr_offset, synapse_offset, output_offset,
     row_ptr, target, weight, delay, weight_multiplier, threshold, bias, decay_mode, decay_shift, beta_q15,
     adaptation_increment, adaptation_decay_q15, refractory_steps, reset_mode, spiking, output_index,
     input_fractional_bits) = batch
    membrane, adaptation, refractory, ring, ring_offset, step, counters, spiked = state
    n_networks = neuron_offset.shape[0] - 1
    n_steps = inputs.shape[1]
    n_out_max = 0
    for b in range(n_networks):
        n_out_max = max(n_out_max, output_offset[b + 1] - output_offset[b])
    out_spikes = np.zeros((n_networks, n_steps, n_out_max), np.uint8)
    out_membrane = np.zeros((n_networks, n_steps, n_out_max), np.int32)
    for b in prange(n_networks):
        n0, n1 = neuron_offset[b], neuron_offset[b + 1]
        s0, s1 = synapse_offset[b], synapse_offset[b + 1]
        ring_b = ring[ring_offset[b]:ring_offset[b + 1]].reshape(((ring_offset[b + 1] - ring_offset[b]) // (n1 - n0), n1 - n0))
        lif_run_into_int(
            (row_ptr[row_ptr_offset[b]:row_ptr_offset[b + 1]], target[s0:s1], weight[s0:s1], delay[s0:s1],
             weight_multiplier[n0:n1], threshold[n0:n1], bias[n0:n1], decay_mode[n0:n1], decay_shift[n0:n1],
             beta_q15[n0:n1], adaptation_increment[n0:n1], adaptation_decay_q15[n0:n1], refractory_steps[n0:n1],
             reset_mode[n0:n1], spiking[n0:n1], output_index[output_offset[b]:output_offset[b + 1]], input_fractional_bits),
            (membrane[n0:n1], adaptation[n0:n1], refractory[n0:n1], ring_b, step[b:b + 1], counters[b], spiked[n0:n1]),
            inputs[b], out_spikes[b], out_membrane[b],
        )
    return out_spikes, out_membrane


__all__ = ["INPUT_FRACTIONAL_BITS", "OUTPUT_INDEX", "OUTPUT_INDEX_INT", "lif_run", "lif_run_batch", "lif_run_batch_int", "lif_run_int", "lif_run_into", "lif_run_into_int",
           "lif_step", "lif_step_int", "saturate_int32"]
