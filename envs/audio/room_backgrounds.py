"""Backgrounds that behave like real rooms: recorded talkers, music and TV, and generated look-alikes.

Real rooms are not stationary: talkers join and leave, music starts, a TV switches between
speech and music at new levels. These backgrounds change over the clip; every one returns
float32[round(duration_s * 16000)] at -20 dBFS RMS over the whole clip (so a quiet stretch stays
quiet against a loud one), drawn only from the generator passed in.

Recorded (``source = "recordings"`` in a soundscape, with ``set``; the recordings and their
train / held-out split are :mod:`spikefly.envs.audio.recordings`'):

- ``speech``: babble of ``talkers`` (default 2-8) people, each one language's recorded
  words with 0.05-0.4 s pauses and now and then a 0.6-2.5 s silence; each talker at its own level
  (+-6 dB), and half of them join or leave at a random time.
- ``music``: a stretch of a song, then the next song after a 0.5-3 s pause; the volume knob is
  turned 0-3 times (+-6 dB, 0.3 s ramps).
- ``tv``: a programme of 3-20 s segments: one or two talkers, music, or a talker over music
  at -10 dB, each segment at its own level (+-8 dB), up to 0.6 s of silence between them.
- ``sounds``: everyday sounds (bells, phone rings, a typewriter, applause, ...) at 4-20 per
  minute, each at its own level (+-8 dB), over silence; at -20 dBFS RMS unless that would
  clip a peak, then quieter (peak at full scale).

Generated (no packages needed):

- ``babble_noise``: 3-8 talkers of speech-shaped noise (200-4000 Hz with three formant peaks),
  each switched on and off at syllable rate (3-6 Hz) in words of 2-6 syllables and phrases
  separated by pauses: the rhythm of babble without words.
- ``synth_music``: music-like tone sequences at 70-160 beats per minute: a melody whose
  register reaches 2.3-3.7 kHz half of the time (alarm pitch: a hard negative), chords and a
  bass, with piano-like decaying or organ-like held notes.

:func:`level_steps` changes any background's level at random times (``level_steps_per_min``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.audio.dsp import Audio, iir_filter, ramp, rms_normalise, samples
from spikefly.envs.audio.recordings import (
    Recording,
    decode,
    duration_s as song_duration_s,
    find_recordings,
    groups,
    read_stretch,
)
from spikefly.worlds.wav import SAMPLE_RATE

DEFAULT_TALKERS = (2, 8)
"""Talkers of a recorded babble without ``talkers``."""
_STEP_RAMP_S = 0.05


def _db(value: float) -> float:
    return 10 ** (value / 20)


def _unit_rms(signal: NDArray[np.float64]) -> NDArray[np.float64]:
    rms = float(np.sqrt(np.mean(signal**2))) if len(signal) else 0.0
    return signal / rms if rms > 0 else signal


def _active_rms(signal: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scaled so its RMS over the samples above -50 dB re its peak is 1 (pauses do not count)."""
    peak = float(np.max(np.abs(signal))) if len(signal) else 0.0
    loud = signal[np.abs(signal) > peak * 10 ** (-50 / 20)]
    rms = float(np.sqrt(np.mean(loud**2))) if len(loud) else 0.0
    return signal / rms if rms > 0 else signal


# ---------------------------------------------------------------------------------------------
# Recorded


def _talker(rng: np.random.Generator, recordings: tuple[Recording, ...], length: int) -> NDArray[np.float64]:
    """One talker: random words of one group, short pauses, now and then a longer silence."""
    out = np.zeros(length)
    position = -int(rng.integers(0, 3 * SAMPLE_RATE))  # already talking when the clip starts
    while position < length:
        word = decode(recordings[int(rng.integers(len(recordings)))].path).astype(np.float64)
        word = _active_rms(word) * _db(rng.uniform(-3.0, 3.0))
        first, last = max(position, 0), min(position + len(word), length)
        if last > first:
            out[first:last] += word[first - position : last - position]
        pause_s = rng.uniform(0.6, 2.5) if rng.random() < 0.15 else rng.uniform(0.05, 0.4)
        position += len(word) + round(pause_s * SAMPLE_RATE)
    return out


