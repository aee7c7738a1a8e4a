"""The controller file: a spiking controller as plain JSON (never a pickle).

A stranger's controller file cannot run code when loaded: it is JSON, checked key by key, and
rebuilt into arrays. A malformed, truncated or foreign file raises :class:`ControllerFileError`
naming the file, the key and the fix. Saving then loading gives back equal arrays, bit for bit
(float32 values are written as the shortest decimal that reads back to the same float32).

Layout (``format_version`` 1)::

    {"format": "spikefly-controller", "format_version": 1, "spikefly_version": "...",
     "env": {"id": ..., "settings": {...}, "observation_low": [...], "observation_high": [...],
             "n_actions": 4},
     "network": {"arithmetic": "float32" | "integer", "n_inputs": ..., "n_neurons": ...,
                 "output_index": [...], "neurons": {<per-neuron arrays>},
                 "synapses": {"source": [...], "target": [...], "weight": [...], "delay": [...]},
                 (integer only) "fractional_bits": F, "input_fractional_bits": Fi},
     "encoder": {"kind": ..., ...}, "decoder": {"kind": ..., ...}, "steps_per_action": K,
     "board": {...} | null, "fitness": {term: value} | null, "generation": int | null,
     "metadata": {...}}
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers.coding import CodingSettingsError
from spikefly.controllers.decoders import Decoder, decoder_from_dict
from spikefly.controllers.encoders import Encoder, encoder_from_dict
from spikefly.controllers.network import IntegerLIFNetwork, LIFNetwork
from spikefly.controllers.spiking_controller import SpikingController
from spikefly.core import SpikeflyError

FORMAT = "spikefly-controller"
FORMAT_VERSION = 1

_FLOAT_NEURON_FIELDS = {
    "threshold": np.float32, "beta": np.float32, "bias": np.float32, "adaptation_increment": np.float32,
    "adaptation_decay": np.float32, "refractory_steps": np.int32, "reset_mode": np.int8, "spiking": np.bool_,
}
_INTEGER_NEURON_FIELDS = {
    "weight_multiplier": np.int32, "threshold": np.int32, "bias": np.int32, "decay_mode": np.int8,
    "decay_shift": np.int8, "beta_q15": np.int32, "adaptation_increment": np.int32, "adaptation_decay_q15": np.int32,
    "refractory_steps": np.int32, "reset_mode": np.int8, "spiking": np.bool_,
}


class ControllerFileError(SpikeflyError):
    """A controller file that cannot be read: the message names the file, the key and the fix."""


@dataclass(frozen=True, eq=False)
class ControllerSpec:
    """Everything a controller file holds: the network, its coding, and where it came from."""

    network: LIFNetwork | IntegerLIFNetwork
    encoder: Encoder
    decoder: Decoder
    steps_per_action: int
    """LIF substeps per control step (K)."""
    observation_low: NDArray[np.float32]
    """float32[n_obs]: lower bounds of the observation space the controller was evolved for."""
    observation_high: NDArray[np.float32]
    """float32[n_obs]: upper bounds of that observation space."""
    n_actions: int
    env_id: str
    """Gymnasium id of the environment, e.g. ``spikefly/QuadrotorAvoid-v0``."""
    env_settings: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments the env was made with (JSON values), so evaluation rebuilds the same spaces."""
    board: dict[str, Any] | None = None
    """The board the fitness charged for, and its figures for this network."""
    fitness: dict[str, float] | None = None
    """Named fitness terms of this controller when it was selected."""
    generation: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def controller(self, *, seed: int = 0) -> SpikingController:
        """A ready-to-act controller for this spec."""
        return SpikingController(
            self.network, self.encoder, self.decoder, self.steps_per_action, self.observation_low,
            self.observation_high, self.n_actions, seed=seed,
        )


