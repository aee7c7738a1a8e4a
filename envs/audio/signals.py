"""Deterministic audio for the audio event detection environment: events, backgrounds, WAV files.

Everything is mono float32 at :data:`SAMPLE_RATE` (16 kHz) in [-1, 1], drawn only from the
``numpy.random.Generator`` passed in: the same seed gives the same samples.

Events return an :class:`EventSound`: the samples plus the span in which the event is audible,
so labels are exact. Without ``cycles`` an alarm draws how many pattern cycles it sounds:

=============== ============================================================ =================
event            signal                                                       default length
=============== ============================================================ =================
``smoke_alarm``  T3 (NFPA 72 / ISO 8201): 3 x (0.5 s beep, 0.5 s gap), the     1-2 cycles:
                 last gap extended to a 1.5 s pause; a 2.9-3.5 kHz tone drawn   2.5 s or 6.5 s
                 per event (piezo, weak 2nd harmonic) or, with probability
                 0.2, the 520 Hz square wave of low-frequency alarms
``co_alarm``     T4: 4 x (0.1 s beep, 0.1 s gap), last gap a 5 s pause;         1-2 cycles:
                 2.9-3.5 kHz tone (the smoke task's hard negative)              0.7 s or 6.4 s
``siren_wail``   4 harmonics swept 550-700 Hz -> 1300-1600 Hz and back at       3-8 s
                 0.15-0.25 Hz
``siren_yelp``   the same swept at 2.5-4 Hz                                     2-6 s
``glass_break``  broadband impact (3-8 ms decay) + 8-16 ringing partials at     0.3-1.2 s
                 2-7.5 kHz (30-300 ms decay) + 3-10 later shard tinkles
``dog_bark``     1-4 barks of 0.1-0.3 s, f0 300-900 Hz rising then falling,     0.1-2.4 s
                 harmonics weighted by three formant resonances, some breath
                 noise; 0.15-0.5 s between barks
=============== ============================================================ =================

The hard negatives ``microwave_beep``, ``timer_beep``, ``phone_ring``, ``reversing_beeper`` and
``tonal_melody`` are :mod:`spikefly.envs.audio.beeps`'.

A multi-cycle alarm's span runs from its first beep's start to its last beep's end (the pauses
between cycles are inside it). Events are peak-normalised to 0.5.

Backgrounds take a length in seconds and return float32[N] at -20 dBFS RMS (0.1), clipped to
[-1, 1]: ``white_noise``, ``pink_noise`` (-3 dB/octave, an IIR approximation within +-0.6 dB
from 20 Hz to 7.9 kHz), ``brown_noise`` (-6 dB/octave above 5 Hz), ``mains_hum`` (50 or 60 Hz
and harmonics), ``rain`` (Poisson droplets at 300-1500 per second, each a decaying chirp at
1-5 kHz, over band-passed hiss), ``hvac`` (rumble below ~150 Hz with a motor tone at
25-60 Hz, plus fan noise below 1-3 kHz, slowly modulated) and ``speech_babble`` (4-6 talkers
from Debian's ``espeak-ng``; raises :class:`AudioSourceUnavailable` without it), and the
non-stationary ``babble_noise`` and ``synth_music`` of :mod:`spikefly.envs.audio.room_backgrounds`. Output of
espeak-ng is cached per (its version, text, voice, pitch, speed) under ``$XDG_CACHE_HOME/spikefly/espeak-ng``
(``~/.cache/...``), falling back to the temporary folder.

:data:`EVENT_SOURCES` and :data:`BACKGROUND_SOURCES` map the names above to generators (the
names themselves are the world format's, :mod:`spikefly.worlds.soundscape`);
:func:`~spikefly.worlds.wav.load_wav` reads any WAV file into the same format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.audio.dsp import (
    BACKGROUND_RMS,
    EVENT_PEAK,
    Audio,
    add_droplets,
    iir_filter,
    one_pole_highpass,
    one_pole_lowpass,
    peak_normalise,
    ramp,
    rms_normalise,
    samples,
    sweep_phase,
)
from spikefly.envs.audio.beeps import BEEP_SOURCES
from spikefly.envs.audio.room_backgrounds import GENERATED_BACKGROUNDS
from spikefly.envs.audio.speech_babble import ESPEAK_INSTALL_HINT, AudioSourceUnavailable, speech_babble
from spikefly.worlds.wav import SAMPLE_RATE, AudioFileError, check_wav, load_wav





@dataclass(frozen=True)
class EventSound:
    """One generated event: its samples and where in them it is audible."""

    audio: Audio
    """float32[N] samples at :data:`SAMPLE_RATE`."""
    onset_s: float
    """Start of the audible pattern, seconds from ``audio[0]``."""
    offset_s: float
    """End of the audible pattern, seconds from ``audio[0]``."""


# ---------------------------------------------------------------------------------------------
# Alarms

T3_BEEP_S, T3_GAP_S, T3_PAUSE_S, T3_BEEPS = 0.5, 0.5, 1.5, 3
"""Temporal-three pattern (smoke / fire): beep, gap, beep, gap, beep, pause."""
T4_BEEP_S, T4_GAP_S, T4_PAUSE_S, T4_BEEPS = 0.1, 0.1, 5.0, 4
"""Temporal-four pattern (carbon monoxide)."""
ALARM_TONE_HZ = (2900.0, 3500.0)
"""Range of piezo alarm tones, Hz."""
LOW_FREQUENCY_ALARM_HZ = 520.0
"""Fundamental of the low-frequency square-wave smoke alarm (for sleeping areas)."""
_ALARM_RAMP_S = 0.005


def _tone(length: int, tone_hz: float, phase: float) -> NDArray[np.float64]:
    time_s = np.arange(length) / SAMPLE_RATE
    fundamental = np.sin(2.0 * np.pi * tone_hz * time_s + phase)
    second = np.sin(2.0 * np.pi * 2.0 * tone_hz * time_s + 2.0 * phase)
    return fundamental + 0.1 * second if 2.0 * tone_hz < SAMPLE_RATE / 2 else fundamental


def _square(length: int, fundamental_hz: float) -> NDArray[np.float64]:
    """Band-limited square wave: odd harmonics below Nyquist at 1/k."""
    time_s = np.arange(length) / SAMPLE_RATE
    wave = np.zeros(length)
    for harmonic in range(1, int(SAMPLE_RATE / 2 / fundamental_hz) + 1, 2):
        wave += np.sin(2.0 * np.pi * harmonic * fundamental_hz * time_s) / harmonic
    return wave


def _beep_pattern(
    beep_s: float,
    gap_s: float,
    pause_s: float,
    beeps: int,
    cycles: int,
    make_beep: Callable[[int], NDArray[np.float64]],
) -> EventSound:
    """Beeps of ``beep_s`` with ``gap_s`` between them, ``beeps`` per cycle, ``pause_s`` between cycles."""
    beep = round(beep_s * SAMPLE_RATE)
    gap = round(gap_s * SAMPLE_RATE)
    pause = round(pause_s * SAMPLE_RATE)
    cycle = beeps * beep + (beeps - 1) * gap
    total = cycles * cycle + (cycles - 1) * pause
    signal = np.zeros(total)
    envelope = ramp(beep, round(_ALARM_RAMP_S * SAMPLE_RATE))
    for index in range(cycles):
        for count in range(beeps):
            start = index * (cycle + pause) + count * (beep + gap)
            signal[start : start + beep] = make_beep(beep) * envelope
    audio = peak_normalise(signal)
    return EventSound(audio, 0.0, total / SAMPLE_RATE)


def _cycles(rng: np.random.Generator, cycles: int | None, most: int) -> int:
    if cycles is None:
        return int(rng.integers(1, most + 1))
    if cycles < 1:
        raise ValueError(f"cycles must be at least 1, got {cycles}")
    return cycles


def smoke_alarm(
    rng: np.random.Generator,
    cycles: int | None = None,
    variant: str | None = None,
    tone_hz: float | None = None,
) -> EventSound:
    """T3 smoke alarm: ``cycles`` (default 1-2, drawn) of three 0.5 s beeps, 0.5 s apart, 1.5 s pause.

    ``variant`` is ``"tone"`` (``tone_hz``, default drawn in 2.9-3.5 kHz) or ``"square_520"``
    (520 Hz square wave); ``None`` draws ``"square_520"`` with probability 0.2.
    """
    if variant is None:
        variant = "square_520" if rng.random() < 0.2 else "tone"
    if variant not in ("tone", "square_520"):
        raise ValueError(f"variant must be 'tone' or 'square_520', got {variant!r}")
    cycles = _cycles(rng, cycles, 2)
    if variant == "square_520":
        return _beep_pattern(
            T3_BEEP_S, T3_GAP_S, T3_PAUSE_S, T3_BEEPS, cycles, lambda n: _square(n, LOW_FREQUENCY_ALARM_HZ)
        )
    frequency = float(rng.uniform(*ALARM_TONE_HZ)) if tone_hz is None else tone_hz
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    return _beep_pattern(
        T3_BEEP_S, T3_GAP_S, T3_PAUSE_S, T3_BEEPS, cycles, lambda n: _tone(n, frequency, phase)
    )


def co_alarm(rng: np.random.Generator, cycles: int | None = None, tone_hz: float | None = None) -> EventSound:
    """T4 carbon-monoxide alarm: ``cycles`` (default 1-2) of four 0.1 s beeps, 0.1 s apart, 5 s pause."""
    cycles = _cycles(rng, cycles, 2)
    frequency = float(rng.uniform(*ALARM_TONE_HZ)) if tone_hz is None else tone_hz
    phase = float(rng.uniform(0.0, 2.0 * np.pi))
    return _beep_pattern(
        T4_BEEP_S, T4_GAP_S, T4_PAUSE_S, T4_BEEPS, cycles, lambda n: _tone(n, frequency, phase)
    )


# ---------------------------------------------------------------------------------------------
# Sirens, glass, dogs

SIREN_LOW_HZ = (550.0, 700.0)
"""Range of a siren's lowest swept frequency, Hz."""
SIREN_HIGH_HZ = (1300.0, 1600.0)
"""Range of a siren's highest swept frequency, Hz."""
_SIREN_HARMONICS = (1.0, 0.5, 0.3, 0.2)


