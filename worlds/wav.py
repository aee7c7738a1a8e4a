"""WAV files a world file names: checked when the world loads, decoded to 16 kHz mono float32.

A soundscape's ``wav`` events and ``wav_dir`` backgrounds are recordings of any rate, channel
count and sample format; :func:`check_wav` reads only the header, so a bad file is an error
naming the file and the fix when the soundscape loads, and :func:`load_wav` decodes it
(soundfile, resampled with soxr) when a clip is rendered.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.core import SpikeflyError

SAMPLE_RATE = 16_000
"""Sample rate of every signal of the audio task, Hz."""


class AudioFileError(SpikeflyError):
    """An audio file that cannot be used; the message names the file, the problem and the fix."""

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}. Fix: {fix}")

    def __reduce__(self) -> tuple[type[AudioFileError], tuple[str, str, str]]:
        return (type(self), (self.path, self.problem, self.fix))



_WAV_FORMATS = ("WAV", "WAVEX", "RF64", "W64")
_CONVERT_HINT = "convert it to WAV, e.g. ffmpeg -i IN -ac 1 OUT.wav or sox IN OUT.wav"


def _soundfile():  # soundfile ships no type hints
    try:
        import soundfile
    except ImportError:
        raise ImportError("reading WAV files needs soundfile: pip install soundfile") from None
    return soundfile


def check_wav(path: str | os.PathLike[str]) -> float:
    """Check that ``path`` is a readable, non-empty WAV file; its duration in seconds.

    Reads only the header. Raises :class:`AudioFileError` naming the file and the fix.
    """
    soundfile = _soundfile()
    shown = str(path)
    file = Path(path)
    if not file.exists():
        raise AudioFileError(
            shown,
            "no such file",
            "check the path (relative paths in a world file are relative to its folder)",
        )
    if file.is_dir():
        raise AudioFileError(shown, "this is a folder, not a WAV file", "give the path of a .wav file")
    if file.stat().st_size == 0:
        raise AudioFileError(
            shown, "the file is empty (0 bytes)", "replace it with a real recording, or remove it"
        )
    try:
        info = soundfile.info(str(file))
    except (RuntimeError, OSError) as error:  # soundfile.LibsndfileError is a RuntimeError
        raise AudioFileError(
            shown,
            f"not a readable WAV file ({error})",
            f"check it is not truncated or corrupt, or {_CONVERT_HINT}",
        ) from None
    if info.format not in _WAV_FORMATS:
        raise AudioFileError(shown, f"a {info.format} file, not WAV", _CONVERT_HINT)
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFileError(
            shown, "the WAV file holds no audio samples", "replace it with a real recording, or remove it"
        )
    return info.frames / info.samplerate


def load_wav(path: str | os.PathLike[str]) -> NDArray[np.float32]:
    """The WAV file at ``path`` as float32[N] mono at 16 kHz.

    Any sample rate (resampled with soxr, high quality), any channel count (averaged to mono),
    16/24/32-bit integer or float samples. Raises :class:`AudioFileError` for a missing, empty,
    non-WAV, corrupt or non-finite file.
    """
    check_wav(path)
    soundfile = _soundfile()
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as error:
        raise AudioFileError(
            str(path), f"cannot decode the audio ({error})", f"check it is not corrupt, or {_CONVERT_HINT}"
        ) from None
    mono = samples.mean(axis=1, dtype=np.float64)
    if not np.all(np.isfinite(mono)):
        raise AudioFileError(str(path), "the file holds NaN or infinite samples", "re-export the recording")
    if rate != SAMPLE_RATE:
        try:
            import soxr
        except ImportError:
            raise ImportError("resampling WAV files needs soxr: pip install soxr") from None
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)
