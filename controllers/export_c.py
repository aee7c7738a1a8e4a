"""Header-only C export of an integer LIF network, bit-exact with ``lif_step_int``.

:func:`export_c` writes one self-contained C99 header: ``static const`` tables (int8 weights and
per-source connection lists in CSR, per-neuron parameters), a state struct and two functions::

    #include "spikefly_net.h"
    static spikefly_net_state state;           /* static or on the stack: no malloc */
    spikefly_net_reset(&state);
    int32_t inputs[SPIKEFLY_NET_N_INPUTS];      /* 1 per spike, or Q currents */
    int32_t membrane[SPIKEFLY_NET_N_OUTPUTS];   /* Q.F membrane of the outputs, after reset */
    uint8_t spikes[SPIKEFLY_NET_N_OUTPUTS];     /* 0/1 spikes of the outputs */
    spikefly_net_step(&state, inputs, spikes, membrane);   /* one LIF substep */

``NAME_step`` performs exactly one step of the integer update of
:mod:`spikefly.controllers.network` (same order of operations, 64-bit intermediates where the
kernel has them, the same saturation, shift and Q15 rounding), so a run in C equals
:func:`spikefly.controllers.lif_state.simulate` on the :class:`IntegerLIFNetwork`, spike for
spike and bit for bit. It needs ``>>`` on negative signed integers to be an arithmetic shift, as
with gcc and clang; the header refuses to compile elsewhere. The one fused neuron loop (reset
and delivery right after a neuron fires) adds to ring rows in the kernel's order: a spike never
reaches the row of its own step. The C side keeps no operation counters.

Specialisation (what makes the header small): a per-neuron parameter that is the same for every
neuron where it matters (``threshold`` only for spiking neurons, ``beta_q15`` only where the
decay mode is Q15, ...) is written into the code as a constant instead of a table; all delays 0
drops the delay table; no adaptive neuron drops the adaptation state and no refractory neuron
the refractory counters; the input loop walks a table of the input channels that have synapses
(``NAME_connected_input``, ``NAME_N_CONNECTED_INPUTS`` of them) instead of testing every channel
each substep, while ``inputs`` stays ``int32_t[NAME_N_INPUTS]``. Every name starts with the ``name`` prefix (macros with it in capitals),
so several exported networks can live in one program. Include a header in one ``.c`` file only:
each file that includes it gets its own copy of the tables.

Memory figures of :class:`CExport`:

- ``flash_bytes``: the const tables, ``sum(element size x length)`` of every emitted array (an
  array that would be empty is emitted with one element, and counted). Not included: code,
  whose size depends on compiler and target (measure it with ``size``), and any alignment
  padding the toolchain puts between arrays (x86-64 gcc aligns arrays of 32+ bytes to 32).
- ``ram_bytes``: ``sizeof(NAME_state)``: int32 arrays (membrane, adaptation, ring
  ``[max_delay + 2][N]``) and the int32 ring position first, then the refractory counters (the
  smallest unsigned type holding ``max(refractory_steps)``) and the uint8 spike flags, the
  total rounded up to 4 bytes (every member aligned, no inner padding, on targets where int32
  is 4-aligned: ARM EABI, x86-64).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spikefly.controllers.network import DECAY_Q15, DECAY_SHIFT, RESET_ZERO, IntegerLIFNetwork

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_C_TYPES = (  # smallest first; no uint32, so every index compares with int without sign warnings
    ("uint8_t", 1, 0, (1 << 8) - 1),
    ("int8_t", 1, -(1 << 7), (1 << 7) - 1),
    ("uint16_t", 2, 0, (1 << 16) - 1),
    ("int16_t", 2, -(1 << 15), (1 << 15) - 1),
    ("int32_t", 4, -(1 << 31), (1 << 31) - 1),
)


@dataclass(frozen=True)
class CExport:
    """An exported header and its memory figures (how they are counted: module docstring)."""

    name: str
    """The C prefix of every symbol (macros use it in capitals)."""
    source: str
    """Text of the header file."""
    flash_bytes: int
    """Bytes of the ``static const`` tables (code excluded)."""
    ram_bytes: int
    """``sizeof(NAME_state)``."""
    tables: tuple[str, ...]
    """C names of the emitted const arrays (their sizes add up to ``flash_bytes``)."""

    def write(self, path: str | Path) -> Path:
        """Write the header to ``path`` (conventionally ``NAME.h``); returns the path."""
        path = Path(path)
        path.write_text(self.source)
        return path


def _smallest_type(values: NDArray) -> tuple[str, int]:
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for c_type, size, type_low, type_high in _C_TYPES:
        if type_low <= low and high <= type_high:
            return c_type, size
    raise ValueError(f"export_c: values [{low}, {high}] do not fit int32")


class _Param(NamedTuple):
    """A per-neuron parameter in the code: a table, or one constant for every neuron that uses it."""

    table: str | None
    constant: int

    def read(self, index: str = "j", c_type: str = "int64_t") -> str:
        """The C expression of the value of element ``index``, cast to ``c_type``."""
        return f"({c_type}){self.table}[{index}]" if self.table else f"({c_type}){self.constant}"


class _Tables:
    """Collects the const arrays and their sizes in bytes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.sizes: dict[str, int] = {}

    def array(self, field: str, values: ArrayLike, comment: str, c_type: str | None = None) -> str:
        """Emit ``static const TYPE NAME_field[]`` (smallest fitting type unless given); its C name."""
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        c_type, size = _smallest_type(values) if c_type is None else (c_type, np.dtype(c_type.removesuffix("_t")).itemsize)
        stored = values if values.size else np.zeros(1, np.int64)  # C has no empty arrays
        c_name = f"{self.name}_{field}"
        body = textwrap.fill(", ".join(str(int(v)) for v in stored), width=96, initial_indent="    ", subsequent_indent="    ")
        self.lines += [f"/* {comment} */", f"static const {c_type} {c_name}[{stored.size}] = {{", body, "};"]
        self.sizes[c_name] = size * stored.size
        return c_name

    def per_neuron(self, field: str, values: NDArray, relevant: NDArray[np.bool_], comment: str) -> _Param:
        """A table, or a constant when the neurons where the value matters (``relevant``) share one."""
        shared = np.unique(values[relevant])
        if shared.size <= 1:
            return _Param(None, int(shared[0]) if shared.size else 0)
        return _Param(self.array(field, values, comment), 0)