def _presence(rng: np.random.Generator, length: int) -> NDArray[np.float64]:
    """A talker's gain over the clip: always there, or joining or leaving at a random time."""
    envelope = np.ones(length)
    kind = int(rng.integers(4))  # 0 and 3: there all along
    fade = min(round(0.5 * SAMPLE_RATE), length // 4)
    cut = int(rng.integers(fade, length - fade + 1))
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / max(fade, 1))
    if kind == 1:  # joins
        envelope[:cut] = 0.0
        envelope[cut : cut + fade] = edge
    elif kind == 2:  # leaves
        envelope[cut:] = 0.0
        envelope[cut - fade : cut] = edge[::-1]
    return envelope


def recorded_babble(
    rng: np.random.Generator, duration_s: float, part: str = "train", talkers: tuple[int, int] | None = None,
    recordings: tuple[Recording, ...] | None = None,
) -> Audio:
    """Babble of recorded talkers (module docstring); ``talkers`` = (fewest, most)."""
    length = samples(duration_s)
    by_group = list(groups(recordings or find_recordings("speech", part)).values())
    low, high = talkers or DEFAULT_TALKERS
    count = int(rng.integers(low, high + 1))
    chosen = rng.choice(len(by_group), size=count, replace=count > len(by_group))
    mix = np.zeros(length)
    for index, group in enumerate(chosen):
        voice = _talker(rng, by_group[int(group)], length) * _db(rng.uniform(-6.0, 6.0))
        mix += voice * (_presence(rng, length) if index % 2 else 1.0)
    return rms_normalise(mix)


def _songs(rng: np.random.Generator, recordings: tuple[Recording, ...], length: int) -> NDArray[np.float64]:
    """Songs one after another from a random point of the first, 0.5-3 s of silence between them."""
    out = np.zeros(length)
    position, first = 0, True
    while position < length:
        song = recordings[int(rng.integers(len(recordings)))].path
        start_s = float(rng.uniform(0.0, max(song_duration_s(song) - 5.0, 0.0))) if first else 0.0
        piece = read_stretch(song, start_s, length - position).astype(np.float64)
        piece = _active_rms(piece) * ramp(len(piece), round(0.01 * SAMPLE_RATE)) if len(piece) else piece
        out[position : position + len(piece)] = piece
        position += len(piece) + round(rng.uniform(0.5, 3.0) * SAMPLE_RATE)
        first = False
    return out


def recorded_music(
    rng: np.random.Generator, duration_s: float, part: str = "train", recordings: tuple[Recording, ...] | None = None,
) -> Audio:
    """Recorded and rendered songs, the volume turned now and then (module docstring)."""
    length = samples(duration_s)
    music = _songs(rng, recordings or find_recordings("music", part), length)
    return rms_normalise(music * _steps(rng, length, int(rng.integers(0, 4)), (-6.0, 6.0), 0.3))


def tv_programme(
    rng: np.random.Generator, duration_s: float, part: str = "train", talkers: tuple[int, int] | None = None,
) -> Audio:
    """Speech, music and speech over music in 3-20 s segments at changing levels (module docstring)."""
    length = samples(duration_s)
    talker_groups, music = list(groups(find_recordings("speech", part)).values()), find_recordings("music", part)
    low, high = talkers or (1, 2)
    out = np.zeros(length)
    position = 0
    while position < length:
        size = min(round(rng.uniform(3.0, 20.0) * SAMPLE_RATE), length - position)
        kind = int(rng.integers(3))
        segment = np.zeros(size)
        if kind in (0, 2):
            for _ in range(int(rng.integers(low, high + 1))):
                talker = talker_groups[int(rng.integers(len(talker_groups)))]
                segment += _talker(rng, talker, size) * _db(rng.uniform(-3.0, 3.0))
        if kind in (1, 2):
            segment += _songs(rng, music, size) * (_db(-10.0) if kind == 2 else 1.0)
        segment = _unit_rms(segment) * ramp(size, round(0.02 * SAMPLE_RATE)) * _db(rng.uniform(-8.0, 8.0))
        out[position : position + size] = segment
        position += size + round(rng.uniform(0.0, 0.6) * SAMPLE_RATE)
    return rms_normalise(out)