def _siren(
    rng: np.random.Generator,
    sweep_hz: tuple[float, float],
    length_s: tuple[float, float],
    duration_s: float | None,
) -> EventSound:
    duration_s = float(rng.uniform(*length_s)) if duration_s is None else duration_s
    length = samples(duration_s)
    low_hz = float(rng.uniform(*SIREN_LOW_HZ))
    high_hz = float(rng.uniform(*SIREN_HIGH_HZ))
    rate_hz = float(rng.uniform(*sweep_hz))
    start = float(rng.uniform(0.0, 1.0))
    # A raised-cosine sweep: slow at the extremes like a rotor siren winding up and down.
    position = 0.5 - 0.5 * np.cos(2.0 * np.pi * (start + rate_hz * np.arange(length) / SAMPLE_RATE))
    phase = sweep_phase(low_hz + (high_hz - low_hz) * position)
    signal = sum(weight * np.sin((k + 1) * phase) for k, weight in enumerate(_SIREN_HARMONICS))
    signal = np.asarray(signal) * ramp(length, round(0.05 * SAMPLE_RATE))
    return EventSound(peak_normalise(signal), 0.0, length / SAMPLE_RATE)


def siren_wail(rng: np.random.Generator, duration_s: float | None = None) -> EventSound:
    """Wailing siren: 4 harmonics swept ~600 Hz -> ~1500 Hz and back at 0.15-0.25 Hz, 3-8 s."""
    return _siren(rng, (0.15, 0.25), (3.0, 8.0), duration_s)


