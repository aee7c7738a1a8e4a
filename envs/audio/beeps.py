"""Everyday beeps and tunes that are not smoke alarms: the hard negatives of the smoke task.

Each returns an :class:`~spikefly.envs.audio.signals.EventSound`-like ``(audio, onset_s,
offset_s)`` through :func:`event_sound`, peak-normalised to 0.5 like every event, drawn only from
the generator passed in. Timings are kept outside the smoke alarm's T3 tolerances (ISO 8201:
0.5 s +-10% on, 0.5 s +-10% off, 1.5 s pause), so a detector can always tell them apart:

==================== ======================================================== =============
event                 signal                                                   length
==================== ======================================================== =============
``microwave_beep``    3-5 beeps at 1.8-4.2 kHz, each 0.12-0.35 s or 0.7-1.2 s,   1-7 s
                      0.15-0.35 s apart (never T3's 0.5 s on, 0.5 s off)
``timer_beep``        a kitchen timer: bursts of 4 beeps of 40 ms at 8 per       3-10 s
                      second, a burst each second, 2.5-4 kHz
``phone_ring``        ``"dual"``: two tones (400+450 Hz or 440+480 Hz) on 0.4 s,  2-8 s
                      off 0.2 s, on 0.4 s, off 2 s; ``"trill"``: an electronic
                      ringer warbling between two tones at 1-3.5 kHz, 16-20 Hz,
                      1-2 s on, 1-3 s off
``reversing_beeper``  a truck backing up: 0.5 s on, 0.5 s off without a pause,   3-10 s
                      1.0-1.4 kHz (T3's rhythm without T3's pause)
``tonal_melody``      a tune (doorbell, music box, greeting card): 4-16 notes of  1-6 s
                      0.1-0.5 s from a scale whose top reaches 2.3-3.7 kHz
==================== ======================================================== =============
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.audio.dsp import Audio, peak_normalise, ramp
from spikefly.worlds.wav import SAMPLE_RATE

_RAMP_S = 0.005


def _seconds(value: float) -> int:
    return round(value * SAMPLE_RATE)


def _tone(length: int, frequencies_hz: tuple[float, ...], rng: np.random.Generator) -> NDArray[np.float64]:
    time_s = np.arange(length) / SAMPLE_RATE
    return sum(np.sin(2 * np.pi * f * time_s + rng.uniform(0, 2 * np.pi)) for f in frequencies_hz) * ramp(
        length, _seconds(_RAMP_S))


def _sequence(pieces: list[NDArray[np.float64]]) -> tuple[Audio, float, float]:
    """Concatenate pieces; the span runs from the first to the last non-silent sample."""
    signal = np.concatenate(pieces)
    loud = np.flatnonzero(np.abs(signal) > 1e-6 * float(np.max(np.abs(signal))))
    signal = signal[loud[0] : loud[-1] + 1]
    return peak_normalise(signal), 0.0, len(signal) / SAMPLE_RATE


def microwave_beep(rng: np.random.Generator) -> tuple[Audio, float, float]:
    """3-5 beeps at one pitch, short or long, close together (module table)."""
    frequency = float(rng.uniform(1800.0, 4200.0))
    beep_s = float(rng.uniform(0.12, 0.35) if rng.random() < 0.5 else rng.uniform(0.7, 1.2))
    gap_s = float(rng.uniform(0.15, 0.35))
    pieces = []
    for _ in range(int(rng.integers(3, 6))):
        pieces += [_tone(_seconds(beep_s), (frequency,), rng), np.zeros(_seconds(gap_s))]
    return _sequence(pieces)


def timer_beep(rng: np.random.Generator) -> tuple[Audio, float, float]:
    """Bursts of 4 quick beeps, one burst a second (module table)."""
    frequency = float(rng.uniform(2500.0, 4000.0))
    pieces = []
    for _ in range(int(rng.integers(3, 11))):
        for _ in range(4):
            pieces += [_tone(_seconds(0.04), (frequency,), rng), np.zeros(_seconds(0.085))]
        pieces.append(np.zeros(_seconds(1.0 - 4 * 0.125)))
    return _sequence(pieces)


def phone_ring(rng: np.random.Generator, variant: str | None = None) -> tuple[Audio, float, float]:
    """A telephone: the ``"dual"`` tone ring cadence or an electronic ``"trill"`` (module table)."""
    variant = variant or ("dual" if rng.random() < 0.5 else "trill")
    length_s = float(rng.uniform(2.0, 8.0))
    pieces, total = [], 0.0
    if variant == "dual":
        pair = (400.0, 450.0) if rng.random() < 0.5 else (440.0, 480.0)
        while total < length_s:
            pieces += [_tone(_seconds(0.4), pair, rng), np.zeros(_seconds(0.2)), _tone(_seconds(0.4), pair, rng),
                       np.zeros(_seconds(2.0))]
            total += 3.0
    elif variant == "trill":
        low = float(rng.uniform(1000.0, 2800.0))
        high = low * float(rng.uniform(1.15, 1.3))
        warble_hz = float(rng.uniform(16.0, 20.0))
        while total < length_s:
            on_s = float(rng.uniform(1.0, 2.0))
            time_s = np.arange(_seconds(on_s)) / SAMPLE_RATE
            frequency = np.where(np.sin(2 * np.pi * warble_hz * time_s) > 0, high, low)
            phase = 2 * np.pi * np.cumsum(frequency) / SAMPLE_RATE
            pieces += [np.sin(phase) * ramp(len(phase), _seconds(_RAMP_S)), np.zeros(_seconds(rng.uniform(1.0, 3.0)))]
            total += on_s + 2.0
    else:
        raise ValueError(f"variant must be 'dual' or 'trill', got {variant!r}")
    return _sequence(pieces)


def reversing_beeper(rng: np.random.Generator) -> tuple[Audio, float, float]:
    """0.5 s on, 0.5 s off, over and over, at 1.0-1.4 kHz (module table)."""
    frequency = float(rng.uniform(1000.0, 1400.0))
    pieces = []
    for _ in range(int(rng.integers(3, 11))):
        pieces += [_tone(_seconds(0.5), (frequency, 3 * frequency), rng), np.zeros(_seconds(0.5))]
    return _sequence(pieces)


def tonal_melody(rng: np.random.Generator) -> tuple[Audio, float, float]:
    """A short tune whose highest notes sit at alarm pitch (module table)."""
    top_hz = float(rng.uniform(2300.0, 3700.0))
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    pieces = []
    for _ in range(int(rng.integers(4, 17))):
        frequency = top_hz * 2 ** ((int(rng.choice(scale)) - 12) / 12)
        length = _seconds(rng.uniform(0.1, 0.5))
        decay = np.exp(-np.arange(length) / SAMPLE_RATE / rng.uniform(0.1, 0.4))
        pieces += [_tone(length, (frequency,), rng) * decay, np.zeros(_seconds(rng.uniform(0.0, 0.1)))]
    return _sequence(pieces)


BEEP_SOURCES = {
    "microwave_beep": microwave_beep,
    "timer_beep": timer_beep,
    "phone_ring": phone_ring,
    "reversing_beeper": reversing_beeper,
    "tonal_melody": tonal_melody,
}
"""The generators above by name: ``(rng) -> (audio float32[N], onset_s, offset_s)``."""