def everyday_sounds(
    rng: np.random.Generator, duration_s: float, part: str = "train", recordings: tuple[Recording, ...] | None = None,
) -> Audio:
    """Recorded everyday sounds at random times over silence (module docstring)."""
    length = samples(duration_s)
    sounds = recordings or find_recordings("sounds", part)
    out = np.zeros(length)
    count = max(1, int(rng.poisson(rng.uniform(4.0, 20.0) * duration_s / 60.0)))
    for _ in range(count):
        sound = _active_rms(decode(sounds[int(rng.integers(len(sounds)))].path).astype(np.float64))
        start = int(rng.integers(0, length))
        piece = sound[: length - start] * _db(rng.uniform(-8.0, 8.0))
        out[start : start + len(piece)] += piece
    # Sparse sounds have a high crest factor: scale to -20 dBFS RMS unless the peak would pass full
    # scale, then to a peak of 1 (quieter, but never clipped).
    rms, peak = float(np.sqrt(np.mean(out**2))), float(np.max(np.abs(out)))
    return (out * min(0.1 / rms, 1.0 / peak) if rms > 0 else out).astype(np.float32)


RECORDED_BACKGROUNDS = {"speech": recorded_babble, "music": recorded_music, "tv": tv_programme, "sounds": everyday_sounds}
"""The ``recordings`` background of each set: ``(rng, duration_s, part, ...) -> float32[N]``."""


def recorded_background(
    set_name: str, rng: np.random.Generator, duration_s: float, part: str, talkers: tuple[int, int] | None = None,
) -> Audio:
    """The ``recordings`` background of ``set_name`` (``speech``, ``music``, ``tv``, ``sounds``)."""
    if set_name in ("speech", "tv"):
        return RECORDED_BACKGROUNDS[set_name](rng, duration_s, part, talkers)
    return RECORDED_BACKGROUNDS[set_name](rng, duration_s, part)


# ---------------------------------------------------------------------------------------------
# Generated

def _band(rng_noise: NDArray[np.float64], centre_hz: float, bandwidth_hz: float) -> NDArray[np.float64]:
    """Second-order resonator (band-pass) around ``centre_hz``."""
    radius = np.exp(-np.pi * bandwidth_hz / SAMPLE_RATE)
    theta = 2.0 * np.pi * centre_hz / SAMPLE_RATE
    return iir_filter(np.array([1.0 - radius, 0.0, -(1.0 - radius)]),
                      np.array([1.0, -2.0 * radius * np.cos(theta), radius**2]), rng_noise)


def _syllables(rng: np.random.Generator, length: int) -> NDArray[np.float64]:
    """0-1 envelope: syllables at 3-6 Hz in words of 2-6, phrases of 3-10 words, pauses between."""
    envelope = np.zeros(length)
    rate_hz = float(rng.uniform(3.0, 6.0))
    position = -int(rng.integers(0, 2 * SAMPLE_RATE))
    while position < length:
        for _word in range(int(rng.integers(3, 11))):
            for _syllable in range(int(rng.integers(2, 7))):
                size = round(rng.uniform(0.6, 1.0) * SAMPLE_RATE / rate_hz)
                shape = np.sin(np.pi * np.arange(size) / size) ** 2 * rng.uniform(0.4, 1.0)
                first, last = max(position, 0), min(position + size, length)
                if last > first:
                    envelope[first:last] = shape[first - position : last - position]
                position += size
            position += round(rng.uniform(0.02, 0.15) * SAMPLE_RATE)
        position += round(rng.uniform(0.3, 1.5) * SAMPLE_RATE)
    return envelope


def babble_noise(rng: np.random.Generator, duration_s: float) -> Audio:
    """Speech-shaped noise switched at syllable rate, 3-8 talkers (module docstring)."""
    length = samples(duration_s)
    mix = np.zeros(length)
    for _ in range(int(rng.integers(3, 9))):
        noise = rng.standard_normal(length)
        voice = sum(_band(noise, float(rng.uniform(*centre)), float(rng.uniform(*width))) * weight
                    for centre, width, weight in (((300, 900), (150, 300), 1.0), ((900, 2200), (200, 400), 0.6),
                                                  ((2200, 3800), (300, 600), 0.3)))
        mix += _unit_rms(np.asarray(voice)) * _syllables(rng, length) * _db(rng.uniform(-6.0, 6.0))
    return rms_normalise(mix)


