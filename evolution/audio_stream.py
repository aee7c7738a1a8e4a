"""Streaming evaluation of an audio detector: one long continuous stream, like MLPerf Tiny's.

MLPerf Tiny's streaming wake-word benchmark plays one ~20-minute continuous recording to the
detector and counts misses and false alarms over it, so what a detector carries from one sound to
the next (its membranes, the front end's gain control) is part of the score. :func:`stream_episode`
builds such a stream from soundscapes: clip i is drawn from ``worlds[i % W]`` with seed
``seed + i // W`` (the clip ``episode(world, seed)`` would give), the clips are joined end to end
and cut at the asked length, and the front end runs over the whole stream at once.
:func:`spikefly.evolution.evaluate.evaluate_stream` listens to it without a reset and reports :func:`~spikefly.envs.audio.scoring.stream_metrics`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from spikefly.envs.audio_env import AudioSettings, Episode, clip_seed, episode_of_clip
from spikefly.envs.audio.soundscape_render import render_clip
from spikefly.worlds.soundscape import Clip, load_soundscape

MAX_STREAM_MINUTES = 120.0
"""Longest stream (rendered in memory: 16 kHz float32 is ~3.8 MB per minute)."""


def stream_episode(worlds: Sequence[str | os.PathLike[str]], minutes: float, seed: int = 0,
                   settings: AudioSettings | None = None) -> Episode:
    """A continuous stream of ``minutes`` made of the worlds' clips in turn (module docstring)."""
    if not 0 < minutes <= MAX_STREAM_MINUTES:
        raise ValueError(f"a stream lasts more than 0 and at most {MAX_STREAM_MINUTES:g} minutes, got {minutes:g}")
    if not worlds:
        raise ValueError("a stream needs at least one soundscape")
    settings = settings or AudioSettings()
    soundscapes = [load_soundscape(world) for world in worlds]
    targets = {scape.target for scape in soundscapes}
    if len(targets) != 1:
        raise ValueError(f"the soundscapes name different targets {sorted(targets)}; stream soundscapes with one target list")
    rate = 16_000
    wanted = round(minutes * 60.0 * rate)
    pieces, events, filled, index = [], [], 0, 0
    while filled < wanted:
        scape = soundscapes[index % len(soundscapes)]
        clip = render_clip(scape, np.random.default_rng(clip_seed(seed + index // len(soundscapes))),
                           duration_s=settings.duration_s, snr_db=settings.snr_db,
                           backgrounds=list(settings.backgrounds) if settings.backgrounds is not None else None)
        audio = clip.audio[: wanted - filled]
        offset_s = filled / rate
        end_s = offset_s + len(audio) / rate
        events += [replace(event, onset_s=event.onset_s + offset_s, offset_s=event.offset_s + offset_s)
                   for event in clip.events if event.offset_s + offset_s <= end_s]  # an event cut by the end is dropped
        pieces.append(audio)
        filled += len(audio)
        index += 1
    stream = Clip(np.concatenate(pieces), rate, tuple(events))
    return episode_of_clip(stream, targets.pop(), settings.front_end)
