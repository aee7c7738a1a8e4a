"""Decoders: the network's output over the K substeps of one control step -> an action in [-1, 1].

Like the encoders, every decoder is a pure ``@njit(cache=True)`` kernel over plain arrays and
scalars plus a thin frozen-dataclass shell (settings, checks, output counts, cost, dict form).

Kernels read ``out_spikes`` uint8[K, n_out] (any non-zero entry is one spike) or
``out_membrane`` float32[K, n_out] and write ``action`` float32[n_actions], every entry finite
and in [-1, 1] whatever the input (NaN membranes read as 0, infinities saturate). Outputs are
action-major: the neurons of action ``a`` are ``a * per_action ... a * per_action + per_action - 1``.
A decoder that carries state between control steps (the rate decoder with a hold) reads and
writes it in a float32 array of :meth:`Decoder.state_size`, as a stateful encoder does; a
controller zeroes it with the network at the start of an episode.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.controllers.coding import CodingCost, CodingSettings, check_count, settings_from_dict

# ---------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True)
def spike_count(out_spikes, neuron):
    """Spikes of output ``neuron`` over the K substeps of ``out_spikes`` uint8[K, n_out]."""
    count = 0
    for k in range(out_spikes.shape[0]):
        if out_spikes[k, neuron] != 0:
            count += 1
    return count


@njit(cache=True)
def decode_rate(out_spikes, signed_pairs, hold_steps, state, action):
    """Spike-count code. One neuron per action: ``2 * count / K - 1`` (silence -> -1).

    ``signed_pairs``: neurons ``2a`` (positive) and ``2a + 1`` (negative) per action:
    ``(count_pos - count_neg) / K`` (silence -> 0). ``action`` float32[n_actions] is written.

    ``hold_steps > 0``: after a control step in which action ``a``'s neurons spiked, ``a`` keeps
    that step's value through up to ``hold_steps`` silent steps (a new spike restarts the count).
    ``state`` float32[2 * n_actions] carries it: the held values, then the silent steps left.
    """
    steps = out_spikes.shape[0]
    n_actions = action.shape[0]
    for a in range(n_actions):
        if signed_pairs:
            positive, negative = spike_count(out_spikes, 2 * a), spike_count(out_spikes, 2 * a + 1)
            fired = positive + negative > 0
            value = (positive - negative) / steps
        else:
            count = spike_count(out_spikes, a)
            fired = count > 0
            value = 2.0 * count / steps - 1.0
        if hold_steps > 0:
            if fired:
                state[a] = value
                state[n_actions + a] = hold_steps
            elif state[n_actions + a] > 0:
                value = state[a]
                state[n_actions + a] -= 1
        action[a] = value


@njit(cache=True)
def decode_membrane(out_membrane, gain, use_last, action):
    """Non-spiking leaky read-out: ``tanh(gain * m)``, m the mean (or, with ``use_last``, the last) membrane over K substeps.

    ``out_membrane`` float32[K, n_actions]; NaN (also from inf - inf in the mean) reads as 0 so the
    action is always finite. ``action`` float32[n_actions] is written.
    """
    steps = out_membrane.shape[0]
    for a in range(action.shape[0]):
        if use_last:
            level = np.float64(out_membrane[steps - 1, a])
        else:
            total = 0.0
            for k in range(steps):
                total += out_membrane[k, a]
            level = total / steps
        value = math.tanh(gain * level)
        action[a] = value if not math.isnan(value) else 0.0


@njit(cache=True)
def decode_population(out_spikes, group_size, action):
    """Population vector: neurons ``a * G + i`` prefer ``-1 + 2i / (G - 1)``; action = spike-weighted mean preference.

    ``sum_i count_i * pref_i / max(sum_i count_i, 1)``, so silence -> 0. ``action``
    float32[n_actions] is written.
    """
    for a in range(action.shape[0]):
        weighted = 0.0
        total = 0
        for i in range(group_size):
            count = spike_count(out_spikes, a * group_size + i)
            weighted += count * (-1.0 + 2.0 * i / (group_size - 1.0))
            total += count
        action[a] = min(max(weighted / max(total, 1), -1.0), 1.0)


# ---------------------------------------------------------------------------------------------
# Settings shells


class Decoder(CodingSettings):
    """Base of the decoder settings; subclasses implement ``per_action``, ``_decode``, ``cost``."""

    role: ClassVar[str] = "decoder"
    reads: ClassVar[str] = "spikes"
    """``"spikes"`` (reads out_spikes) or ``"membrane"`` (reads out_membrane of non-spiking read-outs)."""
    neutral: ClassVar[float] = 0.0
    """The action a silent (all-zero) output decodes to (with no hold under way)."""

    @property
    def per_action(self) -> int:
        return 1

    def n_outputs_needed(self, n_actions: int) -> int:
        """Output neurons the network needs for ``n_actions`` actions."""
        return check_count("n_actions", n_actions) * self.per_action

    def state_size(self, n_actions: int) -> int:
        """Length of the float32 state this decoder carries between control steps (0 if none)."""
        return 0

    def initial_state(self, n_actions: int) -> NDArray[np.float32]:
        """The state float32[state_size(n_actions)] at the start of an episode (zeros)."""
        return np.zeros(self.state_size(n_actions), dtype=np.float32)

    @abstractmethod
    def cost(self, n_actions: int, steps_per_action: int) -> CodingCost:
        """Upper-bound cost per control step of decoding ``n_actions`` actions from ``steps_per_action`` substeps."""

    def decode(self, outputs: NDArray[np.uint8] | NDArray[np.float32], n_actions: int,
               state: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
        """Decode one control step: ``outputs`` is out_spikes uint8[K, n_out] or out_membrane float32[K, n_out] (see ``reads``).

        ``state`` (float32[state_size(n_actions)], updated in place) is needed by a decoder that
        carries state; start an episode with :meth:`initial_state`. A Python convenience around
        the kernel (shape and dtype checks); compiled loops call the kernel directly.
        """
        dtype = np.uint8 if self.reads == "spikes" else np.float32
        name = "out_spikes" if self.reads == "spikes" else "out_membrane"
        needed = self.n_outputs_needed(n_actions)
        if not isinstance(outputs, np.ndarray) or outputs.dtype != dtype or outputs.ndim != 2 \
                or outputs.shape[0] < 1 or outputs.shape[1] != needed:
            got = (outputs.dtype, outputs.shape) if isinstance(outputs, np.ndarray) else type(outputs).__name__
            raise ValueError(f"{self.kind} decoder reads {name} {np.dtype(dtype).name}[K, {needed}] for {n_actions} "
                             f"action(s), got {got}")
        size = self.state_size(n_actions)
        if size and not (isinstance(state, np.ndarray) and state.dtype == np.float32 and state.shape == (size,)
                         and state.flags.c_contiguous):
            got = (state.dtype, state.shape) if isinstance(state, np.ndarray) else type(state).__name__
            raise ValueError(f"{self.kind} decoder needs state float32[{size}], contiguous, got {got}. "
                             "Fix: state = decoder.initial_state(n_actions)")
        action = np.empty(n_actions, dtype=np.float32)
        self._decode(np.ascontiguousarray(outputs), state if size else np.zeros(0, np.float32), action)
        return action

    @abstractmethod
    def _decode(self, outputs, state, action) -> None:
        """Call the kernel with checked arrays (the hook each decoder implements)."""


@dataclass(frozen=True)
class RateDecoder(Decoder):
    """Spike-count decoder (kernel :func:`decode_rate`).

    ``signed_pairs = False``: one neuron per action, ``2 * count / K - 1`` — silence gives -1,
    firing every other substep gives 0. ``signed_pairs = True``: a positive and a negative
    neuron per action, ``(count_pos - count_neg) / K`` — silence gives 0.
    ``hold_steps``: an action keeps its last spiking step's value through that many silent
    steps — a detector's hold, so that a detection the network signals with a few spikes spread
    over a second is one trigger, not one per spike (the audio task's default: 150 steps, 1.5 s).
    Cost per control step: K adds per output neuron plus 3 per action, 2 more per action with a hold.
    """

    kind: ClassVar[str] = "rate"
    added_keys: ClassVar[tuple[str, ...]] = ("hold_steps",)
    signed_pairs: bool = False
    """Two neurons (positive, negative) per action instead of one."""
    hold_steps: int = 0
    """Silent control steps through which an action keeps its last spiking value (0: no hold)."""

    def __post_init__(self) -> None:
        self._choice("signed_pairs", (False, True))
        self._integer("hold_steps", 0, 100_000)

    @property
    def per_action(self) -> int:
        return 2 if self.signed_pairs else 1

    @property
    def neutral(self) -> float:  # type: ignore[override]
        return 0.0 if self.signed_pairs else -1.0

    def state_size(self, n_actions: int) -> int:
        return 2 * check_count("n_actions", n_actions) if self.hold_steps > 0 else 0

    def cost(self, n_actions: int, steps_per_action: int) -> CodingCost:
        k = check_count("steps_per_action", steps_per_action)
        hold = 2 * n_actions if self.hold_steps > 0 else 0
        return CodingCost(0, 0, self.n_outputs_needed(n_actions) * k + 3 * n_actions + hold, 0, 0,
                          4 * self.state_size(n_actions))

    def _decode(self, outputs, state, action) -> None:
        decode_rate(outputs, self.signed_pairs, self.hold_steps, state, action)


MEMBRANE_REDUCTIONS = ("mean", "last")


@dataclass(frozen=True)
class MembraneDecoder(Decoder):
    """Membrane decoder for non-spiking leaky read-out neurons (kernel :func:`decode_membrane`).

    One neuron per action: ``tanh(gain * m)`` with m the mean membrane over the K substeps
    (default; smooths the within-step ripple) or the last one. Silence (membrane 0) gives 0.
    Cost per control step per action: K adds and a divide (mean), a multiply, one tanh.
    """

    kind: ClassVar[str] = "membrane"
    reads: ClassVar[str] = "membrane"
    gain: float = 1.0
    """Scale of the membrane before tanh, > 0 (at most 1e6)."""
    reduce: str = "mean"
    """``"mean"`` over the K substeps or ``"last"`` substep."""

    def __post_init__(self) -> None:
        self._number("gain", 0.0, 1e6, low_open=True)
        self._choice("reduce", MEMBRANE_REDUCTIONS)

    def cost(self, n_actions: int, steps_per_action: int) -> CodingCost:
        k = check_count("steps_per_action", steps_per_action)
        per_action = (k + 2) if self.reduce == "mean" else 1
        return CodingCost(0, 0, check_count("n_actions", n_actions) * per_action, n_actions, 0, 0)

    def _decode(self, outputs, state, action) -> None:
        decode_membrane(outputs, self.gain, self.reduce == "last", action)


@dataclass(frozen=True)
class PopulationDecoder(Decoder):
    """Population-vector decoder (kernel :func:`decode_population`).

    G neurons per action with preferred values evenly on [-1, 1] (``-1 + 2i / (G - 1)``); the
    action is the spike-count-weighted mean preference, 0 when the group is silent.
    Cost per control step: K adds per output neuron, 3 per neuron (weight, sums), 1 divide per action.
    """

    kind: ClassVar[str] = "population"
    group_size: int = 5
    """Neurons per action, G >= 2."""

    def __post_init__(self) -> None:
        self._integer("group_size", 2)

    @property
    def per_action(self) -> int:
        return self.group_size

    def cost(self, n_actions: int, steps_per_action: int) -> CodingCost:
        k = check_count("steps_per_action", steps_per_action)
        n_out = self.n_outputs_needed(n_actions)
        return CodingCost(0, 0, n_out * (k + 3) + n_actions, 0, 0, 0)

    def _decode(self, outputs, state, action) -> None:
        decode_population(outputs, self.group_size, action)


DECODERS: dict[str, type[Decoder]] = {cls.kind: cls for cls in (RateDecoder, MembraneDecoder, PopulationDecoder)}


def decoder_from_dict(values: dict[str, object]) -> Decoder:
    """The decoder a settings dict describes, dispatching on its ``"kind"``."""
    return settings_from_dict("decoder", DECODERS, values)  # type: ignore[return-value]