def siren_yelp(rng: np.random.Generator, duration_s: float | None = None) -> EventSound:
    """Yelping siren: the wail's sweep at 2.5-4 Hz, 2-6 s."""
    return _siren(rng, (2.5, 4.0), (2.0, 6.0), duration_s)


def _decaying_partials(
    rng: np.random.Generator,
    signal: NDArray[np.float64],
    start: int,
    count: int,
    decay_s: tuple[float, float],
    gain: float,
) -> None:
    """Add ``count`` exponentially decaying sinusoids at 2-7.5 kHz from sample ``start`` on."""
    for _ in range(count):
        frequency = float(np.exp(rng.uniform(np.log(2000.0), np.log(7500.0))))
        decay = float(rng.uniform(*decay_s))
        length = min(round(5.0 * decay * SAMPLE_RATE), len(signal) - start)
        time_s = np.arange(length) / SAMPLE_RATE
        amplitude = gain * rng.uniform(0.3, 1.0)
        phase = rng.uniform(0.0, 2.0 * np.pi)
        signal[start : start + length] += (
            amplitude * np.exp(-time_s / decay) * np.sin(2.0 * np.pi * frequency * time_s + phase)
        )


def glass_break(rng: np.random.Generator) -> EventSound:
    """Breaking glass: a broadband impact, ringing high partials, then scattered shard tinkles."""
    shard_times_s = np.sort(rng.uniform(0.05, 0.6, size=int(rng.integers(3, 11))))
    length = round((float(shard_times_s[-1]) + 0.6) * SAMPLE_RATE)
    signal = np.zeros(length)
    impact_decay_s = float(rng.uniform(0.003, 0.008))
    impact_length = round(6.0 * impact_decay_s * SAMPLE_RATE)
    impact = rng.standard_normal(impact_length) * np.exp(
        -np.arange(impact_length) / (impact_decay_s * SAMPLE_RATE)
    )
    signal[:impact_length] += 3.0 * np.diff(impact, prepend=0.0)  # first difference: tilt toward highs
    _decaying_partials(rng, signal, 0, int(rng.integers(8, 17)), (0.03, 0.3), 1.0)
    for time_s in shard_times_s:
        _decaying_partials(
            rng,
            signal,
            round(time_s * SAMPLE_RATE),
            int(rng.integers(2, 5)),
            (0.01, 0.06),
            rng.uniform(0.1, 0.4),
        )
    # The span ends where the sound has decayed 50 dB below its peak.
    envelope = np.abs(signal)
    audible = np.nonzero(envelope > envelope.max() * 10 ** (-50 / 20))[0]
    signal = signal[: audible[-1] + 1]
    return EventSound(peak_normalise(signal), 0.0, len(signal) / SAMPLE_RATE)


