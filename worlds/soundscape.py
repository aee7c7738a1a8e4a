"""The soundscape world: what a file of ``kind = "soundscape"`` describes, its reader and renderer.

The format is docs/formats.md's ("Soundscape files"); every key written there is accepted as
written. Top level: ``name``, ``kind = "soundscape"``, ``duration_s``, ``target`` (class names
the detector must flag), any number of ``[[backgrounds]]`` (at least one) and ``[[events]]``.

``[[backgrounds]]``

- ``source``: a built-in background (``white_noise``, ``pink_noise``, ``brown_noise``,
  ``mains_hum``, ``rain``, ``hvac``, ``speech_babble``) or ``"wav_dir"``.
- ``path`` (``wav_dir`` only): a folder; every ``*.wav`` in it (not sub-folders; any rate,
  mono or stereo) is a recording. A clip's background is cut from them: a random stretch of a
  random file, then whole files in random order, with 5 ms fades at the joins.
- ``level_dbfs = [lo, hi]``: RMS level in dB re full scale, drawn uniformly per clip, at most
  0. Optional: built-ins default to [-40.0, -20.0]; ``wav_dir`` recordings keep their
  recorded level when it is absent.

``[[events]]``

- ``source``: a built-in event (``smoke_alarm``, ``co_alarm``, ``siren_wail``, ``siren_yelp``,
  ``glass_break``, ``dog_bark``) or ``"wav"``.
- ``path`` and ``label`` (``wav`` only, both required): the recording (leading and trailing
  audio below -50 dB re its peak is trimmed) and its class name (a class from ``target``, or
  anything else, e.g. ``"distractor"``).
- ``rate_per_min = [lo, hi]``: events per minute, drawn uniformly per clip; the count is
  Poisson with that mean. Optional, default [0.0, 4.0].
- ``snr_db = [lo, hi]``: each event's signal-to-noise ratio, drawn uniformly per event: the
  event's RMS over its active span against the mixed backgrounds' RMS over the same span.
  Optional, default [0.0, 15.0].

Optional keys added by spikefly (not in docs/formats.md):

- top level ``min_gap_s`` (default 1.0): least time between one event's end and the next one's
  start, seconds.
- ``label`` on a built-in event (default: the source's name), e.g. ``label = "siren"`` on both
  ``siren_wail`` and ``siren_yelp``.

Every entry of ``target`` must be the label of some ``[[events]]`` entry or a built-in event
name (a file may hold no target events, to measure false alarms). Relative paths are relative
to the world file's folder. Every problem raises :class:`WorldError` naming the file, the key
and the fix.

Rendering (:meth:`Soundscape.render`) needs the signal generators of
``spikefly.envs.audio_signals``, imported when first needed: the one place ``spikefly.worlds``
reaches into another part, since a soundscape is nothing without its sounds.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .table_reader import TableReader, closest_key

if TYPE_CHECKING:
    from spikefly.envs.audio_signals import EventSound

BUNDLED_DIR = Path(__file__).resolve().parent
"""Folder holding the bundled ``*.toml`` worlds."""

SOUNDSCAPE_KEYS = ("name", "kind", "duration_s", "target", "min_gap_s", "backgrounds", "events")
BUILTIN_BACKGROUND_KEYS = ("source", "level_dbfs")
WAV_DIR_BACKGROUND_KEYS = ("source", "path", "level_dbfs")
BUILTIN_EVENT_KEYS = ("source", "label", "rate_per_min", "snr_db")
WAV_EVENT_KEYS = ("source", "path", "label", "rate_per_min", "snr_db")

DEFAULT_LEVEL_DBFS = (-40.0, -20.0)
"""Level range of a built-in background without ``level_dbfs``."""
DEFAULT_RATE_PER_MIN = (0.0, 4.0)
"""Rate range of an event without ``rate_per_min``."""
DEFAULT_SNR_DB = (0.0, 15.0)
"""SNR range of an event without ``snr_db``."""
DEFAULT_MIN_GAP_S = 1.0
"""Least time between consecutive events without ``min_gap_s``."""
PEAK_LIMIT = 0.99
"""A rendered clip whose peak would pass this is scaled down whole (SNRs unchanged)."""

_BACKGROUND_EXAMPLE = '[[backgrounds]] source = "pink_noise", level_dbfs = [-40.0, -20.0]'
_EVENT_EXAMPLE = '[[events]] source = "smoke_alarm", rate_per_min = [0.0, 4.0], snr_db = [0.0, 15.0]'
_FADE_S = 0.005
_TRIM_DB = -50.0


def _signals() -> ModuleType:
    # Imported late: worlds load without envs, and envs import worlds.
    from spikefly.envs import audio_signals

    return audio_signals


# ---------------------------------------------------------------------------------------------
# What a file describes


@dataclass(frozen=True)
class BackgroundSpec:
    """One ``[[backgrounds]]`` entry."""

    source: str
    """A name in ``BACKGROUND_SOURCES`` or ``"wav_dir"``."""
    level_dbfs: tuple[float, float] | None
    """RMS level range [lo, hi], dBFS; ``None``: a ``wav_dir``'s recorded level."""
    files: tuple[Path, ...] = ()
    """``wav_dir``: the WAV files found in the folder, sorted."""


