"""Cheap audio front end: 16 kHz samples -> PCEN-normalised band energies of a resonator bank, per 10 ms.

An alternative to the log-mel :class:`spikefly.envs.audio.frontend.FrontEnd` (selected with
``AudioSettings(front_end="bands")``), built to cost a fraction of its FFT and to normalise away
non-stationary backgrounds. Per sample ``x[n]`` (the defaults of :class:`BandFrontEnd`):

1. ``v[n] = x[n] - x[n-2]``, shared by every band (zeros at DC and at 8 kHz);
2. band ``b``: a two-pole resonator ``y[n] = v[n] + c_b y[n-1] - a_b y[n-2]`` with pole radius
   ``r_b`` and angle ``theta_b = 2 pi f_b / 16000``: ``c_b = 2 r_b cos theta_b`` and
   ``a_b = r_b^2 = 1 - 2^-k_b``, so ``a_b y`` is ``y - (y >> k_b)`` in fixed point: one multiply
   per band and sample. ``k_b`` sets the -3 dB bandwidth, about ``(1 - r_b) 16000 / pi``:
   k = 2, 3, 4, 5 give ~680, 330, 160, 80 Hz.

Per frame (10 ms hop; frame ``t`` is complete after sample ``160 t + 400``, the mel front end's
frame times, so the env, the scoring and event timing are the same):

3. band power snapshots every 40 samples (4 per hop, the last in the frame's final sample):
   ``q = y (y - 2 cos(theta D) u) + u^2`` from the output ``y = y[n]`` and ``u = y[n - D]``, D
   the whole number of samples nearest a quarter period of the centre (``16000 / (4 f)``, at
   least 1): the squared envelope, ``A^2 |H|^2 sin^2(theta D)`` for a steady tone at the centre.
   With ``theta D`` near 90 degrees the estimate weighs an off-centre frequency by about its
   filter gain; the adjacent-sample form (D = 1) would weigh a 3 kHz tone 27 times too much in
   the 400 Hz band;
4. ``E_b`` = the mean of the frame's snapshots scaled by ``1 / (2 |H_b|^2 sin^2(theta_b D_b))``:
   the power of a centred sine (``A^2 / 2``; 0.125 for a sine of amplitude 0.5);
5. PCEN (per-channel energy normalisation, Wang et al. 2017, as ``librosa.pcen``), per band:
   ``M += s (E - M)`` with ``s = 1 - exp(-hop / tau)`` (M starts at the first frame's E), then
   ``out = (E / (floor + M)^alpha + delta)^root - delta^root``. A steady background gives
   ``(1 + delta)^root - delta^root`` (0.32 with the defaults) whatever its level; a tone 20 dB above
   its band's recent average gives up to ~8.7 (the env clips features at 8).

5'. or, with ``normalisation = "tonality"``, the band's share of the frame's power:
   ``out = E_b / (floor + P)``, ``P`` the mean of ``x[n]^2`` over the frame's hop (the 160 samples
   its snapshots span). A sine at a band's centre gives ~1 there and ~0 in the other bands whatever
   its level; a broadband background spreads its power and gives each band a small share. PCEN
   divides each band by its own past, so a tone lights every band that leaks a little of it above
   that band's quiet background (a 1.2 kHz beeper's third harmonic lights the 3.5 kHz band as
   brightly as an alarm); the frame's power keeps the bands apart. The Goertzel rule of
   :mod:`spikefly.evolution.baselines.audio` uses the same ratio.

Streaming equals batch exactly: :meth:`BandFrontEnd.features` is :meth:`BandFrontEnd.step` over the
whole clip, and the kernel carries every state between calls, so any chunking (one sample, odd
sizes, ...) gives bit-identical frames. :mod:`spikefly.envs.audio.band_reference` is the same
arithmetic written plainly, whose counted operations :meth:`BandFrontEnd.cost_per_frame` equals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.envs.audio.frontend import FrameTiming

NORMALISATIONS = ("pcen", "tonality")
"""The ways a band's energy becomes a feature (:attr:`BandFrontEnd.normalisation`)."""