def _package_version() -> str:
    try:
        return version("spikefly")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _floats(values: NDArray) -> list[float]:
    # float32 -> float64 is exact, and json writes the shortest repr that reads back exactly.
    return [float(v) for v in np.asarray(values, dtype=np.float64)]


def _network_to_dict(network: LIFNetwork | IntegerLIFNetwork) -> dict[str, Any]:
    source, target, weight, delay = network.edges()
    integer = isinstance(network, IntegerLIFNetwork)
    names = _INTEGER_NEURON_FIELDS if integer else _FLOAT_NEURON_FIELDS
    neurons = {}
    for name, dtype in names.items():
        values = getattr(network, name)
        neurons[name] = _floats(values) if dtype == np.float32 else [v.item() for v in np.asarray(values)]
    document: dict[str, Any] = {
        "arithmetic": "integer" if integer else "float32",
        "n_inputs": network.n_inputs,
        "n_neurons": network.n_neurons,
        "output_index": [int(v) for v in network.output_index],
        "neurons": neurons,
        "synapses": {
            "source": [int(v) for v in source],
            "target": [int(v) for v in target],
            "weight": [int(v) for v in weight] if integer else _floats(weight),
            "delay": [int(v) for v in delay],
        },
    }
    if integer:
        document["fractional_bits"] = network.fractional_bits
        document["input_fractional_bits"] = network.input_fractional_bits
    return document


