"""Leaky integrate-and-fire networks as plain arrays: the float network and its integer twin.

A network is a set of contiguous numpy arrays that the Numba kernels in
:mod:`spikefly.controllers.lif_kernels` read directly. Evolution, evaluation, rendering and export
all use these same arrays, so what was evolved is what is deployed.

Sources and targets
-------------------
Synapses are stored in CSR by SOURCE so that simulation cost scales with spikes x fan-out.
Sources ``0 .. n_inputs-1`` are the input channels (driven by an encoder: spikes as 1.0, or analog
currents); sources ``n_inputs .. n_inputs+N-1`` are the neurons ``0 .. N-1``. Targets are always
neurons. Recurrent connections (neuron to neuron, self-loops included) are allowed; a
(source, target, delay) triple appears at most once.

Update semantics (every implementation matches this, bit for bit)
------------------------------------------------------------------
State per neuron: membrane ``v``, adaptation ``a`` (threshold excess), refractory counter ``r``;
per network a ring buffer of future synaptic current ``ring[L, N]`` with ``L = max_delay + 2``,
the step number ``t`` and four operation counters. Step ``t`` with input vector ``x_t`` runs:

1. Input events. For each input ``i`` in ascending order with ``x_t[i] != 0``, for each of its
   synapses (CSR order): ``ring[(t + delay) % L, target] += weight * x_t[i]``.
   ``input_events += 1``, ``synaptic_ops += fan_out(i)``.
2. Neurons, ``j`` in ascending order:

   a. ``a = a * adaptation_decay`` (every neuron, every step, refractory or not);
   b. ``current = ring[t % L, j]``, then that slot is cleared;
   c. if ``r > 0``: ``r -= 1``; the membrane keeps its value (the reset value) and ``current``
      and ``bias`` are dropped; the neuron cannot fire this step;
   d. otherwise ``v = (beta * v + bias) + current`` (float32, left to right, no fused multiply-add)
      and, if the neuron is spiking, ``theta = threshold + a``; it fires when ``v >= theta``.
      On a spike: ``v = 0`` (RESET_ZERO) or ``v = v - theta`` (RESET_SUBTRACT),
      ``r = refractory_steps``, ``a = a + adaptation_increment``, and for each of the neuron's
      synapses ``ring[(t + 1 + delay) % L, target] += weight``; ``spikes += 1``,
      ``synaptic_ops += fan_out``.

   A spike therefore reaches its targets ``1 + delay`` steps later: a neuron never sees a spike
   of the same step, so the order of neurons within a step does not matter. An input with delay
   ``d`` reaches its targets ``d`` steps later (``d = 0``: the same step). Non-spiking neurons
   (read-outs for membrane decoders) integrate like the others and never fire or reset.
3. ``neuron_updates += N``; ``t += 1``. Outputs of the step: the spike (0/1) and the membrane
   (after reset) of the neurons ``output_index``, in action order.

Because one slot receives its contributions in a fixed order — by emission step, oldest first;
within a step inputs before neurons; within those by ascending source — the float32 sums are
reproducible by any implementation that keeps that order (the numpy oracle in
:mod:`spikefly.controllers.lif_reference` does).

Integer mode (:class:`IntegerLIFNetwork`) follows the same steps with these arithmetic rules, all
in int64 intermediates, every stored value saturated to int32, ``>>`` an arithmetic right shift
(it floors negative numbers, as ``>>`` on signed integers does with gcc and clang):

- synaptic contribution of a neuron spike: ``weight_q * multiplier[target]``; of an input value
  ``x`` (int32: 1 for a spike, or a current with ``input_fractional_bits`` bits):
  ``(weight_q * multiplier[target] * x) >> input_fractional_bits``; each contribution is
  saturated to int32, then added to its ring slot with saturation;
- decay: ``v - (v >> decay_shift)`` (DECAY_SHIFT, beta = 1 - 2^-k) or ``(v * beta_q15) >> 15``
  (DECAY_Q15), then ``v = saturate(decayed + bias + current)``;
- ``a = (a * adaptation_decay_q15) >> 15``; ``theta = threshold + a``; subtract reset
  ``v = saturate(v - theta)``; ``a = saturate(a + adaptation_increment)``.

Counters (int64, indices below): neuron updates (N per step), neuron spikes, input events
(nonzero inputs), synaptic ops (fan-out of every firing source).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

RESET_ZERO = 0
RESET_SUBTRACT = 1
DECAY_SHIFT = 0
DECAY_Q15 = 1

COUNTER_NEURON_UPDATES = 0
COUNTER_SPIKES = 1
COUNTER_INPUT_EVENTS = 2
COUNTER_SYNAPTIC_OPS = 3
COUNTER_NAMES = ("neuron_updates", "spikes", "input_events", "synaptic_ops")

MAX_WEIGHT_MULTIPLIER = 1 << 24  # keeps weight_q * multiplier below 2**31
Q15_ONE = 1 << 15
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _array(owner: str, name: str, value: ArrayLike, kind: str, dtype: type, shape: tuple[int, ...]) -> NDArray:
    """A C-contiguous copy of ``value`` as ``dtype`` after checking its kind, shape and range.

    ``kind``: "f" real numbers (finite after the cast), "i" integers that fit ``dtype``,
    "b" booleans (0/1 integers accepted).
    """
    array = np.asarray(value)
    if array.size and array.dtype.kind not in {"f": "iuf", "i": "iu", "b": "biu"}[kind]:  # [] is float64
        wanted = {"f": "real numbers", "i": "integers", "b": "booleans"}[kind]
        raise ValueError(f"{owner}.{name}: expected {wanted}, got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{owner}.{name}: expected shape {shape}, got {array.shape}")
    if kind == "b" and array.dtype.kind != "b" and not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{owner}.{name}: booleans given as integers must be 0 or 1")
    if kind == "i" and array.size:
        info = np.iinfo(dtype)
        if array.min() < info.min or array.max() > info.max:
            raise ValueError(f"{owner}.{name}: values must fit {np.dtype(dtype).name} [{info.min}, {info.max}]")
    converted = np.array(array, dtype=dtype, order="C", copy=True)
    if kind == "f" and not np.all(np.isfinite(converted)):
        raise ValueError(f"{owner}.{name}: values must be finite float32 (found NaN, inf or overflow)")
    return converted


def _require(condition: bool, owner: str, name: str, message: str) -> None:
    if not condition:
        raise ValueError(f"{owner}.{name}: {message}")


def _in_range(values: NDArray, low: float, high: float) -> bool:
    return bool(np.all((values >= low) & (values <= high)))


def _check_topology(net: LIFNetwork | IntegerLIFNetwork) -> None:
    """Shapes and invariants shared by the float and the integer network (CSR, indices, delays)."""
    owner = type(net).__name__
    _require(isinstance(net.n_inputs, (int, np.integer)) and net.n_inputs >= 0, owner, "n_inputs", "must be an int >= 0")
    _require(isinstance(net.n_neurons, (int, np.integer)) and net.n_neurons >= 1, owner, "n_neurons", "must be an int >= 1")
    object.__setattr__(net, "n_inputs", int(net.n_inputs))
    object.__setattr__(net, "n_neurons", int(net.n_neurons))
    n_sources = net.n_inputs + net.n_neurons
    row_ptr = np.asarray(net.row_ptr)
    _require(row_ptr.ndim == 1 and row_ptr.size == n_sources + 1, owner, "row_ptr", f"expected shape ({n_sources + 1},) = n_inputs + n_neurons + 1, got {row_ptr.shape}")
    object.__setattr__(net, "row_ptr", _array(owner, "row_ptr", row_ptr, "i", np.int32, (n_sources + 1,)))
    _require(net.row_ptr[0] == 0, owner, "row_ptr", "must start at 0")
    _require(bool(np.all(np.diff(net.row_ptr) >= 0)), owner, "row_ptr", "must be non-decreasing (CSR by source)")
    n_synapses = int(net.row_ptr[-1])
    for name in ("target", "delay"):
        object.__setattr__(net, name, _array(owner, name, getattr(net, name), "i", np.int32, (n_synapses,)))
    _require(_in_range(net.target, 0, net.n_neurons - 1), owner, "target", f"neuron indices must be in [0, {net.n_neurons - 1}]")
    _require(bool(np.all(net.delay >= 0)), owner, "delay", "delays (extra steps) must be >= 0")
    n_out = np.asarray(net.output_index).size
    object.__setattr__(net, "output_index", _array(owner, "output_index", np.reshape(net.output_index, -1), "i", np.int32, (n_out,)))
    _require(_in_range(net.output_index, 0, net.n_neurons - 1), owner, "output_index", f"neuron indices must be in [0, {net.n_neurons - 1}]")
    _require(np.unique(net.output_index).size == n_out, owner, "output_index", "each neuron may be an output once")
    source = np.repeat(np.arange(n_sources, dtype=np.int64), np.diff(net.row_ptr))
    key = (source * net.n_neurons + net.target) * (int(net.delay.max(initial=0)) + 1) + net.delay
    _require(np.unique(key).size == n_synapses, owner, "target", "a (source, target, delay) synapse appears twice; merge their weights")


def _check_neurons(net: LIFNetwork | IntegerLIFNetwork, fields: dict[str, tuple[str, type]]) -> None:
    owner = type(net).__name__
    for name, (kind, dtype) in fields.items():
        value = getattr(net, name)
        value = np.broadcast_to(value, (net.n_neurons,)) if np.ndim(value) == 0 else value  # scalar: every neuron
        object.__setattr__(net, name, _array(owner, name, value, kind, dtype, (net.n_neurons,)))
    _require(_in_range(net.refractory_steps, 0, INT32_MAX), owner, "refractory_steps", "must be >= 0")
    _require(_in_range(net.reset_mode, RESET_ZERO, RESET_SUBTRACT), owner, "reset_mode", "must be RESET_ZERO (0) or RESET_SUBTRACT (1)")
    _require(bool(np.all(net.threshold[net.spiking] > 0)), owner, "threshold", "must be > 0 for spiking neurons")
    _require(bool(np.all(net.adaptation_increment >= 0)), owner, "adaptation_increment", "must be >= 0 (0 = no adaptation)")


@dataclass(frozen=True, eq=False)
class LIFNetwork:
    """A float32 LIF network (update semantics: module docstring). Arrays are C-contiguous copies.

    ``N = n_neurons`` (hidden and output neurons), ``S`` synapses, ``n_out`` outputs.
    """

    n_inputs: int
    """Input channels (encoder outputs: spikes as 1.0, or analog currents in membrane units)."""
    n_neurons: int
    """N, hidden plus output neurons."""
    output_index: NDArray[np.int32]
    """int32[n_out]: the output neurons, in action order."""
    row_ptr: NDArray[np.int32]
    """int32[n_inputs + N + 1]: synapses of source s are ``row_ptr[s] : row_ptr[s + 1]``."""
    target: NDArray[np.int32]
    """int32[S]: receiving neuron of each synapse."""
    weight: NDArray[np.float32]
    """float32[S]: membrane units per spike (per unit of input current for analog inputs)."""
    delay: NDArray[np.int32]
    """int32[S]: extra steps before arrival, >= 0."""
    threshold: NDArray[np.float32]
    """float32[N]: firing threshold, membrane units, > 0 for spiking neurons."""
    beta: NDArray[np.float32]
    """float32[N]: membrane decay per step, in [0, 1]."""
    bias: NDArray[np.float32]
    """float32[N]: current added every (non-refractory) step, membrane units."""
    adaptation_increment: NDArray[np.float32]
    """float32[N]: added to the adaptive threshold at each spike, >= 0 (0 = no adaptation)."""
    adaptation_decay: NDArray[np.float32]
    """float32[N]: per-step multiplier of the adaptive threshold excess, in [0, 1]."""
    refractory_steps: NDArray[np.int32]
    """int32[N]: steps after a spike during which the neuron neither integrates nor fires."""
    reset_mode: NDArray[np.int8]
    """int8[N]: RESET_ZERO (0) or RESET_SUBTRACT (1)."""
    spiking: NDArray[np.bool_]
    """bool[N]: False for a non-spiking leaky read-out (integrates, never fires)."""

    def __post_init__(self) -> None:
        _check_topology(self)
        object.__setattr__(self, "spiking", _array("LIFNetwork", "spiking", self.spiking, "b", np.bool_, (self.n_neurons,)))
        object.__setattr__(self, "weight", _array("LIFNetwork", "weight", self.weight, "f", np.float32, (self.n_synapses,)))
        _check_neurons(self, {
            "threshold": ("f", np.float32), "beta": ("f", np.float32), "bias": ("f", np.float32),
            "adaptation_increment": ("f", np.float32), "adaptation_decay": ("f", np.float32),
            "refractory_steps": ("i", np.int32), "reset_mode": ("i", np.int8),
        })
        _require(_in_range(self.beta, 0.0, 1.0), "LIFNetwork", "beta", "membrane decay must be in [0, 1]")
        _require(_in_range(self.adaptation_decay, 0.0, 1.0), "LIFNetwork", "adaptation_decay", "must be in [0, 1]")

    @classmethod
    def from_edges(
        cls,
        n_inputs: int,
        n_neurons: int,
        output_index: ArrayLike,
        sources: ArrayLike,
        targets: ArrayLike,
        weights: ArrayLike,
        delays: ArrayLike | None = None,
        *,
        threshold: ArrayLike = 1.0,
        beta: ArrayLike = 0.9,
        bias: ArrayLike = 0.0,
        adaptation_increment: ArrayLike = 0.0,
        adaptation_decay: ArrayLike = 1.0,
        refractory_steps: ArrayLike = 0,
        reset_mode: ArrayLike = RESET_ZERO,
        spiking: ArrayLike = True,
    ) -> LIFNetwork:
        """Build from an edge list. ``sources`` index inputs then neurons (module docstring).

        Edges are sorted stably into CSR by source. Neuron parameters accept scalars (broadcast
        to N) or arrays of shape (N,).
        """
        sources = np.asarray(sources).reshape(-1)
        _require(sources.dtype.kind in "iu" or sources.size == 0, "LIFNetwork", "sources", "must be integers")
        sources = sources.astype(np.int64)
        n_sources = int(n_inputs) + int(n_neurons)
        _require(_in_range(sources, 0, n_sources - 1), "LIFNetwork", "sources", f"must be in [0, {n_sources - 1}] (inputs first, then neurons)")
        delays = np.zeros(sources.size, np.int32) if delays is None else np.asarray(delays)
        order = np.argsort(sources, kind="stable")
        counts = np.bincount(sources, minlength=n_sources)
        row_ptr = np.concatenate([[0], np.cumsum(counts)])
        params = {
            "threshold": threshold, "beta": beta, "bias": bias, "adaptation_increment": adaptation_increment,
            "adaptation_decay": adaptation_decay, "refractory_steps": refractory_steps,
            "reset_mode": reset_mode, "spiking": spiking,
        }
        for name, value in params.items():
            value = np.asarray(value)
            params[name] = np.broadcast_to(value, (int(n_neurons),)) if value.ndim == 0 else value

        def edge(name: str, value: ArrayLike) -> NDArray:
            value = np.asarray(value).reshape(-1)
            _require(value.size == sources.size, "LIFNetwork", name, f"expected {sources.size} values (one per edge), got {value.size}")
            return value[order]

        return cls(
            n_inputs=n_inputs, n_neurons=n_neurons, output_index=output_index, row_ptr=row_ptr,
            target=edge("targets", targets), weight=edge("weights", weights), delay=edge("delays", delays), **params,
        )

    @property
    def n_synapses(self) -> int:
        return int(self.row_ptr[-1])

    @property
    def n_outputs(self) -> int:
        return int(self.output_index.size)

    @property
    def max_delay(self) -> int:
        return int(self.delay.max(initial=0))

    def edges(self) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32], NDArray[np.int32]]:
        """(sources int64[S], targets, weights, delays) in CSR order."""
        sources = np.repeat(np.arange(self.n_inputs + self.n_neurons, dtype=np.int64), np.diff(self.row_ptr))
        return sources, self.target, self.weight, self.delay

    def kernel_arrays(self) -> tuple[NDArray, ...]:
        """The arrays in the order the float kernels take them (see ``lif_kernels.lif_step``)."""
        return (
            self.row_ptr, self.target, self.weight, self.delay, self.threshold, self.beta, self.bias,
            self.adaptation_increment, self.adaptation_decay, self.refractory_steps, self.reset_mode,
            self.spiking, self.output_index,
        )

    def replace(self, **changes: object) -> LIFNetwork:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False)
class IntegerLIFNetwork:
    """The fixed-point twin of :class:`LIFNetwork` (arithmetic rules: module docstring).

    Membrane, bias, threshold and adaptation are int32 with ``fractional_bits`` fractional bits
    (Q.F: 1.0 is ``1 << fractional_bits``). Build one with
    :func:`spikefly.controllers.quantize.quantize`.
    """

    n_inputs: int
    n_neurons: int
    output_index: NDArray[np.int32]
    """int32[n_out]: output neurons, in action order."""
    fractional_bits: int
    """F of the Q.F membrane format."""
    input_fractional_bits: int
    """Fractional bits of integer inputs: 0 when inputs are spikes (1) or counts; F for Q.F currents."""
    row_ptr: NDArray[np.int32]
    """int32[n_inputs + N + 1]: CSR by source, as in :class:`LIFNetwork`."""
    target: NDArray[np.int32]
    """int32[S]."""
    weight: NDArray[np.int8]
    """int8[S]: quantised weight; effective weight = weight * weight_multiplier[target] (Q.F)."""
    delay: NDArray[np.int32]
    """int32[S]: extra steps, >= 0."""
    weight_multiplier: NDArray[np.int32]
    """int32[N]: per receiving neuron, Q.F membrane units per weight step, in [0, 2**24)."""
    threshold: NDArray[np.int32]
    """int32[N], Q.F, > 0 for spiking neurons."""
    bias: NDArray[np.int32]
    """int32[N], Q.F."""
    decay_mode: NDArray[np.int8]
    """int8[N]: DECAY_SHIFT (0: ``v -= v >> decay_shift``) or DECAY_Q15 (1: ``v = v * beta_q15 >> 15``)."""
    decay_shift: NDArray[np.int8]
    """int8[N]: k in [0, 30], beta = 1 - 2**-k (used where decay_mode is DECAY_SHIFT)."""
    beta_q15: NDArray[np.int32]
    """int32[N]: beta * 2**15 in [0, 32768] (used where decay_mode is DECAY_Q15)."""
    adaptation_increment: NDArray[np.int32]
    """int32[N], Q.F, >= 0."""
    adaptation_decay_q15: NDArray[np.int32]
    """int32[N]: adaptation decay * 2**15 in [0, 32768]."""
    refractory_steps: NDArray[np.int32]
    """int32[N]."""
    reset_mode: NDArray[np.int8]
    """int8[N]: RESET_ZERO or RESET_SUBTRACT."""
    spiking: NDArray[np.bool_]
    """bool[N]: False for non-spiking read-outs."""

    def __post_init__(self) -> None:
        owner = "IntegerLIFNetwork"
        _check_topology(self)
        object.__setattr__(self, "spiking", _array(owner, "spiking", self.spiking, "b", np.bool_, (self.n_neurons,)))
        object.__setattr__(self, "weight", _array(owner, "weight", self.weight, "i", np.int8, (self.n_synapses,)))
        _require(isinstance(self.fractional_bits, (int, np.integer)) and 0 <= self.fractional_bits <= 30, owner, "fractional_bits", "must be an int in [0, 30]")
        _require(isinstance(self.input_fractional_bits, (int, np.integer)) and 0 <= self.input_fractional_bits <= 30, owner, "input_fractional_bits", "must be an int in [0, 30]")
        object.__setattr__(self, "fractional_bits", int(self.fractional_bits))
        object.__setattr__(self, "input_fractional_bits", int(self.input_fractional_bits))
        _check_neurons(self, {
            "weight_multiplier": ("i", np.int32), "threshold": ("i", np.int32), "bias": ("i", np.int32),
            "decay_mode": ("i", np.int8), "decay_shift": ("i", np.int8), "beta_q15": ("i", np.int32),
            "adaptation_increment": ("i", np.int32), "adaptation_decay_q15": ("i", np.int32),
            "refractory_steps": ("i", np.int32), "reset_mode": ("i", np.int8),
        })
        _require(_in_range(self.weight_multiplier, 0, MAX_WEIGHT_MULTIPLIER - 1), owner, "weight_multiplier", "must be in [0, 2**24); use fewer fractional bits")
        _require(_in_range(self.decay_mode, DECAY_SHIFT, DECAY_Q15), owner, "decay_mode", "must be DECAY_SHIFT (0) or DECAY_Q15 (1)")
        _require(_in_range(self.decay_shift, 0, 30), owner, "decay_shift", "must be in [0, 30]")
        _require(_in_range(self.beta_q15, 0, Q15_ONE), owner, "beta_q15", "must be in [0, 32768]")
        _require(_in_range(self.adaptation_decay_q15, 0, Q15_ONE), owner, "adaptation_decay_q15", "must be in [0, 32768]")

    n_synapses = LIFNetwork.n_synapses
    n_outputs = LIFNetwork.n_outputs
    max_delay = LIFNetwork.max_delay
    edges = LIFNetwork.edges

    def kernel_arrays(self) -> tuple[NDArray | int, ...]:
        """The arrays (and the input shift) in the order the integer kernels take them (``lif_step_int``)."""
        return (
            self.row_ptr, self.target, self.weight, self.delay, self.weight_multiplier, self.threshold,
            self.bias, self.decay_mode, self.decay_shift, self.beta_q15, self.adaptation_increment,
            self.adaptation_decay_q15, self.refractory_steps, self.reset_mode, self.spiking, self.output_index,
            self.input_fractional_bits,
        )


def random_network(
    rng: np.random.Generator,
    n_inputs: int,
    n_neurons: int,
    n_outputs: int,
    connectivity: float,
    *,
    weight_scale: float = 0.6,
    max_delay: int = 0,
    membrane_readout: bool = False,
    heterogeneous: bool = True,
) -> LIFNetwork:
    """A random network for tests and benchmarks.

    Each (source, target) pair is connected with probability ``connectivity`` (self-loops
    included); weights are normal with mean ``weight_scale / 4`` and std ``weight_scale``;
    delays uniform in [0, max_delay]. Outputs are the last ``n_outputs`` neurons, non-spiking
    read-outs when ``membrane_readout``. ``heterogeneous`` draws every neuron parameter
    (beta, threshold, bias, adaptation, refractoriness, reset mode); otherwise they are the
    :meth:`LIFNetwork.from_edges` defaults.
    """
    n_sources = n_inputs + n_neurons
    connected = rng.random((n_sources, n_neurons)) < connectivity
    sources, targets = np.nonzero(connected)
    weights = rng.normal(weight_scale / 4, weight_scale, sources.size)
    delays = rng.integers(0, max_delay + 1, sources.size)
    spiking = np.ones(n_neurons, bool)
    if membrane_readout:
        spiking[n_neurons - n_outputs:] = False
    params: dict[str, ArrayLike] = {}
    if heterogeneous:
        params = {
            "threshold": rng.uniform(0.5, 1.5, n_neurons),
            "beta": rng.uniform(0.6, 0.99, n_neurons),
            "bias": rng.uniform(-0.02, 0.05, n_neurons),
            "adaptation_increment": np.where(rng.random(n_neurons) < 0.5, rng.uniform(0.0, 0.5, n_neurons), 0.0),
            "adaptation_decay": rng.uniform(0.8, 1.0, n_neurons),
            "refractory_steps": rng.integers(0, 4, n_neurons),
            "reset_mode": rng.integers(0, 2, n_neurons),
        }
    output_index = np.arange(n_neurons - n_outputs, n_neurons)
    return LIFNetwork.from_edges(n_inputs, n_neurons, output_index, sources, targets, weights, delays, spiking=spiking, **params)
