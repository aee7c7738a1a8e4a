"""Float LIF network -> integer fixed-point network (what a microcontroller or the C export runs).

Formats (arithmetic rules: :mod:`spikefly.controllers.network`):

- weights: ``weight_bits``-bit signed integers stored as int8, one int32 multiplier per receiving
  neuron: effective weight ``w_q * multiplier`` in Q.F membrane units. The multiplier is the
  smallest that maps the neuron's largest |incoming weight| into ``2**(weight_bits-1) - 1``
  (rounded up, so no weight clips); each weight is then rounded to the nearest step.
- membrane, threshold, bias, adaptation increment: int32 Q.F (``fractional_bits`` = F), nearest.
- membrane decay: ``decay="shift"`` picks the nearest ``beta = 1 - 2**-k`` (k in 0..30; a beta of
  exactly 1 becomes the exact Q15 identity 32768), ``decay="q15"`` rounds ``beta * 2**15``.
- adaptation decay: Q15 (``adaptation_decay * 2**15``, nearest).

Rounding here happens once, in Python; the simulation itself (kernel, oracle, C) is exact
integer arithmetic.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spikefly.controllers.network import (
    DECAY_Q15,
    DECAY_SHIFT,
    INT32_MAX,
    MAX_WEIGHT_MULTIPLIER,
    Q15_ONE,
    IntegerLIFNetwork,
    LIFNetwork,
)


class QuantizationReport(NamedTuple):
    """Largest absolute error of each quantised quantity, in its float units."""

    max_weight_error: float
    """membrane units."""
    max_threshold_error: float
    max_bias_error: float
    max_beta_error: float
    max_adaptation_increment_error: float
    max_adaptation_decay_error: float


def _fixed(name: str, values: NDArray, scale: float) -> NDArray[np.int64]:
    scaled = np.round(values.astype(np.float64) * scale)
    if scaled.size and np.abs(scaled).max() > INT32_MAX:
        limit = INT32_MAX / scale
        raise ValueError(f"quantize: {name} reaches {np.abs(values).max():g}, beyond the Q format's ±{limit:g}; use fewer fractional_bits")
    return scaled.astype(np.int64)


def _shift_for(beta: NDArray) -> NDArray[np.int64]:
    """Nearest k in 0..30 with 1 - 2**-k close to beta."""
    candidates = 1.0 - 2.0 ** -np.arange(31)
    return np.abs(beta.astype(np.float64)[:, None] - candidates[None, :]).argmin(axis=1)


def quantize(
    network: LIFNetwork,
    fractional_bits: int = 16,
    decay: Literal["shift", "q15"] = "shift",
    weight_bits: int = 8,
    input_fractional_bits: int = 0,
) -> IntegerLIFNetwork:
    """The integer twin of ``network``.

    ``input_fractional_bits``: 0 when the encoder emits spikes (an input of 1 is one spike);
    e.g. ``fractional_bits`` when it emits analog currents, given to the integer kernels in Q.F
    (:func:`quantize_inputs`).
    """
    if decay not in ("shift", "q15"):
        raise ValueError(f"quantize: decay must be 'shift' or 'q15', got {decay!r}")
    if not 2 <= weight_bits <= 8:
        raise ValueError(f"quantize: weight_bits must be in [2, 8] (weights are stored as int8), got {weight_bits}")
    if not 0 <= fractional_bits <= 30:
        raise ValueError(f"quantize: fractional_bits must be in [0, 30], got {fractional_bits}")
    one = float(1 << fractional_bits)
    weight_max = (1 << (weight_bits - 1)) - 1
    largest = np.zeros(network.n_neurons)
    np.maximum.at(largest, network.target, np.abs(network.weight.astype(np.float64)))
    multiplier = np.ceil(largest * one / weight_max).astype(np.int64)
    if multiplier.size and multiplier.max() >= MAX_WEIGHT_MULTIPLIER:
        raise ValueError("quantize: weight too large for the Q format (multiplier >= 2**24); use fewer fractional_bits")
    step = np.maximum(multiplier[network.target], 1).astype(np.float64)
    weight = np.clip(np.round(network.weight * one / step), -weight_max, weight_max)
    threshold = _fixed("threshold", network.threshold, one)
    threshold = np.where(network.spiking, np.maximum(threshold, 1), threshold)  # keep spiking thresholds > 0
    if decay == "shift":
        exact_one = network.beta == 1.0  # 1 - 2**-k never reaches 1: use the exact Q15 identity
        decay_mode = np.where(exact_one, DECAY_Q15, DECAY_SHIFT)
        decay_shift = np.where(exact_one, 0, _shift_for(network.beta))
        beta_q15 = np.full(network.n_neurons, Q15_ONE)
    else:
        decay_mode = np.full(network.n_neurons, DECAY_Q15)
        decay_shift = np.zeros(network.n_neurons, np.int64)
        beta_q15 = np.round(network.beta.astype(np.float64) * Q15_ONE)
    return IntegerLIFNetwork(
        n_inputs=network.n_inputs,
        n_neurons=network.n_neurons,
        output_index=network.output_index,
        fractional_bits=fractional_bits,
        input_fractional_bits=input_fractional_bits,
        row_ptr=network.row_ptr,
        target=network.target,
        weight=weight.astype(np.int64),
        delay=network.delay,
        weight_multiplier=multiplier,
        threshold=threshold,
        bias=_fixed("bias", network.bias, one),
        decay_mode=decay_mode,
        decay_shift=decay_shift,
        beta_q15=beta_q15.astype(np.int64),
        adaptation_increment=_fixed("adaptation_increment", network.adaptation_increment, one),
        adaptation_decay_q15=np.round(network.adaptation_decay.astype(np.float64) * Q15_ONE).astype(np.int64),
        refractory_steps=network.refractory_steps,
        reset_mode=network.reset_mode,
        spiking=network.spiking,
    )


def dequantize(network: IntegerLIFNetwork) -> LIFNetwork:
    """The float network the integer one represents (for inspection; float32 rounding applies)."""
    one = float(1 << network.fractional_bits)
    beta = np.where(
        network.decay_mode == DECAY_SHIFT,
        1.0 - 2.0 ** -network.decay_shift.astype(np.float64),
        network.beta_q15 / Q15_ONE,
    )
    return LIFNetwork(
        n_inputs=network.n_inputs,
        n_neurons=network.n_neurons,
        output_index=network.output_index,
        row_ptr=network.row_ptr,
        target=network.target,
        weight=network.weight * network.weight_multiplier[network.target].astype(np.float64) / one,
        delay=network.delay,
        threshold=network.threshold / one,
        beta=beta,
        bias=network.bias / one,
        adaptation_increment=network.adaptation_increment / one,
        adaptation_decay=network.adaptation_decay_q15 / Q15_ONE,
        refractory_steps=network.refractory_steps,
        reset_mode=network.reset_mode,
        spiking=network.spiking,
    )


def quantization_report(network: LIFNetwork, integer_network: IntegerLIFNetwork) -> QuantizationReport:
    """How far ``integer_network`` (from :func:`quantize`) is from ``network``, field by field."""
    restored = dequantize(integer_network)

    def error(name: str) -> float:
        difference = getattr(restored, name).astype(np.float64) - getattr(network, name).astype(np.float64)
        return float(np.abs(difference).max(initial=0.0))

    return QuantizationReport(*(error(name) for name in (
        "weight", "threshold", "bias", "beta", "adaptation_increment", "adaptation_decay",
    )))


def quantize_inputs(inputs: ArrayLike, network: IntegerLIFNetwork) -> NDArray[np.int32]:
    """Float inputs [..., n_inputs] -> int32 with the network's ``input_fractional_bits`` (nearest).

    With 0 fractional bits a spike of 1.0 becomes 1.
    """
    scaled = np.round(np.asarray(inputs, dtype=np.float64) * (1 << network.input_fractional_bits))
    if scaled.size and np.abs(scaled).max() > INT32_MAX:
        raise ValueError("quantize_inputs: inputs beyond int32 at this input_fractional_bits; use fewer bits")
    return np.ascontiguousarray(scaled, dtype=np.int32)
