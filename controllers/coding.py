"""What encoders and decoders share: settings as JSON-able dicts with checked keys, and cost.

Costs (see :class:`CodingCost`) count per control step for the whole observation or action
vector. Input spikes later cost one synaptic op per fan-out synapse in the network; analog
inputs cost one multiply-accumulate (MAC) per fan-out synapse per substep.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC
from dataclasses import dataclass, fields
from typing import ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from spikefly.core import SpikeflyError


class CodingSettingsError(SpikeflyError):
    """Bad encoder or decoder settings (a wrong value, or an unknown or missing key)."""


@dataclass(frozen=True)
class CodingCost:
    """What an encoder or decoder adds per control step (whole observation or action vector)."""

    max_input_spikes: int
    """Upper bound on spikes fed into the network (0 for decoders and analog encoders)."""
    analog_inputs: int
    """Analog input values fed into the network over the K substeps (each costs one MAC per
    fan-out synapse), 0 for spiking encoders and decoders."""
    arithmetic_ops: int
    """Adds, multiplies, divisions and compares of the encoder/decoder itself (an upper bound)."""
    transcendental_ops: int
    """exp / tanh evaluations."""
    random_draws: int
    """Counter-based random draws (each 6 integer multiplies + 9 shift-xors, see counter_rng)."""
    state_bytes: int
    """Bytes of state carried from one control step to the next."""


class CodingSettings(ABC):
    """Base of encoder and decoder settings: dict conversion with key checks, number checks."""

    kind: ClassVar[str]
    """Name written as ``"kind"`` in the settings dict."""
    role: ClassVar[str]
    """``"encoder"`` or ``"decoder"``, for error messages."""
    added_keys: ClassVar[tuple[str, ...]] = ()
    """Keys added after controller files were first written: a dict without one reads its default."""

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able settings: ``{"kind": ..., <field>: <value>, ...}``."""
        values: dict[str, object] = {"kind": self.kind}
        for field in fields(self):  # type: ignore[arg-type]
            values[field.name] = getattr(self, field.name)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> Self:
        """Inverse of :meth:`to_dict`; unknown, missing or wrong keys raise an error naming the key."""
        where = f"{cls.kind} {cls.role} settings"
        if not isinstance(values, dict):
            raise CodingSettingsError(f"{where}: expected a dict, got {type(values).__name__}")
        if "kind" not in values:
            raise CodingSettingsError(f"{where}: missing key 'kind'. Fix: add \"kind\": {cls.kind!r}")
        if values["kind"] != cls.kind:
            raise CodingSettingsError(f"{where}: key 'kind' is {values['kind']!r}, expected {cls.kind!r}")
        names = [field.name for field in fields(cls)]  # type: ignore[arg-type]
        for key in values:
            if key != "kind" and key not in names:
                close = difflib.get_close_matches(str(key), names, 1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise CodingSettingsError(f"{where}: unknown key {key!r}{hint}. Valid keys: {['kind', *names]}")
        for name in names:
            if name not in values and name not in cls.added_keys:
                raise CodingSettingsError(f"{where}: missing key {name!r}. Valid keys: {['kind', *names]}")
        return cls(**{name: values[name] for name in names if name in values})

    def _number(self, name: str, low: float, high: float, low_open: bool = False) -> None:
        """Check field ``name`` is a real number in [low, high] (or (low, high]); store it as float."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise CodingSettingsError(f"{self.kind} {self.role}: {name}={value!r} must be a finite number")
        inside = (low < value if low_open else low <= value) and value <= high
        if not inside:
            bracket = "(" if low_open else "["
            raise CodingSettingsError(f"{self.kind} {self.role}: {name}={value!r} must be in {bracket}{low}, {high}]")
        object.__setattr__(self, name, float(value))

    def _integer(self, name: str, minimum: int, maximum: int = 256) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise CodingSettingsError(f"{self.kind} {self.role}: {name}={value!r} must be an integer >= {minimum}")
        if value > maximum:  # channels or outputs per element: more makes networks too wide to build
            raise CodingSettingsError(f"{self.kind} {self.role}: {name}={value!r} must be at most {maximum}")

    def _choice(self, name: str, choices: tuple[object, ...]) -> None:
        value = getattr(self, name)
        if value not in choices or type(value) is not type(choices[0]):
            raise CodingSettingsError(f"{self.kind} {self.role}: {name}={value!r} must be one of {list(choices)}")


def check_count(name: str, value: int) -> int:
    """``value`` as an int, checked to be an integer >= 1 (an error naming ``name`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r}: must be an integer >= 1")
    return int(value)


def check_bounds(low: NDArray[np.floating], high: NDArray[np.floating]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Contiguous float32 copies of observation bounds, checked: 1-D, same shape, finite, high > low."""
    low32 = np.ascontiguousarray(low, dtype=np.float32)
    high32 = np.ascontiguousarray(high, dtype=np.float32)
    if low32.ndim != 1 or low32.shape != high32.shape:
        raise ValueError(f"observation bounds must be 1-D arrays of one shape; got low {low32.shape}, high {high32.shape}")
    bad = np.flatnonzero(~(np.isfinite(low32) & np.isfinite(high32) & (high32 > low32)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"observation element {i} has bounds [{low32[i]}, {high32[i]}]: encoders need finite bounds with high > low. "
            "Fix: give the observation space finite limits (clip or scale the observation)."
        )
    return low32, high32


def settings_from_dict(role: str, registry: dict[str, type[CodingSettings]], values: object) -> CodingSettings:
    """The encoder or decoder (``role``) a settings dict describes, dispatching on its ``"kind"``."""
    if not isinstance(values, dict) or "kind" not in values:
        raise CodingSettingsError(f"{role} settings: missing key 'kind' (one of {sorted(registry)})")
    kind = values["kind"]
    if not isinstance(kind, str) or kind not in registry:
        raise CodingSettingsError(f"{role} settings: key 'kind' is {kind!r}; choose one of {sorted(registry)}")
    return registry[kind].from_dict(values)
