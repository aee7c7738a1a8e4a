"""Streaming evaluation of an audio detector: one long continuous stream, like MLPerf Tiny's.

MLPerf Tiny's streaming wake-word benchmark plays one ~20-minute continuous recording to the
detector and counts misses and false alarms over it, so what a detector carries from one sound to
the next (its membranes, the front end's gain control) is part of the score. :func:`stream_episode`
builds such a stream from soundscapes: clip i is drawn from ``worlds[i % W]`` with seed
``seed + i // W`` (the clip ``episode(world, seed)`` would give), the clips are joined end to end
and cut at the asked length, and the front end runs over the whole stream at once.
:func:`evaluate_stream` listens to it without a reset and reports :func:`~spikefly.envs.audio.scoring.stream_metrics`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from spikefly.envs.audio_env import AudioSettings, Episode, clip_seed, episode_of_clip
from spikefly.envs.audio.soundscape_render import render_clip
from spikefly.worlds.soundscape import Clip, load_soundscape

if TYPE_CHECKING:
    from spikefly.controllers import ControllerSpec

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
    return episode_of_clip(stream, targets.pop())


def evaluate_stream(spec: ControllerSpec, worlds: Sequence[str | os.PathLike[str]], minutes: float, seed: int = 0,
                    audio_settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Listen with ``spec`` to one stream of ``minutes`` without a reset; a report shaped like ``evaluate_audio``'s.

    ``report["stream"]`` holds :func:`~spikefly.envs.audio.scoring.stream_metrics`: event F1,
    precision, recall, misses and false alarms (counts, per hour, per 20 minutes), median latency.
    """
    from spikefly.envs import AUDIO_EVENT_ID
    from spikefly.envs.audio_env import hop_s
    from spikefly.envs.audio.scoring import COUNT_NAMES, score, stream_metrics
    from spikefly.evolution.evaluate import EvaluateError, is_policy, network_summary
    from spikefly.evolution.stream_rollout import PopulationListener

    settings = AudioSettings.from_kwargs(**{**spec.env_settings, **(audio_settings or {})})
    try:
        stream = stream_episode(worlds, minutes, seed, settings)
    except ValueError as error:
        raise EvaluateError(f"--stream-minutes: {error}") from None
    if len(stream.classes) != spec.n_actions:
        raise EvaluateError(f"the soundscapes have {len(stream.classes)} target classes, the controller "
                            f"{spec.n_actions}; evaluate it on soundscapes with its classes")
    listener = spec.listener() if is_policy(spec) else PopulationListener(
        spec.encoder, spec.decoder, spec.steps_per_action, spec.n_actions, spec.observation_low, spec.observation_high)
    actions, ops, lengths = listener.run([spec.network], [stream.features], [seed])
    result = score(actions[0, 0, : lengths[0]], stream.events, stream.classes, hop_s(), settings.reward)
    metrics = stream_metrics(result, stream.audio_s)
    names = ("neuron_updates", "spikes", "input_events", "synaptic_ops")
    label = "stream:" + "+".join(os.fspath(world) for world in worlds)
    row = {"world": label, "seed": seed, "return": round(float(result.total), 6), "steps": int(lengths[0]),
           "audio_s": stream.audio_s, **{name: int(result.counts[name]) for name in COUNT_NAMES},
           "latencies_s": [round(float(v), 4) for v in result.latencies_s],
           **{name: int(value) for name, value in zip(names, ops[0, 0].tolist(), strict=True)}}
    summary = {"episodes": 1, "audio_hours": stream.audio_s / 3600.0, **metrics, "mean_return": row["return"],
               "mean_synaptic_ops_per_step": row["synaptic_ops"] / max(row["steps"], 1)}
    return {"env": AUDIO_EVENT_ID, "seed": seed, "settings": {"snr_db": settings.snr_db, "backgrounds": settings.backgrounds},
            "episodes": [row], "summary": summary, "per_world": {label: metrics}, "stream": metrics,
            "network": network_summary(spec)}