def _theta(p: dict[str, _Param], adaptive: bool) -> str:
    """The firing threshold of neuron ``j``: threshold plus the decayed adaptation ``a``."""
    return f"{p['threshold'].read()} + a" if adaptive else p["threshold"].read()


def _neuron_update(name: str, p: dict[str, _Param], refractory_type: str | None, adaptive: bool) -> list[str]:
    """C lines of step 2 for neuron ``j`` (after ``a``, ``current``, ``v`` and ``fired`` are set)."""
    shift = f"v - (v >> {p['decay_shift'].read()})"
    q15 = f"(v * {p['beta_q15'].read()}) >> 15"
    if p["decay_mode"].table:
        decayed = f"{p['decay_mode'].read()} == {DECAY_SHIFT} ? {shift} : {q15}"
    else:
        decayed = shift if p["decay_mode"].constant == DECAY_SHIFT else q15
    integrate = [f"const int64_t decayed = {decayed};", f"v = {name}_saturate(decayed + {p['bias'].read()} + current);"]
    theta = _theta(p, adaptive)
    if p["spiking"].table:
        integrate.append(f"fired = {p['spiking'].read()} != 0 && v >= {theta};")
    elif p["spiking"].constant:
        integrate.append(f"fired = v >= {theta};")
    if refractory_type is None:
        return integrate
    return [
        "if (s->refractory[j] > 0) {  /* keeps v, drops current and bias */",
        f"    s->refractory[j] = ({refractory_type})(s->refractory[j] - 1);",
        "} else {",
        *("    " + line for line in integrate),
        "}",
    ]