def to_dict(spec: ControllerSpec) -> dict[str, Any]:
    """The JSON document of a controller."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spikefly_version": _package_version(),
        "env": {
            "id": spec.env_id,
            "settings": spec.env_settings,
            "observation_low": _floats(spec.observation_low),
            "observation_high": _floats(spec.observation_high),
            "n_actions": spec.n_actions,
        },
        "network": _network_to_dict(spec.network),
        "encoder": spec.encoder.to_dict(),
        "decoder": spec.decoder.to_dict(),
        "steps_per_action": spec.steps_per_action,
        "board": spec.board,
        "fitness": spec.fitness,
        "generation": spec.generation,
        "metadata": spec.metadata,
    }


def save(spec: ControllerSpec, path: str | os.PathLike[str]) -> Path:
    """Write ``spec`` as JSON atomically (a crash never leaves half a file). Returns the path."""
    path = Path(path)
    text = json.dumps(to_dict(spec), indent=1, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class _Reader:
    """Reads keys of a parsed document, raising ControllerFileError with file, key and fix."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str, fix: str) -> ControllerFileError:
        return ControllerFileError(f"{self.source}: {key}: {problem}. Fix: {fix}")

    def get(self, table: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...], fix: str) -> Any:
        name = f"{where}.{key}" if where else key
        if key not in table:
            return self._missing(name, fix)
        value = table[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(name, f"expected {self._kind_name(kind)}, got a boolean", fix)
        if not isinstance(value, kind):
            raise self.fail(name, f"expected {self._kind_name(kind)}, got {type(value).__name__}", fix)
        return value

    def _missing(self, name: str, fix: str) -> Any:
        raise self.fail(name, "missing (the file may be truncated or written by another tool)", fix)

    @staticmethod
    def _kind_name(kind: type | tuple[type, ...]) -> str:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        return " or ".join({dict: "an object", list: "a list", str: "a string", int: "an integer",
                            float: "a number", bool: "true/false", type(None): "null"}.get(k, k.__name__) for k in kinds)

    def array(self, table: dict[str, Any], key: str, where: str, dtype: type, length: int | None) -> NDArray:
        name = f"{where}.{key}"
        values = self.get(table, key, where, list, f"give {key} as a list of numbers")
        if length is not None and len(values) != length:
            raise self.fail(name, f"has {len(values)} values, expected {length}", "the file is inconsistent; re-export it")
        numeric = (int, float) if dtype in (np.float32, np.float64) else (int,)
        for index, value in enumerate(values):
            if isinstance(value, bool) and dtype != np.bool_:
                raise self.fail(f"{name}[{index}]", "expected a number, got a boolean", "re-export the file")
            if dtype == np.bool_:
                if not isinstance(value, bool):
                    raise self.fail(f"{name}[{index}]", f"expected true/false, got {value!r}", "re-export the file")
            elif not isinstance(value, numeric) or (isinstance(value, float) and not math.isfinite(value)):
                expected = "a finite number" if numeric == (int, float) else "an integer"
                raise self.fail(f"{name}[{index}]", f"expected {expected}, got {value!r}", "re-export the file")
        if dtype == np.float32 and values:
            largest = max(abs(float(value)) for value in values)
            if largest > float(np.finfo(np.float32).max):
                raise self.fail(name, f"value {largest:g} does not fit float32", "re-export the file")
        try:
            return np.ascontiguousarray(np.array(values, dtype=dtype if dtype != np.float32 else np.float64).astype(dtype))
        except OverflowError as error:
            raise self.fail(name, f"a value does not fit {np.dtype(dtype).name} ({error})", "re-export the file") from error


def _network_from_dict(reader: _Reader, table: dict[str, Any]) -> LIFNetwork | IntegerLIFNetwork:
    where = "network"
    arithmetic = reader.get(table, "arithmetic", where, str, 'set "arithmetic" to "float32" or "integer"')
    if arithmetic not in ("float32", "integer"):
        raise reader.fail("network.arithmetic", f"unknown value {arithmetic!r}", 'use "float32" or "integer"')
    n_inputs = reader.get(table, "n_inputs", where, int, "give the number of input channels")
    n_neurons = reader.get(table, "n_neurons", where, int, "give the number of neurons")
    for key, value, low in (("n_inputs", n_inputs, 1), ("n_neurons", n_neurons, 1)):
        if not low <= value <= MAX_UNITS:
            raise reader.fail(f"network.{key}", f"{value} is outside [{low}, {MAX_UNITS:,}]", "re-export the file")
    output_index = reader.array(table, "output_index", where, np.int32, None)
    neuron_table = reader.get(table, "neurons", where, dict, "give the per-neuron arrays")
    synapse_table = reader.get(table, "synapses", where, dict, "give the synapse lists")
    integer = arithmetic == "integer"
    names = _INTEGER_NEURON_FIELDS if integer else _FLOAT_NEURON_FIELDS
    unknown = sorted(set(neuron_table) - set(names))
    if unknown:
        raise reader.fail(f"network.neurons.{unknown[0]}", "unknown key", f"valid keys: {sorted(names)}")
    neurons = {name: reader.array(neuron_table, name, "network.neurons", dtype, n_neurons) for name, dtype in names.items()}
    source = reader.array(synapse_table, "source", "network.synapses", np.int64, None)
    count = len(source)
    target = reader.array(synapse_table, "target", "network.synapses", np.int32, count)
    weight = reader.array(synapse_table, "weight", "network.synapses", np.int8 if integer else np.float32, count)
    delay = reader.array(synapse_table, "delay", "network.synapses", np.int32, count)
    if count and (delay.min() < 0 or delay.max() > MAX_DELAY):
        raise reader.fail("network.synapses.delay", f"delays must lie in [0, {MAX_DELAY}] steps", "re-export the file")
    if count and (source.min() < 0 or source.max() >= n_inputs + n_neurons):
        raise reader.fail("network.synapses.source", f"values must lie in [0, {n_inputs + n_neurons})", "re-export the file")
    if np.any(np.diff(source) < 0):
        raise reader.fail("network.synapses.source", "must be sorted (synapses are stored by source)", "re-export the file")
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(source, minlength=n_inputs + n_neurons))]).astype(np.int32)
    try:
        if not integer:
            return LIFNetwork(
                n_inputs=n_inputs, n_neurons=n_neurons, output_index=output_index, row_ptr=row_ptr, target=target,
                weight=weight, delay=delay, **neurons,
            )
        return IntegerLIFNetwork(
            n_inputs=n_inputs, n_neurons=n_neurons, output_index=output_index,
            fractional_bits=reader.get(table, "fractional_bits", where, int, "give the Q.F fractional bits"),
            input_fractional_bits=reader.get(table, "input_fractional_bits", where, int, "give the input fractional bits"),
            row_ptr=row_ptr, target=target, weight=weight, delay=delay, **neurons,
        )
    except ValueError as error:
        raise ControllerFileError(f"{reader.source}: network: {error}") from error