@dataclass(frozen=True)
class EventSpec:
    """One ``[[events]]`` entry."""

    source: str
    """A name in ``EVENT_SOURCES`` or ``"wav"``."""
    label: str
    """Class name of the events it makes."""
    rate_per_min: tuple[float, float]
    """Range of the mean number of events per minute."""
    snr_db: tuple[float, float]
    """Range of each event's SNR, dB."""
    path: Path | None = None
    """``wav``: the recording."""


@dataclass(frozen=True)
class Event:
    """One event placed in a clip."""

    onset_s: float
    """Start of the audible pattern, seconds from the clip's start."""
    offset_s: float
    """End of the audible pattern, seconds."""
    label: str
    """Class name."""
    snr_db: float
    """SNR against the backgrounds over ``[onset_s, offset_s)``, dB (achieved exactly)."""


@dataclass(frozen=True)
class Clip:
    """A rendered soundscape."""

    audio: NDArray[np.float32]
    """float32[N] mono samples in [-1, 1]."""
    sample_rate: int
    """Samples per second (16000)."""
    events: tuple[Event, ...]
    """Placed events in time order; they never overlap."""

    @property
    def duration_s(self) -> float:
        """Length of the clip, seconds."""
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class Soundscape:
    """Backgrounds and events to draw audio clips from, with the classes to detect."""

    name: str
    """The file's ``name``."""
    source: str
    """The file path it was loaded from, or ``"<string>"``."""
    duration_s: float
    """Default clip length, seconds."""
    target: tuple[str, ...]
    """Classes the detector must flag."""
    backgrounds: tuple[BackgroundSpec, ...]
    """Background layers, mixed."""
    events: tuple[EventSpec, ...] = ()
    """Event kinds, placed as a Poisson process."""
    min_gap_s: float = DEFAULT_MIN_GAP_S
    """Least time between one event's end and the next one's start, seconds."""

    @property
    def labels(self) -> tuple[str, ...]:
        """Every class name an event can carry, targets first, without repeats."""
        return tuple(dict.fromkeys(self.target + tuple(event.label for event in self.events)))

    def render(
        self,
        rng: np.random.Generator,
        duration_s: float | None = None,
        snr_db: tuple[float, float] | None = None,
        backgrounds: list[str] | None = None,
    ) -> Clip:
        """Draw one clip from ``rng`` (same generator state, same samples).

        Args:
            rng: the only source of randomness.
            duration_s: clip length (default :attr:`duration_s`).
            snr_db: ``(lo, hi)`` replacing every event's SNR range.
            backgrounds: built-in background names replacing the file's backgrounds, each drawn
                at the highest ``level_dbfs`` range among the file's (e.g. ``["speech_babble"]``).

        Backgrounds are summed at their drawn levels. Event counts are Poisson with each
        entry's drawn rate; the events are shuffled and laid out uniformly at random without
        overlap, at least ``min_gap_s`` apart, wholly inside the clip (an event that no longer
        fits is dropped). Each is scaled to its SNR against the background over its span. A
        clip whose peak would pass 0.99 is scaled down whole.
        """
        signals = _signals()
        rate = signals.SAMPLE_RATE
        duration_s = self.duration_s if duration_s is None else float(duration_s)
        if not duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {duration_s!r}")
        if snr_db is not None and not snr_db[0] <= snr_db[1]:
            raise ValueError(f"snr_db must be (low, high) with low <= high, got {snr_db!r}")
        length = round(duration_s * rate)
        layers = (
            self.backgrounds if backgrounds is None else self._replacement_backgrounds(backgrounds, signals)
        )
        mix = np.zeros(length)
        for layer in layers:
            mix += _render_background(layer, rng, length, signals)
        sounds = []
        for spec in self.events:
            count = int(rng.poisson(rng.uniform(*spec.rate_per_min) * duration_s / 60.0))
            for _ in range(count):
                sound = _render_event(spec, rng, signals)
                sounds.append((spec.label, sound, float(rng.uniform(*(snr_db or spec.snr_db)))))
        events = []
        lengths = [len(sound.audio) for _, sound, _ in sounds]
        for index, start in _place(rng, lengths, length, self.min_gap_s, rate):
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

    def _replacement_backgrounds(self, names: list[str], signals: ModuleType) -> tuple[BackgroundSpec, ...]:
        valid = tuple(signals.BACKGROUND_SOURCES)
        for name in names:
            if name not in valid:
                guess = closest_key(name, valid)
                hint = f" (did you mean {guess!r}?)" if guess else ""
                raise ValueError(f"unknown background {name!r}{hint}; use one of: {', '.join(valid)}")
        levels = [layer.level_dbfs for layer in self.backgrounds if layer.level_dbfs is not None]
        level = max(levels, key=lambda pair: pair[1]) if levels else DEFAULT_LEVEL_DBFS
        return tuple(BackgroundSpec(name, level) for name in names)


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
    layer: BackgroundSpec, rng: np.random.Generator, length: int, signals: ModuleType
) -> NDArray[np.float64]:
    if layer.source == "wav_dir":
        signal = _cut_recordings(layer.files, rng, length)
    else:
        signal = np.asarray(
            signals.BACKGROUND_SOURCES[layer.source](rng, length / signals.SAMPLE_RATE), dtype=np.float64
        )
    if layer.level_dbfs is None:
        return signal
    return signal * _level_gain(signal, float(rng.uniform(*layer.level_dbfs)))