def _on_spike(name: str, p: dict[str, _Param], refractory_type: str | None, adaptive: bool) -> list[str]:
    """C lines run when neuron ``j`` fired: reset, refractoriness, adaptation, delivery to later rows."""
    subtract = f"{name}_saturate(v - ({_theta(p, adaptive)}))"
    if p["reset_mode"].table:
        reset = [f"v = {p['reset_mode'].read()} == {RESET_ZERO} ? 0 : {subtract};"]
    else:
        reset = ["v = 0;" if p["reset_mode"].constant == RESET_ZERO else f"v = {subtract};"]
    macro = name.upper()
    return [
        *reset,
        *([f"s->refractory[j] = {p['refractory_steps'].read(c_type=str(refractory_type))};"] if refractory_type else []),
        *([f"s->adaptation[j] = {name}_saturate(a + {p['adaptation_increment'].read()});"] if adaptive else []),
        f"for (k = {name}_row_ptr[{macro}_N_INPUTS + j]; k < {name}_row_ptr[{macro}_N_INPUTS + j + 1]; ++k) {{",
        f"    const int32_t receiver = {name}_target[k];",
        f"    int32_t arrival = slot + 1 + {p['delay'].read('k', 'int32_t')};",
        f"    if (arrival >= {macro}_RING_LENGTH) arrival -= {macro}_RING_LENGTH;",
        f"    {name}_add(&s->ring[arrival][receiver], (int64_t){name}_weight[k] * {p['weight_multiplier'].read('receiver')});",
        "}",
    ]


def _indent(lines: list[str], spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in lines)


