"""The ``[[backgrounds]]`` entries of a soundscape file: what they describe and their reader.

Part of :mod:`spikefly.worlds.soundscape` (whose docstring documents every key); split out so
each module holds one idea. Every problem raises :class:`WorldError` naming the file, the key and
the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .table_reader import TableReader
from .wav import AudioFileError, check_wav

BACKGROUND_SOURCE_NAMES = ("white_noise", "pink_noise", "brown_noise", "mains_hum", "rain", "hvac", "speech_babble",
                           "babble_noise", "synth_music")
"""The built-in background generators (``source`` of a ``[[backgrounds]]`` entry)."""
RECORDING_SET_NAMES = ("speech", "music", "tv", "sounds")
"""The recorded sets of a ``source = "recordings"`` background (:mod:`spikefly.envs.audio.recordings`)."""
RECORDING_PARTS = ("train", "heldout")
"""The disjoint parts of every recorded set."""
TALKER_SETS = ("speech", "tv")
"""Recorded sets that take ``talkers``."""
MAX_TALKERS = 16
MIN_LEVEL_DBFS = -120.0
MAX_RATE_PER_MIN = 60.0
BUILTIN_BACKGROUND_KEYS = ("source", "level_dbfs", "level_steps_per_min")
WAV_DIR_BACKGROUND_KEYS = ("source", "path", "level_dbfs", "level_steps_per_min")
RECORDINGS_BACKGROUND_KEYS = ("source", "set", "part", "talkers", "level_dbfs", "level_steps_per_min")
DEFAULT_LEVEL_DBFS = (-40.0, -20.0)
"""Level range of a built-in background without ``level_dbfs``."""
BACKGROUND_EXAMPLE = '[[backgrounds]] source = "pink_noise", level_dbfs = [-40.0, -20.0]'


@dataclass(frozen=True)
class BackgroundSpec:
    """One ``[[backgrounds]]`` entry."""

    source: str
    """A name in ``BACKGROUND_SOURCES`` or ``"wav_dir"``."""
    level_dbfs: tuple[float, float] | None
    """RMS level range [lo, hi], dBFS; ``None``: a ``wav_dir``'s recorded level."""
    files: tuple[Path, ...] = ()
    """``wav_dir``: the WAV files found in the folder, sorted."""
    recording_set: str | None = None
    """``recordings``: the set (a name in ``RECORDING_SET_NAMES``)."""
    part: str = "train"
    """``recordings``: ``"train"`` or ``"heldout"``."""
    talkers: tuple[int, int] | None = None
    """``recordings`` of speech or tv: (fewest, most) talkers at once; None: the set's default."""
    level_steps_per_min: tuple[float, float] | None = None
    """Range of the mean number of level changes per minute; None: a steady level."""


def _read_level(entry: TableReader, default: tuple[float, float] | None) -> tuple[float, float] | None:
    example = "level_dbfs = [-40.0, -20.0]"
    if not entry.has("level_dbfs"):
        return default
    level = entry.number_range("level_dbfs", example, "the RMS level range [lo, hi] in dB re full scale")
    if level[0] < MIN_LEVEL_DBFS:
        raise entry.error("level_dbfs", f"{level[0]:g} dBFS is below {MIN_LEVEL_DBFS:g} (silence)",
                          f"give levels from {MIN_LEVEL_DBFS:g} to 0 dBFS, e.g. {example}")
    if level[1] > 0:
        raise entry.error(
            "level_dbfs",
            f"{level[1]:g} dBFS is above full scale",
            f"give levels of 0 dBFS or less, e.g. {example}",
        )
    return level


def read_background(entry: TableReader, names: tuple[str, ...]) -> BackgroundSpec:
    sources = (*names, "wav_dir", "recordings")
    if not entry.has("source"):  # a misspelt "source" is better reported as unknown than missing
        entry.check_keys(tuple(dict.fromkeys(WAV_DIR_BACKGROUND_KEYS + RECORDINGS_BACKGROUND_KEYS)),
                         "a [[backgrounds]] entry")
    source = entry.string(
        "source", 'source = "pink_noise"', 'a background generator, "wav_dir" or "recordings"', choices=sources
    )
    if source == "recordings":
        return _read_recordings(entry)
    if source != "wav_dir":
        entry.check_keys(BUILTIN_BACKGROUND_KEYS, f"a {source} background")
        level = _read_level(entry, DEFAULT_LEVEL_DBFS)
        return BackgroundSpec(source, level, level_steps_per_min=_read_steps(entry, level))
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
        check_audio_path(entry, file)
    level = _read_level(entry, None)
    return BackgroundSpec(source, level, files, level_steps_per_min=_read_steps(entry, level))


def _read_recordings(entry: TableReader) -> BackgroundSpec:
    entry.check_keys(RECORDINGS_BACKGROUND_KEYS, "a recordings background")
    if not entry.has("set"):
        raise entry.error("set", "missing required key",
                          f'say which recordings, e.g. set = "speech" (one of: {", ".join(RECORDING_SET_NAMES)})')
    recording_set = entry.string("set", 'set = "speech"', "the recorded set", choices=RECORDING_SET_NAMES)
    part = entry.string("part", 'part = "train"', "the part of the recordings", default="train",
                        choices=RECORDING_PARTS)
    talkers = None
    if entry.has("talkers"):
        example = "talkers = [2, 8]"
        if recording_set not in TALKER_SETS:
            raise entry.error("talkers", f"the {recording_set} set has no talkers",
                              f'remove it, or use set = "speech" or "tv", e.g. {example}')
        value = entry.data["talkers"]
        if not (isinstance(value, list) and len(value) == 2 and all(type(item) is int for item in value)):
            raise entry.error("talkers", f"expected a list of 2 whole numbers, got {value!r}", f"write e.g. {example}")
        if not 1 <= value[0] <= value[1] <= MAX_TALKERS:
            raise entry.error("talkers", f"{value} is not [lo, hi] with 1 <= lo <= hi <= {MAX_TALKERS}",
                              f"write e.g. {example}")
        talkers = (value[0], value[1])
    level = _read_level(entry, DEFAULT_LEVEL_DBFS)
    return BackgroundSpec("recordings", level, recording_set=recording_set, part=part, talkers=talkers,
                          level_steps_per_min=_read_steps(entry, level))


def _read_steps(entry: TableReader, level: tuple[float, float] | None) -> tuple[float, float] | None:
    example = "level_steps_per_min = [0.0, 4.0]"
    if not entry.has("level_steps_per_min"):
        return None
    steps = entry.number_range("level_steps_per_min", example, "the range of level changes per minute")
    if steps[0] < 0 or steps[1] > MAX_RATE_PER_MIN:
        raise entry.error("level_steps_per_min", f"[{steps[0]:g}, {steps[1]:g}] is outside [0, {MAX_RATE_PER_MIN:g}]",
                          f"give a range of changes per minute, e.g. {example}")
    if level is None:
        raise entry.error("level_steps_per_min", "the steps redraw the level from level_dbfs, which is not given",
                          "add level_dbfs = [lo, hi] to this background, or remove level_steps_per_min")
    return steps


def check_audio_path(entry: TableReader, path: Path) -> None:
    try:
        check_wav(path)
    except AudioFileError as error:
        raise entry.error("path", f"{error.path}: {error.problem}", error.fix) from None
