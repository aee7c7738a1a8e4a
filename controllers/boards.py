"""Embedded-board profiles: the numbers of each board, with their source and confidence.

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

The cost model (what a network costs on a profile) is :mod:`spikefly.controllers.cost_model`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from spikefly.core import SpikeflyError

if TYPE_CHECKING:
    from spikefly.controllers.cost_model import Workload

BUNDLED_PATH = Path(__file__).resolve().with_name("boards.toml")
"""The bundled board table (package data)."""

CONFIDENCES = ("A", "B", "C")
DECAY_GRIDS = ("any", "shift")
"""``any``: every decay is allowed; ``shift``: only ``beta = 1 - 2**-k`` (k = 0..30, and 1)."""

MAX_BOARD_VALUE = 1e13
"""No board figure is larger, in SI units (10 THz, 10 TB, 10 Tcycles; energies and times are tiny)."""
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
    def evaluate_step(self, work: Workload, period_s: float) -> tuple[float, float, float, list[str]]:
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
    cycles_per_input_scan: float = field(default=0.0, metadata=_NON_NEGATIVE)
    """c_in: looking at one input channel in one substep for an event (the C export's input loop
    visits every connected channel; 0 when not measured for the board)."""
    cycles_per_activation: float = field(default=0.0, metadata=_NON_NEGATIVE)
    """c_act: one output neuron of a dense layer besides its MACs (bias, loop set-up, requantisation
    shift, clamp, store; 0 when not measured for the board)."""

    def evaluate_step(self, work: Workload, period_s: float) -> tuple[float, float, float, list[str]]:
        mac_cycles = self.cycles_per_int8_mac if work.weight_bits <= 8 else self.cycles_per_fp32_mac
        cycles = (
            self.cycles_per_neuron_update * work.neuron_updates
            + self.cycles_per_spike * work.presynaptic_events
            + self.cycles_per_synaptic_op * work.synaptic_ops
            + mac_cycles * work.macs
            + self.cycles_per_input_scan * work.input_scans
            + self.cycles_per_activation * work.activations
            + self.overhead_cycles_per_step
        )
        reasons = []
        for memory, needed, available in (
            ("flash", work.flash_bytes, self.flash_bytes), ("RAM", work.ram_bytes, self.sram_bytes),
        ):
            if needed > available:
                reasons.append(f"{memory} {format_bytes(needed)} > {format_bytes(available)} ({self.title})")
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

    def evaluate_step(self, work: Workload, period_s: float) -> tuple[float, float, float, list[str]]:
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

    def evaluate_step(self, work: Workload, period_s: float) -> tuple[float, float, float, list[str]]:
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
    except RecursionError:
        raise BoardError(source, None, "nested too deeply to read", "write boards as [boards.<name>] tables") from None
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
    if value > MAX_BOARD_VALUE:
        raise BoardError(source, f"{key}.value", f"{value!r} is beyond any board (at most {MAX_BOARD_VALUE:g})",
                         "give the magnitude in SI units (joules, hertz, bytes, seconds)")
    if rule["integer"]:
        if value != int(value):
            raise BoardError(source, f"{key}.value", f"expected a whole number, got {value!r}", "write a whole count")
        value = int(value)
    return SourcedValue(value, origin, confidence)


def format_bytes(count: int) -> str:
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"