DEFAULT_CENTRES_HZ = (400.0, 520.0, 800.0, 1200.0, 1800.0, 2400.0, 2900.0, 3100.0, 3300.0, 3500.0, 4200.0, 6000.0)
"""Context bands log-spaced over speech and music, 520 Hz (the low-frequency alarm's fundamental),
the siren range (800-1800 Hz), four bands 200 Hz apart over the T3 alarm tones (2.9-3.5 kHz), and
two above them (4.2 kHz: the 520 Hz square wave's 8th-harmonic region; 6 kHz: hiss, glass)."""

DEFAULT_BANDWIDTH_SHIFTS = (5, 5, 4, 3, 3, 3, 4, 4, 4, 4, 3, 2)
"""``k_b`` of each band (``r_b^2 = 1 - 2^-k_b``): 80 Hz wide at 400-520 Hz, 160 Hz over the alarm
tones (adjacent bands cross ~4 dB down), 330 Hz for the mid context and at 4.2 kHz (so an alarm
tone stays 10 dB down there), 680 Hz at 6 kHz."""


@njit(cache=True)
def _resonate_and_normalise(
    samples, history, ring, accumulated, smoothed, frame_power, position, started,
    feedback, decay_shift, delay, envelope_coefficient, power_scale,
    window, hop, interval, smoothing, floor, alpha, delta, root, delta_root, tonality, tonality_floor, out,
):  # fmt: skip
    """Run the bank over ``samples`` float64[N]; write complete frames into ``out`` float32[T, B].

    State, updated in place: ``history`` float64[2] (x[n-1], x[n-2]); ``ring`` float64[B, L]
    (resonator output ``y[m]`` at slot ``m % L``, the last L kept); ``accumulated`` float64[B]
    (snapshot sum of the open frame); ``smoothed`` float64[B] (PCEN's M); ``frame_power``
    float64[1] (sum of x^2 over the open frame's hop, for ``tonality``). ``decay_shift``
    float64[B] is ``2^-k_b``, ``delay`` int64[B] the envelope's quadrature delay D_b < L. Returns
    the new ``(position, started, frames written)``.
    """
    bands = feedback.shape[0]
    length = ring.shape[1]
    first_snapshot = window - hop + interval
    frame = 0
    for n in range(samples.shape[0]):
        x = samples[n]
        v = x - history[1]
        history[1] = history[0]
        history[0] = x
        now = position % length
        before = (position + length - 1) % length
        earlier = (position + length - 2) % length
        for b in range(bands):
            y1 = ring[b, before]
            y2 = ring[b, earlier]
            ring[b, now] = v + feedback[b] * y1 - y2 + y2 * decay_shift[b]
        position += 1
        if tonality and position > window - hop:
            frame_power[0] += x * x
        if position >= first_snapshot and (position - first_snapshot) % interval == 0:
            for b in range(bands):
                y = ring[b, now]
                quadrature = ring[b, (now + length - delay[b]) % length]
                accumulated[b] += y * (y - envelope_coefficient[b] * quadrature) + quadrature * quadrature
        if position >= window and (position - window) % hop == 0:
            denominator = tonality_floor + frame_power[0] * (1.0 / hop)
            frame_power[0] = 0.0
            for b in range(bands):
                energy = accumulated[b] * power_scale[b]
                accumulated[b] = 0.0
                if tonality:
                    out[frame, b] = energy / denominator
                else:
                    smoothed[b] = smoothed[b] + smoothing * (energy - smoothed[b]) if started else energy
                    out[frame, b] = (energy * (floor + smoothed[b]) ** -alpha + delta) ** root - delta_root
            started = True
            frame += 1
    return position, started, frame


