"""Rendering a soundscape (:mod:`spikefly.worlds.soundscape`) into an audio clip with its events.

Everything is drawn from the generator passed in: the same soundscape and generator state give
the same samples and the same events, in every process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.audio.room_backgrounds import level_steps, recorded_background
from spikefly.envs.audio.signals import BACKGROUND_SOURCES, EVENT_SOURCES, EventSound
from spikefly.worlds.soundscape_backgrounds import DEFAULT_LEVEL_DBFS
from spikefly.worlds.soundscape import (
    RECORDING_PARTS,
    RECORDING_SET_NAMES,
    BackgroundSpec,
    Clip,
    Event,
    EventSpec,
    Soundscape,
)
from spikefly.worlds.table_reader import closest_key
from spikefly.worlds.wav import SAMPLE_RATE, AudioFileError, load_wav

PEAK_LIMIT = 0.99
"""A rendered clip whose peak would pass this is scaled down whole (SNRs unchanged)."""
_FADE_S = 0.005
_TRIM_DB = -50.0


def render_clip(
    soundscape: Soundscape,
    rng: np.random.Generator,
    duration_s: float | None = None,
    snr_db: tuple[float, float] | None = None,
    backgrounds: list[str] | None = None,
) -> Clip:
    """Draw one clip from ``rng`` (same generator state, same samples).

    Args:
        soundscape: what to draw from (a loaded soundscape file).
        rng: the only source of randomness.
        duration_s: clip length (default the soundscape's ``duration_s``).
        snr_db: ``(lo, hi)`` replacing every event's SNR range.
        backgrounds: built-in background names replacing the file's backgrounds, each drawn
            at the highest ``level_dbfs`` range among the file's (e.g. ``["speech_babble"]``,
            or a recorded set: ``["recordings:speech:heldout"]``).

    Backgrounds are summed at their drawn levels. Event counts are Poisson with each
    entry's drawn rate; the events are shuffled and laid out uniformly at random without
    overlap, at least ``min_gap_s`` apart, wholly inside the clip (an event that no longer
    fits is dropped). Each is scaled to its SNR against the background over its span. A
    clip whose peak would pass 0.99 is scaled down whole.
    """
    rate = SAMPLE_RATE
    duration_s = soundscape.duration_s if duration_s is None else float(duration_s)
    if not duration_s > 0:
        raise ValueError(f"duration_s must be positive, got {duration_s!r}")
    if snr_db is not None and not snr_db[0] <= snr_db[1]:
        raise ValueError(f"snr_db must be (low, high) with low <= high, got {snr_db!r}")
    length = round(duration_s * rate)
    layers = (
        soundscape.backgrounds if backgrounds is None else _replacement_backgrounds(soundscape, backgrounds)
    )
    mix = np.zeros(length)
    for layer in layers:
        mix += _render_background(layer, rng, length)
    sounds = []
    for spec in soundscape.events:
        count = int(rng.poisson(rng.uniform(*spec.rate_per_min) * duration_s / 60.0))
        for _ in range(count):
            sound = _render_event(spec, rng)
            sounds.append((spec.label, sound, float(rng.uniform(*(snr_db or spec.snr_db)))))
    events = []
    lengths = [len(sound.audio) for _, sound, _ in sounds]
    for index, start in _place(rng, lengths, length, soundscape.min_gap_s, rate):
        label, sound, snr = sounds[index]
        first = start + round(sound.onset_s * rate)
        last = start + round(sound.offset_s * rate)
        active = sound.audio[first - start : last - start].astype(np.float64)
        event_rms = float(np.sqrt(np.mean(active**2)))
        background_rms = max(float(np.sqrt(np.mean(mix[first:last] ** 2))), 1e-5)
        gain = background_rms * 10 ** (snr / 20) / event_rms if event_rms > 0 else 0.0
        mix[start : start + len(sound.audio)] += gain * sound.audio
        events.append(Event(first / rate, last / rate, label, snr))
    peak = float(np.max(np.abs(mix))) if length else 0.0
    if peak > PEAK_LIMIT:
        mix *= PEAK_LIMIT / peak
    order = sorted(range(len(events)), key=lambda index: events[index].onset_s)
    return Clip(mix.astype(np.float32), rate, tuple(events[index] for index in order))


def _replacement_backgrounds(soundscape: Soundscape, names: list[str]) -> tuple[BackgroundSpec, ...]:
    """Built-in backgrounds by name, or ``recordings:SET`` / ``recordings:SET:PART`` (e.g. ``recordings:music:heldout``)."""
    valid = tuple(BACKGROUND_SOURCES) + tuple(f"recordings:{name}" for name in RECORDING_SET_NAMES)
    levels = [layer.level_dbfs for layer in soundscape.backgrounds if layer.level_dbfs is not None]
    level = max(levels, key=lambda pair: pair[1]) if levels else DEFAULT_LEVEL_DBFS
    layers = []
    for name in names:
        source, _, rest = name.partition(":")
        recording_set, _, part = rest.partition(":")
        if source == "recordings" and recording_set in RECORDING_SET_NAMES and part in ("", *RECORDING_PARTS):
            layers.append(BackgroundSpec("recordings", level, recording_set=recording_set, part=part or "train"))
        elif name in BACKGROUND_SOURCES:
            layers.append(BackgroundSpec(name, level))
        else:
            guess = closest_key(name, valid)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise ValueError(f"unknown background {name!r}{hint}; use one of: {', '.join(valid)} "
                             f"(a recorded set may end in :heldout or :train)")
    return tuple(layers)


def _place(
    rng: np.random.Generator, lengths: list[int], clip_length: int, min_gap_s: float, rate: int
) -> list[tuple[int, int]]:
    """``(index, start sample)`` for the events of ``lengths`` that fit, in time order.

    The events are shuffled; each that still fits (with the gaps) is kept. The spare time is
    split at uniformly random points, which lays the kept events out uniformly at random among
    all non-overlapping arrangements in that order.
    """
    gap = round(min_gap_s * rate)
    kept, used = [], 0
    for index in rng.permutation(len(lengths)):
        need = lengths[index] + (gap if kept else 0)
        if used + need <= clip_length:
            kept.append(int(index))
            used += need
    cuts = np.sort(rng.integers(0, clip_length - used + 1, size=len(kept)))
    placed, position = [], 0
    for index, cut in zip(kept, cuts, strict=True):
        placed.append((index, int(cut) + position))
        position += lengths[index] + gap
    return placed


# ---------------------------------------------------------------------------------------------
# Rendering pieces


def _level_gain(signal: NDArray[np.float64], level_dbfs: float) -> float:
    rms = float(np.sqrt(np.mean(signal**2)))
    return 10 ** (level_dbfs / 20) / rms if rms > 0 else 0.0


def _render_background(
    layer: BackgroundSpec, rng: np.random.Generator, length: int
) -> NDArray[np.float64]:
    if layer.source == "wav_dir":
        signal = _cut_recordings(layer.files, rng, length)
    elif layer.source == "recordings":
        assert layer.recording_set is not None  # checked by the reader
        signal = np.asarray(recorded_background(layer.recording_set, rng, length / SAMPLE_RATE, layer.part,
                                                layer.talkers), dtype=np.float64)
    else:
        signal = np.asarray(
            BACKGROUND_SOURCES[layer.source](rng, length / SAMPLE_RATE), dtype=np.float64
        )
    if layer.level_dbfs is None:
        return signal
    if layer.level_steps_per_min is not None:
        return level_steps(signal, rng, layer.level_steps_per_min, layer.level_dbfs)
    return signal * _level_gain(signal, float(rng.uniform(*layer.level_dbfs)))


def _cut_recordings(files: tuple[Path, ...], rng: np.random.Generator, length: int) -> NDArray[np.float64]:
    """float64[length] from the recordings: a random stretch of one, then whole random ones."""
    out = np.zeros(length)
    filled = 0
    fade = round(_FADE_S * SAMPLE_RATE)
    first = True
    while filled < length:
        audio = _recording(files[int(rng.integers(len(files)))])
        start = int(rng.integers(len(audio))) if first else 0
        piece = audio[start : start + length - filled].astype(np.float64)
        ramp = min(fade, len(piece) // 2)
        if ramp:
            shape = (np.arange(ramp) + 0.5) / ramp
            piece[:ramp] *= shape
            piece[len(piece) - ramp :] *= shape[::-1]
        out[filled : filled + len(piece)] = piece
        filled += len(piece)
        first = False
    return out


def _render_event(spec: EventSpec, rng: np.random.Generator) -> EventSound:
    if spec.source == "wav":
        audio = _trimmed_recording(spec.path)
        return EventSound(audio, 0.0, len(audio) / SAMPLE_RATE)
    return EVENT_SOURCES[spec.source](rng)


def _file_key(path: Path) -> tuple[str, int, int]:
    status = path.stat()
    return (str(path), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=64)
def _recording_cached(key: tuple[str, int, int]) -> NDArray[np.float32]:
    return load_wav(key[0])


def _recording(path: Path) -> NDArray[np.float32]:
    """A WAV file as 16 kHz mono float32, decoded once while the file is unchanged."""
    return _recording_cached(_file_key(path))


@lru_cache(maxsize=64)
def _trimmed_cached(key: tuple[str, int, int]) -> NDArray[np.float32]:
    audio = _recording_cached(key)
    loud = np.nonzero(np.abs(audio) > np.max(np.abs(audio)) * 10 ** (_TRIM_DB / 20))[0]
    if len(loud) == 0:
        raise AudioFileError(key[0], "the recording is silent", "use a recording of the event")
    return audio[loud[0] : loud[-1] + 1]


def _trimmed_recording(path: Path | None) -> NDArray[np.float32]:
    assert path is not None  # a "wav" event always has a path (checked by the reader)
    return _trimmed_cached(_file_key(path))
