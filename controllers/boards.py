"""Embedded-board profiles and the cost model: latency, energy and memory of a controller on a board.

Profiles
--------
A profile is one ``[boards.<name>]`` table of a TOML file: ``kind`` ("mcu", "neuromorphic" or
"reference"), ``title``, optional ``notes``, and one entry per number, each with its source and
confidence (A read in a primary source or measured; B widely reproduced, check before publishing;
C derived or estimated, the source says how)::

    [boards.my_board]
    kind = "mcu"
    title = "My board"
    clock_hz = { value = 168e6, source = "datasheet DS8626", confidence = "A" }
    ...

The bundled table is ``controllers/boards.toml`` (:func:`bundled_boards`); :func:`load_board`
takes a bundled name or a path to a file of the same format. Every problem raises
:class:`BoardError` naming the file, the key and the fix.

Cost model
----------
Inputs are the operations the kernels actually counted, as means per control step
(:class:`StepCounts`), never an assumed firing rate: neuron updates NU, spikes SP, input events
IE, synaptic ops SOP (fan-out of every firing source, inputs included) and multiply-accumulates
MAC not already in SOP. Presynaptic events PE = SP + IE (each starts a walk over one CSR row).

- MCU: ``cycles = c_nu*NU + c_spk*PE + c_sop*SOP + c_mac*MAC + overhead``; ``latency = cycles /
  clock``; ``energy = cycles * energy_per_cycle`` (active energy only: the core's idle or sleep
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
  when ``D = 0``) + ``(n_in+N+1)*idx(S+1)`` row pointers + ``22*N`` neuron parameters (int32
  weight multiplier, threshold, bias and adaptation increment, 16-bit decay and adaptation decay,
  refractory steps and a flag byte; a float32 export needs the same 22 B) + ``n_out*idx(N)``
  output indices.
- spiking RAM = ``10*N`` state (int32 membrane and adaptation, refractory counter, spike flag) +
  ``4*(D+2)*N`` ring buffer of future current + ``4*n_in`` input buffer + 4 step counter.
- dense ANN flash = ``ceil(MAC*b/8)`` weights + per non-input neuron 8 B (int32 bias and
  requantisation scale) or 4 B (fp32 bias, ``b > 16``); RAM = two activation buffers of the
  widest layer, ``2*max(layers)*a`` with ``a`` = 1, 2 or 4 bytes for ``b <= 8``, ``<= 16``, else.

Worked example (project reference, C): a 24-neuron, 122-synapse network at K = 10 and 100 Hz costs
~54 us and ~7.1 uJ on the STM32F405; the test reproduces it from the op counts it implies.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
import difflib
import itertools
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import ClassVar

import numpy as np
from spikefly.controllers.lif_kernels import OperationCounts
from spikefly.controllers.network import (
    DECAY_SHIFT,
    Q15_ONE,
    IntegerLIFNetwork,
    LIFNetwork,
)
from spikefly.core import SpikeflyError

BUNDLED_PATH = Path(__file__).resolve().with_name("boards.toml")
"""The bundled board table (package data)."""

CONFIDENCES = ("A", "B", "C")
DECAY_GRIDS = ("any", "shift")
"""``any``: every decay is allowed; ``shift``: only ``beta = 1 - 2**-k`` (k = 0..30, and 1)."""

_PARAMETER_BYTES_PER_NEURON = 22
_STATE_BYTES_PER_NEURON = 10
_ENTRY_EXAMPLE = '{ value = 168e6, source = "datasheet DS8626", confidence = "A" }'


class BoardError(SpikeflyError):
    """A board profile (or board name) that cannot be used: ``<file>: <key>: <problem>. Fix: <fix>``."""

    def __init__(self, path: str, key: str | None, problem: str, fix: str) -> None:
        self.path, self.key, self.problem, self.fix = path, key, problem, fix
        place = f"{path}: {key}" if key else path
        stop = "" if problem.endswith("?") else "."
        super().__init__(f"{place}: {problem.rstrip('.')}{stop} Fix: {fix}")

    def __reduce__(self) -> tuple[type[BoardError], tuple[str, str | None, str, str]]:
        return (type(self), (self.path, self.key, self.problem, self.fix))


@dataclass(frozen=True)
class SourcedValue:
    """One number (or grid name) of a profile with where it comes from."""

    value: float | int | str
    source: str
    """Citation or derivation, e.g. ``"derived: 3.3 V x 40 mA (DS8626) / 168 MHz"``."""
    confidence: str
    """A, B or C (see the module docstring)."""


# Field metadata: how the loader checks each number of a profile.
_POSITIVE = {"rule": "positive", "integer": False}
_NON_NEGATIVE = {"rule": "non_negative", "integer": False}
_COUNT = {"rule": "positive", "integer": True}
_GRID = {"rule": "grid", "integer": False}


@dataclass(frozen=True, kw_only=True)
class BoardProfile(ABC):
    """Common part of every profile; the subclasses hold the numbers of their kind."""

    kind: ClassVar[str]
    name: str
    """Key of the profile in its file, e.g. ``"stm32f405"``."""
    title: str
    """Short human name used in reasons, e.g. ``"Xylo Audio 2"``."""
    notes: str = ""
    sources: Mapping[str, SourcedValue] = field(default_factory=dict)
    """Source and confidence of every number, by field name."""
    path: str = "<bundled>"
    """File the profile was read from."""

    @abstractmethod
    def _evaluate(self, work: _Workload, period_s: float) -> tuple[float, float, float, list[str]]:
        """(cycles, latency_s, energy_j, reasons) of one control step; ``reasons`` of misfit only."""


@dataclass(frozen=True, kw_only=True)
class McuBoard(BoardProfile):
    """A microcontroller costed in cycles (module docstring)."""

    kind: ClassVar[str] = "mcu"
    clock_hz: float = field(metadata=_POSITIVE)
    """Core clock, hertz."""
    sram_bytes: int = field(metadata=_COUNT)
    """RAM available to the controller, bytes."""
    flash_bytes: int = field(metadata=_COUNT)
    """Flash available to the controller, bytes."""
    energy_per_cycle_j: float = field(metadata=_POSITIVE)
    """Active energy per core cycle, joules."""
    cycles_per_neuron_update: float = field(metadata=_NON_NEGATIVE)
    """c_nu: decay, integrate, compare (and reset) of one neuron in one substep."""
    cycles_per_spike: float = field(metadata=_NON_NEGATIVE)
    """c_spk: per presynaptic event (neuron spike or input event): row lookup, loop set-up."""
    cycles_per_synaptic_op: float = field(metadata=_NON_NEGATIVE)
    """c_sop: one synapse of a firing source (weight load, scale, add to the ring slot)."""
    cycles_per_int8_mac: float = field(metadata=_NON_NEGATIVE)
    """c_mac for weight_bits <= 8."""
    cycles_per_fp32_mac: float = field(metadata=_NON_NEGATIVE)
    """c_mac for weight_bits > 8."""
    overhead_cycles_per_step: float = field(metadata=_NON_NEGATIVE)
    """Fixed cycles per control step (call, substep loop, output copy)."""

    def _evaluate(self, work: _Workload, period_s: float) -> tuple[float, float, float, list[str]]:
        mac_cycles = self.cycles_per_int8_mac if work.weight_bits <= 8 else self.cycles_per_fp32_mac
        cycles = (
            self.cycles_per_neuron_update * work.neuron_updates
            + self.cycles_per_spike * work.presynaptic_events
            + self.cycles_per_synaptic_op * work.synaptic_ops
            + mac_cycles * work.macs
            + self.overhead_cycles_per_step
        )
        reasons = []
        for memory, needed, available in (
            ("flash", work.flash_bytes, self.flash_bytes), ("RAM", work.ram_bytes, self.sram_bytes),
        ):
            if needed > available:
                reasons.append(f"{memory} {_bytes(needed)} > {_bytes(available)} ({self.title})")
        return cycles, cycles / self.clock_hz, cycles * self.energy_per_cycle_j, reasons


@dataclass(frozen=True, kw_only=True)
class NeuromorphicBoard(BoardProfile):
    """A neuromorphic chip costed per event; limits left as None are not modelled."""

    kind: ClassVar[str] = "neuromorphic"
    e_sop_j: float = field(metadata=_NON_NEGATIVE)
    """Energy per synaptic op, joules."""
    e_neuron_update_j: float = field(metadata=_NON_NEGATIVE)
    """Energy per neuron update (one neuron, one timestep), joules."""
    e_route_j: float = field(metadata=_NON_NEGATIVE)
    """Energy per presynaptic event routed (neuron spike or input event)."""
    static_power_w: float = field(metadata=_NON_NEGATIVE)
    """Power drawn whatever the activity, watts (charged over the whole control period)."""
    timestep_latency_s: float = field(metadata=_POSITIVE)
    """Wall-clock time of one network timestep (substep)."""
    max_neurons: int = field(metadata=_COUNT)
    """Neurons the chip holds (every network neuron counts, read-outs included)."""
    weight_bits: int = field(metadata=_COUNT)
    """Widest signed weight the chip stores."""
    decay_grid: str = field(metadata=_GRID)
    """"any", or "shift" (beta = 1 - 2**-k only)."""
    max_synapses: int | None = field(default=None, metadata=_COUNT)
    """Synapses the chip holds; None: not limited by this model (likewise below)."""
    max_fan_in: int | None = field(default=None, metadata=_COUNT)
    """Incoming synapses of one neuron (inputs and recurrent, each delay counted)."""
    max_input_channels: int | None = field(default=None, metadata=_COUNT)
    max_outputs: int | None = field(default=None, metadata=_COUNT)

    def _evaluate(self, work: _Workload, period_s: float) -> tuple[float, float, float, list[str]]:
        energy = (
            self.e_neuron_update_j * work.neuron_updates
            + self.e_sop_j * work.synaptic_ops
            + self.e_route_j * work.presynaptic_events
            + self.static_power_w * period_s
        )
        reasons = []
        if not work.spiking:
            reasons.append(f"a dense ANN (multi-bit activations) does not run on {self.title}: it needs spiking neurons")
        if work.macs > 0:
            reasons.append(f"{work.macs:g} analog MACs per step: {self.title} takes spike inputs only")
        for what, needed, limit in (
            ("neurons", work.n_neurons, self.max_neurons), ("synapses", work.n_synapses, self.max_synapses),
            ("input channels", work.n_inputs, self.max_input_channels), ("outputs", work.n_outputs, self.max_outputs),
        ):
            if limit is not None and needed > limit:
                reasons.append(f"needs {needed} {what} > {limit} ({self.title})")
        if self.max_fan_in is not None and work.max_fan_in > self.max_fan_in:
            reasons.append(f"fan-in {work.max_fan_in} > {self.max_fan_in} ({self.title})")
        if work.weight_bits > self.weight_bits:
            reasons.append(f"{work.weight_bits}-bit weights > {self.weight_bits} bits ({self.title})")
        if self.decay_grid == "shift" and work.off_grid_neurons:
            reasons.append(
                f"decay not on the shift grid (beta = 1 - 2^-k) of {self.title}: "
                f"{work.off_grid_neurons} of {work.n_neurons} neurons"
            )
        return 0.0, work.substeps * self.timestep_latency_s, energy, reasons


@dataclass(frozen=True, kw_only=True)
class ArithmeticReference(BoardProfile):
    """Per-operation arithmetic energies (Horowitz 45 nm): a lower bound, never a board."""

    kind: ClassVar[str] = "reference"
    e_ac_j: float = field(metadata=_POSITIVE)
    """E_AC: energy charged per synaptic op (accumulate)."""
    e_mac_j: float = field(metadata=_POSITIVE)
    """E_MAC: energy charged per multiply-accumulate."""
    # The rest of Horowitz's table, for reference (joules per operation or per 64-bit read).
    e_int8_add_j: float = field(metadata=_POSITIVE)
    e_int8_mult_j: float = field(metadata=_POSITIVE)
    e_int32_add_j: float = field(metadata=_POSITIVE)
    e_int32_mult_j: float = field(metadata=_POSITIVE)
    e_fp16_add_j: float = field(metadata=_POSITIVE)
    e_fp16_mult_j: float = field(metadata=_POSITIVE)
    e_fp32_add_j: float = field(metadata=_POSITIVE)
    e_fp32_mult_j: float = field(metadata=_POSITIVE)
    e_sram_read_64bit_8kb_j: float = field(metadata=_POSITIVE)

    def _evaluate(self, work: _Workload, period_s: float) -> tuple[float, float, float, list[str]]:
        return 0.0, 0.0, self.e_ac_j * work.synaptic_ops + self.e_mac_j * work.macs, []


BOARD_KINDS: dict[str, type[BoardProfile]] = {
    board.kind: board for board in (McuBoard, NeuromorphicBoard, ArithmeticReference)
}


# ---------------------------------------------------------------------------------------------
# Loading


def bundled_boards() -> dict[str, BoardProfile]:
    """The bundled profiles by name (a new dict; the profiles are immutable)."""
    return dict(_bundled())


@cache
def _bundled() -> dict[str, BoardProfile]:
    return load_boards(BUNDLED_PATH, label="<bundled>/boards.toml")


def load_board(name_or_path: str | os.PathLike[str], board_name: str | None = None) -> BoardProfile:
    """A bundled board by name (``"stm32f405"``) or a board of a TOML file (a path or ``*.toml``).

    A file holding several boards needs ``board_name`` (ignored for a bundled name).
    """
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, os.PathLike) or "/" in text or "\\" in text or text.lower().endswith(".toml"):
        boards, source = load_boards(name_or_path), text
    else:
        boards, source, board_name = _bundled(), "<bundled>/boards.toml", text
    if board_name is None:
        if len(boards) == 1:
            return next(iter(boards.values()))
        raise BoardError(
            source, None, f"the file holds {len(boards)} boards",
            f"pick one: load_board(path, board_name=...) with one of {', '.join(boards)}",
        )
    if board_name not in boards:
        close = difflib.get_close_matches(board_name, list(boards), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise BoardError(
            source, board_name, f"no board named {board_name!r}{hint}",
            f"use one of: {', '.join(sorted(boards))}, or a path to a .toml file",
        )
    return boards[board_name]


def load_boards(path: str | os.PathLike[str], label: str | None = None) -> dict[str, BoardProfile]:
    """Every board of a TOML file, by name; ``label`` names the file in errors (default: the path)."""
    source = label or os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fix = "give the path of a UTF-8 .toml board file"
        raise BoardError(source, None, f"cannot read the file ({error})", fix) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        raise BoardError(
            source, f"line {found.group(1)}" if found else None, f"TOML syntax error: {error}",
            'correct the TOML there: strings in double quotes, numbers like 168e6, entries like ' + _ENTRY_EXAMPLE,
        ) from None
    unknown = sorted(set(data) - {"boards"})
    if unknown:
        raise BoardError(source, unknown[0], "unknown top-level key", "put every board under [boards.<name>]")
    boards = data.get("boards")
    if not isinstance(boards, dict) or not boards:
        fix = "add at least one [boards.<name>] table with kind, title and its numbers"
        raise BoardError(source, "boards", "no boards in the file", fix)
    return {name: _read_board(source, name, table) for name, table in boards.items()}


def _read_board(source: str, name: str, table: object) -> BoardProfile:
    prefix = f"boards.{name}"
    if not isinstance(table, dict):
        raise BoardError(source, prefix, "expected a table", f"write [{prefix}] with kind, title and its numbers")
    kind = table.get("kind")
    if kind not in BOARD_KINDS:
        close = difflib.get_close_matches(str(kind), list(BOARD_KINDS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problem = "missing key" if kind is None else f"unknown kind {kind!r}{hint}"
        raise BoardError(source, f"{prefix}.kind", problem, f"kind is one of: {', '.join(BOARD_KINDS)}")
    board_class = BOARD_KINDS[kind]
    numbers = [f for f in dataclasses.fields(board_class) if "rule" in f.metadata]
    allowed = {"kind", "title", "notes"} | {f.name for f in numbers}
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BoardError(
                source, f"{prefix}.{key}", f"unknown key for a {kind} board{hint}", f"use only: {', '.join(sorted(allowed))}",
            )
    texts = {}
    for key, required in (("title", True), ("notes", False)):
        value = table.get(key, None if required else "")
        if not isinstance(value, str) or (required and not value.strip()):
            problem = "missing key" if value is None else "expected a non-empty string"
            raise BoardError(source, f"{prefix}.{key}", problem, f'{key} = "{"My board" if required else "..."}"')
        texts[key] = value
    values: dict[str, float | int | str | None] = {}
    sources: dict[str, SourcedValue] = {}
    for spec in numbers:
        if spec.name not in table:
            if spec.default is dataclasses.MISSING:
                raise BoardError(
                    source, f"{prefix}.{spec.name}", f"missing key (every {kind} board needs it)",
                    f"add {spec.name} = {_ENTRY_EXAMPLE}",
                )
            values[spec.name] = spec.default
            continue
        entry = _read_entry(source, f"{prefix}.{spec.name}", table[spec.name], spec.metadata)
        values[spec.name], sources[spec.name] = entry.value, entry
    return board_class(name=name, path=source, sources=sources, **texts, **values)  # type: ignore[arg-type]


def _read_entry(source: str, key: str, entry: object, rule: Mapping[str, object]) -> SourcedValue:
    """One ``{ value, source, confidence }`` table, checked against its field's ``rule``."""
    example = f"{key.rsplit('.', 1)[-1]} = {_ENTRY_EXAMPLE}"
    if not isinstance(entry, dict):
        raise BoardError(
            source, key, f"expected a table with value, source and confidence, got {entry!r}", f"write {example}",
        )
    for part in entry:
        if part not in ("value", "source", "confidence"):
            raise BoardError(source, f"{key}.{part}", "unknown key", "an entry has only value, source and confidence")
    for part in ("value", "source", "confidence"):
        if part not in entry:
            raise BoardError(source, f"{key}.{part}", "missing key", f"write {example}")
    origin, confidence, value = entry["source"], entry["confidence"], entry["value"]
    if not isinstance(origin, str) or not origin.strip():
        raise BoardError(
            source, f"{key}.source", "expected a non-empty string",
            'cite a datasheet or paper, or say how the number was derived: source = "derived: ..."',
        )
    if confidence not in CONFIDENCES:
        raise BoardError(source, f"{key}.confidence", f"expected A, B or C, got {confidence!r}", 'confidence = "C" for a derived or estimated number')
    if rule["rule"] == "grid":
        if value not in DECAY_GRIDS:
            raise BoardError(
                source, f"{key}.value", f"expected one of {DECAY_GRIDS}, got {value!r}",
                'value = "shift" for bit-shift decay (beta = 1 - 2^-k), "any" otherwise',
            )
        return SourcedValue(value, origin, confidence)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BoardError(source, f"{key}.value", f"expected a finite number, got {value!r}", "write a plain number such as 168e6 or 0.5")
    if value < 0 or (value == 0 and rule["rule"] == "positive"):
        wanted = "a positive number" if rule["rule"] == "positive" else "a number >= 0"
        fix = "give the magnitude in SI units (joules, hertz, bytes, seconds)"
        raise BoardError(source, f"{key}.value", f"expected {wanted}, got {value!r}", fix)
    if rule["integer"]:
        if value != int(value):
            raise BoardError(source, f"{key}.value", f"expected a whole number, got {value!r}", "write a whole count")
        value = int(value)
    return SourcedValue(value, origin, confidence)