def export_c(network: IntegerLIFNetwork, name: str = "spikefly_net") -> CExport:
    """The C99 header of ``network`` (format, specialisation and byte counts: module docstring).

    ``name`` prefixes every symbol and must be a C identifier.
    """
    if not isinstance(network, IntegerLIFNetwork):
        raise TypeError(f"export_c: expected an IntegerLIFNetwork, got {type(network).__name__}; quantize it first (spikefly.controllers.quantize)")
    if not _IDENTIFIER.match(name):
        raise ValueError(f"export_c: name {name!r} is not a C identifier (letters, digits, underscores; no leading digit)")
    net = network
    n, macro, ring_length = net.n_neurons, name.upper(), net.max_delay + 2
    spiking = net.spiking.astype(bool)
    every = np.ones(n, bool)
    adaptive = bool(np.any(net.adaptation_increment[spiking] > 0))
    refractory = bool(np.any(net.refractory_steps[spiking] > 0))

    tables = _Tables(name)
    tables.array("row_ptr", net.row_ptr, "CSR by source (inputs, then neurons): synapses of source s are row_ptr[s] .. row_ptr[s+1]-1")
    connected = np.flatnonzero(np.diff(net.row_ptr[: net.n_inputs + 1]))
    tables.array("connected_input", connected, "input channels with synapses, ascending: the only ones step 1 reads")
    tables.array("target", net.target, "receiving neuron of each synapse")
    tables.array("weight", net.weight, "quantised weight; effective weight = weight * weight_multiplier[target], Q.F", c_type="int8_t")
    tables.array("output_index", net.output_index, "output neurons, in action order")
    p = {
        "delay": _Param(tables.array("delay", net.delay, "extra steps before arrival"), 0) if net.max_delay else _Param(None, 0),
        "weight_multiplier": tables.per_neuron("weight_multiplier", net.weight_multiplier, every, "per receiving neuron: Q.F membrane units per weight step"),
        "bias": tables.per_neuron("bias", net.bias, every, "Q.F, added every non-refractory step"),
        "decay_mode": tables.per_neuron("decay_mode", net.decay_mode, every, f"{DECAY_SHIFT}: v -= v >> decay_shift; {DECAY_Q15}: v = v * beta_q15 >> 15"),
        "decay_shift": tables.per_neuron("decay_shift", net.decay_shift, net.decay_mode == DECAY_SHIFT, "beta = 1 - 2^-decay_shift"),
        "beta_q15": tables.per_neuron("beta_q15", net.beta_q15, net.decay_mode == DECAY_Q15, "beta * 2^15"),
        "spiking": tables.per_neuron("spiking", spiking, every, "0 for a non-spiking read-out"),
        "threshold": tables.per_neuron("threshold", net.threshold, spiking, "Q.F firing threshold"),
        "reset_mode": tables.per_neuron("reset_mode", net.reset_mode, spiking, f"{RESET_ZERO}: v = 0 on a spike; 1: v -= threshold + adaptation"),
    }
    # Tables only where the code reads them: an unused static const is a warning (-Werror).
    if adaptive:
        p["adaptation_increment"] = tables.per_neuron("adaptation_increment", net.adaptation_increment, spiking, "Q.F threshold increase per spike")
        p["adaptation_decay_q15"] = tables.per_neuron("adaptation_decay_q15", net.adaptation_decay_q15, spiking, "adaptation decay * 2^15 per step")
    refractory_type, refractory_size = _smallest_type(net.refractory_steps[spiking]) if refractory else (None, 0)
    if refractory:
        p["refractory_steps"] = tables.per_neuron("refractory_steps", net.refractory_steps, spiking, "steps without integration after a spike")

    state_fields = [(f"int32_t membrane[{n}];", "Q.F, after reset")]
    if adaptive:
        state_fields.append((f"int32_t adaptation[{n}];", "Q.F threshold excess"))
    state_fields += [
        (f"int32_t ring[{ring_length}][{n}];", "Q.F synaptic current by arrival step (max delay + 2 rows)"),
        ("int32_t slot;", "ring row of the current step"),
    ]
    if refractory:
        state_fields.append((f"{refractory_type} refractory[{n}];", "steps of refractoriness left"))
    state_fields.append((f"uint8_t spiked[{n}];", "1 where the neuron fired in the latest step"))
    ram_bytes = 4 * n * (1 + int(adaptive) + ring_length) + 4 + refractory_size * n + n
    ram_bytes = -(-ram_bytes // 4) * 4  # struct size: a multiple of its 4-byte alignment
    flash_bytes = sum(tables.sizes.values())

    if adaptive:
        adaptation = [
            f"const int64_t a = ((int64_t)s->adaptation[j] * {p['adaptation_decay_q15'].read()}) >> 15;",
            "s->adaptation[j] = (int32_t)a;",
        ]
    else:
        adaptation = ["/* no neuron adapts: the threshold is fixed */"]
    n_spiking = int(spiking.sum())
    about = f"""{name}.h: a spiking network exported by spikefly (spikefly.controllers.export_c).

{net.n_inputs} inputs, {n} neurons ({n_spiking} spiking, {n - n_spiking} non-spiking read-outs), {net.n_outputs} outputs,
{net.n_synapses} synapses, max delay {net.max_delay} steps. Memory: {flash_bytes} bytes of const tables (flash; code
not counted), {ram_bytes} bytes of state (RAM).

Format: membrane, bias, threshold and adaptation are int32 with {net.fractional_bits} fractional bits
(Q.F, 1.0 = {1 << net.fractional_bits}); weights int8 times a per-neuron multiplier; decay by shift
(v -= v >> k) or Q15 multiply; saturating int32 state, 64-bit intermediates. Inputs are int32
with {net.input_fractional_bits} fractional bits (with 0, a spike is 1). The ring buffer ({ring_length} x {n}) holds future
synaptic current. Bit-exact with spikefly's lif_step_int; no malloc, no floating point.

Use (include this header in one .c file: the tables are static):
    static {name}_state s;
    {name}_reset(&s);
    every substep: {name}_step(&s, inputs, spikes_or_NULL, membrane_or_NULL);
inputs: int32_t[{macro}_N_INPUTS]; spikes: uint8_t[{macro}_N_OUTPUTS], 0/1 of the output neurons;
membrane: int32_t[{macro}_N_OUTPUTS], Q.F membrane of the output neurons after reset.
s.spiked[j] holds the spike of every neuron j in the latest step."""
    comment = "\n".join(" * " + line if line else " *" for line in about.splitlines())
    source = f"""/*
{comment}
 */
#ifndef {macro}_H_
#define {macro}_H_

#include <stdint.h>
#include <string.h>

#define {macro}_N_INPUTS {net.n_inputs}
#define {macro}_N_CONNECTED_INPUTS {connected.size}
#define {macro}_N_NEURONS {n}
#define {macro}_N_OUTPUTS {net.n_outputs}
#define {macro}_N_SYNAPSES {net.n_synapses}
#define {macro}_RING_LENGTH {ring_length}
#define {macro}_FRACTIONAL_BITS {net.fractional_bits}
#define {macro}_INPUT_FRACTIONAL_BITS {net.input_fractional_bits}
#define {macro}_FLASH_BYTES {flash_bytes}
#define {macro}_RAM_BYTES {ram_bytes}

/* The arithmetic needs >> on negative numbers to floor (arithmetic shift), as gcc and clang do. */
typedef char {name}_needs_arithmetic_right_shift[(((int64_t)-3 >> 1) == -2) ? 1 : -1];

{chr(10).join(tables.lines)}

typedef struct {{
{chr(10).join(f"    {field:<36}/* {text} */" for field, text in state_fields)}
}} {name}_state;

static inline int32_t {name}_saturate(int64_t value)
{{
    return value < INT32_MIN ? INT32_MIN : (value > INT32_MAX ? INT32_MAX : (int32_t)value);
}}

/* Saturating add of a synaptic contribution to a ring cell. */
static inline void {name}_add(int32_t *cell, int64_t contribution)
{{
    *cell = {name}_saturate((int64_t)*cell + contribution);
}}

/* Back to rest: every state value 0. */
static inline void {name}_reset({name}_state *s)
{{
    memset(s, 0, sizeof *s);
}}

/* One substep. inputs: int32_t[{macro}_N_INPUTS]; spikes_out (or NULL): uint8_t[{macro}_N_OUTPUTS];
 * outputs (or NULL): int32_t[{macro}_N_OUTPUTS], the Q.F membrane of the output neurons. */
static inline void {name}_step({name}_state *s, const int32_t *inputs, uint8_t *spikes_out, int32_t *outputs)
{{
    const int32_t slot = s->slot;
    int32_t *row = s->ring[slot];
    int32_t c, j, k;
    /* 1. Input events reach their targets `delay` steps later (0: this step). Only the channels
     * with synapses are read: the others cannot change anything. */
    for (c = 0; c < {macro}_N_CONNECTED_INPUTS; ++c) {{
        const int32_t i = {name}_connected_input[c];
        const int64_t x = inputs[i];
        if (x == 0) continue;
        for (k = {name}_row_ptr[i]; k < {name}_row_ptr[i + 1]; ++k) {{
            const int32_t receiver = {name}_target[k];
            const int64_t contribution = ((int64_t){name}_weight[k] * {p['weight_multiplier'].read('receiver')} * x) >> {macro}_INPUT_FRACTIONAL_BITS;
            int32_t arrival = slot + {p['delay'].read('k', 'int32_t')};
            if (arrival >= {macro}_RING_LENGTH) arrival -= {macro}_RING_LENGTH;
            {name}_add(&s->ring[arrival][receiver], {name}_saturate(contribution));
        }}
    }}
    /* 2. Neurons in ascending order. A spike reaches its targets 1 + delay steps later, never in
     * this step's row, so resetting and delivering right away keeps the order of the kernel. */
    for (j = 0; j < {macro}_N_NEURONS; ++j) {{
{_indent(adaptation, 8)}
        const int64_t current = row[j];
        int64_t v = s->membrane[j];
        int fired = 0;
        row[j] = 0;
{_indent(_neuron_update(name, p, refractory_type, adaptive), 8)}
        if (fired) {{
{_indent(_on_spike(name, p, refractory_type, adaptive), 12)}
        }}
        s->membrane[j] = (int32_t)v;
        s->spiked[j] = (uint8_t)fired;
    }}
    for (k = 0; k < {macro}_N_OUTPUTS; ++k) {{
        const int32_t neuron = {name}_output_index[k];
        if (spikes_out) spikes_out[k] = s->spiked[neuron];
        if (outputs) outputs[k] = s->membrane[neuron];
    }}
    s->slot = slot + 1 == {macro}_RING_LENGTH ? 0 : slot + 1;
}}

#endif /* {macro}_H_ */
"""
    return CExport(name=name, source=source, flash_bytes=flash_bytes, ram_bytes=ram_bytes, tables=tuple(tables.sizes))


__all__ = ["CExport", "export_c"]
