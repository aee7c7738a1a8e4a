"""Thin shells over the LIF kernels (:mod:`spikefly.controllers.lif_kernels`): network state, batches
of networks of different sizes, and the Python entry points :func:`simulate` and :func:`simulate_batch`.
They own no arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spikefly.controllers.lif_kernels import lif_run, lif_run_batch, lif_run_batch_int, lif_run_int
from spikefly.controllers.network import COUNTER_NAMES, INT32_MAX, INT32_MIN, IntegerLIFNetwork, LIFNetwork

class OperationCounts(NamedTuple):
    """What the simulator did, for the board cost model (all int)."""

    neuron_updates: int
    spikes: int
    input_events: int
    synaptic_ops: int


def _state_dtype(integer: bool) -> type:
    return np.int32 if integer else np.float32


@dataclass(frozen=True, eq=False)
class LIFState:
    """Mutable state arrays of one network (float32, or int32 Q.F for an integer network)."""

    membrane: NDArray
    """float32 | int32 [N]."""
    adaptation: NDArray
    """float32 | int32 [N]: adaptive threshold excess."""
    refractory: NDArray[np.int32]
    """int32[N]: steps of refractoriness left."""
    ring: NDArray
    """float32 | int32 [max_delay + 2, N]: future synaptic current by arrival step."""
    step: NDArray[np.int64]
    """int64[1]: steps simulated."""
    counters: NDArray[np.int64]
    """int64[4]: neuron_updates, spikes, input_events, synaptic_ops."""
    spiked: NDArray[np.uint8]
    """uint8[N]: spikes of the latest step."""

    @classmethod
    def zeros(cls, network: LIFNetwork | IntegerLIFNetwork) -> LIFState:
        dtype = _state_dtype(isinstance(network, IntegerLIFNetwork))
        n = network.n_neurons
        return cls(
            np.zeros(n, dtype), np.zeros(n, dtype), np.zeros(n, np.int32), np.zeros((network.max_delay + 2, n), dtype),
            np.zeros(1, np.int64), np.zeros(4, np.int64), np.zeros(n, np.uint8),
        )

    def reset(self) -> None:
        """Back to the resting state in place (arrays keep their identity)."""
        for array in self.kernel_arrays():
            array[...] = 0

    def counts(self) -> OperationCounts:
        return OperationCounts(*(int(c) for c in self.counters))

    def kernel_arrays(self) -> tuple[NDArray, ...]:
        return self.membrane, self.adaptation, self.refractory, self.ring, self.step, self.counters, self.spiked


@dataclass(frozen=True, eq=False)
class LIFBatch:
    """Networks of one population concatenated for :func:`lif_run_batch` (or the integer twin).

    Offsets are int64[B + 1]: neuron ``j`` of network ``b`` is ``neuron_offset[b] + j``; the
    network's ``row_ptr`` (local synapse indices) is ``row_ptr[row_ptr_offset[b]:row_ptr_offset[b+1]]``;
    likewise ``synapse_offset`` and ``output_offset``. ``arrays`` are the concatenated
    ``kernel_arrays()`` of the networks, in the same order.
    """

    n_inputs: int
    """Input channels, shared by every network of the batch."""
    integer: bool
    """True for a batch of IntegerLIFNetwork (``arrays`` then ends with input_fractional_bits)."""
    neuron_offset: NDArray[np.int64]
    row_ptr_offset: NDArray[np.int64]
    synapse_offset: NDArray[np.int64]
    output_offset: NDArray[np.int64]
    ring_length: NDArray[np.int64]
    """int64[B]: max_delay + 2 of each network."""
    arrays: tuple[NDArray | int, ...]

    @property
    def n_networks(self) -> int:
        return int(self.neuron_offset.size - 1)

    @property
    def n_outputs_max(self) -> int:
        return int(np.diff(self.output_offset).max(initial=0))

    def kernel_arrays(self) -> tuple[NDArray | int, ...]:
        return (self.neuron_offset, self.row_ptr_offset, self.synapse_offset, self.output_offset, *self.arrays)


def _offsets(sizes: list[int]) -> NDArray[np.int64]:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def pack_batch(networks: list[LIFNetwork] | list[IntegerLIFNetwork]) -> LIFBatch:
    """Concatenate networks (all float or all integer, same ``n_inputs``) into one batch."""
    if not networks:
        raise ValueError("pack_batch: give at least one network")
    integer = isinstance(networks[0], IntegerLIFNetwork)
    kind = IntegerLIFNetwork if integer else LIFNetwork
    if not all(isinstance(net, kind) for net in networks):
        raise ValueError("pack_batch: networks must be all LIFNetwork or all IntegerLIFNetwork")
    n_inputs = networks[0].n_inputs
    if any(net.n_inputs != n_inputs for net in networks):
        raise ValueError(f"pack_batch: every network needs n_inputs={n_inputs} (the encoder's channels)")
    per_network = [net.kernel_arrays() for net in networks]
    array_columns = zip(*([a for a in arrays if isinstance(a, np.ndarray)] for arrays in per_network))
    arrays: list[NDArray | int] = [np.concatenate(column) for column in array_columns]
    if integer:
        bits = {net.input_fractional_bits for net in networks}
        if len(bits) != 1:
            raise ValueError("pack_batch: every integer network needs the same input_fractional_bits")
        arrays.append(bits.pop())
    return LIFBatch(
        n_inputs=n_inputs,
        integer=integer,
        neuron_offset=_offsets([net.n_neurons for net in networks]),
        row_ptr_offset=_offsets([net.row_ptr.size for net in networks]),
        synapse_offset=_offsets([net.n_synapses for net in networks]),
        output_offset=_offsets([net.n_outputs for net in networks]),
        ring_length=np.array([net.max_delay + 2 for net in networks], np.int64),
        arrays=tuple(arrays),
    )


@dataclass(frozen=True, eq=False)
class LIFBatchState:
    """State of a whole batch: per-neuron arrays concatenated like the batch's neurons."""

    membrane: NDArray
    adaptation: NDArray
    refractory: NDArray[np.int32]
    ring: NDArray
    """flat: network b is ``ring[ring_offset[b]:ring_offset[b+1]]`` laid out [L_b, N_b]."""
    ring_offset: NDArray[np.int64]
    step: NDArray[np.int64]
    """int64[B]."""
    counters: NDArray[np.int64]
    """int64[B, 4]."""
    spiked: NDArray[np.uint8]

    @classmethod
    def zeros(cls, batch: LIFBatch) -> LIFBatchState:
        dtype = _state_dtype(batch.integer)
        n = int(batch.neuron_offset[-1])
        ring_offset = _offsets(list(batch.ring_length * np.diff(batch.neuron_offset)))
        return cls(
            np.zeros(n, dtype), np.zeros(n, dtype), np.zeros(n, np.int32), np.zeros(int(ring_offset[-1]), dtype),
            ring_offset, np.zeros(batch.n_networks, np.int64), np.zeros((batch.n_networks, 4), np.int64), np.zeros(n, np.uint8),
        )

    def reset(self) -> None:
        for array in (self.membrane, self.adaptation, self.refractory, self.ring, self.step, self.counters, self.spiked):
            array[...] = 0

    def counts(self, network: int) -> OperationCounts:
        return OperationCounts(*(int(c) for c in self.counters[network]))

    def kernel_arrays(self) -> tuple[NDArray, ...]:
        return self.membrane, self.adaptation, self.refractory, self.ring, self.ring_offset, self.step, self.counters, self.spiked


