"""The soundscape world: what a file of ``kind = "soundscape"`` describes, its reader and renderer.

The format is docs/formats.md's ("Soundscape files"); every key written there is accepted as
written. Top level: ``name``, ``kind = "soundscape"``, ``duration_s``, ``target`` (class names
the detector must flag), any number of ``[[backgrounds]]`` (at least one) and ``[[events]]``.

``[[backgrounds]]``

- ``source``: a built-in background (``white_noise``, ``pink_noise``, ``brown_noise``,
  ``mains_hum``, ``rain``, ``hvac``, ``speech_babble``, ``babble_noise``, ``synth_music``),
  ``"wav_dir"`` or ``"recordings"``.
- ``set`` and ``part`` (``recordings`` only): the recorded set (``speech``: babble of real
  talkers; ``music``; ``tv``: speech and music alternating at changing levels; ``sounds``:
  everyday sounds), installed by Debian packages, and which part of it (``"train"``, the
  default, or ``"heldout"``: speakers, songs and sounds no training soundscape hears).
- ``talkers = [lo, hi]`` (``recordings`` with ``set = "speech"`` or ``"tv"``): how many people
  talk at once, drawn per clip, 1 to 16 (default [2, 8] for speech, [1, 2] for tv).
- ``level_steps_per_min = [lo, hi]`` (optional, any background with a ``level_dbfs``): the
  layer's level is redrawn from ``level_dbfs`` at Poisson times, this many per minute on average
  (a TV turned up, a door opened); default none.
- ``path`` (``wav_dir`` only): a folder; every ``*.wav`` in it (not sub-folders; any rate,
  mono or stereo) is a recording. A clip's background is cut from them: a random stretch of a
  random file, then whole files in random order, with 5 ms fades at the joins.
- ``level_dbfs = [lo, hi]``: RMS level in dB re full scale, drawn uniformly per clip, at most
  0. Optional: built-ins default to [-40.0, -20.0]; ``wav_dir`` recordings keep their
  recorded level when it is absent.

``[[events]]``

- ``source``: a built-in event (``smoke_alarm``, ``co_alarm``, ``siren_wail``, ``siren_yelp``,
  ``glass_break``, ``dog_bark``, and the hard negatives ``microwave_beep``, ``timer_beep``,
  ``phone_ring``, ``reversing_beeper``, ``tonal_melody``) or ``"wav"``.
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

A soundscape is rendered into clips by :func:`spikefly.envs.audio.soundscape_render.render_clip`,
with the signal generators of ``spikefly.envs.audio.signals``; this module only knows their
names (:data:`EVENT_SOURCE_NAMES`, :data:`BACKGROUND_SOURCE_NAMES`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .soundscape_backgrounds import (
    BACKGROUND_EXAMPLE,
    BACKGROUND_SOURCE_NAMES,
    MAX_RATE_PER_MIN,
    RECORDING_PARTS,
    RECORDING_SET_NAMES,
    BackgroundSpec,
    check_audio_path,
    read_background,
)
from .table_reader import TableReader, closest_key

EVENT_SOURCE_NAMES = ("smoke_alarm", "co_alarm", "siren_wail", "siren_yelp", "glass_break", "dog_bark",
                      "microwave_beep", "timer_beep", "phone_ring", "reversing_beeper", "tonal_melody")
"""The built-in event generators (``source`` of an ``[[events]]`` entry; what each sounds like:
:mod:`spikefly.envs.audio.signals`)."""
__all__ = ["BACKGROUND_SOURCE_NAMES", "EVENT_SOURCE_NAMES", "RECORDING_PARTS", "RECORDING_SET_NAMES", "BackgroundSpec",
           "Clip", "Event", "EventSpec", "Soundscape", "bundled_soundscapes", "load_soundscape", "loads_soundscape",
           "read_soundscape"]

BUNDLED_DIR = Path(__file__).resolve().parent
"""Folder holding the bundled ``*.toml`` worlds."""

MIN_DURATION_S, MAX_DURATION_S = 1.0, 3_600.0
"""A clip is at least a second (events last up to a few) and at most an hour (it is rendered in memory)."""
MAX_SNR_DB = 60.0
SOUNDSCAPE_KEYS = ("name", "kind", "duration_s", "target", "min_gap_s", "backgrounds", "events")
BUILTIN_EVENT_KEYS = ("source", "label", "rate_per_min", "snr_db")
WAV_EVENT_KEYS = ("source", "path", "label", "rate_per_min", "snr_db")

DEFAULT_RATE_PER_MIN = (0.0, 4.0)
"""Rate range of an event without ``rate_per_min``."""
DEFAULT_SNR_DB = (0.0, 15.0)
"""SNR range of an event without ``snr_db``."""
DEFAULT_MIN_GAP_S = 1.0
"""Least time between consecutive events without ``min_gap_s``."""

_EVENT_EXAMPLE = '[[events]] source = "smoke_alarm", rate_per_min = [0.0, 4.0], snr_db = [0.0, 15.0]'


# ---------------------------------------------------------------------------------------------
# What a file describes


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


# ---------------------------------------------------------------------------------------------
# Reading


def read_soundscape(table: TableReader) -> Soundscape:
    """The soundscape described by the top-level ``table`` (a parsed ``kind = "soundscape"`` file), checked.

    This is the hook for ``worlds/loader.py``: ``read_soundscape(TableReader(data, source,
    base_dir=folder))``, like ``read_course``.
    """
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
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise table.error("duration_s", f"{duration_s:g} s is outside [{MIN_DURATION_S:g}, {MAX_DURATION_S:g}] s",
                          "give the clip length in seconds, e.g. duration_s = 60.0")
    min_gap_s = table.number(
        "min_gap_s",
        "min_gap_s = 1.0",
        "the least time between events in seconds",
        DEFAULT_MIN_GAP_S,
        non_negative=True,
    )
    target = _read_target(table)
    backgrounds = tuple(
        read_background(entry, BACKGROUND_SOURCE_NAMES)
        for entry in table.table_array("backgrounds", BACKGROUND_EXAMPLE)
    )
    if not backgrounds:
        raise table.error(
            "backgrounds",
            "a soundscape needs at least one [[backgrounds]] entry (event SNRs are measured against it)",
            f"add one, e.g. {BACKGROUND_EXAMPLE}; for a quiet room use white_noise at level_dbfs = [-80.0, -70.0]",
        )
    events = tuple(
        _read_event(entry, EVENT_SOURCE_NAMES)
        for entry in table.table_array("events", _EVENT_EXAMPLE)
    )
    known = tuple(dict.fromkeys([event.label for event in events] + list(EVENT_SOURCE_NAMES)))
    for index, label in enumerate(target):
        if label not in known:
            guess = closest_key(label, known)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise table.error(
                f"target[{index}]",
                f"no [[events]] entry makes class {label!r}{hint}",
                f"name a built-in event ({', '.join(EVENT_SOURCE_NAMES)}) or the label of a "
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
        check_audio_path(entry, path)
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
    if rate[1] > MAX_RATE_PER_MIN:
        raise entry.error("rate_per_min", f"{rate[1]:g} events per minute is more than {MAX_RATE_PER_MIN:g}",
                          f"give a rate an event of a few seconds can keep, e.g. {rate_example}")
    snr_db = entry.number_range(
        "snr_db", "snr_db = [0.0, 15.0]", "the SNR range [lo, hi] in dB", DEFAULT_SNR_DB
    )
    if not (-MAX_SNR_DB <= snr_db[0] and snr_db[1] <= MAX_SNR_DB):
        raise entry.error("snr_db", f"[{snr_db[0]:g}, {snr_db[1]:g}] dB is outside +-{MAX_SNR_DB:g} dB",
                          "give an SNR range such as snr_db = [0.0, 15.0]")
    return EventSpec(source, label, rate, snr_db, path)


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
        from .loader import syntax_error  # late: the loader imports this module

        raise syntax_error(error, text, source) from None
    except RecursionError:
        from .loader import too_deep  # late: the loader imports this module

        raise too_deep(source) from None
    return read_soundscape(
        TableReader(data, source, base_dir=Path(base_dir) if base_dir is not None else None)
    )
