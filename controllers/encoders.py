"""Spike encoders: a float observation -> network input over the K substeps of one control step.

Every encoder is a pure ``@njit(cache=True)`` kernel over plain arrays and scalars, so a fused
population loop (physics + encoder + LIF kernel + decoder) can call it, plus a thin frozen
dataclass that holds its settings, checks them, reports channel counts and cost, and converts
to and from a JSON-able dict.

Kernels share one argument order: ``(observation, low, high, <settings...>, <state...>, out)``.

- ``observation`` float32[n_obs]: the raw observation.
- ``low``, ``high`` float32[n_obs]: its bounds (a Gymnasium Box's ``low``/``high``; finite,
  ``high > low``; see :func:`check_bounds`). Each element is first mapped to
  ``x = clip((value - low) / (high - low), 0, 1)``; NaN maps to 0.
- ``out`` float32[K, n_channels], written whole: spikes as 1.0 / 0.0, or analog input currents.
  K, the LIF substeps per control step, is ``out.shape[0]``.

Channels are element-major: the channels of observation element ``i`` are
``i * per_element ... i * per_element + per_element - 1``.

Costs (see :class:`CodingCost`) count per control step for the whole observation. Input spikes
later cost one synaptic op per fan-out synapse in the network; analog inputs cost one
multiply-accumulate (MAC) per fan-out synapse per substep. "Arithmetic" counts the encoder's own
adds, multiplies, divisions and compares (normalising one element counts 4).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.controllers.coding import (
    CodingCost,
    CodingSettings,
    check_bounds,
    check_count,
    settings_from_dict,
)
from spikefly.controllers.counter_rng import uniform01

_NORMALISE_OPS = 4
_DELTA_TOLERANCE = 1e-4
"""A change within this fraction of a threshold step of a whole step counts as the whole step,
so float32 rounding of the observation or the state never swallows a crossing."""


# ---------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True)
def normalise(value, low, high):
    """``clip((value - low) / (high - low), 0, 1)`` as float64; NaN and degenerate bounds give 0."""
    span = np.float64(high) - np.float64(low)
    if not span > 0.0:
        return 0.0
    x = (np.float64(value) - np.float64(low)) / span
    if x > 1.0:
        return 1.0
    if x >= 0.0:
        return x
    return 0.0


@njit(cache=True)
def encode_rate(observation, low, high, max_rate, key, counter, out):
    """Bernoulli rate code: channel i spikes in substep k with probability ``max_rate * x_i``.

    The uniform for (substep k, channel i) is ``uniform01(key, counter * K + k, i)``: ``counter``
    is the control-step index, so draws depend only on (key, global substep, channel).
    ``out`` float32[K, n_obs].
    """
    steps = out.shape[0]
    key = np.uint64(key)
    first_substep = np.uint64(counter) * np.uint64(steps)
    for i in range(observation.shape[0]):
        probability = max_rate * normalise(observation[i], low[i], high[i])
        channel = np.uint64(i)
        for k in range(steps):
            drawn = uniform01(key, first_substep + np.uint64(k), channel)
            out[k, i] = 1.0 if drawn < probability else 0.0


@njit(cache=True)
def encode_latency(observation, low, high, cutoff, out):
    """Time-to-first-spike: one spike at substep ``floor((1 - x) * (K - 1) + 0.5)``; none if ``x < cutoff``.

    Large values spike early (x = 1 at substep 0, x = 0 at substep K - 1); halves round up.
    ``out`` float32[K, n_obs].
    """
    out[:, :] = 0.0
    last = out.shape[0] - 1
    for i in range(observation.shape[0]):
        x = normalise(observation[i], low[i], high[i])
        if x < cutoff:
            continue
        out[math.floor((1.0 - x) * last + 0.5), i] = 1.0


@njit(cache=True)
def encode_delta(observation, low, high, threshold, last_sent, out):
    """Send-on-delta: up/down spikes for each whole ``threshold`` step x moved from ``last_sent``.

    Element i with ``d = x_i - last_sent[i]`` sends ``n = min(floor(|d| / threshold), K)`` spikes
    (a step within 1e-4 of whole counts) on channel ``2i`` (up, d > 0) or ``2i + 1`` (down), the
    j-th (j = 0..n-1) at substep ``(j * K) // n`` — evenly spread, at most one per substep. Then
    ``last_sent[i] += ±n * threshold``: the state is what the network has been told, so a jump
    larger than K steps is sent over the following control steps. ``last_sent`` float32[n_obs]
    (normalised units, updated in place); ``out`` float32[K, 2 * n_obs].
    """
    out[:, :] = 0.0
    steps = out.shape[0]
    for i in range(observation.shape[0]):
        x = normalise(observation[i], low[i], high[i])
        change = (x - np.float64(last_sent[i])) / threshold
        channel = 2 * i
        sign = 1.0
        if change < 0.0:
            channel += 1
            sign = -1.0
            change = -change
        count = min(math.floor(change + _DELTA_TOLERANCE), steps)
        for j in range(count):
            out[(j * steps) // count, channel] = 1.0
        last_sent[i] = np.float64(last_sent[i]) + sign * count * threshold


@njit(cache=True)
def prime_delta_state(observation, low, high, last_sent):
    """Set ``last_sent`` float32[n_obs] to the normalised observation, so an episode starts silent."""
    for i in range(observation.shape[0]):
        last_sent[i] = normalise(observation[i], low[i], high[i])


@njit(cache=True)
def field_intensity(x, field, n_fields, sigma):
    """Gaussian receptive field ``field`` of ``n_fields``: ``exp(-(x - c)^2 / (2 sigma^2))``, centres evenly on [0, 1]."""
    centre = 0.5 if n_fields == 1 else field / (n_fields - 1.0)
    distance = x - centre
    return math.exp(-distance * distance / (2.0 * sigma * sigma))


@njit(cache=True)
def encode_population_current(observation, low, high, n_fields, sigma, out):
    """Gaussian receptive fields as analog current: channel ``i * M + j`` carries field j's intensity of x_i at every substep.

    ``out`` float32[K, n_obs * M], values in (0, 1].
    """
    for i in range(observation.shape[0]):
        x = normalise(observation[i], low[i], high[i])
        for j in range(n_fields):
            intensity = field_intensity(x, j, n_fields, sigma)
            for k in range(out.shape[0]):
                out[k, i * n_fields + j] = intensity


@njit(cache=True)
def encode_population_spikes(observation, low, high, n_fields, sigma, max_rate, accumulator, out):
    """Gaussian receptive fields as regular spikes: integrate ``max_rate * intensity`` per substep, spike and subtract 1 at >= 1.

    Deterministic; a channel sends ``K * max_rate * intensity`` spikes per control step to within
    one, and exactly that on average since the remainder carries over. ``accumulator``
    float32[n_obs * M] (updated in place, start at 0); ``out`` float32[K, n_obs * M].
    """
    for i in range(observation.shape[0]):
        x = normalise(observation[i], low[i], high[i])
        for j in range(n_fields):
            channel = i * n_fields + j
            drive = max_rate * field_intensity(x, j, n_fields, sigma)
            charge = np.float64(accumulator[channel])
            for k in range(out.shape[0]):
                charge += drive
                if charge >= 1.0:
                    charge -= 1.0
                    out[k, channel] = 1.0
                else:
                    out[k, channel] = 0.0
            accumulator[channel] = charge


@njit(cache=True)
def encode_direct(observation, low, high, signed, out):
    """Direct current injection: x (or ``2x - 1`` when ``signed``) at every substep. ``out`` float32[K, n_obs]."""
    for i in range(observation.shape[0]):
        x = normalise(observation[i], low[i], high[i])
        if signed:
            x = 2.0 * x - 1.0
        for k in range(out.shape[0]):
            out[k, i] = x


@njit(cache=True)
def encode_level(observation, low, high, n_levels, out):
    """Level-threshold (thermometer) code: channel ``i * L + j`` spikes at substep 0 while ``x_i >= (j + 1) / (L + 1)``.

    ``out`` float32[K, n_obs * L].
    """
    out[:, :] = 0.0
    for i in range(observation.shape[0]):
        x = normalise(observation[i], low[i], high[i])
        for j in range(n_levels):
            if x >= (j + 1.0) / (n_levels + 1.0):
                out[0, i * n_levels + j] = 1.0


# ---------------------------------------------------------------------------------------------
# Settings shells


class Encoder(CodingSettings):
    """Base of the encoder settings; subclasses implement the hooks ``n_channels``, ``_encode``, ``cost``."""

    role: ClassVar[str] = "encoder"
    state_per_channel: ClassVar[bool] = False
    """Whether the state has one float32 per channel (else one per observation element)."""
    has_state: ClassVar[bool] = False

    def n_channels(self, n_obs: int) -> int:
        """Network inputs needed for ``n_obs`` observation elements."""
        return check_count("n_obs", n_obs)

    def state_size(self, n_obs: int) -> int:
        """Length of the float32 state this encoder carries between control steps (0 if none)."""
        if not self.has_state:
            return 0
        return self.n_channels(n_obs) if self.state_per_channel else check_count("n_obs", n_obs)

    def initial_state(self, n_obs: int) -> NDArray[np.float32]:
        """The state float32[state_size(n_obs)] at the start of an episode (zeros)."""
        return np.zeros(self.state_size(n_obs), dtype=np.float32)

    @abstractmethod
    def cost(self, n_obs: int, steps_per_action: int) -> CodingCost:
        """Upper-bound cost per control step of encoding ``n_obs`` elements over ``steps_per_action`` substeps."""

    def encode(
        self,
        observation: NDArray[np.floating],
        low: NDArray[np.floating],
        high: NDArray[np.floating],
        steps_per_action: int,
        state: NDArray[np.float32] | None = None,
        key: int = 0,
        counter: int = 0,
    ) -> NDArray[np.float32]:
        """Encode one observation: float32[steps_per_action, n_channels(n_obs)]; ``state`` is updated in place.

        A Python convenience around the kernel (shape checks, allocation); compiled loops call the
        kernel directly. ``key`` (uint64) and ``counter`` (control-step index) matter only to
        random encoders.
        """
        low32, high32 = check_bounds(low, high)
        observation32 = np.ascontiguousarray(observation, dtype=np.float32)
        if observation32.shape != low32.shape:
            raise ValueError(f"observation has shape {observation32.shape}, its bounds {low32.shape}")
        n_obs = observation32.shape[0]
        steps = check_count("steps_per_action", steps_per_action)
        if self.has_state and (state is None or state.dtype != np.float32 or state.shape != (self.state_size(n_obs),)
                               or not state.flags.c_contiguous):
            raise ValueError(
                f"{self.kind} encoder needs state float32[{self.state_size(n_obs)}], contiguous, got "
                f"{None if state is None else (state.dtype, state.shape)}. Fix: state = encoder.initial_state(n_obs)"
            )
        for name, value in (("key", key), ("counter", counter)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= int(value) < 2**64:
                raise ValueError(f"{name}={value!r}: must be an integer in [0, 2^64)")
        out = np.empty((steps, self.n_channels(n_obs)), dtype=np.float32)
        self._encode(observation32, low32, high32, state, np.uint64(key), np.uint64(counter), out)
        return out

    @abstractmethod
    def _encode(self, observation, low, high, state, key, counter, out) -> None:
        """Call the kernel with checked arrays (the hook each encoder implements)."""


@dataclass(frozen=True)
class RateEncoder(Encoder):
    """Bernoulli rate code (kernel :func:`encode_rate`): each substep, channel i spikes with probability ``max_rate * x_i``.

    Channels: n_obs. State: none; randomness from ``(key, counter * K + substep, channel)`` via
    :mod:`counter_rng`, so it is reproducible in any evaluation order.
    Cost per element per control step: on average ``K * max_rate * x`` spikes (at most
    ``K * max_rate`` expected, K in the worst case); arithmetic 5 + K (normalise, probability, a
    compare per substep) and K random draws.
    """

    kind: ClassVar[str] = "rate"
    max_rate: float = 0.5
    """Spike probability per substep at x = 1, in (0, 1]."""

    def __post_init__(self) -> None:
        self._number("max_rate", 0.0, 1.0, low_open=True)

    def cost(self, n_obs: int, steps_per_action: int) -> CodingCost:
        n, k = check_count("n_obs", n_obs), check_count("steps_per_action", steps_per_action)
        return CodingCost(n * k, 0, n * (_NORMALISE_OPS + 1 + k), 0, n * k, 0)

    def _encode(self, observation, low, high, state, key, counter, out) -> None:
        encode_rate(observation, low, high, self.max_rate, key, counter, out)


@dataclass(frozen=True)
class LatencyEncoder(Encoder):
    """Time-to-first-spike (kernel :func:`encode_latency`): one spike per element at substep ``round((1 - x)(K - 1))``.

    Channels: n_obs. State: none. Elements with ``x < cutoff`` stay silent.
    Cost per element per control step: at most 1 spike; arithmetic 8 (normalise, cutoff compare,
    subtract, multiply, round).
    """

    kind: ClassVar[str] = "latency"
    cutoff: float = 0.05
    """Normalised values below this send no spike, in [0, 1] (0: every element always spikes)."""

    def __post_init__(self) -> None:
        self._number("cutoff", 0.0, 1.0)

    def cost(self, n_obs: int, steps_per_action: int) -> CodingCost:
        n = check_count("n_obs", n_obs)
        check_count("steps_per_action", steps_per_action)
        return CodingCost(n, 0, n * (_NORMALISE_OPS + 4), 0, 0, 0)

    def _encode(self, observation, low, high, state, key, counter, out) -> None:
        encode_latency(observation, low, high, self.cutoff, out)


@dataclass(frozen=True)
class DeltaEncoder(Encoder):
    """Send-on-delta (kernel :func:`encode_delta`): up/down spikes per whole ``threshold`` step of change.

    Channels: 2 per element (``2i`` up, ``2i + 1`` down). State: ``last_sent`` float32[n_obs], the
    normalised value the network has been told (zeros at episode start, so the first observation
    arrives as up-spikes; :func:`prime_delta_state` starts from the observation instead).
    Cost per element per control step: ``min(|change| / threshold, K)`` spikes, at most K;
    arithmetic 9 + 2K at most (normalise, difference, divide, floor, cap, state update, spike
    placement); 4 bytes of state.
    """

    kind: ClassVar[str] = "delta"
    has_state: ClassVar[bool] = True
    threshold: float = 0.05
    """Change of the normalised value per spike, in (0, 1]."""

    def __post_init__(self) -> None:
        self._number("threshold", 0.0, 1.0, low_open=True)

    def n_channels(self, n_obs: int) -> int:
        return 2 * check_count("n_obs", n_obs)

    def cost(self, n_obs: int, steps_per_action: int) -> CodingCost:
        n, k = check_count("n_obs", n_obs), check_count("steps_per_action", steps_per_action)
        return CodingCost(n * k, 0, n * (_NORMALISE_OPS + 5 + 2 * k), 0, 0, 4 * n)

    def _encode(self, observation, low, high, state, key, counter, out) -> None:
        encode_delta(observation, low, high, self.threshold, state, out)


POPULATION_OUTPUTS = ("current", "spikes")


@dataclass(frozen=True)
class PopulationEncoder(Encoder):
    """Gaussian receptive fields: M channels per element, centres ``j / (M - 1)`` on [0, 1] (0.5 if M = 1).

    Channel ``i * M + j`` has intensity ``exp(-(x_i - c_j)^2 / (2 sigma^2))``, delivered as
    ``output = "current"`` (kernel :func:`encode_population_current`): that analog value at every
    substep; or ``"spikes"`` (kernel :func:`encode_population_spikes`): regular integrate-and-fire
    spikes, ``K * max_rate * intensity`` per control step on average, from an accumulator
    float32[n_obs * M] carried between steps (state; zeros at episode start).
    Cost per element per control step: M exp, arithmetic 4 + 3M, plus for spikes 3 per channel
    per substep; analog inputs M * K (current) or at most M * K spikes (spikes); state 4M bytes
    (spikes).
    """

    kind: ClassVar[str] = "population"
    state_per_channel: ClassVar[bool] = True
    n_fields: int = 5
    """Receptive fields (channels) per observation element, M >= 1."""
    sigma: float = 0.125
    """Width of each field in normalised units, in (0, 1] (half the centre spacing for M = 5)."""
    output: str = "current"
    """``"current"`` (analog intensity) or ``"spikes"`` (regular spikes from an accumulator)."""
    max_rate: float = 1.0
    """Spikes per substep at intensity 1, in (0, 1] (``"spikes"`` only)."""

    def __post_init__(self) -> None:
        self._integer("n_fields", 1)
        self._number("sigma", 0.0, 1.0, low_open=True)
        self._choice("output", POPULATION_OUTPUTS)
        self._number("max_rate", 0.0, 1.0, low_open=True)

    @property
    def has_state(self) -> bool:  # type: ignore[override]
        return self.output == "spikes"

    def n_channels(self, n_obs: int) -> int:
        return check_count("n_obs", n_obs) * self.n_fields

    def cost(self, n_obs: int, steps_per_action: int) -> CodingCost:
        n, k = check_count("n_obs", n_obs), check_count("steps_per_action", steps_per_action)
        m = self.n_fields
        arithmetic = n * (_NORMALISE_OPS + 3 * m)
        if self.output == "current":
            return CodingCost(0, n * m * k, arithmetic, n * m, 0, 0)
        return CodingCost(n * m * k, 0, arithmetic + 3 * n * m * k, n * m, 0, 4 * n * m)

    def _encode(self, observation, low, high, state, key, counter, out) -> None:
        if self.output == "current":
            encode_population_current(observation, low, high, self.n_fields, self.sigma, out)
        else:
            encode_population_spikes(observation, low, high, self.n_fields, self.sigma, self.max_rate, state, out)


@dataclass(frozen=True)
class DirectEncoder(Encoder):
    """Direct current injection (kernel :func:`encode_direct`): x, or ``2x - 1`` when ``signed``, at every substep.

    Channels: n_obs. State: none. Cost per element per control step: K analog inputs (MACs in the
    network, not synaptic ops); arithmetic 4 (6 when signed).
    """

    kind: ClassVar[str] = "direct"
    signed: bool = False
    """Map to [-1, 1] (``2x - 1``) instead of [0, 1]."""

    def __post_init__(self) -> None:
        self._choice("signed", (False, True))

    def cost(self, n_obs: int, steps_per_action: int) -> CodingCost:
        n, k = check_count("n_obs", n_obs), check_count("steps_per_action", steps_per_action)
        return CodingCost(0, n * k, n * (_NORMALISE_OPS + (2 if self.signed else 0)), 0, 0, 0)

    def _encode(self, observation, low, high, state, key, counter, out) -> None:
        encode_direct(observation, low, high, self.signed, out)


@dataclass(frozen=True)
class LevelEncoder(Encoder):
    """Level-threshold (thermometer) code (kernel :func:`encode_level`), for gain-controlled audio bands.

    L channels per element with thresholds ``(j + 1) / (L + 1)``; channel ``i * L + j`` spikes
    once, at substep 0, in every control step while ``x_i`` is at or above its threshold.
    State: none. Cost per element per control step: at most L spikes; arithmetic 4 + L.
    """

    kind: ClassVar[str] = "level"
    n_levels: int = 4
    """Thresholds (channels) per element, L >= 1."""

    def __post_init__(self) -> None:
        self._integer("n_levels", 1)

    def n_channels(self, n_obs: int) -> int:
        return check_count("n_obs", n_obs) * self.n_levels

    def cost(self, n_obs: int, steps_per_action: int) -> CodingCost:
        n = check_count("n_obs", n_obs)
        check_count("steps_per_action", steps_per_action)
        return CodingCost(n * self.n_levels, 0, n * (_NORMALISE_OPS + self.n_levels), 0, 0, 0)

    def _encode(self, observation, low, high, state, key, counter, out) -> None:
        encode_level(observation, low, high, self.n_levels, out)


ENCODERS: dict[str, type[Encoder]] = {
    cls.kind: cls for cls in (RateEncoder, LatencyEncoder, DeltaEncoder, PopulationEncoder, DirectEncoder, LevelEncoder)
}


def encoder_from_dict(values: dict[str, object]) -> Encoder:
    """The encoder a settings dict describes, dispatching on its ``"kind"``."""
    return settings_from_dict("encoder", ENCODERS, values)  # type: ignore[return-value]