def _note(length: int, frequency_hz: float, decaying: bool, rng: np.random.Generator) -> NDArray[np.float64]:
    time_s = np.arange(length) / SAMPLE_RATE
    tone = np.zeros(length)
    for harmonic, weight in ((1, 1.0), (2, 0.4), (3, 0.2), (4, 0.1)):
        if harmonic * frequency_hz < SAMPLE_RATE / 2 - 200:
            tone += weight * np.sin(2 * np.pi * harmonic * frequency_hz * time_s + rng.uniform(0, 2 * np.pi))
    envelope = np.exp(-time_s / rng.uniform(0.15, 0.6)) if decaying else np.ones(length)
    return tone * envelope * ramp(length, round(0.005 * SAMPLE_RATE))


def synth_music(rng: np.random.Generator, duration_s: float) -> Audio:
    """Melody, chords and bass from a random scale and tempo (module docstring)."""
    length = samples(duration_s)
    beat = round(60.0 / rng.uniform(70.0, 160.0) * SAMPLE_RATE)
    root_hz = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)
    scale = np.array([0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.5 else [0, 2, 3, 5, 7, 8, 10])
    high = rng.random() < 0.5  # a melody up at alarm pitch (2.3-3.7 kHz) half of the time
    melody_octave = 4 if high else int(rng.integers(2, 4))
    decaying = bool(rng.random() < 0.6)
    mix = np.zeros(length + 20 * beat)  # a bar that starts before the end holds up to 16 beats of melody
    position, degree = 0, int(rng.integers(0, 7))
    while position < length:
        bar_root = int(rng.choice([0, 3, 4, 5]))
        for voice_degree, gain in ((bar_root, 0.5), (bar_root + 2, 0.3), (bar_root + 4, 0.3)):
            semitone = 12 * (voice_degree // 7) + scale[voice_degree % 7]
            mix[position : position + 4 * beat] += gain * _note(4 * beat, root_hz * 2 ** (semitone / 12), decaying, rng)
        for _ in range(int(rng.integers(2, 9))):  # melody notes in this bar
            size = beat * int(rng.choice([1, 1, 2])) // int(rng.choice([1, 2]))
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
            semitone = 12 * (melody_octave + degree // 7) + scale[degree % 7]
            frequency = root_hz * 2 ** (semitone / 12)
            if high:
                frequency = float(np.clip(frequency, 2300.0, 3700.0))
            mix[position : position + size] += 0.6 * _note(size, frequency, decaying, rng)
            position += size
    return rms_normalise(mix[:length])


GENERATED_BACKGROUNDS = {"babble_noise": babble_noise, "synth_music": synth_music}
"""The generated room backgrounds by name (built-in ``source`` names of a soundscape)."""


# ---------------------------------------------------------------------------------------------
# Level steps


def _steps(
    rng: np.random.Generator, length: int, count: int, gain_db: tuple[float, float], ramp_s: float,
) -> NDArray[np.float64]:
    """float64[length] gain: ``count`` steps at random times to levels drawn from ``gain_db``."""
    gain = np.full(length, _db(rng.uniform(*gain_db)))
    ramp_size = max(round(ramp_s * SAMPLE_RATE), 1)
    for time in np.sort(rng.integers(0, length, size=count)):
        before, after = gain[time], _db(rng.uniform(*gain_db))
        end = min(time + ramp_size, length)
        gain[time:end] = before + (after - before) * np.arange(1, end - time + 1) / ramp_size
        gain[end:] = after
    return gain


def level_steps(
    signal: NDArray[np.float64], rng: np.random.Generator, steps_per_min: tuple[float, float],
    level_dbfs: tuple[float, float],
) -> NDArray[np.float64]:
    """``signal`` (float64[N]) with its level redrawn from ``level_dbfs`` at Poisson times.

    The number of steps is Poisson with a mean drawn from ``steps_per_min``; the level moves in
    50 ms ramps. Each stretch's level is the one drawn (assuming ``signal`` is steady).
    """
    minutes = len(signal) / SAMPLE_RATE / 60.0
    count = int(rng.poisson(rng.uniform(*steps_per_min) * minutes))
    gain = _steps(rng, len(signal), count, level_dbfs, _STEP_RAMP_S)
    return _unit_rms(signal) * gain