def _inputs(inputs: ArrayLike, integer: bool, shape_tail: tuple[int, ...], owner: str) -> NDArray:
    array = np.asarray(inputs)
    if integer and array.dtype.kind not in "biu":
        raise ValueError(f"{owner}: integer networks take integer inputs (quantize them with quantize_inputs)")
    if array.ndim != len(shape_tail) + 1 or array.shape[1:] != shape_tail:
        raise ValueError(f"{owner}: inputs must have shape (..., {', '.join(map(str, shape_tail))}), got {array.shape}")
    if integer and array.size and (array.min() < INT32_MIN or array.max() > INT32_MAX):
        raise ValueError(f"{owner}: integer inputs must fit int32")
    return np.ascontiguousarray(array, dtype=np.int32 if integer else np.float32)


def simulate(
    network: LIFNetwork | IntegerLIFNetwork, inputs: ArrayLike, state: LIFState | None = None
) -> tuple[NDArray[np.uint8], NDArray]:
    """Run ``network`` over ``inputs`` [T, n_inputs] from ``state`` (fresh zeros if None).

    Returns (spikes uint8[T, n_out], membrane [T, n_out] float32, or int32 Q.F for integer
    networks); ``state`` is advanced in place.
    """
    integer = isinstance(network, IntegerLIFNetwork)
    state = LIFState.zeros(network) if state is None else state
    fits = state.membrane.shape == (network.n_neurons,) and state.ring.shape[0] == network.max_delay + 2
    if not fits or state.membrane.dtype != _state_dtype(integer):
        raise ValueError("simulate: state does not belong to this network; make it with LIFState.zeros(network)")
    x = _inputs(inputs, integer, (network.n_inputs,), "simulate")
    kernel = lif_run_int if integer else lif_run
    return kernel(network.kernel_arrays(), state.kernel_arrays(), x)


def simulate_batch(
    batch: LIFBatch, inputs: ArrayLike, state: LIFBatchState | None = None
) -> tuple[NDArray[np.uint8], NDArray]:
    """Run every network of ``batch`` over its own ``inputs`` [B, T, n_inputs] in parallel.

    Returns (spikes uint8[B, T, n_out_max], membrane [B, T, n_out_max]); equal, bit for bit, to
    :func:`simulate` on each network alone.
    """
    state = LIFBatchState.zeros(batch) if state is None else state
    if state.step.shape != (batch.n_networks,) or state.membrane.dtype != _state_dtype(batch.integer):
        raise ValueError("simulate_batch: state does not belong to this batch; make it with LIFBatchState.zeros(batch)")
    array = np.asarray(inputs)
    if array.ndim != 3 or array.shape[0] != batch.n_networks or array.shape[2] != batch.n_inputs:
        raise ValueError(f"simulate_batch: inputs must have shape ({batch.n_networks}, T, {batch.n_inputs}), got {array.shape}")
    x = _inputs(array, batch.integer, array.shape[1:], "simulate_batch")
    kernel = lif_run_batch_int if batch.integer else lif_run_batch
    return kernel(batch.kernel_arrays(), state.kernel_arrays(), x)


__all__ = ["LIFBatch", "LIFBatchState", "LIFState", "OperationCounts", "pack_batch", "simulate", "simulate_batch"]