def _cut_recordings(files: tuple[Path, ...], rng: np.random.Generator, length: int) -> NDArray[np.float64]:
    """float64[length] from the recordings: a random stretch of one, then whole random ones."""
    out = np.zeros(length)
    filled = 0
    fade = round(_FADE_S * _signals().SAMPLE_RATE)
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


def _render_event(spec: EventSpec, rng: np.random.Generator, signals: ModuleType) -> EventSound:
    if spec.source == "wav":
        audio = _trimmed_recording(spec.path)
        return signals.EventSound(audio, 0.0, len(audio) / signals.SAMPLE_RATE)
    return signals.EVENT_SOURCES[spec.source](rng)


def _file_key(path: Path) -> tuple[str, int, int]:
    status = path.stat()
    return (str(path), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=64)
def _recording_cached(key: tuple[str, int, int]) -> NDArray[np.float32]:
    return _signals().load_wav(key[0])


def _recording(path: Path) -> NDArray[np.float32]:
    """A WAV file as 16 kHz mono float32, decoded once while the file is unchanged."""
    return _recording_cached(_file_key(path))


@lru_cache(maxsize=64)
def _trimmed_cached(key: tuple[str, int, int]) -> NDArray[np.float32]:
    audio = _recording_cached(key)
    loud = np.nonzero(np.abs(audio) > np.max(np.abs(audio)) * 10 ** (_TRIM_DB / 20))[0]
    if len(loud) == 0:
        raise _signals().AudioFileError(key[0], "the recording is silent", "use a recording of the event")
    return audio[loud[0] : loud[-1] + 1]


def _trimmed_recording(path: Path | None) -> NDArray[np.float32]:
    assert path is not None  # a "wav" event always has a path (checked by the reader)
    return _trimmed_cached(_file_key(path))


# ---------------------------------------------------------------------------------------------
# Reading