class BandFrontEndState(NamedTuple):
    """Where a stream stands between calls of :meth:`BandFrontEnd.step` (arrays are never shared)."""

    position: int
    """Samples received so far."""
    history: NDArray[np.float64]
    """float64[2]: the last two input samples, x[n-1] and x[n-2]."""
    ring: NDArray[np.float64]
    """float64[bands, L]: each resonator's last L outputs, ``y[m]`` at slot ``m % L``."""
    accumulated: NDArray[np.float64]
    """float64[bands]: sum of the open frame's power snapshots."""
    smoothed: NDArray[np.float64]
    """float64[bands]: PCEN's smoothed energy M (same units as E)."""
    started: bool
    """Whether a frame has been output (before it, M is unset)."""
    frame_power: NDArray[np.float64]
    """float64[1]: sum of x^2 over the open frame's hop (``normalisation = "tonality"``)."""


@dataclass(frozen=True)
class BandFrontEnd(FrameTiming):
    """Resonator filter bank with PCEN (see the module docstring for the arithmetic)."""

    kind = "bands"

    centres_hz: tuple[float, ...] = DEFAULT_CENTRES_HZ
    """Band centre frequencies, Hz, increasing, inside (0, sample_rate / 2)."""
    bandwidth_shifts: tuple[int, ...] = DEFAULT_BANDWIDTH_SHIFTS
    """Per band ``k`` in 1..12: pole radius ``r = sqrt(1 - 2^-k)``, bandwidth ~``(1 - r) rate / pi``."""
    snapshots_per_frame: int = 4
    """Band power snapshots per hop (must divide ``hop_samples``); 4: every 2.5 ms."""
    normalisation: str = "pcen"
    """How band energy becomes a feature: ``"pcen"`` (each band over its own recent average, step 5 of
    the module docstring) or ``"tonality"`` (each band over the whole frame's power, step 5'): a tone
    lights its own band only, whatever the level."""
    tonality_floor: float = 1e-8
    """Added to the frame power before the division (``"tonality"``), so silence gives 0."""
    pcen_time_constant_s: float = 2.0
    """Time constant of PCEN's smoother M, seconds: 2 s separated the alarm best on validation clips of
    0.4 s (librosa's default), 1 s and 2 s (``benchmarks/audio_front_ends.py``, docs/audio.md)."""
    pcen_alpha: float = 1.0
    """Gain normalisation exponent: 1 divides by M exactly (level-free); librosa uses 0.98."""
    pcen_delta: float = 2.0
    """Bias added before the root compression (librosa's default)."""
    pcen_root: float = 0.5
    """Compression exponent r (0.5: a square root; librosa's default)."""
    pcen_floor: float = 1e-8
    """Added to M before the division (a sine of amplitude 0.5 has E = 0.125), so silence stays finite."""
    sample_rate: int = 16_000
    """Input sample rate, Hz."""
    window_samples: int = 400
    """Frame ``t`` is complete after sample ``t hop + window_samples``: the mel front end's frame timing."""
    hop_samples: int = 160
    """Step between frames, samples: 10 ms at 16 kHz."""

    def __post_init__(self) -> None:
        centres = tuple(float(value) for value in self.centres_hz)
        shifts = tuple(int(value) for value in self.bandwidth_shifts)
        object.__setattr__(self, "centres_hz", centres)
        object.__setattr__(self, "bandwidth_shifts", shifts)
        nyquist = self.sample_rate / 2
        if not centres or any(not 0 < f < nyquist for f in centres) or any(b <= a for a, b in zip(centres, centres[1:])):
            raise ValueError(f"centres_hz={list(centres)}: give increasing frequencies between 0 and {nyquist:g} Hz")
        if len(shifts) != len(centres) or any(not 1 <= k <= 12 for k in shifts):
            raise ValueError(f"bandwidth_shifts={list(shifts)}: give one whole number in 1..12 per band ({len(centres)} bands)")
        if self.hop_samples < 1 or self.window_samples < self.hop_samples:
            raise ValueError("need 1 <= hop_samples <= window_samples")
        if self.snapshots_per_frame < 1 or self.hop_samples % self.snapshots_per_frame:
            raise ValueError(f"snapshots_per_frame={self.snapshots_per_frame}: must divide hop_samples={self.hop_samples}")
        if not (self.pcen_time_constant_s > 0 and self.pcen_floor > 0 and self.pcen_delta >= 0):
            raise ValueError("pcen_time_constant_s and pcen_floor must be positive, pcen_delta >= 0")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation={self.normalisation!r}: give one of {list(NORMALISATIONS)}")
        if not self.tonality_floor > 0:
            raise ValueError(f"tonality_floor must be positive, got {self.tonality_floor}")
        if not (0 <= self.pcen_alpha <= 1 and 0 < self.pcen_root <= 1):
            raise ValueError(f"need 0 <= pcen_alpha <= 1 and 0 < pcen_root <= 1, got {self.pcen_alpha}, {self.pcen_root}")

    # -- derived constants ----------------------------------------------------------------

    @property
    def bands(self) -> int:
        """Number of output channels."""
        return len(self.centres_hz)

    @property
    def band_centres_hz(self) -> NDArray[np.float64]:
        """float64[bands] centre frequency of each band, Hz."""
        return np.asarray(self.centres_hz)

    @property
    def delays(self) -> NDArray[np.int64]:
        """int64[bands] quadrature delay D_b of the envelope snapshot: a quarter period, samples (>= 1)."""
        return np.maximum(1, np.round(self.sample_rate / (4.0 * self.band_centres_hz))).astype(np.int64)

    @cached_property
    def coefficients(self) -> dict[str, NDArray[np.float64]]:
        """float64[bands] each: ``feedback`` c_b, ``decay_shift`` 2^-k_b, ``envelope_coefficient``
        2 cos(theta_b D_b), ``power_scale`` 1 / (2 |H_b|^2 sin^2(theta_b D_b) snapshots)."""
        theta = 2.0 * np.pi * self.band_centres_hz / self.sample_rate
        decay_shift = 2.0 ** -np.asarray(self.bandwidth_shifts, dtype=np.float64)
        radius = np.sqrt(1.0 - decay_shift)
        feedback = 2.0 * radius * np.cos(theta)
        z = np.exp(-1j * theta)
        gain = np.abs((1.0 - z * z) / (1.0 - feedback * z + (1.0 - decay_shift) * z * z))
        quadrature = theta * self.delays
        power_scale = 1.0 / (2.0 * gain**2 * np.sin(quadrature) ** 2 * self.snapshots_per_frame)
        return {"feedback": feedback, "decay_shift": decay_shift, "envelope_coefficient": 2.0 * np.cos(quadrature),
                "power_scale": power_scale}

    def bandwidths_hz(self) -> NDArray[np.float64]:
        """float64[bands] approximate -3 dB bandwidth of each resonator, Hz."""
        radius = np.sqrt(1.0 - 2.0 ** -np.asarray(self.bandwidth_shifts, dtype=np.float64))
        return (1.0 - radius) * self.sample_rate / np.pi

    @property
    def pcen_smoothing(self) -> float:
        """``s = 1 - exp(-hop / tau)`` (0.004988 by default)."""
        return 1.0 - math.exp(-self.hop_samples / self.sample_rate / self.pcen_time_constant_s)

    # -- processing -------------------------------------------------------------------------

    def initial_state(self) -> BandFrontEndState:
        """The state of a stream that has received nothing."""
        bands, length = self.bands, max(2, int(self.delays.max()) + 1)
        return BandFrontEndState(0, np.zeros(2), np.zeros((bands, length)), np.zeros(bands), np.zeros(bands), False,
                                 np.zeros(1))

    def step(
        self, state: BandFrontEndState, samples: NDArray[np.floating]
    ) -> tuple[NDArray[np.float32], BandFrontEndState]:
        """Feed ``samples`` (float[N], any N >= 0) to a stream; the frames they complete and the new state.

        Returns float32[T, bands] for the T frames that became complete (T may be 0).
        """
        samples = np.asarray(samples)
        if samples.ndim != 1:
            raise ValueError(f"samples must be 1-D (mono), got shape {samples.shape}")
        samples = np.ascontiguousarray(samples, dtype=np.float64)
        frames = self.frame_count(state.position + len(samples)) - self.frame_count(state.position)
        out = np.empty((frames, self.bands), dtype=np.float32)
        history, ring = state.history.copy(), state.ring.copy()
        accumulated, smoothed, frame_power = state.accumulated.copy(), state.smoothed.copy(), state.frame_power.copy()
        c = self.coefficients
        position, started, written = _resonate_and_normalise(
            samples, history, ring, accumulated, smoothed, frame_power, state.position, state.started,
            c["feedback"], c["decay_shift"], self.delays, c["envelope_coefficient"], c["power_scale"],
            self.window_samples, self.hop_samples, self.hop_samples // self.snapshots_per_frame, self.pcen_smoothing,
            self.pcen_floor, self.pcen_alpha, self.pcen_delta, self.pcen_root, self.pcen_delta**self.pcen_root,
            self.normalisation == "tonality", self.tonality_floor, out,
        )  # fmt: skip
        assert written == frames
        return out, BandFrontEndState(int(position), history, ring, accumulated, smoothed, bool(started), frame_power)

    def features(self, audio: NDArray[np.floating]) -> NDArray[np.float32]:
        """float32[T, bands] features of a whole clip (``audio`` float[N], mono, at ``sample_rate``).

        Identical to streaming the clip through :meth:`step` in any chunks.
        """
        audio = np.asarray(audio)
        if audio.ndim != 1:
            raise ValueError(f"audio must be 1-D (mono), got shape {audio.shape}")
        return self.step(self.initial_state(), audio)[0]

    # -- cost ---------------------------------------------------------------------------------

    def cost_per_frame(self) -> dict[str, int]:
        """Arithmetic operations per output frame (steady state), for a board cost model.

        With ``B`` bands, ``S`` snapshots per frame and ``H`` samples per hop (160):

        - ``resonator_mults`` ``B H`` (``c_b y[n-1]``), ``resonator_adds`` ``H + 3 B H`` (``v``, and
          ``v + c y1 - y2 + (y2 >> k)`` per band), ``resonator_shifts`` ``B H``;
        - ``snapshot_mults`` ``3 B S`` and ``snapshot_adds`` ``3 B S`` (``y (y - e u) + u^2``, accumulated);
        - ``pcen_mults`` ``3 B`` (power scale, ``s (E - M)``, ``E x M^-alpha``), ``pcen_adds`` ``5 B``,
          ``pcen_powers`` ``2 B`` (``M^-alpha``: a divide when alpha is 1; ``^root``: a square root when
          it is 0.5);
        - or, with ``normalisation = "tonality"``, ``tonality_mults`` ``H + 1 + B`` (``x^2`` per sample,
          ``/ H`` as a multiply, the power scale per band), ``tonality_adds`` ``H + 1`` (the sum, the
          floor) and ``tonality_divides`` ``B``;
        - ``macs``: every multiply above, counted as a multiply-accumulate (the mel front end's
          convention: adds, shifts and powers are listed, not priced).

        :func:`spikefly.envs.audio.band_reference.count_operations` counts the same by running a
        plain implementation over a clip; the tests hold them equal.
        """
        bands, snapshots, hop = self.bands, self.snapshots_per_frame, self.hop_samples
        cost = {
            "resonator_mults": bands * hop,
            "resonator_adds": hop + 3 * bands * hop,
            "resonator_shifts": bands * hop,
            "snapshot_mults": 3 * bands * snapshots,
            "snapshot_adds": 3 * bands * snapshots,
        }
        if self.normalisation == "tonality":
            cost.update({"tonality_mults": hop + 1 + bands, "tonality_adds": hop + 1, "tonality_divides": bands})
            cost["macs"] = cost["resonator_mults"] + cost["snapshot_mults"] + cost["tonality_mults"]
            return cost
        cost.update({"pcen_mults": 3 * bands, "pcen_adds": 5 * bands, "pcen_powers": 2 * bands})
        cost["macs"] = cost["resonator_mults"] + cost["snapshot_mults"] + cost["pcen_mults"]
        return cost