def _formant_gain(
    frequency_hz: NDArray[np.float64], centres_hz: NDArray[np.float64], bandwidths_hz: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Sum of second-order resonance magnitudes at ``frequency_hz``."""
    gain = np.zeros_like(frequency_hz)
    for centre, bandwidth in zip(centres_hz, bandwidths_hz, strict=True):
        gain += 1.0 / np.sqrt(1.0 + ((frequency_hz - centre) / (bandwidth / 2.0)) ** 2)
    return gain


def _bark(rng: np.random.Generator, f0_hz: float, formants_hz: NDArray[np.float64]) -> NDArray[np.float64]:
    length = round(rng.uniform(0.1, 0.3) * SAMPLE_RATE)
    position = np.arange(length) / length
    contour = f0_hz * (1.0 + rng.uniform(0.1, 0.3) * np.sin(np.pi * position))  # rises then falls
    phase = sweep_phase(contour)
    bandwidths = rng.uniform(150.0, 400.0, size=len(formants_hz))
    signal = np.zeros(length)
    for harmonic in range(1, int(7500.0 / (f0_hz * 1.3)) + 1):
        weight = _formant_gain(np.array([harmonic * f0_hz]), formants_hz, bandwidths)[0] / harmonic**0.5
        signal += weight * np.sin(harmonic * phase)
    breath = one_pole_highpass(rng.standard_normal(length), 500.0)
    signal += 0.15 * np.sqrt(np.mean(signal**2)) * breath
    attack = round(0.01 * SAMPLE_RATE)
    envelope = np.minimum(np.arange(length) / attack, 1.0) * (1.0 - position) ** 1.5
    return signal * envelope


def dog_bark(rng: np.random.Generator, barks: int | None = None) -> EventSound:
    """A dog: ``barks`` (default 1-4) harmonic bursts of 0.1-0.3 s, f0 300-900 Hz, 0.15-0.5 s apart."""
    barks = _cycles(rng, barks, 4)
    f0_hz = float(rng.uniform(300.0, 900.0))
    formants_hz = np.array([rng.uniform(700, 1200), rng.uniform(1500, 2500), rng.uniform(2800, 3800)])
    pieces = []
    for index in range(barks):
        if index > 0:
            pieces.append(np.zeros(round(rng.uniform(0.15, 0.5) * SAMPLE_RATE)))
        pieces.append(_bark(rng, f0_hz * rng.uniform(0.9, 1.1), formants_hz))
    signal = np.concatenate(pieces)
    return EventSound(peak_normalise(signal), 0.0, len(signal) / SAMPLE_RATE)


# ---------------------------------------------------------------------------------------------
# Backgrounds

_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
"""Pink (1/f) IIR approximation (J. O. Smith, "Spectral Audio Signal Processing")."""
_WARM_UP = 8000
"""Samples run through a filter and dropped, so its start-up transient is gone."""


def white_noise(rng: np.random.Generator, duration_s: float) -> Audio:
    """Gaussian white noise."""
    return rms_normalise(rng.standard_normal(samples(duration_s)))


def pink_noise(rng: np.random.Generator, duration_s: float) -> Audio:
    """Pink noise: power falls 3 dB per octave."""
    raw = rng.standard_normal(samples(duration_s) + _WARM_UP)
    return rms_normalise(iir_filter(_PINK_B, _PINK_A, raw)[_WARM_UP:])


def brown_noise(rng: np.random.Generator, duration_s: float) -> Audio:
    """Brown (red) noise: leaky-integrated white noise, -6 dB per octave above 5 Hz."""
    raw = rng.standard_normal(samples(duration_s) + _WARM_UP)
    pole = np.exp(-2.0 * np.pi * 5.0 / SAMPLE_RATE)
    # The zero at z = -0.2 undoes the plain integrator's flattening near Nyquist: the slope
    # stays within 0.6 dB of -6 dB/octave from 50 Hz to 7.8 kHz.
    return rms_normalise(iir_filter(np.array([1.0, 0.2]), np.array([1.0, -pole]), raw)[_WARM_UP:])


def mains_hum(rng: np.random.Generator, duration_s: float, mains_hz: float | None = None) -> Audio:
    """Mains hum: ``mains_hz`` (default 50 or 60, drawn) strongest, then 7 weaker harmonics."""
    mains_hz = float(rng.choice([50.0, 60.0])) if mains_hz is None else mains_hz
    time_s = np.arange(samples(duration_s)) / SAMPLE_RATE
    signal = np.sin(2.0 * np.pi * mains_hz * time_s + rng.uniform(0.0, 2.0 * np.pi))
    for harmonic in range(2, 9):
        odd = 1.5 if harmonic % 2 else 1.0  # transformers and rectifiers favour odd harmonics
        amplitude = min(0.6, odd * rng.uniform(0.1, 0.5) / harmonic**0.5)
        signal += amplitude * np.sin(
            2.0 * np.pi * harmonic * mains_hz * time_s + rng.uniform(0.0, 2.0 * np.pi)
        )
    return rms_normalise(signal)


def rain(rng: np.random.Generator, duration_s: float) -> Audio:
    """Rain: Poisson droplets (decaying 1-5 kHz chirps) over band-passed hiss."""
    length = samples(duration_s)
    rate_per_s = float(rng.uniform(300.0, 1500.0))
    count = int(rng.poisson(rate_per_s * length / SAMPLE_RATE))
    onsets = np.sort(rng.integers(0, length, size=count))
    start_hz = rng.uniform(1000.0, 5000.0, size=count)
    end_hz = start_hz * rng.uniform(1.0, 1.5, size=count)  # bubbles chirp upward
    decay_s = rng.uniform(0.001, 0.006, size=count)
    amplitude = rng.lognormal(0.0, 0.8, size=count)
    droplets = np.zeros(length)
    add_droplets(droplets, onsets, start_hz, end_hz, decay_s, amplitude, float(SAMPLE_RATE))
    hiss = one_pole_lowpass(one_pole_highpass(rng.standard_normal(length), 400.0), 6000.0)
    droplets *= 1.0 / max(float(np.sqrt(np.mean(droplets**2))), 1e-12)
    hiss *= 0.7 / max(float(np.sqrt(np.mean(hiss**2))), 1e-12)
    return rms_normalise(droplets + hiss)


def hvac(rng: np.random.Generator, duration_s: float) -> Audio:
    """Ventilation: rumble below ~150 Hz with a motor tone, plus fan noise, slowly modulated."""
    length = samples(duration_s)
    time_s = np.arange(length) / SAMPLE_RATE
    rumble = one_pole_lowpass(np.asarray(brown_noise(rng, duration_s), dtype=np.float64), 150.0)
    motor_hz = float(rng.uniform(25.0, 60.0))
    for harmonic, weight in ((1, 1.0), (2, 0.5), (3, 0.25)):
        rumble += (
            0.03 * weight * np.sin(2.0 * np.pi * harmonic * motor_hz * time_s + rng.uniform(0, 2 * np.pi))
        )
    fan = one_pole_lowpass(
        np.asarray(pink_noise(rng, duration_s), dtype=np.float64), float(rng.uniform(1000, 3000))
    )
    rumble /= float(np.sqrt(np.mean(rumble**2)))
    fan *= float(rng.uniform(0.4, 0.8)) / float(np.sqrt(np.mean(fan**2)))
    modulation = 1.0
    for rate_hz, depth in (
        (rng.uniform(0.05, 0.2), rng.uniform(0.05, 0.2)),
        (rng.uniform(0.01, 0.05), rng.uniform(0.05, 0.15)),
    ):
        modulation = modulation + depth * np.sin(2.0 * np.pi * rate_hz * time_s + rng.uniform(0, 2 * np.pi))
    return rms_normalise((rumble + fan) * modulation)


# ---------------------------------------------------------------------------------------------
# Registries

EventSource = Callable[[np.random.Generator], EventSound]
"""An event generator: draws one event from the generator."""
BackgroundSource = Callable[[np.random.Generator, float], Audio]
"""A background generator: ``(rng, duration_s) -> float32[round(duration_s * 16000)]``."""

EVENT_SOURCES: dict[str, EventSource] = {
    "smoke_alarm": smoke_alarm,
    "co_alarm": co_alarm,
    "siren_wail": siren_wail,
    "siren_yelp": siren_yelp,
    "glass_break": glass_break,
    "dog_bark": dog_bark,
    # hard negatives (spikefly.envs.audio.beeps): microwave, timer, phone, reversing truck, a tune at alarm pitch
    **{name: (lambda rng, make=make: EventSound(*make(rng))) for name, make in BEEP_SOURCES.items()},
}
"""Built-in event generators by name (the ``source`` of a soundscape's ``[[events]]``)."""

BACKGROUND_SOURCES: dict[str, BackgroundSource] = {
    "white_noise": white_noise,
    "pink_noise": pink_noise,
    "brown_noise": brown_noise,
    "mains_hum": mains_hum,
    "rain": rain,
    "hvac": hvac,
    "speech_babble": speech_babble,
    **GENERATED_BACKGROUNDS,  # babble_noise, synth_music (spikefly.envs.audio.room_backgrounds)
}
"""Built-in background generators by name (the ``source`` of a soundscape's ``[[backgrounds]]``)."""

__all__ = ["BACKGROUND_RMS", "BACKGROUND_SOURCES", "ESPEAK_INSTALL_HINT", "EVENT_PEAK", "EVENT_SOURCES", "SAMPLE_RATE",
           "AudioFileError", "AudioSourceUnavailable", "EventSound", "check_wav", "load_wav", "speech_babble"]
