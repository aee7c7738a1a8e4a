"""Signal-processing pieces the audio generators share: filters, envelopes and levels, at 16 kHz.

Everything here is deterministic; the generators (:mod:`spikefly.envs.audio.signals`,
:mod:`spikefly.envs.audio.speech_babble`) draw their randomness and pass it in.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.worlds.wav import SAMPLE_RATE

EVENT_PEAK = 0.5
"""Peak amplitude of every generated event (the soundscape rescales it to its SNR)."""

BACKGROUND_RMS = 0.1
"""RMS amplitude (-20 dBFS) of every generated background before the soundscape's level."""

Audio = NDArray[np.float32]
"""Mono samples, float32[N] at :data:`SAMPLE_RATE`, in [-1, 1]."""


# ---------------------------------------------------------------------------------------------
# Kernels


@njit(cache=True)
def iir_filter(b, a, x):
    """``y = (b / a) * x`` (direct form II transposed, ``a[0] == 1``); float64 arrays."""
    order = max(len(a), len(b))
    bb = np.zeros(order)
    aa = np.zeros(order)
    bb[: len(b)] = b
    aa[: len(a)] = a
    state = np.zeros(order)
    y = np.empty_like(x)
    for n in range(len(x)):
        out = bb[0] * x[n] + state[0]
        for k in range(1, order):
            state[k - 1] = (state[k] if k < order - 1 else 0.0) + bb[k] * x[n] - aa[k] * out
        y[n] = out
    return y


@njit(cache=True)
def add_droplets(out, onsets, start_hz, end_hz, decay_s, amplitude, sample_rate):
    """Add decaying chirps (one per droplet, 4 decay times long) into ``out`` (float64[N]) in place."""
    for i in range(len(onsets)):
        length = min(int(4.0 * decay_s[i] * sample_rate), len(out) - onsets[i])
        phase = 0.0
        step = 2.0 * np.pi * start_hz[i] / sample_rate
        glide = 2.0 * np.pi * (end_hz[i] - start_hz[i]) / sample_rate / max(length, 1)
        envelope = amplitude[i]
        damping = np.exp(-1.0 / (decay_s[i] * sample_rate))
        for n in range(length):
            phase += step + glide * n
            out[onsets[i] + n] += envelope * np.sin(phase)
            envelope *= damping


# ---------------------------------------------------------------------------------------------
# Helpers


def samples(duration_s: float) -> int:
    if not duration_s > 0:
        raise ValueError(f"duration_s must be positive, got {duration_s!r}")
    return round(duration_s * SAMPLE_RATE)


def peak_normalise(signal: NDArray[np.float64], peak: float = EVENT_PEAK) -> Audio:
    largest = float(np.max(np.abs(signal)))
    scaled = signal * (peak / largest) if largest > 0 else signal
    return scaled.astype(np.float32)


def rms_normalise(signal: NDArray[np.float64]) -> Audio:
    rms = float(np.sqrt(np.dot(signal, signal) / len(signal)))
    scaled = signal * (BACKGROUND_RMS / rms) if rms > 0 else signal
    return np.clip(scaled, -1.0, 1.0).astype(np.float32)


def ramp(length: int, ramp_samples: int) -> NDArray[np.float64]:
    """float64[length] envelope: raised-cosine rise and fall of ``ramp_samples`` inside it."""
    envelope = np.ones(length)
    ramp_samples = min(ramp_samples, length // 2)
    if ramp_samples > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp_samples) + 0.5) / ramp_samples)
        envelope[:ramp_samples] = rise
        envelope[length - ramp_samples :] = rise[::-1]
    return envelope


def one_pole_lowpass(x: NDArray[np.float64], cutoff_hz: float) -> NDArray[np.float64]:
    pole = np.exp(-2.0 * np.pi * cutoff_hz / SAMPLE_RATE)
    return iir_filter(np.array([1.0 - pole]), np.array([1.0, -pole]), x)


def one_pole_highpass(x: NDArray[np.float64], cutoff_hz: float) -> NDArray[np.float64]:
    return x - one_pole_lowpass(x, cutoff_hz)


def sweep_phase(frequency_hz: NDArray[np.float64]) -> NDArray[np.float64]:
    """Phase (radians) of a tone following ``frequency_hz`` sample by sample."""
    return 2.0 * np.pi * np.cumsum(frequency_hz) / SAMPLE_RATE