def read_soundscape(table: TableReader) -> Soundscape:
    """The soundscape described by the top-level ``table`` (a parsed ``kind = "soundscape"`` file), checked.

    This is the hook for ``worlds/loader.py``: ``read_soundscape(TableReader(data, source,
    base_dir=folder))``, like ``read_course``.
    """
    signals = _signals()
    if table.has("kind") and table.data["kind"] == "obstacle_course":
        raise table.error(
            "kind",
            "this is an obstacle course: it is flown by the quadrotor, not heard by the audio environment",
            'use a world with kind = "soundscape" here (kitchen, street, office), or fly the course with the quadrotor',
        )
    table.check_keys(SOUNDSCAPE_KEYS, "a soundscape")
    table.string("kind", 'kind = "soundscape"', "the world kind", choices=("soundscape",))
    name = table.string("name", 'name = "kitchen"', "the world's name", non_empty=True)
    duration_s = table.number("duration_s", "duration_s = 60.0", "the clip length in seconds", positive=True)
    min_gap_s = table.number(
        "min_gap_s",
        "min_gap_s = 1.0",
        "the least time between events in seconds",
        DEFAULT_MIN_GAP_S,
        non_negative=True,
    )
    target = _read_target(table)
    backgrounds = tuple(
        _read_background(entry, tuple(signals.BACKGROUND_SOURCES))
        for entry in table.table_array("backgrounds", _BACKGROUND_EXAMPLE)
    )
    if not backgrounds:
        raise table.error(
            "backgrounds",
            "a soundscape needs at least one [[backgrounds]] entry (event SNRs are measured against it)",
            f"add one, e.g. {_BACKGROUND_EXAMPLE}; for a quiet room use white_noise at level_dbfs = [-80.0, -70.0]",
        )
    events = tuple(
        _read_event(entry, tuple(signals.EVENT_SOURCES))
        for entry in table.table_array("events", _EVENT_EXAMPLE)
    )
    known = tuple(dict.fromkeys([event.label for event in events] + list(signals.EVENT_SOURCES)))
    for index, label in enumerate(target):
        if label not in known:
            guess = closest_key(label, known)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise table.error(
                f"target[{index}]",
                f"no [[events]] entry makes class {label!r}{hint}",
                f"name a built-in event ({', '.join(signals.EVENT_SOURCES)}) or the label of a "
                '[[events]] source = "wav" entry',
            )
    return Soundscape(name, table.source, duration_s, target, backgrounds, events, min_gap_s)


def _read_target(table: TableReader) -> tuple[str, ...]:
    example = 'target = ["smoke_alarm"]'
    if not table.has("target"):
        raise table.error(
            "target", "missing required key", f"add the classes to detect, e.g. {example}, {table.where}"
        )
    value = table.data["target"]
    if isinstance(value, str):
        raise table.error(
            "target",
            f"expected a list of class names, got the string {value!r}",
            f'write target = ["{value}"]',
        )
    if not isinstance(value, list) or not value:
        raise table.error(
            "target",
            "expected a non-empty list of class names",
            f"give the classes to detect, e.g. {example}",
        )
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise table.error(
                f"target[{index}]",
                f"expected a class name, got {item!r}",
                f"give names in double quotes, e.g. {example}",
            )
    if len(set(value)) != len(value):
        raise table.error("target", "a class name appears twice", "list each class once")
    return tuple(value)


def _read_level(entry: TableReader, default: tuple[float, float] | None) -> tuple[float, float] | None:
    example = "level_dbfs = [-40.0, -20.0]"
    if not entry.has("level_dbfs"):
        return default
    level = entry.number_range("level_dbfs", example, "the RMS level range [lo, hi] in dB re full scale")
    if level[1] > 0:
        raise entry.error(
            "level_dbfs",
            f"{level[1]:g} dBFS is above full scale",
            f"give levels of 0 dBFS or less, e.g. {example}",
        )
    return level