# ---------------------------------------------------------------------------------------------
# Cost model


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
class _Workload:
    """What one control step asks of a board: op counts (per control step), the memory it needs
    and the structure a neuromorphic chip must hold. ``substeps`` = network timesteps per step."""

    neuron_updates: float
    presynaptic_events: float
    synaptic_ops: float
    macs: float
    substeps: float
    weight_bits: int
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
    flash = (
        math.ceil(s * bits / 8) + s * _index_bytes(n) + (s * _index_bytes(delay + 1) if delay else 0)
        + (n_in + n + 1) * _index_bytes(s + 1) + _PARAMETER_BYTES_PER_NEURON * n + network.n_outputs * _index_bytes(n)
    )
    ram = _STATE_BYTES_PER_NEURON * n + 4 * (delay + 2) * n + 4 * n_in + 4
    work = _Workload(
        neuron_updates=counts.neuron_updates, presynaptic_events=counts.spikes + counts.input_events,
        synaptic_ops=counts.synaptic_ops, macs=counts.macs, substeps=counts.neuron_updates / n,
        weight_bits=bits, flash_bytes=flash, ram_bytes=ram, spiking=True, n_neurons=n, n_synapses=s,
        # an input channel without synapses needs no wire: the chip's limit counts the connected ones
        n_inputs=int(np.count_nonzero(np.diff(network.row_ptr[: n_in + 1]))), n_outputs=network.n_outputs,
        max_fan_in=int(np.bincount(network.target, minlength=n).max()) if s else 0,
        off_grid_neurons=_off_shift_grid(network),
    )
    return _report(_resolve(board), work, control_hz)


