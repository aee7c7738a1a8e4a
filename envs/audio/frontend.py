"""Audio front end: 16 kHz samples -> log-mel energies with per-channel gain control, per 10 ms.

Per frame (defaults of :class:`FrontEnd`):

1. a 25 ms window (400 samples, periodic Hann) every 10 ms (160 samples); frame ``t`` covers
   samples ``[160 t, 160 t + 400)`` (no padding: ``T = 1 + (N - 400) // 160`` frames);
2. a 512-point real FFT; power ``|X_k|^2 / (sum of window)^2`` (a full-scale sine gives 0.25
   in its peak bin);
3. 32 triangular mel bands from 50 to 8000 Hz on the HTK mel scale
   (``mel = 2595 log10(1 + f / 700)``), edges evenly spaced in mel, each triangle peaking at 1
   (no area normalisation);
4. ``log_mel = ln(band energy + 1e-10)`` (natural log; the floor sits 94 dB below a full-scale
   sine);
5. gain control, per band, two exponential moving averages of ``log_mel``:
   ``fast += a_fast (log_mel - fast)``, ``slow += a_slow (log_mel - slow)`` with
   ``a = 1 - exp(-hop / tau)``: ``tau_fast`` = 30 ms gives ``a_fast`` = 0.2835,
   ``tau_slow`` = 2 s gives ``a_slow`` = 0.004988. The output is ``fast - slow``: a stationary
   background goes to ~0 once the slow average has settled (a few seconds), an onset stands out
   by its rise in log energy. Both averages start at the first frame's ``log_mel`` (the first
   output is 0). ``gain_control=False`` outputs ``log_mel`` itself.

Streaming equals batch exactly: :meth:`FrontEnd.features` runs the same :meth:`FrontEnd.step`
over blocks of the clip, so feeding a stream in chunks of any size (one hop, one sample, ...)
gives bit-identical frames. The arithmetic after the FFT is one Numba kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

_BLOCK_FRAMES = 4096
"""Frames per FFT batch in :meth:`FrontEnd.features` (bounds memory to ~35 MB)."""


@njit(cache=True)
def _mel_log_gain(
    spectrum,
    power_scale,
    band_first_bin,
    band_weights,
    log_floor,
    a_fast,
    a_slow,
    gain_control,
    fast,
    slow,
    started,
    out,
):
    """Power, mel bands, log and gain control for ``T`` frames; returns whether the averages started.

    ``spectrum`` complex128[T, F] FFT of the windowed frames, power ``|X|^2 * power_scale``;
    ``band_first_bin`` int64[M]; ``band_weights`` float64[M, W] (band
    ``m`` weighs bins ``band_first_bin[m] + j``); ``fast``, ``slow`` float64[M] are the running
    averages, updated in place; ``out`` float32[T, M].
    """
    bands = band_weights.shape[0]
    width = band_weights.shape[1]
    for t in range(spectrum.shape[0]):
        for m in range(bands):
            energy = 0.0
            first = band_first_bin[m]
            for j in range(width):
                value = spectrum[t, first + j]
                energy += band_weights[m, j] * (value.real * value.real + value.imag * value.imag)
            energy *= power_scale
            log_mel = math.log(energy + log_floor)
            if not gain_control:
                out[t, m] = log_mel
                continue
            if not started:
                fast[m] = log_mel
                slow[m] = log_mel
            else:
                fast[m] += a_fast * (log_mel - fast[m])
                slow[m] += a_slow * (log_mel - slow[m])
            out[t, m] = fast[m] - slow[m]
        started = True
    return started


def hz_to_mel(frequency_hz: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """HTK mel scale: ``2595 log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(frequency_hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


class FrameTiming:
    """Framing shared by the front ends, from their ``sample_rate``, ``hop_samples`` and
    ``window_samples`` fields: frame ``t`` spans samples ``[t hop, t hop + window)``."""

    @property
    def frames_per_second(self) -> float:
        """Output frame rate, Hz (100 by default)."""
        return self.sample_rate / self.hop_samples

    def frame_count(self, samples: int) -> int:
        """Number of whole frames in ``samples`` samples."""
        return 0 if samples < self.window_samples else 1 + (samples - self.window_samples) // self.hop_samples

    def frame_times_s(self, frames: int) -> NDArray[np.float64]:
        """float64[frames]: time at which each frame is complete (end of its window), seconds:
        ``(t hop + window) / rate``, the earliest moment a streaming detector has it (0.025, 0.035, ...)."""
        return (np.arange(frames) * self.hop_samples + self.window_samples) / self.sample_rate


class FrontEndState(NamedTuple):
    """Where a stream stands between calls of :meth:`FrontEnd.step`."""

    pending: NDArray[np.float64]
    """float64[P] samples received but not yet a whole frame behind them (P < window)."""
    fast: NDArray[np.float64]
    """float64[bands] fast average of log-mel (natural log units)."""
    slow: NDArray[np.float64]
    """float64[bands] slow average of log-mel."""
    started: bool
    """Whether a frame has been seen (before it, the averages are unset)."""


@dataclass(frozen=True)
class FrontEnd(FrameTiming):
    """Log-mel front end with gain control (see the module docstring for the arithmetic)."""

    kind = "mel"

    sample_rate: int = 16_000
    """Input sample rate, Hz."""
    window_samples: int = 400
    """Analysis window length (Hann), samples: 25 ms at 16 kHz."""
    hop_samples: int = 160
    """Step between frames, samples: 10 ms at 16 kHz."""
    fft_size: int = 512
    """FFT length, a power of two at least ``window_samples`` (the window is zero-padded)."""
    bands: int = 32
    """Number of mel bands (output channels)."""
    low_hz: float = 50.0
    """Lower edge of the lowest band, Hz."""
    high_hz: float = 8000.0
    """Upper edge of the highest band, Hz (at most half the sample rate)."""
    log_floor: float = 1e-10
    """Added to band energy before the natural log, so silence stays finite."""
    fast_time_constant_s: float = 0.03
    """Time constant of the fast average, seconds."""
    slow_time_constant_s: float = 2.0
    """Time constant of the slow average, seconds."""
    gain_control: bool = True
    """Output fast minus slow average (True) or raw log-mel (False)."""

    def __post_init__(self) -> None:
        if self.hop_samples < 1 or self.window_samples < 1:
            raise ValueError("window_samples and hop_samples must be at least 1")
        if self.fft_size < self.window_samples or self.fft_size & (self.fft_size - 1):
            raise ValueError(f"fft_size must be a power of two >= window_samples, got {self.fft_size}")
        if not 0.0 <= self.low_hz < self.high_hz <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= low_hz < high_hz <= {self.sample_rate / 2:g}, got {self.low_hz}, {self.high_hz}"
            )
        if not (self.fast_time_constant_s > 0 and self.slow_time_constant_s > 0 and self.log_floor > 0):
            raise ValueError("time constants and log_floor must be positive")
        empty = np.nonzero(self.filterbank.sum(axis=0) == 0)[0]
        if self.bands < 1 or len(empty):
            raise ValueError(
                f"mel bands {empty.tolist()} cover no FFT bin: use fewer bands, a larger fft_size or a higher low_hz"
            )

    # -- derived constants ----------------------------------------------------------------

    @cached_property
    def window(self) -> NDArray[np.float64]:
        """float64[window_samples] periodic Hann window."""
        return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(self.window_samples) / self.window_samples)

    @cached_property
    def band_edges_hz(self) -> NDArray[np.float64]:
        """float64[bands + 2]: band ``m`` rises from edge ``m``, peaks at ``m + 1``, ends at ``m + 2``."""
        return mel_to_hz(np.linspace(hz_to_mel(self.low_hz), hz_to_mel(self.high_hz), self.bands + 2))

    @property
    def band_centres_hz(self) -> NDArray[np.float64]:
        """float64[bands] peak frequency of each band, Hz."""
        return self.band_edges_hz[1:-1]

    @cached_property
    def filterbank(self) -> NDArray[np.float64]:
        """float64[fft_size // 2 + 1, bands] triangular mel weights (peak 1)."""
        bins_hz = np.arange(self.fft_size // 2 + 1) * self.sample_rate / self.fft_size
        lower, centre, upper = self.band_edges_hz[:-2], self.band_edges_hz[1:-1], self.band_edges_hz[2:]
        rising = (bins_hz[:, None] - lower) / (centre - lower)
        falling = (upper - bins_hz[:, None]) / (upper - centre)
        return np.maximum(0.0, np.minimum(rising, falling))

    @cached_property
    def _sparse_bands(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The filterbank as (first nonzero bin int64[bands], weights float64[bands, width])."""
        weights = self.filterbank.T
        first = np.array([np.nonzero(row)[0][0] for row in weights], dtype=np.int64)
        last = np.array([np.nonzero(row)[0][-1] for row in weights], dtype=np.int64)
        width = int((last - first).max()) + 1
        packed = np.zeros((self.bands, width))
        for band in range(self.bands):
            span = weights[band, first[band] : last[band] + 1]
            packed[band, : len(span)] = span
        return first, packed

    @property
    def fast_coefficient(self) -> float:
        """``a_fast = 1 - exp(-hop / tau_fast)`` (0.2835 by default)."""
        return 1.0 - math.exp(-self.hop_samples / self.sample_rate / self.fast_time_constant_s)

    @property
    def slow_coefficient(self) -> float:
        """``a_slow = 1 - exp(-hop / tau_slow)`` (0.004988 by default)."""
        return 1.0 - math.exp(-self.hop_samples / self.sample_rate / self.slow_time_constant_s)


    # -- processing -------------------------------------------------------------------------

    def initial_state(self) -> FrontEndState:
        """The state of a stream that has received nothing."""
        return FrontEndState(np.zeros(0), np.zeros(self.bands), np.zeros(self.bands), False)

    def step(
        self, state: FrontEndState, samples: NDArray[np.floating]
    ) -> tuple[NDArray[np.float32], FrontEndState]:
        """Feed ``samples`` (float[N], any N >= 0) to a stream; the frames they complete and the new state.

        Returns float32[T, bands] for the T frames that became complete (T may be 0).
        """
        samples = np.asarray(samples)
        if samples.ndim != 1:
            raise ValueError(f"samples must be 1-D (mono), got shape {samples.shape}")
        buffer = np.concatenate([state.pending, samples.astype(np.float64, copy=False)])
        frames = self.frame_count(len(buffer))
        out = np.empty((frames, self.bands), dtype=np.float32)
        fast, slow, started = state.fast.copy(), state.slow.copy(), state.started
        if frames:
            windows = np.lib.stride_tricks.sliding_window_view(buffer, self.window_samples)[
                :: self.hop_samples
            ][:frames]
            spectrum = np.fft.rfft(windows * self.window, n=self.fft_size, axis=1)
            first_bin, weights = self._sparse_bands
            started = _mel_log_gain(
                spectrum, 1.0 / float(self.window.sum()) ** 2, first_bin, weights, self.log_floor, self.fast_coefficient, self.slow_coefficient,
                self.gain_control, fast, slow, started, out,
            )  # fmt: skip
        pending = buffer[frames * self.hop_samples :].copy()
        return out, FrontEndState(pending, fast, slow, started)

    def features(self, audio: NDArray[np.floating]) -> NDArray[np.float32]:
        """float32[T, bands] features of a whole clip (``audio`` float[N], mono, at ``sample_rate``).

        Identical to streaming the clip through :meth:`step` in any chunks.
        """
        audio = np.asarray(audio)
        if audio.ndim != 1:
            raise ValueError(f"audio must be 1-D (mono), got shape {audio.shape}")
        state = self.initial_state()
        block = _BLOCK_FRAMES * self.hop_samples
        pieces = []
        for start in range(0, max(len(audio), 1), block):
            frames, state = self.step(state, audio[start : start + block])
            pieces.append(frames)
        return np.concatenate(pieces) if pieces else np.empty((0, self.bands), dtype=np.float32)

    # -- cost ---------------------------------------------------------------------------------

    def cost_per_frame(self) -> dict[str, int]:
        """Arithmetic operations per output frame, for a board cost model.

        - ``window_mults``: window x samples.
        - ``fft_mults``, ``fft_adds``: the real FFT done as a complex radix-2 FFT of
          ``M = fft_size / 2`` points (``M/2 log2 M`` butterflies of 4 real multiplies and
          6 adds) plus the real-split pass (``2M`` multiplies, ``3M`` adds). A split-radix or
          CMSIS-DSP ``arm_rfft_fast`` needs roughly a quarter fewer.
        - ``power_mults``, ``power_adds``: ``re^2 + im^2`` per bin (the constant scale folds
          into the mel weights).
        - ``mel_macs``: the filterbank's nonzero weights.
        - ``logs``, ``log_adds``: one natural log and one floor add per band.
        - ``gain_control_mults``, ``gain_control_adds``: two moving averages per band (1 multiply,
          2 adds each) and the difference (1 add); zero with ``gain_control=False``.
        - ``macs``: every multiply above, counted as a multiply-accumulate.
        """
        points = self.fft_size // 2
        butterflies = points // 2 * int(math.log2(points))
        bins = self.fft_size // 2 + 1
        cost = {
            "window_mults": self.window_samples,
            "fft_mults": 4 * butterflies + 2 * points,
            "fft_adds": 6 * butterflies + 3 * points,
            "power_mults": 2 * bins,
            "power_adds": bins,
            "mel_macs": int(np.count_nonzero(self.filterbank)),
            "logs": self.bands,
            "log_adds": self.bands,
            "gain_control_mults": 2 * self.bands if self.gain_control else 0,
            "gain_control_adds": 5 * self.bands if self.gain_control else 0,
        }
        cost["macs"] = (
            cost["window_mults"]
            + cost["fft_mults"]
            + cost["power_mults"]
            + cost["mel_macs"]
            + cost["gain_control_mults"]
        )
        return cost
