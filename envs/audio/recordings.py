"""Real recordings from Debian packages, split into a training part and a held-out part.

The ``recordings`` backgrounds of a soundscape (:mod:`spikefly.envs.audio.room_backgrounds`)
draw from four sets of recorded audio that Debian packages install (nothing is downloaded at
run time; ``scripts/install-system-packages`` installs them):

========== ======================================================================= ==================
set         what and where                                                          packages (licence)
========== ======================================================================= ==================
``speech``  words and phrases read by native speakers of ~30 languages              ktuberling-data,
            (``/usr/share/ktuberling/sounds/LANG``, ``/usr/share/klettres/LANG``),  klettres-data
            and the freedesktop sound theme's spoken channel names                  (GPL-2+), sound-
                                                                                    theme-freedesktop
                                                                                    (CC-BY-SA-3.0)
``music``   31 General MIDI songs (OpenMSX) rendered by FluidSynth with the         openttd-openmsx
            TimGM6mb sound font (sampled instruments), and Frozen Bubble's music    (GPL-2), fluidsynth,
                                                                                    timgm6mb-soundfont
                                                                                    (GPL-2), frozen-
                                                                                    bubble-data (GPL-2)
``sounds``  everyday sounds: desktop bells, phone rings, a camera shutter, an       sound-theme-
            alarm clock, applause, a typewriter, snoring, game effects              freedesktop,
                                                                                    frozen-bubble-data
========== ======================================================================= ==================

**Split.** Every recording belongs to a *group*: a language for speech (all its speakers;
``pt_BR`` and ``sr@latin`` count as ``pt`` and ``sr``), a song for music, a file for sounds. A
group is held out when the first 8 hex digits of SHA-256 of ``"SET:GROUP"`` are 0 modulo 5
(about one in five); the rest is the training part. The rule depends only on names, so it is the
same on every machine, and no speaker, song or sound is in both parts.

MIDI songs are rendered once to 16 kHz WAV files, cached per (FluidSynth version, sound font,
song) under ``$XDG_CACHE_HOME/spikefly/fluidsynth`` (``~/.cache/...``). Audio is decoded with
soundfile (Ogg Vorbis, WAV, FLAC) and resampled to 16 kHz with soxr; a file that cannot be
decoded is an :class:`~spikefly.worlds.wav.AudioFileError` naming it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.audio.speech_babble import AudioSourceUnavailable, cache_dir
from spikefly.worlds.wav import SAMPLE_RATE, AudioFileError

PARTS = ("train", "heldout")
"""The two disjoint parts of every set: what training soundscapes hear, and what is kept back."""
HELDOUT_MODULUS = 5
"""One group in ``HELDOUT_MODULUS`` (by hash) is held out."""
AUDIO_SUFFIXES = (".ogg", ".oga", ".wav", ".flac")
MIDI_SUFFIXES = (".mid", ".midi")
SOUND_FONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
"""The General MIDI sound font the songs are rendered with (Debian's timgm6mb-soundfont)."""


@dataclass(frozen=True)
class Location:
    """A folder a Debian package installs recordings into."""

    package: str
    """The Debian package that installs it."""
    folder: str
    """Absolute folder (under the root passed to :func:`find_recordings`)."""
    pattern: str
    """Glob of the files, relative to ``folder`` (``**/`` goes into sub-folders)."""
    group_by: str
    """``"language"``: the first folder under ``folder``; ``"file"``: the file's stem."""
    exclude: tuple[str, ...] = ()
    """File stems (or stem prefixes ending in ``*``) left out: they belong to another set."""
    group_prefix: str = ""
    """Put in front of the group name (``"freedesktop-"``: its one voice is its own group)."""


_FREEDESKTOP = "/usr/share/sounds/freedesktop/stereo"
_FROZEN_BUBBLE = "/usr/share/games/frozen-bubble/snd"
_FROZEN_BUBBLE_MUSIC = ("frozen-mainzik-1p", "frozen-mainzik-2p", "introzik")

RECORDING_SETS: dict[str, tuple[Location, ...]] = {
    "speech": (
        Location("ktuberling-data", "/usr/share/ktuberling/sounds", "*/*", "language"),
        Location("klettres-data", "/usr/share/klettres", "*/*/*", "language"),
        Location("sound-theme-freedesktop", _FREEDESKTOP, "audio-channel-*", "file", group_prefix="freedesktop-voice"),
    ),
    "music": (
        Location("openttd-openmsx", "/usr/share/games/openttd/baseset/openmsx", "*", "file"),
        Location("frozen-bubble-data", _FROZEN_BUBBLE, "*zik*", "file"),
    ),
    "sounds": (
        Location("sound-theme-freedesktop", _FREEDESKTOP, "*", "file", exclude=("audio-channel-*", "audio-test-signal")),
        Location("frozen-bubble-data", _FROZEN_BUBBLE, "*", "file", exclude=_FROZEN_BUBBLE_MUSIC),
    ),
}
"""Where each set's recordings are installed (the names are the ``set`` key of a soundscape)."""

MUSIC_PROGRAMS = ("fluidsynth", "timgm6mb-soundfont")
"""What the MIDI songs are rendered with (Debian packages)."""


def packages_of(set_name: str) -> tuple[str, ...]:
    """The Debian packages a set needs, in install order."""
    names = [location.package for location in RECORDING_SETS[set_name]]
    if set_name == "music":
        names += MUSIC_PROGRAMS
    return tuple(dict.fromkeys(names))


ALL_PACKAGES = tuple(dict.fromkeys(name for set_name in RECORDING_SETS for name in packages_of(set_name)))
"""Every Debian package a recording set needs (what ``scripts/install-system-packages`` installs)."""


def install_hint(packages: tuple[str, ...] = ALL_PACKAGES) -> str:
    return (f"install the Debian packages of recorded sound: sudo apt install {' '.join(packages)} "
            "(or run scripts/install-system-packages, which installs them all)")


@dataclass(frozen=True)
class Recording:
    """One recorded file of a set."""

    path: Path
    """The audio (Ogg, WAV, FLAC) or MIDI file."""
    group: str
    """What the split is drawn by: a language, a song or a sound."""
    part: str
    """``"train"`` or ``"heldout"``."""


def part_of(set_name: str, group: str) -> str:
    """``"heldout"`` for about one group in five (by SHA-256 of ``"SET:GROUP"``), else ``"train"``."""
    digest = hashlib.sha256(f"{set_name}:{group}".encode()).hexdigest()
    return "heldout" if int(digest[:8], 16) % HELDOUT_MODULUS == 0 else "train"


def _language(folder_name: str) -> str:
    return folder_name.split("@")[0].split("_")[0].lower()


def _excluded(stem: str, exclude: tuple[str, ...]) -> bool:
    return any(stem.startswith(item[:-1]) if item.endswith("*") else stem == item for item in exclude)


@lru_cache(maxsize=16)
def find_recordings(set_name: str, part: str | None = None, root: str = "/") -> tuple[Recording, ...]:
    """Every recording of ``set_name`` (``part``: only that part), sorted by path.

    Raises :class:`AudioSourceUnavailable` with the install line when a package of the set is
    missing, and ``ValueError`` for an unknown set or part.
    """
    if set_name not in RECORDING_SETS:
        raise ValueError(f"unknown recording set {set_name!r}; use one of: {', '.join(RECORDING_SETS)}")
    if part is not None and part not in PARTS:
        raise ValueError(f"unknown part {part!r}; use one of: {', '.join(PARTS)}")
    base = Path(root)
    missing = [location.package for location in RECORDING_SETS[set_name]
               if not (base / location.folder.lstrip("/")).is_dir()]
    if set_name == "music" and (shutil.which("fluidsynth") is None or not (base / str(SOUND_FONT).lstrip("/")).is_file()):
        missing += list(MUSIC_PROGRAMS)
    if missing:
        missing = list(dict.fromkeys(missing))
        raise AudioSourceUnavailable(
            f"the {set_name!r} recordings need the Debian package(s) {', '.join(missing)}, which are not installed; "
            f"Fix: {install_hint(packages_of(set_name))}")
    found = []
    for location in RECORDING_SETS[set_name]:
        folder = base / location.folder.lstrip("/")
        for path in sorted(folder.glob(location.pattern)):
            suffix = path.suffix.lower()
            # a symbolic link repeats another file, which could then sit in both parts
            if path.is_symlink() or not path.is_file() or suffix not in AUDIO_SUFFIXES + MIDI_SUFFIXES or path.stat().st_size == 0:
                continue
            if _excluded(path.stem, location.exclude):
                continue
            if location.group_by == "language":
                group = _language(path.relative_to(folder).parts[0])
            else:
                group = location.group_prefix or path.stem
            found.append(Recording(path, group, part_of(set_name, group)))
    found.sort(key=lambda recording: str(recording.path))
    chosen = tuple(recording for recording in found if part is None or recording.part == part)
    if not chosen:
        raise AudioSourceUnavailable(
            f"no {part or ''} recordings of the {set_name!r} set were found under {root}; Fix: reinstall them: "
            f"sudo apt install --reinstall {' '.join(packages_of(set_name))}")
    return chosen


def groups(recordings: tuple[Recording, ...]) -> dict[str, tuple[Recording, ...]]:
    """The recordings by group, groups sorted by name."""
    by_group: dict[str, list[Recording]] = {}
    for recording in recordings:
        by_group.setdefault(recording.group, []).append(recording)
    return {name: tuple(by_group[name]) for name in sorted(by_group)}


# ---------------------------------------------------------------------------------------------
# Decoding

def _soundfile():  # soundfile ships no type hints
    import soundfile

    return soundfile


def _reinstall_fix(path: Path) -> str:
    return "the installed file is damaged: reinstall its package (dpkg -S FILE names it; sudo apt install --reinstall PACKAGE)"


def _to_mono_16k(samples: NDArray[np.float32], rate: int, path: Path) -> NDArray[np.float32]:
    mono = samples.mean(axis=1, dtype=np.float64) if samples.ndim == 2 else samples.astype(np.float64)
    if not np.all(np.isfinite(mono)):
        raise AudioFileError(str(path), "the file holds NaN or infinite samples", _reinstall_fix(path))
    if rate != SAMPLE_RATE:
        import soxr

        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


@lru_cache(maxsize=4096)
def decode(path: Path) -> NDArray[np.float32]:
    """A short recording (speech, a sound) as float32[N] mono at 16 kHz, decoded once."""
    try:
        samples, rate = _soundfile().read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as error:  # soundfile.LibsndfileError is a RuntimeError
        raise AudioFileError(str(path), f"cannot decode the audio ({error})", _reinstall_fix(path)) from None
    if samples.shape[0] == 0:
        raise AudioFileError(str(path), "the file holds no audio samples", _reinstall_fix(path))
    return _to_mono_16k(samples, rate, path)


def duration_s(path: Path) -> float:
    """Length of an audio or MIDI song, s (a MIDI file is rendered first)."""
    audio = rendered_song(path) if path.suffix.lower() in MIDI_SUFFIXES else path
    try:
        info = _soundfile().info(str(audio))
    except (RuntimeError, OSError) as error:
        raise AudioFileError(str(path), f"cannot read the audio ({error})", _reinstall_fix(path)) from None
    if info.frames <= 0:
        raise AudioFileError(str(path), "the file holds no audio samples", _reinstall_fix(path))
    return info.frames / info.samplerate


def read_stretch(path: Path, start_s: float, length: int) -> NDArray[np.float32]:
    """``length`` samples (16 kHz mono; fewer at the song's end) of a song from ``start_s`` on.

    Reads only that stretch of the file, so a long song is never decoded whole.
    """
    audio = rendered_song(path) if path.suffix.lower() in MIDI_SUFFIXES else path
    soundfile = _soundfile()
    try:
        rate = soundfile.info(str(audio)).samplerate
        frames = int(np.ceil(length * rate / SAMPLE_RATE)) + 1
        samples, rate = soundfile.read(str(audio), start=int(start_s * rate), frames=frames, dtype="float32",
                                       always_2d=True)
    except (RuntimeError, OSError) as error:
        raise AudioFileError(str(path), f"cannot decode the audio ({error})", _reinstall_fix(path)) from None
    if samples.shape[0] == 0:
        return np.zeros(0, np.float32)
    return _to_mono_16k(samples, rate, path)[:length]


@lru_cache(maxsize=1)
def _fluidsynth_version() -> str:
    executable = shutil.which("fluidsynth")
    if executable is None:
        raise AudioSourceUnavailable(f"MIDI songs need the fluidsynth program; Fix: {install_hint(MUSIC_PROGRAMS)}")
    result = subprocess.run([executable, "--version"], capture_output=True, check=False)
    return result.stdout.decode(errors="replace").strip().splitlines()[0] if result.stdout else "unknown"


@lru_cache(maxsize=256)
def rendered_song(path: Path) -> Path:
    """The 16 kHz WAV rendering of a MIDI song by FluidSynth with :data:`SOUND_FONT` (cached on disk)."""
    version = _fluidsynth_version()
    if not SOUND_FONT.is_file():
        raise AudioSourceUnavailable(f"MIDI songs need the {SOUND_FONT} sound font; Fix: {install_hint(MUSIC_PROGRAMS)}")
    song = path.read_bytes()
    identity = f"{version}|{SOUND_FONT}|{SOUND_FONT.stat().st_size}|".encode() + song
    target = cache_dir("fluidsynth") / f"{hashlib.sha256(identity).hexdigest()[:24]}.wav"
    if target.is_file():
        return target
    partial = target.with_suffix(f".{os.getpid()}.part.wav")
    command = ["fluidsynth", "-n", "-i", "-q", "-r", str(SAMPLE_RATE), "-g", "0.5", "-F", str(partial),
               str(SOUND_FONT), str(path)]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0 or not partial.is_file() or partial.stat().st_size <= 44:
        partial.unlink(missing_ok=True)
        raise AudioFileError(str(path), f"FluidSynth could not render the song (exit {result.returncode}: "
                             f"{result.stderr.decode(errors='replace').strip()[:200]})", _reinstall_fix(path))
    os.replace(partial, target)  # atomic: a parallel worker never reads half a file
    return target