TOP_KEYS = ("format", "format_version", "spikefly_version", "env", "network", "encoder", "decoder", "steps_per_action",
            "board", "fitness", "generation", "metadata")
ENV_KEYS = ("id", "settings", "observation_low", "observation_high", "n_actions")
MAX_UNITS = 1_000_000
"""The most input channels, neurons or actions a controller file may declare."""
MAX_DELAY = 1_000
"""The longest synaptic delay, in steps (a delay sizes every neuron's ring buffer)."""
MAX_STEPS_PER_ACTION = 1_000
MAX_BOUND = 1e6
"""The largest magnitude of an observation bound."""


def _check_extras(reader: _Reader, extras: dict[str, Any]) -> None:
    """What spikefly reads back from the optional tables has the right shape (other keys are the user's)."""
    generation = extras.get("generation")
    if generation is not None and not 0 <= generation <= 10**9:
        raise reader.fail("generation", f"{generation} is outside [0, 10^9]", "give the generation the champion came from, or null")
    board = extras.get("board")
    if board is not None and "board" in board and not (isinstance(board["board"], str) and board["board"]):
        raise reader.fail("board.board", "missing or not a board name", "give the board's name, e.g. \"stm32f405\", or set board to null")
    bits = (board or {}).get("weight_bits", 8)
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise reader.fail("board.weight_bits", f"expected a whole number from 2 to 8, got {bits!r}", "re-export the file")
    if board is not None and "feasible" in board and not isinstance(board["feasible"], bool):
        raise reader.fail("board.feasible", f"expected true or false, got {board['feasible']!r}", "re-export the file")
    for key, value in (extras.get("fitness") or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or abs(value) > MAX_BOUND:
            raise reader.fail(f"fitness.{key}", f"expected a finite number, got {value!r}", "re-export the file, or remove fitness")
    metadata = extras.get("metadata") or {}
    worlds = metadata.get("worlds")
    if "worlds" in metadata and not (isinstance(worlds, list) and 0 < len(worlds) <= 1_000
                                     and all(isinstance(world, str) and world for world in worlds)):
        raise reader.fail("metadata.worlds", f"expected a list of world names or files, got {str(worlds)[:60]}",
                          "give the worlds the controller was trained on, e.g. [\"forest\"], or remove the key")
    seed = metadata.get("run_seed")
    if "run_seed" in metadata and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64):
        raise reader.fail("metadata.run_seed", f"expected a whole number >= 0, got {seed!r}", "re-export the file")


