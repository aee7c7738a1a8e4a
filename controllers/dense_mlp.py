"""A dense int8 MLP, the network the spiking controllers are compared with: its integer forward
pass (numpy, the oracle) and its header-only C export.

The arithmetic (what :func:`mlp_forward` and the exported ``NAME_forward`` both compute, bit for
bit): inputs int8 [n_in]; every layer ``l`` has int8 weights [out, in], int32 biases [out] and one
requantisation shift ``s_l``; its accumulator is ``acc = bias + sum(weight * x)`` in int32 (the
sizes and value ranges checked at construction keep it from overflowing), then ``acc >> s_l``
(arithmetic shift, floor). A hidden layer clamps that to int8: ``[0, 127]`` for ``"relu"``,
``[-127, 127]`` for ``"hardtanh"`` (the integer stand-in for Stable-Baselines3's default Tanh);
the last layer returns ``acc >> s_l`` as int32 (the decoder's input, not clamped).

The C (:func:`export_mlp_c`): ``static const`` tables of the int8 weights (each layer row-major
[out][in]), the int32 biases and each layer's sizes and shift, one loop over the layers, two int8
activation buffers of the widest hidden layer in a state struct. Plain C99, no SIMD intrinsics, no float,
no malloc: the same kind of code as the spiking export (:mod:`spikefly.controllers.export_c`),
so the two are compared compiled the same way. A CMSIS-NN kernel (SMLAD, two MACs per
instruction) would be faster than this loop.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers.export_c import CExport

ACTIVATIONS = {"relu": 0, "hardtanh": -127}
"""Hidden activation -> lower clamp of its int8 output (the upper one is 127)."""
MAX_BIAS = 1 << 20
"""|bias| < this, so that bias + 128 x 128 x 4096 inputs stays inside int32."""
MAX_WIDTH = 4096


@dataclass(frozen=True)
class IntegerMLP:
    """A dense int8 MLP (arithmetic: module docstring)."""

    weights: tuple[NDArray[np.int8], ...]
    """Per layer: int8 [out, in]."""
    biases: tuple[NDArray[np.int32], ...]
    """Per layer: int32 [out], in the accumulator's units (input scale x weight scale)."""
    shifts: tuple[int, ...]
    """Per layer: requantisation right shift of the accumulator, 0..31."""
    activation: str = "hardtanh"
    """Hidden activation: ``"relu"`` or ``"hardtanh"`` (keys of :data:`ACTIVATIONS`)."""

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"IntegerMLP.activation: {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        if not (len(self.weights) == len(self.biases) == len(self.shifts) >= 1):
            raise ValueError("IntegerMLP: weights, biases and shifts need one entry per layer (at least one layer)")
        width = self.weights[0].shape[1] if self.weights[0].ndim == 2 else -1
        for layer, (weight, bias, shift) in enumerate(zip(self.weights, self.biases, self.shifts)):
            if weight.dtype != np.int8 or weight.ndim != 2 or weight.shape[1] != width or not 1 <= weight.shape[0] <= MAX_WIDTH:
                raise ValueError(f"IntegerMLP: layer {layer}'s weights must be int8 [out, {width}], got {weight.dtype} {weight.shape}")
            if bias.dtype != np.int32 or bias.shape != (weight.shape[0],) or np.abs(bias.astype(np.int64)).max() >= MAX_BIAS:
                raise ValueError(f"IntegerMLP: layer {layer}'s biases must be int32 [{weight.shape[0]}] with |bias| < {MAX_BIAS}")
            if not (isinstance(shift, int) and 0 <= shift <= 31):
                raise ValueError(f"IntegerMLP: layer {layer}'s shift must be an int in [0, 31], got {shift!r}")
            width = weight.shape[0]
        if not 1 <= self.weights[0].shape[1] <= MAX_WIDTH:
            raise ValueError(f"IntegerMLP: 1 to {MAX_WIDTH} inputs, got {self.weights[0].shape[1]}")

    @property
    def layer_sizes(self) -> list[int]:
        """``[inputs, hidden..., outputs]``."""
        return [self.weights[0].shape[1], *(weight.shape[0] for weight in self.weights)]


