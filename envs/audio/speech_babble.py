"""Speech babble from Debian's ``espeak-ng``: 4-6 talkers of random sentences, cached on disk.

The ``speech_babble`` background of a soundscape. Without ``espeak-ng`` it raises
:class:`AudioSourceUnavailable` with the install line; no default task needs it. Output of
espeak-ng is cached per (its version, text, voice, pitch, speed) under
``$XDG_CACHE_HOME/spikefly/espeak-ng`` (``~/.cache/...``), falling back to the temporary folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from spikefly.core import SpikeflyError
from spikefly.envs.audio.dsp import Audio, rms_normalise, samples
from spikefly.worlds.wav import SAMPLE_RATE, load_wav


class AudioSourceUnavailable(SpikeflyError, RuntimeError):
    """A sound source needs a program that is not installed (the message says how to get it)."""


ESPEAK_INSTALL_HINT = (
    "install Debian's speech synthesiser: sudo apt install espeak-ng (only speech_babble needs "
    "it; the default tasks and bundled soundscapes never do)"
)
_VOICES = (
    "en-us+m1", "en-us+m3", "en-us+f2", "en-us+f4", "en-gb+m2", "en-gb+f3",
    "en-gb-scotland+m4", "en-029+m5", "en-gb-x-rp+f1", "en-us+m7",
)  # fmt: skip
_WORD_LIST = (
    "the a we they you it this that there here some many every no one two three four five "
    "house kitchen window door table chair water coffee paper report meeting office street car "
    "train morning evening today tomorrow week year time people friend family manager team "
    "project budget number question answer problem idea plan change price market order letter "
    "call send find make take give keep need want know think say tell ask move turn start "
    "finish open close bring leave read write buy sell pay build check show try help work "
    "walk talk listen wait learn teach good new old big small long short early late important "
    "different ready simple quick slow quiet loud bright dark warm cold right wrong and but "
    "because so then after before while when if about with without under over between"
)
_WORDS = tuple(_WORD_LIST.split())
_SENTENCES_PER_TALKER = 6


def cache_dir(program: str = "espeak-ng") -> Path:
    """A writable folder for ``program``'s output: ``$XDG_CACHE_HOME/spikefly/PROGRAM``, else the temporary folder."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for folder in (base / "spikefly" / program, Path(tempfile.gettempdir()) / f"spikefly-{program}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise AudioSourceUnavailable(f"no writable cache folder for {program} output; set XDG_CACHE_HOME")


def _espeak_executable() -> str:
    executable = shutil.which("espeak-ng")
    if executable is None:
        raise AudioSourceUnavailable(
            f"speech_babble needs the espeak-ng program, which is not on PATH; {ESPEAK_INSTALL_HINT}"
        )
    return executable


@lru_cache(maxsize=1)
def _espeak_version() -> str:
    """espeak-ng's version line: part of the cache key, so an upgrade never reuses old audio."""
    result = subprocess.run([_espeak_executable(), "--version"], capture_output=True, check=False)
    return result.stdout.decode(errors="replace").strip()


@lru_cache(maxsize=512)
def _speak(text: str, voice: str, pitch: int, words_per_minute: int) -> Audio:
    """float32 speech of ``text`` at 16 kHz, synthesised once per arguments (cached on disk)."""
    identity = f"{_espeak_version()}|{text}|{voice}|{pitch}|{words_per_minute}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:24]
    path = cache_dir() / f"{key}.wav"
    if not path.is_file():
        partial = path.with_suffix(f".{os.getpid()}.part.wav")
        command = [
            _espeak_executable(),
            "-v",
            voice,
            "-p",
            str(pitch),
            "-s",
            str(words_per_minute),
            "-w",
            str(partial),
            text,
        ]
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0 or not partial.is_file():
            raise AudioSourceUnavailable(
                f"espeak-ng failed (exit {result.returncode}): {result.stderr.decode(errors='replace').strip()}; "
                f"check it runs: espeak-ng -v {voice} 'hello'"
            )
        os.replace(partial, path)  # atomic: a parallel worker never reads half a file
    return load_wav(path)


def speech_babble(rng: np.random.Generator, duration_s: float, talkers: int | None = None) -> Audio:
    """Speech babble: ``talkers`` (default 4-6) espeak-ng voices talking over one another.

    Each talker has its own voice, pitch and speed and repeats, in random order with short
    pauses, six sentences of random words; talkers start at random points and are mixed at
    equal level +-4 dB. Raises :class:`AudioSourceUnavailable` when espeak-ng is missing.
    """
    _espeak_executable()
    length = samples(duration_s)
    talkers = int(rng.integers(4, 7)) if talkers is None else talkers
    voices = rng.choice(len(_VOICES), size=min(talkers, len(_VOICES)), replace=False)
    mix = np.zeros(length)
    for talker in range(talkers):
        voice = _VOICES[voices[talker % len(voices)]]
        pitch = int(rng.integers(20, 80))
        speed = int(rng.integers(140, 190))
        texts = [
            " ".join(rng.choice(_WORDS, size=int(rng.integers(6, 13)))) for _ in range(_SENTENCES_PER_TALKER)
        ]
        sentences = [_speak(text, voice, pitch, speed) for text in texts]
        offset = round(rng.uniform(0.0, 3.0) * SAMPLE_RATE)
        pieces, filled = [], 0
        while filled < length + offset:
            sentence = sentences[int(rng.integers(len(sentences)))]
            pause = np.zeros(round(rng.uniform(0.1, 0.6) * SAMPLE_RATE), dtype=np.float32)
            pieces += [sentence, pause]
            filled += len(sentence) + len(pause)
        stream = np.concatenate(pieces)[offset : offset + length].astype(np.float64)
        rms = float(np.sqrt(np.mean(stream**2)))
        if rms > 0:
            mix += stream * (10 ** (rng.uniform(-4.0, 4.0) / 20) / rms)
    return rms_normalise(mix)