def from_dict(document: Any, source: str = "<dict>") -> ControllerSpec:
    """Rebuild a controller from its JSON document (``source`` names it in errors)."""
    reader = _Reader(source)
    if not isinstance(document, dict):
        raise reader.fail("(top level)", f"expected a JSON object, got {type(document).__name__}", "is this a controller file?")
    kind = document.get("format")
    if kind != FORMAT:
        raise reader.fail("format", f"is {kind!r}, not {FORMAT!r}", "pass a controller file written by spikefly")
    for table, keys, where in ((document, TOP_KEYS, ""), (document.get("env"), ENV_KEYS, "env.")):
        unknown = sorted(set(table) - set(keys)) if isinstance(table, dict) else []
        if unknown:
            close = difflib.get_close_matches(unknown[0], keys, 1)
            hint = f"did you mean {close[0]!r}?" if close else f"the keys are {', '.join(keys)}"
            raise reader.fail(f"{where}{unknown[0]}", "unknown key", hint)
    if "spikefly_version" in document:
        reader.get(document, "spikefly_version", "", str, "give the version as text, or remove it")
    format_version = reader.get(document, "format_version", "", int, "re-export the file")
    if format_version > FORMAT_VERSION:
        raise reader.fail(
            "format_version", f"is {format_version}; this spikefly reads up to {FORMAT_VERSION}",
            f"upgrade spikefly (the file says it was written by {document.get('spikefly_version', 'a newer version')})",
        )
    env = reader.get(document, "env", "", dict, "add the env table")
    env_id = reader.get(env, "id", "env", str, "give the Gymnasium id the controller flies")
    low = reader.array(env, "observation_low", "env", np.float32, None)
    high = reader.array(env, "observation_high", "env", np.float32, len(low))
    n_actions = reader.get(env, "n_actions", "env", int, "give the action count")
    if len(low) and (np.abs(low).max() > MAX_BOUND or np.abs(high).max() > MAX_BOUND):
        raise reader.fail("env.observation_low/high", f"bounds beyond +-{MAX_BOUND:g}", "re-export the file")
    if np.any(high < low):
        raise reader.fail("env.observation_high", "is below observation_low somewhere", "re-export the file")
    if not 1 <= n_actions <= MAX_UNITS:
        raise reader.fail("env.n_actions", f"{n_actions} is outside [1, {MAX_UNITS:,}]", "re-export the file")
    network = _network_from_dict(reader, reader.get(document, "network", "", dict, "add the network table"))
    try:
        encoder = encoder_from_dict(reader.get(document, "encoder", "", dict, "add the encoder settings"))
        decoder = decoder_from_dict(reader.get(document, "decoder", "", dict, "add the decoder settings"))
    except CodingSettingsError as error:
        raise ControllerFileError(f"{source}: {error}") from error
    steps = reader.get(document, "steps_per_action", "", int, "give the LIF substeps per control step")
    if steps > MAX_STEPS_PER_ACTION:
        raise reader.fail(f"steps_per_action={steps}", f"at most {MAX_STEPS_PER_ACTION}", "re-export the file")
    optional = {
        "board": (dict, type(None)), "fitness": (dict, type(None)), "generation": (int, type(None)), "metadata": dict,
    }
    extras = {key: reader.get(document, key, "", kinds, f"set {key} to null or remove it") for key, kinds in optional.items() if key in document}
    _check_extras(reader, extras)
    spec = ControllerSpec(
        network=network, encoder=encoder, decoder=decoder, steps_per_action=steps, observation_low=low,
        observation_high=high, n_actions=n_actions, env_id=env_id,
        env_settings=reader.get(env, "settings", "env", dict, "give the env settings ({} for defaults)"), **extras,
    )
    try:
        spec.controller()  # the parts must fit each other: channels, outputs, bounds
    except ValueError as error:
        raise ControllerFileError(f"{source}: {error}") from error
    return spec


def load(path: str | os.PathLike[str]) -> ControllerSpec:
    """Read a controller file; anything malformed raises :class:`ControllerFileError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError as error:
        raise ControllerFileError(f"{path}: no such file. Fix: check the path (controllers are .json files)") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ControllerFileError(f"{path}: cannot read it ({error}). Fix: pass a controller .json file") from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # A cut mid-token fails a few characters before the end, not at it.
        truncated = " (it ends early: truncated?)" if len(text.rstrip()) - error.pos <= 32 else ""
        raise ControllerFileError(
            f"{path}: line {error.lineno} column {error.colno}: not valid JSON{truncated}: {error.msg}. "
            "Fix: re-export the controller; controller files are JSON written by spikefly"
        ) from error
    except RecursionError:
        raise ControllerFileError(f"{path}: nested too deeply to read (not a controller file). "
                                  "Fix: pass a controller .json file written by spikefly") from None
    return from_dict(document, str(path))