def mlp_forward(mlp: IntegerMLP, inputs: NDArray[np.int8]) -> NDArray[np.int32]:
    """int32 [T, n_out]: the forward pass of every row of ``inputs`` int8 [T, n_in] (module docstring)."""
    if inputs.dtype != np.int8 or inputs.ndim != 2 or inputs.shape[1] != mlp.layer_sizes[0]:
        raise ValueError(f"mlp_forward: inputs must be int8 [T, {mlp.layer_sizes[0]}], got {inputs.dtype} {inputs.shape}")
    low = ACTIVATIONS[mlp.activation]
    x = inputs.astype(np.int64)
    for layer, (weight, bias, shift) in enumerate(zip(mlp.weights, mlp.biases, mlp.shifts)):
        accumulator = x @ weight.astype(np.int64).T + bias
        assert np.abs(accumulator).max(initial=0) < 1 << 31, "int32 accumulator overflow (sizes are checked: a bug)"
        x = accumulator >> shift
        if layer + 1 < len(mlp.weights):
            x = np.clip(x, low, 127)
    return x.astype(np.int32)


def random_mlp(rng: np.random.Generator, layer_sizes: list[int], calibration: NDArray[np.int8],
               activation: str = "hardtanh") -> IntegerMLP:
    """Random int8 weights and small biases; each layer's shift chosen on ``calibration`` int8
    [T, n_in] so that its outputs' standard deviation is 32-63 (hidden layers use their int8 range
    without saturating, as a calibrated post-training quantisation would)."""
    weights, biases, shifts = [], [], []
    x = calibration.astype(np.int64)
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        weight = rng.integers(-127, 128, (fan_out, fan_in)).astype(np.int8)
        bias = rng.integers(-4096, 4097, fan_out).astype(np.int32)
        accumulator = x @ weight.astype(np.int64).T + bias
        shift = int(np.clip(np.floor(np.log2(max(float(accumulator.std()), 1.0) / 32.0)), 0, 31))
        weights.append(weight), biases.append(bias), shifts.append(shift)
        x = np.clip(accumulator >> shift, ACTIVATIONS[activation], 127)
    return IntegerMLP(tuple(weights), tuple(biases), tuple(shifts), activation)


def quantize_observations(observations: NDArray[np.floating], low: NDArray[np.floating],
                          high: NDArray[np.floating]) -> NDArray[np.int8]:
    """int8 [T, n]: observations [T, n] mapped linearly from [low, high] onto [-127, 127], clipped."""
    scale = 254.0 / np.maximum(np.asarray(high, np.float64) - np.asarray(low, np.float64), 1e-12)
    scaled = np.rint((np.asarray(observations, np.float64) - low) * scale - 127.0)
    return np.clip(scaled, -127, 127).astype(np.int8)


def _table(c_type: str, c_name: str, values: NDArray, comment: str) -> list[str]:
    body = textwrap.fill(", ".join(str(int(v)) for v in values.reshape(-1)), width=96, initial_indent="    ",
                         subsequent_indent="    ")
    return [f"/* {comment} */", f"static const {c_type} {c_name}[{values.size}] = {{", body, "};"]


