"""``spikefly/AudioEventDetection-v0``: always-on detection of sound events in a streaming soundscape.

An episode is one clip drawn from a soundscape world (``worlds/kitchen.toml``, ``street``,
``office`` or any soundscape file) with the episode's seed. Each step is one 10 ms frame of the
front end (``front_end`` setting): ``"mel"`` (16 kHz, 25 ms window, 32 mel bands 50-8000 Hz, log,
per-channel gain control; :mod:`spikefly.envs.audio.frontend`) or ``"bands"`` (12 resonators
400-6000 Hz with PCEN, a third of the mel front end's arithmetic; :mod:`spikefly.envs.audio.band_frontend`).

## Observation Space

``Box(float32, (bands,))``: the front end's features of the newest frame (32 with ``"mel"``, 12
with ``"bands"``), clipped to [:data:`FEATURE_LOW`, :data:`FEATURE_HIGH`]. Mel: gain-controlled
log energies (a stationary background sits near 0, an onset rises by several units); bands:
PCEN (a stationary background sits at 0.32, a tonal onset rises to 3-12). A controller's encoder
(delta or level codes) turns them into spikes; an ANN or PPO baseline sees the same numbers.

## Action Space

``Discrete(1 + C)``: 0 = nothing, c = "class c is sounding now" (C target classes; one by
default, the smoke alarm).

## Rewards

Named terms in ``info["reward_terms"]`` (:class:`spikefly.envs.audio.scoring.AudioRewardWeights`),
scored like the MLPerf Tiny streaming benchmark: a trigger (a frame whose action rises to a
class) from an event's onset until 0.5 s after its end is a ``hit`` (+1, plus a latency bonus);
repeat triggers within a detected event or within 1 s after it score nothing; a trigger elsewhere
is a ``false_alarm`` (-1); a target event never hit is a ``miss`` (-1) when its window closes;
a trigger of the wrong class inside a target event is ``wrong_class`` (-0.5). Frame ``t`` becomes
available at ``(t x 10 + 25) ms``: event times are shifted by that offset for the scorer, so
latencies are from the true onset.

## Episode End

``terminated`` after the clip's last frame (misses still open are scored then); no truncation.

## Reset

``reset(seed=..., options={"world": name_or_path})``, as the quadrotor env takes it: listen to
another soundscape from this episode on (it must detect the same classes, the action space).

The vectorised path for evolution is :func:`episode` (the features and scorer-aligned events
of a (world, seed) pair, exactly what ``reset`` streams) plus
:func:`spikefly.envs.audio.scoring.score` on the whole action sequence: the tests hold it equal
to stepping this env.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numba import njit
from numpy.typing import NDArray

from spikefly.envs.audio.band_frontend import BandFrontEnd
from spikefly.envs.audio.frontend import FrontEnd
from spikefly.envs.audio.scoring import TERM_NAMES, AudioRewardWeights, StreamingScorer
from spikefly.envs.audio.soundscape_render import render_clip
from spikefly.envs.reset_options import reset_options
from spikefly.worlds.soundscape import Clip, Event, Soundscape, load_soundscape

FEATURE_LOW = -8.0
FEATURE_HIGH = 8.0
"""Observation bounds (features are clipped to them)."""


@njit(cache=True)
def detected_class(values) -> int:
    """The discrete action from a controller's per-class outputs ``values`` [C] in [-1, 1].

    With a rate decoder, -1 is a class neuron silent during the frame: the action is 0 (nothing)
    when every class neuron was silent, else 1 + the index of the most active one (ties: the
    first). A detector answers by spiking, so one spike in the frame's K substeps is enough.
    """
    best = 0
    largest = np.float32(-1.0)
    for c in range(values.shape[0]):
        if values[c] > largest:
            largest = values[c]
            best = c + 1
    return best


FRONT_END_KINDS: dict[str, type[FrontEnd] | type[BandFrontEnd]] = {"mel": FrontEnd, "bands": BandFrontEnd}
"""The front ends ``AudioSettings.front_end`` can name."""

AudioFrontEnd = FrontEnd | BandFrontEnd


def front_end_from_setting(value: str | dict[str, Any] | AudioFrontEnd) -> AudioFrontEnd:
    """The front end a ``front_end`` setting names: ``"mel"``, ``"bands"``, or a table such as
    ``{"kind": "bands", "pcen_time_constant_s": 1.0}`` (its other keys are that front end's fields)."""
    if isinstance(value, (FrontEnd, BandFrontEnd)):
        return value
    table = {"kind": value} if isinstance(value, str) else dict(value) if isinstance(value, dict) else None
    kinds = sorted(FRONT_END_KINDS)
    if table is None or table.get("kind") not in FRONT_END_KINDS:
        shown = table.get("kind") if table is not None else value
        raise ValueError(f"front_end={shown!r} is not a front end; give one of {kinds}, or a table "
                         f"{{\"kind\": \"bands\", ...its fields}}")
    kind = FRONT_END_KINDS[table.pop("kind")]
    unknown = sorted(set(table) - set(kind.__dataclass_fields__))
    if unknown:
        raise ValueError(f"front_end: {unknown} are not {kind.__name__} fields; valid: {sorted(kind.__dataclass_fields__)}")
    try:
        front_end = kind(**{key: tuple(v) if isinstance(v, list) else v for key, v in table.items()})
    except (TypeError, ValueError) as error:
        raise ValueError(f"front_end ({kind.kind}): {error}") from None
    if (front_end.sample_rate, front_end.hop_samples, front_end.window_samples) != (16_000, 160, 400):
        raise ValueError("front_end: sample_rate, hop_samples and window_samples must stay 16000, 160 and 400 "
                         "(the env's frame timing and its scoring follow them)")
    return front_end


@dataclass(frozen=True)
class AudioSettings:
    """Everything that shapes ``spikefly/AudioEventDetection-v0`` apart from the world."""

    duration_s: float | None = None
    """Clip length, s (None: the soundscape's ``duration_s``)."""
    snr_db: tuple[float, float] | None = None
    """Override every event's SNR range, dB (e.g. (-6, 0) for the low-SNR condition)."""
    backgrounds: tuple[str, ...] | None = None
    """Replace the soundscape's backgrounds by built-in ones (e.g. ("speech_babble",))."""
    reward: AudioRewardWeights = AudioRewardWeights()
    """Weights of the named reward terms (an AudioRewardWeights or a dict of its fields)."""
    front_end: AudioFrontEnd = FrontEnd()
    """The features: ``"mel"`` (log-mel with gain control, 32 bands), ``"bands"`` (resonator bank with
    PCEN, 12 bands), or a table ``{"kind": ..., field: value}`` (:func:`front_end_from_setting`). The
    default stays ``"mel"`` so that controller files written before this key load as they were
    evolved; ``spikefly evolve --env audio`` writes the key it used into every controller file."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "front_end", front_end_from_setting(self.front_end))
        if isinstance(self.reward, dict):
            object.__setattr__(self, "reward", AudioRewardWeights.from_mapping(self.reward))
        if self.duration_s is not None and not (isinstance(self.duration_s, (int, float)) and self.duration_s > 0.1):
            raise ValueError(f"duration_s={self.duration_s!r}: must be a number of seconds > 0.1, or None")
        if self.snr_db is not None:
            low, high = (float(value) for value in self.snr_db)
            if not low <= high:
                raise ValueError(f"snr_db={self.snr_db!r}: give [low, high] with low <= high")
            object.__setattr__(self, "snr_db", (low, high))
        if self.backgrounds is not None:
            object.__setattr__(self, "backgrounds", tuple(str(name) for name in self.backgrounds))

    @classmethod
    def from_kwargs(cls, **values: Any) -> AudioSettings:
        """Build from keyword arguments; a misspelled name is an error that lists the valid ones."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"unknown AudioEventDetection setting(s) {unknown}. Valid: {sorted(known)}")
        return cls(**values)


@dataclass(frozen=True)
class Episode:
    """What one (world, seed) pair streams: features, events aligned to frame times, classes."""

    features: NDArray[np.float32]
    """float32[T, bands] of the settings' front end, clipped to the observation bounds."""
    events: tuple[Event, ...]
    """The clip's events, times shifted by the frame offset (frame t is at t x hop for the scorer)."""
    classes: tuple[str, ...]
    """Target classes; action c means ``classes[c - 1]``."""
    audio_s: float
    """Length of the clip, s."""


FRONT_END = FrontEnd()
"""The default (mel) front end; every front end has its 10 ms hop (:func:`hop_s`)."""


def clip_seed(seed: int) -> int:
    """The seed of an episode's clip: the first draw of the episode's generator, as ``reset(seed=s)`` draws it."""
    return int(np.random.default_rng(seed).integers(2**63))


def episode(world: str | os.PathLike[str] | Soundscape, seed: int, settings: AudioSettings | None = None) -> Episode:
    """The episode ``reset(seed=seed)`` streams on ``world`` (cached: a pair is rendered once)."""
    soundscape = world if isinstance(world, Soundscape) else _soundscape(os.fspath(world))
    return _episode(soundscape, clip_seed(int(seed)), settings or AudioSettings())


@lru_cache(maxsize=64)
def _soundscape(name_or_path: str) -> Soundscape:
    return load_soundscape(name_or_path)


@lru_cache(maxsize=512)
def _episode(soundscape: Soundscape, drawn_seed: int, settings: AudioSettings) -> Episode:
    clip = render_clip(
        soundscape, np.random.default_rng(drawn_seed), duration_s=settings.duration_s, snr_db=settings.snr_db,
        backgrounds=list(settings.backgrounds) if settings.backgrounds is not None else None,
    )
    return episode_of_clip(clip, soundscape.target, settings.front_end)


def episode_of_clip(clip: Clip, target: tuple[str, ...], front_end: FrontEnd | BandFrontEnd = FRONT_END) -> Episode:
    """What a rendered clip streams through ``front_end``: its features and its events in frame time
    (also a long stream of concatenated clips, :mod:`spikefly.evolution.audio_stream`)."""
    features = np.clip(front_end.features(clip.audio), FEATURE_LOW, FEATURE_HIGH).astype(np.float32)
    offset_s = front_end.frame_times_s(1)[0]  # frame t is complete at t x hop + window: scored at t x hop
    # An event that starts within the first frame's window is already under way at frame 0: clamp at 0.
    events = tuple(replace(e, onset_s=max(e.onset_s - offset_s, 0.0), offset_s=max(e.offset_s - offset_s, 0.0))
                   for e in clip.events)
    return Episode(features, events, target, clip.duration_s)


def hop_s() -> float:
    """Seconds per frame (the env's step)."""
    return FRONT_END.hop_samples / FRONT_END.sample_rate


class AudioEventDetectionEnv(gym.Env):
    """Streaming sound-event detection on a soundscape world; settings are :class:`AudioSettings` fields."""

    metadata = {"render_modes": []}

    def __init__(self, world: str | os.PathLike[str] = "kitchen", render_mode: None = None, **settings: Any) -> None:
        if render_mode is not None:
            raise ValueError("AudioEventDetection-v0 draws nothing itself; render a run with spikefly render")
        self.settings = AudioSettings.from_kwargs(**settings)
        self.soundscape = _soundscape(os.fspath(world))
        self.classes = self.soundscape.target
        bands = self.settings.front_end.bands
        self.observation_space = spaces.Box(FEATURE_LOW, FEATURE_HIGH, shape=(bands,), dtype=np.float32)
        self.action_space = spaces.Discrete(1 + len(self.classes))
        self.metadata = {**self.metadata, "render_fps": 1.0 / hop_s()}
        self._episode: Episode | None = None
        self._scorer: StreamingScorer | None = None
        self._frame = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = reset_options(options)
        if options.get("world") is not None:
            soundscape = _soundscape(os.fspath(options["world"]))
            if soundscape.target != self.classes:
                raise ValueError(f"reset(options={{'world': ...}}): {soundscape.name} detects {list(soundscape.target)}, "
                                 f"this env {list(self.classes)} (its action space). Fix: make a new env for that soundscape")
            self.soundscape = soundscape
        self._episode = _episode(self.soundscape, int(self.np_random.integers(2**63)), self.settings)
        self._scorer = StreamingScorer(self._episode.events, self.classes, hop_s(), self.settings.reward)
        self._frame = 0
        return self._episode.features[0].copy(), self._info(dict.fromkeys(TERM_NAMES, 0.0))

    def step(self, action):
        if self._episode is None or self._frame >= len(self._episode.features):
            raise RuntimeError("step() called on a finished episode; call reset() first.")
        if np.ndim(action) != 0 or float(action) != int(action) or not self.action_space.contains(int(action)):
            raise ValueError(f"action must be an integer in [0, {len(self.classes)}], got {action!r}")
        terms = self._scorer.step(int(action))
        self._frame += 1
        terminated = self._frame >= len(self._episode.features)
        if terminated:
            for name, value in self._scorer.finish().items():
                terms[name] += value
        observation = self._episode.features[min(self._frame, len(self._episode.features) - 1)].copy()
        return observation, float(sum(terms.values())), terminated, False, self._info(terms)

    def _info(self, terms: dict[str, float]) -> dict[str, Any]:
        return {"reward_terms": terms, "time_s": self._frame * hop_s(), "counts": dict(self._scorer.counts) if self._scorer else {}}