def dense_ann_cost(
    layer_sizes: list[int] | tuple[int, ...],
    board: BoardProfile | str | os.PathLike[str],
    control_hz: float,
    weight_bits: int = 8,
) -> CostReport:
    """Cost of one forward pass of a dense MLP ``[inputs, hidden..., outputs]`` per control step.

    MACs = sum of products of consecutive sizes; neuron updates = activations (every non-input
    neuron); no spikes. On a neuromorphic chip it is infeasible (figures charge each MAC as one
    synaptic op, for scale only).
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
    work = _Workload(
        neuron_updates=activations, presynaptic_events=0.0, synaptic_ops=macs if neuromorphic else 0.0,
        macs=0.0 if neuromorphic else macs, substeps=1.0, weight_bits=bits,
        flash_bytes=math.ceil(macs * bits / 8) + activations * (8 if bits <= 16 else 4),
        ram_bytes=2 * max(sizes) * activation_bytes, spiking=False, n_neurons=activations, n_synapses=macs,
        n_inputs=sizes[0], n_outputs=sizes[-1], max_fan_in=max(sizes[:-1]), off_grid_neurons=0,
    )
    return _report(board, work, control_hz)


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
    work = _Workload(
        neuron_updates=0.0, presynaptic_events=0.0, synaptic_ops=macs if neuromorphic else 0.0,
        macs=0.0 if neuromorphic else macs, substeps=1.0, weight_bits=_check_bits(weight_bits),
        flash_bytes=int(flash_bytes), ram_bytes=int(ram_bytes), spiking=False, n_neurons=0, n_synapses=0,
        n_inputs=0, n_outputs=0, max_fan_in=0, off_grid_neurons=0,
    )
    return _report(board, work, control_hz)


def horowitz_bound(synaptic_ops: float, macs: float) -> float:
    """Lower bound on ARITHMETIC energy only, joules: ``E_AC*synaptic_ops + E_MAC*macs``.

    E_AC = 0.9 pJ, E_MAC = 4.6 pJ (Horowitz 45 nm, as SNN papers use them; bundled profile
    ``horowitz45nm``). No memory, control or static energy: never a board's energy.
    """
    reference = _bundled()["horowitz45nm"]
    if not isinstance(reference, ArithmeticReference):  # only an edited boards.toml gets here
        raise BoardError("<bundled>/boards.toml", "boards.horowitz45nm.kind", 'expected kind = "reference"', "restore the file")
    return reference.e_ac_j * synaptic_ops + reference.e_mac_j * macs


def _report(board: BoardProfile, work: _Workload, control_hz: float) -> CostReport:
    number = isinstance(control_hz, (int, float)) and not isinstance(control_hz, bool)
    if not (number and math.isfinite(control_hz) and control_hz > 0):
        raise ValueError(f"control_hz must be a positive number, got {control_hz!r}")
    period_s = 1.0 / control_hz
    cycles, latency_s, energy_j, reasons = board._evaluate(work, period_s)
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


def _bytes(count: int) -> str:
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"


def _seconds(value: float) -> str:
    if value >= 1.0:
        return f"{value:.3g} s"
    return f"{value * 1e3:.3g} ms" if value >= 1e-3 else f"{value * 1e6:.3g} us"
