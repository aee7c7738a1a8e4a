"""The audio event detection task for evolution: the same run, fitness and evaluators as the quadrotor.

:class:`AudioFlyer` is the audio counterpart of :class:`spikefly.evolution.evaluators.Flyer`:
every genome listens to the same episodes (clips drawn from soundscape worlds), each network
runs over the episode's feature frames in one compiled call (:mod:`spikefly.evolution.stream_rollout`),
and the whole action sequence is scored with the env's scorer. An episode's return is the sum of
its reward terms; its success is the episode's event F1 (1 for a clip without target events and
without false alarms).

Rendering a 60 s clip takes ~0.3-0.9 s, so clips are cached per (world, seed) and training
draws from a fixed pool of clips per world (``EvolveSettings.training_pool``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers import decoder_from_dict, encoder_from_dict
from spikefly.envs.audio_env import AudioSettings, episode, hop_s
from spikefly.envs.audio.scoring import COUNT_NAMES, score_batch
from spikefly.evolution.episodes import EpisodeSet
from spikefly.evolution.stream_rollout import PopulationListener

if TYPE_CHECKING:
    from spikefly.evolution.settings import EvolveSettings

ENCODER_LOW = -1.0
ENCODER_HIGH = 8.0
"""Feature range the encoder scales to [0, 1] for the mel front end (gain-controlled log-mel: a steady
background sits near 0, an event's bands rise several units): level thresholds fall at 2 and 5 with
two levels."""

ENCODER_RANGES: dict[str, tuple[float, float]] = {"mel": (ENCODER_LOW, ENCODER_HIGH), "pcen": (-0.2, 3.1), "tonality": (-0.05, 0.7)}
"""Feature range per front end (the band front end by its normalisation), chosen so that two levels
fall where a smoke alarm's frames sit and most background frames do not (docs/audio.md):

- ``pcen`` 0.9 and 2: PCEN bands rise to 5-6 at a beep's onset but fall below 2 within 0.2 s and to
  0.7-1.3 by the later beeps, while 99 % of background frames stay below 2.8;
- ``tonality`` 0.2 and 0.45: during an alarm's beeps its band holds 0.4-1 of the frame's power (5th
  percentile and above, rooms at 0-15 dB SNR), while the rooms' frames outside events reach 0.2 in
  a tone band one time in 700 (one in 20 at 520 Hz, where speech is)."""

SEVEN_BANDS: dict[str, Any] = {"kind": "bands", "centres_hz": [520.0, 1200.0, 2900.0, 3100.0, 3300.0, 3500.0, 4200.0],
                                "bandwidth_shifts": [5, 3, 4, 4, 4, 4, 3], "normalisation": "tonality"}
"""The default front end of ``spikefly evolve --env audio``: the resonator bank cut to the 520 Hz
alarm, the four T3 tone bands and two context bands (1.2 kHz: a reversing beeper's pitch), each as
its share of the frame's power (``tonality``), 1,372 MACs per frame, so that the detector with its
front end spends less on an MCU than the Goertzel rule (1,441); the 12-band PCEN bank (2,100) is a
table away (docs/audio.md)."""

DETECTION_HOLD_STEPS = 150
"""The detector's hold (frames, 1.5 s): after a frame in which the alarm neuron spiked, the detection
stays on through up to 150 silent frames, so a network that signals an alarm, or a microwave's beep
sequence, with spikes spread over seconds makes one trigger, not one per spike. The baselines'
post-processing fits a hold of 0.1-1.6 s for the same reason (:mod:`spikefly.evolution.baselines.audio`).
Added to a champion evolved without one, a hold of 1.0-1.5 s took held-out babble over 20 clips from
F1 0.66 to 0.91 and its false alarms from 126 to 18 per hour (docs/audio.md)."""

AUDIO_DEFAULTS: dict[str, Any] = {
    "worlds": ("kitchen", "street", "office", "living_room", "cafe"),
    "encoder": {"kind": "level", "n_levels": 2},
    "decoder": {"kind": "rate", "signed_pairs": False, "hold_steps": DETECTION_HOLD_STEPS},
    "steps_per_action": 1,
    "board": "xylo_audio2",
    "population": 150,
    "episodes_per_world": 4,
    "validation_episodes": 10,
    "training_pool": 48,
    "generations": 240,
    "synaptic_op_cost": 2e-4,
    "neuron_update_cost": 2e-4,
    "energy_weight": 0.05,
    "integer": True,
    # the quadrotor defaults that do not apply to listening
    # the front end is written out so that every controller file records it (a file without the key is mel)
    "env_settings": {"front_end": dict(SEVEN_BANDS)},
    "nir_ready": False,
    "curriculum_start": 0.0,
    # no guidance law to fall back on, and F1 over 10 clips: the first champion and plain comparison
    "baseline_champion": False,
    "champion_margin": 0.0,
    "confirmation_episodes": 0,
}
"""What ``spikefly evolve --env audio`` changes from the quadrotor defaults."""

AUDIO_NEAT_OVERRIDES = {"LIFGenome": {"initial_connection": "partial_direct 0.2", "beta_init_mean": 0.9, "beta_init_stdev": 0.05,
                                      "weight_init_stdev": 0.3, "weight_mutate_power": 0.1}}
"""Sparse first networks (about 3 of the 14 input channels of the task's seven bands; the level code
gives 2 channels per band, so most fit Xylo's 16 inputs) with slow membranes and fine weights: at
one LIF step per 10 ms frame, beta 0.9 integrates over ~100 ms, and a weight near 0.1 of the
threshold fires after ~0.4 s of a tone, the time scale that tells a smoke alarm's 0.5 s beeps from
a CO alarm's 0.1 s ones. The quadrotor's weight steps (0.5 of the threshold) turn such a counter
into a one-frame trigger with most mutations; 0.1 keeps it (validation F1 0.90 against 0.68-0.82,
docs/audio.md)."""


@dataclass(frozen=True)
class AudioResults:
    """What every genome did on every episode (arrays [G, E, ...])."""

    returns: NDArray[np.float64]
    success: NDArray[np.float64]
    """Event F1 of the episode (1 when it has no target event and no false alarm)."""
    steps: NDArray[np.int64]
    """Frames listened to."""
    ops: NDArray[np.int64]
    """[G, E, 4]: neuron updates, spikes, input events, synaptic ops over the episode."""
    counts: NDArray[np.int64]
    """[G, E, 5] in :data:`spikefly.envs.audio.scoring.COUNT_NAMES` order."""

    @property
    def behaviour(self) -> NDArray[np.float64]:
        """[G, 5E]: hit, miss, false-alarm, wrong-class and distractor counts of every episode."""
        return self.counts.reshape(self.counts.shape[0], -1).astype(np.float64)


def listening_rate(env_settings: Mapping[str, Any]) -> tuple[float, int]:
    """Frames per second, and the multiply-accumulates per frame of the settings' front end that an MCU
    computes before the network (mel: 6,074; bands: 2,100, the task's seven: 1,372; a neuromorphic audio chip such as Xylo Audio
    has its filterbank in silicon)."""
    return 1.0 / hop_s(), AudioSettings.from_kwargs(**env_settings).front_end.cost_per_frame()["macs"]


def encoder_range(front_end) -> tuple[float, float]:
    """The feature range the encoder scales to [0, 1] for ``front_end`` (:data:`ENCODER_RANGES`)."""
    return ENCODER_RANGES[getattr(front_end, "normalisation", front_end.kind)]


def episode_f1(counts: NDArray[np.int64]) -> NDArray[np.float64]:
    """Event F1 from counts [..., 5]; 1 where there was nothing to find and nothing was triggered."""
    hits = counts[..., COUNT_NAMES.index("hits")]
    wrong = counts[..., COUNT_NAMES.index("false_alarms")] + counts[..., COUNT_NAMES.index("wrong_class")]
    missed = counts[..., COUNT_NAMES.index("misses")]
    denominator = 2 * hits + wrong + missed
    return np.where(denominator > 0, 2 * hits / np.maximum(denominator, 1), 1.0)


def check_training_worlds(worlds: tuple[str, ...], settings: AudioSettings) -> None:
    """Refuse soundscapes (or background overrides) that draw held-out recordings: they measure, never train."""
    from spikefly.worlds.soundscape import load_soundscape

    overrides = [name for name in settings.backgrounds or () if name.endswith(":heldout")]
    if overrides:
        raise ValueError(f"backgrounds {overrides}: held-out recordings are for evaluation only; train on the training "
                         "part (drop ':heldout')")
    for world in worlds:
        layers = load_soundscape(world).backgrounds
        if any(layer.source == "recordings" and layer.part == "heldout" for layer in layers):
            raise ValueError(f"{world}: it draws held-out recordings (part = \"heldout\"), which no run may train on; "
                             "train on soundscapes of the training part (kitchen, street, office, living_room, cafe) "
                             "and measure on this one with spikefly evaluate")


class AudioFlyer:
    """Listens with networks over episodes (the task interface of the quadrotor's Flyer)."""

    reference_physics = None
    control_hz = 1.0 / hop_s()
    neat_overrides = AUDIO_NEAT_OVERRIDES

    def __init__(self, settings: EvolveSettings) -> None:
        self.settings = settings
        self.audio_settings = AudioSettings.from_kwargs(**settings.env_settings)
        self.encoder = encoder_from_dict(dict(settings.encoder))
        self.decoder = decoder_from_dict(dict(settings.decoder))
        check_training_worlds(settings.worlds, self.audio_settings)
        classes = {episode(world, 0, self.audio_settings).classes for world in settings.worlds}
        if len(classes) != 1:
            raise ValueError(f"the soundscapes {list(settings.worlds)} name different targets {sorted(classes)}; "
                             "train on worlds with the same target classes")
        self.classes = classes.pop()
        self.n_actions = len(self.classes)
        bands = episode(settings.worlds[0], 0, self.audio_settings).features.shape[1]
        low, high = encoder_range(self.audio_settings.front_end)
        self.low = np.full(bands, low, np.float32)
        self.high = np.full(bands, high, np.float32)
        self._listener = PopulationListener(self.encoder, self.decoder, settings.steps_per_action, self.n_actions,
                                            self.low, self.high)

    def fly(self, networks: list, episodes: EpisodeSet, physics: str | None = None) -> AudioResults:
        """Every network on every episode; ``physics`` is ignored (audio has one simulator)."""
        clips = [episode(world, seed, self.audio_settings) for world, seed in zip(episodes.worlds, episodes.seeds)]
        actions, ops, lengths = self._listener.run(networks, [clip.features for clip in clips], list(episodes.seeds))
        count, total = len(networks), len(clips)
        returns = np.zeros((count, total))
        counts = np.zeros((count, total, len(COUNT_NAMES)), np.int64)
        for e, clip in enumerate(clips):
            scored = score_batch(actions[:, e, : lengths[e]], clip.events, clip.classes, hop_s(), self.audio_reward)
            returns[:, e] = scored.total_terms.sum(axis=1)
            counts[:, e] = scored.counts
        steps = np.broadcast_to(lengths, (count, total)).copy()
        return AudioResults(returns, episode_f1(counts), steps, ops, counts)

    @property
    def audio_reward(self):
        return self.audio_settings.reward