def _read_background(entry: TableReader, names: tuple[str, ...]) -> BackgroundSpec:
    sources = (*names, "wav_dir")
    if not entry.has("source"):  # a misspelt "source" is better reported as unknown than missing
        entry.check_keys(WAV_DIR_BACKGROUND_KEYS, "a [[backgrounds]] entry")
    source = entry.string(
        "source", 'source = "pink_noise"', 'a background generator or "wav_dir"', choices=sources
    )
    if source != "wav_dir":
        entry.check_keys(BUILTIN_BACKGROUND_KEYS, f"a {source} background")
        return BackgroundSpec(source, _read_level(entry, DEFAULT_LEVEL_DBFS))
    entry.check_keys(WAV_DIR_BACKGROUND_KEYS, "a wav_dir background")
    folder = entry.file_path("path", 'path = "recordings/cafe"', "the folder of .wav recordings")
    if not folder.is_dir():
        problem = "is a file, not a folder" if folder.exists() else "no such folder"
        raise entry.error(
            "path",
            f"{folder}: {problem}",
            "give a folder of .wav files (relative paths are relative to the world file's folder); "
            'for a single recording use [[events]] source = "wav"',
        )
    files = tuple(
        sorted(path for path in folder.iterdir() if path.suffix.lower() == ".wav" and path.is_file())
    )
    if not files:
        raise entry.error(
            "path",
            f"{folder}: the folder holds no .wav files",
            "put .wav recordings in it, or point path at one that has them",
        )
    for file in files:
        _check_wav(entry, file)
    return BackgroundSpec(source, _read_level(entry, None), files)


def _read_event(entry: TableReader, names: tuple[str, ...]) -> EventSpec:
    sources = (*names, "wav")
    if not entry.has("source"):
        entry.check_keys(WAV_EVENT_KEYS, "an [[events]] entry")
    source = entry.string("source", 'source = "smoke_alarm"', 'an event generator or "wav"', choices=sources)
    rate_example = "rate_per_min = [0.0, 4.0]"
    entry.check_keys(WAV_EVENT_KEYS if source == "wav" else BUILTIN_EVENT_KEYS, f"a {source} event")
    path = None
    if source == "wav":
        path = entry.file_path("path", 'path = "clips/kettle.wav"', "the recording of the event")
        _check_wav(entry, path)
        label = entry.string(
            "label",
            'label = "distractor"',
            "the event's class (a target class or any other name)",
            non_empty=True,
        )
    else:
        label = entry.string(
            "label", f'label = "{source}"', "the event's class", default=source, non_empty=True
        )
    rate = entry.number_range(
        "rate_per_min", rate_example, "the range of events per minute", DEFAULT_RATE_PER_MIN
    )
    if rate[0] < 0:
        raise entry.error(
            "rate_per_min",
            f"a rate cannot be negative, got {rate[0]:g}",
            f"give rates of 0 or more, e.g. {rate_example}",
        )
    snr_db = entry.number_range(
        "snr_db", "snr_db = [0.0, 15.0]", "the SNR range [lo, hi] in dB", DEFAULT_SNR_DB
    )
    return EventSpec(source, label, rate, snr_db, path)


def _check_wav(entry: TableReader, path: Path) -> None:
    signals = _signals()
    try:
        signals.check_wav(path)
    except signals.AudioFileError as error:
        raise entry.error("path", f"{error.path}: {error.problem}", error.fix) from None


# ---------------------------------------------------------------------------------------------
# Files


def bundled_soundscapes() -> list[str]:
    """Names of the bundled soundscapes, sorted (``load_soundscape(name)`` loads each)."""
    names = []
    for path in sorted(BUNDLED_DIR.glob("*.toml")):
        try:
            kind = tomllib.loads(path.read_text(encoding="utf-8")).get("kind")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if kind == "soundscape":
            names.append(path.stem)
    return names


def load_soundscape(name_or_path: str | os.PathLike[str]) -> Soundscape:
    """Load a soundscape by bundled name (``"kitchen"``) or from any ``.toml`` path."""
    from .loader import read_world_file  # late: the loader imports this module

    text, path = read_world_file(name_or_path, "soundscape", bundled_soundscapes(), "load_soundscape")
    return loads_soundscape(text, source=str(path), base_dir=path.resolve().parent)


def loads_soundscape(
    text: str, source: str = "<string>", base_dir: str | os.PathLike[str] | None = None
) -> Soundscape:
    """Parse a soundscape from TOML ``text``; ``source`` names it in errors.

    ``base_dir`` is the folder relative paths are relative to (default: the current folder).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        from .loader import _syntax_error  # late: the loader imports this module

        raise _syntax_error(error, text, source) from None
    return read_soundscape(
        TableReader(data, source, base_dir=Path(base_dir) if base_dir is not None else None)
    )
