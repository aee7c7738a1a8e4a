"""The cost model: latency, energy and memory of a controller on a board profile (:mod:`spikefly.controllers.boards`).

Inputs are the operations the kernels actually counted, as means per control step
(:class:`StepCounts`), never an assumed firing rate: neuron updates NU, spikes SP, input events
IE, synaptic ops SOP (fan-out of every firing source, inputs included) and multiply-accumulates
MAC not already in SOP. Presynaptic events PE = SP + IE (each starts a walk over one CSR row).

- MCU: ``cycles = c_nu*NU + c_spk*PE + c_sop*SOP + c_mac*MAC + c_in*IS + c_act*ACT + overhead`` with input
  scans ``IS = connected inputs x K`` (the C export looks at every input channel that has
  synapses in each of the K substeps of a control step); ``latency = cycles /
  clock``; ``ACT`` = the output neurons of a dense layer (:func:`dense_ann_cost`, 0 for a spiking
  network); ``energy = cycles * energy_per_cycle`` (active energy only: the core's idle or sleep
  power between control steps is not counted, which for the Crazyflie's STM32F405 is the
  marginal energy, since it runs the flight stack anyway). ``c_mac`` is the int8 figure for
  ``weight_bits <= 8`` and the fp32 figure otherwise (int16 kernels are not modelled). The
  cycle figures are those of the integer C export (int32 membranes); a float32 network is
  costed as its integer twin, ``weight_bits`` then sets its memory only.
- Neuromorphic: ``energy = e_nu*NU + e_sop*SOP + e_route*PE + static_power / control_hz``;
  ``latency = substeps * timestep_latency`` with ``substeps = NU / N``. The chip must hold the
  network: neurons, synapses, fan-in, weight bits, decay grid, connected input channels, outputs, and no
  analog (MAC) inputs.
- Reference (Horowitz 45 nm): ``energy = E_AC*SOP + E_MAC*MAC``, a lower bound on arithmetic only;
  latency 0, always feasible.

A network is feasible when it fits, its memory fits (MCU) and ``latency <= 1 / control_hz``;
otherwise ``CostReport.reasons`` says why, one sentence per failure.

Byte accounting (what a C export stores; code size, about 400 B, is not counted)
---------------------------------------------------------------------------------
``idx(n)`` is the bytes of an unsigned index able to hold ``n`` values: 1 up to 256, 2 up to
65536, else 4. ``S`` synapses, ``N`` neurons, ``b`` weight bits, ``D`` max delay, ``n_in`` inputs.

- spiking flash = ``ceil(S*b/8)`` weights + ``S*idx(N)`` targets + ``S*idx(D+1)`` delays (none
  when ``D = 0``) + ``(n_in+N+1)*idx(S+1)`` row pointers + ``max(n_con, 1)*idx(n_in)`` indices of
  the ``n_con`` connected input channels + ``22*N`` neuron parameters (int32
  weight multiplier, threshold, bias and adaptation increment, 16-bit decay and adaptation decay,
  refractory steps and a flag byte; a float32 export needs the same 22 B) + ``n_out*idx(N)``
  output indices.
- spiking RAM = ``10*N`` state (int32 membrane and adaptation, refractory counter, spike flag) +
  ``4*(D+2)*N`` ring buffer of future current + ``4*n_in`` input buffer + 4 step counter.
- dense ANN flash = ``ceil(MAC*b/8)`` weights + 4 B per non-input neuron (int32 bias) + per layer
  its two sizes (``idx(max size + 1)`` bytes each) and its requantisation shift (1 B); RAM = the input buffer and two activation
  buffers of the widest hidden layer, ``(n_in + 2*max(hidden))*a`` with ``a`` = 1, 2 or 4 bytes
  for ``b <= 8``, ``<= 16``, else, + ``4*n_out`` int32 outputs (what :mod:`spikefly.controllers.dense_mlp`
  links, measured: docs/deployment.md).

Worked example (project reference, C): a 24-neuron, 122-synapse network at K = 10 and 100 Hz costs
~54 us and ~7.1 uJ on the STM32F405; the test reproduces it from the op counts it implies.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from dataclasses import dataclass

import numpy as np

from spikefly.controllers.boards import ArithmeticReference, BoardError, BoardProfile, NeuromorphicBoard, bundled_boards, load_board
from spikefly.controllers.lif_state import OperationCounts
from spikefly.controllers.network import DECAY_SHIFT, Q15_ONE, IntegerLIFNetwork, LIFNetwork

_PARAMETER_BYTES_PER_NEURON = 22
_STATE_BYTES_PER_NEURON = 10


@dataclass(frozen=True)
class StepCounts:
    """Mean operations per control step, as the kernels counted them (over the K substeps)."""

    neuron_updates: float
    """NU: N per substep."""
    spikes: float
    """SP: neuron spikes."""
    input_events: float
    """IE: non-zero inputs."""
    synaptic_ops: float
    """SOP: fan-out of every firing source (inputs included)."""
    macs: float = 0.0
    """Multiply-accumulates not in ``synaptic_ops`` (e.g. an analog input layer done as a matrix
    product; move those synaptic ops here)."""

    def __post_init__(self) -> None:
        for name, value in dataclasses.asdict(self).items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"StepCounts.{name}: expected a finite number >= 0, got {value!r}")

    @classmethod
    def from_totals(cls, totals: OperationCounts, n_control_steps: int, macs: float = 0.0) -> StepCounts:
        """Means from counters accumulated over ``n_control_steps`` control steps (``macs``: per step)."""
        if n_control_steps < 1:
            raise ValueError(f"StepCounts.from_totals: n_control_steps must be >= 1, got {n_control_steps}")
        return cls(*(float(count) / n_control_steps for count in totals), macs=macs)


@dataclass(frozen=True)
class CostReport:
    """What one control step of a controller costs on one board."""

    board: str
    """Profile name, e.g. ``"stm32f405"``."""
    kind: str
    """"mcu", "neuromorphic" or "reference"."""
    control_hz: float
    """Control steps per second the report was computed for."""
    weight_bits: int
    """Weight width the memory (and the MAC cost) was computed for."""
    cycles_per_step: float
    """Core cycles per control step (MCU; 0 otherwise)."""
    latency_s: float
    """Compute time of one control step, seconds."""
    energy_j: float
    """Energy per control step, joules (static power over the period included on neuromorphic chips)."""
    power_w: float
    """Energy per second of flight: ``energy_j * control_hz``, watts."""
    flash_bytes: int
    """Weights, indices and parameters (byte accounting: module docstring)."""
    ram_bytes: int
    """State, delay ring buffer and buffers (module docstring)."""
    feasible: bool
    """Fits the board (capacity, memory) and ``latency_s <= 1 / control_hz``."""
    reasons: tuple[str, ...]
    """Why it is not feasible, one sentence each; empty when feasible."""
    energy_is_lower_bound: bool
    """True for the arithmetic reference (Horowitz): arithmetic only."""

    def to_dict(self) -> dict[str, float | int | str | bool | list[str]]:
        """Plain JSON values."""
        values = dataclasses.asdict(self)
        values["reasons"] = list(self.reasons)
        return values


@dataclass(frozen=True)
class Workload:
    """What one control step asks of a board: op counts (per control step), the memory it needs
    and the structure a neuromorphic chip must hold. ``substeps`` = network timesteps per step."""

    neuron_updates: float
    presynaptic_events: float
    synaptic_ops: float
    macs: float
    substeps: float
    weight_bits: int
    input_scans: float
    activations: float
    flash_bytes: int
    ram_bytes: int
    spiking: bool
    n_neurons: int
    n_synapses: int
    n_inputs: int
    n_outputs: int
    max_fan_in: int
    off_grid_neurons: int


def spiking_cost(
    network: LIFNetwork | IntegerLIFNetwork,
    counts: StepCounts,
    board: BoardProfile | str | os.PathLike[str],
    control_hz: float,
    weight_bits: int = 8,
) -> CostReport:
    """Cost of one control step of ``network`` doing ``counts`` on ``board`` (module docstring)."""
    if not isinstance(network, (LIFNetwork, IntegerLIFNetwork)):
        raise TypeError(f"spiking_cost: expected a LIFNetwork or IntegerLIFNetwork, got {type(network).__name__}")
    if not isinstance(counts, StepCounts):
        raise TypeError("spiking_cost: counts must be StepCounts (per-control-step means; see StepCounts.from_totals)")
    bits = _check_bits(weight_bits)
    n, s, n_in, delay = network.n_neurons, network.n_synapses, network.n_inputs, network.max_delay
    # an input channel without synapses is never read by the C export, and needs no wire on a chip
    connected = connected_inputs(network)
    flash = (
        math.ceil(s * bits / 8) + s * _index_bytes(n) + (s * _index_bytes(delay + 1) if delay else 0)
        + (n_in + n + 1) * _index_bytes(s + 1) + _PARAMETER_BYTES_PER_NEURON * n + network.n_outputs * _index_bytes(n)
        + max(connected, 1) * _index_bytes(n_in)
    )
    ram = _STATE_BYTES_PER_NEURON * n + 4 * (delay + 2) * n + 4 * n_in + 4
    work = Workload(
        neuron_updates=counts.neuron_updates, presynaptic_events=counts.spikes + counts.input_events,
        synaptic_ops=counts.synaptic_ops, macs=counts.macs, substeps=counts.neuron_updates / n,
        weight_bits=bits, input_scans=connected * counts.neuron_updates / n, activations=0.0,
        flash_bytes=flash, ram_bytes=ram, spiking=True, n_neurons=n, n_synapses=s,
        n_inputs=connected, n_outputs=network.n_outputs,
        max_fan_in=int(np.bincount(network.target, minlength=n).max()) if s else 0,
        off_grid_neurons=_off_shift_grid(network),
    )
    return _report(_resolve(board), work, control_hz)


def connected_inputs(network: LIFNetwork | IntegerLIFNetwork) -> int:
    """Input channels with at least one synapse (the others are never read)."""
    return int(np.count_nonzero(np.diff(network.row_ptr[: network.n_inputs + 1])))


def dense_ann_cost(
    layer_sizes: list[int] | tuple[int, ...],
    board: BoardProfile | str | os.PathLike[str],
    control_hz: float,
    weight_bits: int = 8,
) -> CostReport:
    """Cost of one forward pass of a dense MLP ``[inputs, hidden..., outputs]`` per control step.

    MACs = sum of products of consecutive sizes; activations = every non-input neuron; no spikes.
    An MCU charges ``c_mac*MAC + c_act*activations`` (+ overhead), the figures measured for the
    int8 C of :mod:`spikefly.controllers.dense_mlp` (docs/deployment.md). On a neuromorphic chip
    it is infeasible (figures charge each MAC as one synaptic op and each activation as one neuron
    update, for scale only).
    """
    sizes = [int(size) for size in layer_sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"dense_ann_cost: layer_sizes must be >= 2 sizes, each >= 1, got {list(layer_sizes)}")
    bits = _check_bits(weight_bits)
    macs = sum(a * b for a, b in itertools.pairwise(sizes))
    activations = sum(sizes[1:])
    activation_bytes = 1 if bits <= 8 else 2 if bits <= 16 else 4
    board = _resolve(board)
    neuromorphic = isinstance(board, NeuromorphicBoard)
    work = Workload(
        # an MCU charges a dense neuron its own measured figure (c_act), a chip its neuron update
        neuron_updates=activations if neuromorphic else 0.0, presynaptic_events=0.0,
        synaptic_ops=macs if neuromorphic else 0.0, macs=0.0 if neuromorphic else macs, substeps=1.0, weight_bits=bits,
        input_scans=0.0, activations=0.0 if neuromorphic else activations,
        flash_bytes=math.ceil(macs * bits / 8) + 4 * activations + (2 * _index_bytes(max(sizes) + 1) + 1) * (len(sizes) - 1),
        ram_bytes=(sizes[0] + 2 * max(sizes[1:-1], default=0)) * activation_bytes + 4 * sizes[-1], spiking=False,
        n_neurons=activations, n_synapses=macs,
        n_inputs=sizes[0], n_outputs=sizes[-1], max_fan_in=max(sizes[:-1]), off_grid_neurons=0,
    )
    return _report(board, work, control_hz)


def layered_spiking_cost(
    layers: list[dict], counts: StepCounts, board: BoardProfile | str | os.PathLike[str], control_hz: float,
    weight_bits: int = 8, beta_on_shift_grid: bool = False,
) -> CostReport:
    """Cost of one control step of a layered spiking network doing ``counts`` (the spiking PPO actor).

    ``layers``: a policy card's layer list: ``linear`` (the dense input layer, its products in
    ``counts.macs``, once per step), ``lif`` (``neurons`` updated ``steps`` times per step),
    ``synapses`` and ``readout`` (weights driven by spikes, in ``counts.synaptic_ops``). Memory as
    for an evolved network: weights, per-neuron parameters and state, the input and layer buffers.
    """
    bits = _check_bits(weight_bits)
    weighted = [layer for layer in layers if layer["kind"] in ("linear", "synapses", "readout")]
    lif = [layer for layer in layers if layer["kind"] == "lif"]
    if not weighted or not lif:
        raise ValueError("layered_spiking_cost: layers need a linear input layer and LIF layers")
    weights = sum(int(layer["in"]) * int(layer["out"]) for layer in weighted)
    neurons = sum(int(layer["neurons"]) for layer in lif)
    widest = max(max(int(layer["in"]), int(layer["out"])) for layer in weighted)
    work = Workload(
        neuron_updates=counts.neuron_updates, presynaptic_events=counts.spikes + counts.input_events,
        synaptic_ops=counts.synaptic_ops, macs=counts.macs, substeps=float(lif[0]["steps"]), weight_bits=bits,
        input_scans=0.0, activations=float(weighted[0]["out"]),  # the input layer's outputs, once per step
        flash_bytes=math.ceil(weights * bits / 8) + _PARAMETER_BYTES_PER_NEURON * neurons,
        ram_bytes=_STATE_BYTES_PER_NEURON * neurons + 4 * (2 * widest + int(weighted[0]["in"])), spiking=True,
        n_neurons=neurons, n_synapses=weights, n_inputs=int(weighted[0]["in"]), n_outputs=int(weighted[-1]["out"]),
        max_fan_in=max(int(layer["in"]) for layer in weighted), off_grid_neurons=0 if beta_on_shift_grid else neurons,
    )
    return _report(_resolve(board), work, control_hz)


def arithmetic_cost(
    macs: float, board: BoardProfile | str | os.PathLike[str], control_hz: float, flash_bytes: int = 0, ram_bytes: int = 0,
    weight_bits: int = 8,
) -> CostReport:
    """Cost of ``macs`` multiply-accumulates per control step and nothing else (a signal-processing
    rule such as a Goertzel detector, or a fixed front end), with the memory given."""
    if not (math.isfinite(macs) and macs >= 0):
        raise ValueError(f"arithmetic_cost: macs must be a finite number >= 0, got {macs!r}")
    board = _resolve(board)
    neuromorphic = isinstance(board, NeuromorphicBoard)
    work = Workload(
        neuron_updates=0.0, presynaptic_events=0.0, synaptic_ops=macs if neuromorphic else 0.0,
        macs=0.0 if neuromorphic else macs, substeps=1.0, weight_bits=_check_bits(weight_bits), input_scans=0.0,
        activations=0.0, flash_bytes=int(flash_bytes), ram_bytes=int(ram_bytes), spiking=False, n_neurons=0, n_synapses=0,
        n_inputs=0, n_outputs=0, max_fan_in=0, off_grid_neurons=0,
    )
    return _report(board, work, control_hz)


def horowitz_bound(synaptic_ops: float, macs: float) -> float:
    """Lower bound on ARITHMETIC energy only, joules: ``E_AC*synaptic_ops + E_MAC*macs``.

    E_AC = 0.9 pJ, E_MAC = 4.6 pJ (Horowitz 45 nm, as SNN papers use them; bundled profile
    ``horowitz45nm``). No memory, control or static energy: never a board's energy.
    """
    reference = bundled_boards()["horowitz45nm"]
    if not isinstance(reference, ArithmeticReference):  # only an edited boards.toml gets here
        raise BoardError("<bundled>/boards.toml", "boards.horowitz45nm.kind", 'expected kind = "reference"', "restore the file")
    return reference.e_ac_j * synaptic_ops + reference.e_mac_j * macs


def _report(board: BoardProfile, work: Workload, control_hz: float) -> CostReport:
    number = isinstance(control_hz, (int, float)) and not isinstance(control_hz, bool)
    if not (number and math.isfinite(control_hz) and control_hz > 0):
        raise ValueError(f"control_hz must be a positive number, got {control_hz!r}")
    period_s = 1.0 / control_hz
    cycles, latency_s, energy_j, reasons = board.evaluate_step(work, period_s)
    if latency_s > period_s:
        reasons.append(f"latency {_seconds(latency_s)} exceeds the {_seconds(period_s)} control period ({board.title})")
    return CostReport(
        board=board.name, kind=board.kind, control_hz=float(control_hz), weight_bits=work.weight_bits,
        cycles_per_step=float(cycles), latency_s=float(latency_s), energy_j=float(energy_j),
        power_w=float(energy_j * control_hz), flash_bytes=int(work.flash_bytes), ram_bytes=int(work.ram_bytes),
        feasible=not reasons, reasons=tuple(reasons), energy_is_lower_bound=isinstance(board, ArithmeticReference),
    )


def _resolve(board: BoardProfile | str | os.PathLike[str]) -> BoardProfile:
    return board if isinstance(board, BoardProfile) else load_board(board)


def _check_bits(weight_bits: int) -> int:
    if isinstance(weight_bits, bool) or not isinstance(weight_bits, (int, np.integer)) or not 1 <= weight_bits <= 32:
        raise ValueError(f"weight_bits must be an int in [1, 32], got {weight_bits!r}")
    return int(weight_bits)


def _index_bytes(count: int) -> int:
    """Bytes of an unsigned index holding ``count`` distinct values."""
    return 1 if count <= 1 << 8 else 2 if count <= 1 << 16 else 4


def _off_shift_grid(network: LIFNetwork | IntegerLIFNetwork) -> int:
    """Neurons whose membrane decay is not ``1 - 2**-k`` (k = 0..30, or exactly 1)."""
    if isinstance(network, IntegerLIFNetwork):
        grid_q15 = [Q15_ONE - (Q15_ONE >> k) for k in range(16)] + [Q15_ONE]
        on_grid = (network.decay_mode == DECAY_SHIFT) | np.isin(network.beta_q15, grid_q15)
    else:
        grid = (1.0 - 2.0 ** -np.arange(31)).astype(np.float32)
        on_grid = np.isin(network.beta, np.append(grid, np.float32(1.0)))
    return int(np.count_nonzero(~on_grid))




def _seconds(value: float) -> str:
    if value >= 1.0:
        return f"{value:.3g} s"
    return f"{value * 1e3:.3g} ms" if value >= 1e-3 else f"{value * 1e6:.3g} us"