def export_mlp_c(mlp: IntegerMLP, name: str = "spikefly_mlp") -> CExport:
    """The C99 header of ``mlp``: ``NAME_forward(&state, const int8_t *inputs, int32_t *outputs)``.

    One loop over the layers reads their sizes and shifts from small tables, and the dot product
    is one function that is never inlined, so every shape runs the same machine code (a compiler
    that inlines or specialises a layer differently per shape makes the cost per MAC depend on
    the shape: measured, 5 to 12 instructions per MAC).
    """
    sizes, macro = mlp.layer_sizes, name.upper()
    hidden_width = max(sizes[1:-1], default=1)
    weights = np.concatenate([weight.reshape(-1) for weight in mlp.weights])
    biases = np.concatenate(mlp.biases)
    fan_in, fan_out = np.array(sizes[:-1]), np.array(sizes[1:])
    size_type = "uint8_t" if max(sizes) <= 255 else "uint16_t"
    lines = [
        *_table("int8_t", f"{name}_weight", weights, "int8 weights, layer after layer, each [out][in] row-major"),
        *_table("int32_t", f"{name}_bias", biases, "int32 biases in accumulator units, layer after layer"),
        *_table(size_type, f"{name}_fan_in", fan_in, "inputs of each layer"),
        *_table(size_type, f"{name}_fan_out", fan_out, "outputs of each layer"),
        *_table("uint8_t", f"{name}_shift", np.array(mlp.shifts), "requantisation right shift of each layer"),
    ]
    size_bytes = 1 if size_type == "uint8_t" else 2
    flash_bytes = weights.size + 4 * biases.size + (2 * size_bytes + 1) * len(mlp.weights)
    ram_bytes = 2 * hidden_width
    low = ACTIVATIONS[mlp.activation]
    source = f"""/*
 * {name}.h: a dense int8 MLP {sizes} exported by spikefly (spikefly.controllers.dense_mlp).
 * int8 weights, int32 accumulators, one right shift per layer, hidden activation {mlp.activation}
 * (clamp to [{low}, 127]); the last layer returns the shifted int32 accumulator.
 * Memory: {flash_bytes} bytes of const tables, {ram_bytes} bytes of state. No malloc, no floating point.
 */
#ifndef {macro}_H_
#define {macro}_H_

#include <stdint.h>

#define {macro}_N_INPUTS {sizes[0]}
#define {macro}_N_OUTPUTS {sizes[-1]}
#define {macro}_N_LAYERS {len(mlp.weights)}

typedef char {name}_needs_arithmetic_right_shift[(((int32_t)-3 >> 1) == -2) ? 1 : -1];

{chr(10).join(lines)}

typedef struct {{
    int8_t buffer[2][{hidden_width}];  /* activations of the hidden layers, alternating */
}} {name}_state;

#if defined(__GNUC__)
#define {macro}_NOINLINE __attribute__((noinline))
#else
#define {macro}_NOINLINE
#endif

/* n >= 1. Not inlined, so that every layer of every shape runs the same inner loop. */
static {macro}_NOINLINE int32_t {name}_dot(const int8_t *weight, const int8_t *x, int32_t n, int32_t accumulator)
{{
    const int8_t *const end = weight + n;
    do {{
        accumulator += (int32_t)*weight++ * (int32_t)*x++;
    }} while (weight != end);
    return accumulator;
}}

/* One forward pass. inputs: int8_t[{macro}_N_INPUTS]; outputs: int32_t[{macro}_N_OUTPUTS]. */
static void {name}_forward({name}_state *s, const int8_t *inputs, int32_t *outputs)
{{
    const int8_t *x = inputs;
    const int8_t *weight = {name}_weight;
    const int32_t *bias = {name}_bias;
    int32_t layer, o;
    for (layer = 0; layer < {macro}_N_LAYERS; ++layer) {{
        const int32_t n_in = {name}_fan_in[layer], n_out = {name}_fan_out[layer], shift = {name}_shift[layer];
        int8_t *y = s->buffer[layer & 1];
        for (o = 0; o < n_out; ++o) {{
            int32_t accumulator = {name}_dot(weight, x, n_in, *bias++) >> shift;
            weight += n_in;
            if (layer + 1 == {macro}_N_LAYERS) {{
                outputs[o] = accumulator;
            }} else {{
                if (accumulator < {low}) accumulator = {low};
                if (accumulator > 127) accumulator = 127;
                y[o] = (int8_t)accumulator;
            }}
        }}
        x = y;
    }}
}}

#endif /* {macro}_H_ */
"""
    tables = tuple(f"{name}_{kind}" for kind in ("weight", "bias", "fan_in", "fan_out", "shift"))
    return CExport(name=name, source=source, flash_bytes=flash_bytes, ram_bytes=ram_bytes, tables=tables)


__all__ = ["ACTIVATIONS", "IntegerMLP", "export_mlp_c", "mlp_forward", "quantize_observations", "random_mlp"]
