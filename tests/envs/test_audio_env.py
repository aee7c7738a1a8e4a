"""`spikefly/AudioEventDetection-v0` as a user and the vectorised evolution path meet it."""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from spikefly.envs import AUDIO_EVENT_ID
from spikefly.envs.audio_env import AudioEventDetectionEnv, detected_class, episode, episode_of_clip, hop_s
from spikefly.worlds.soundscape import Clip, Event
from spikefly.envs.audio.scoring import TERM_NAMES, score
from spikefly.envs.audio.soundscape_render import render_clip


@pytest.mark.parametrize("front_end, bands", [("mel", 32), ("bands", 12), ({"kind": "bands", "centres_hz": [520, 3100],
                                                                             "bandwidth_shifts": [4, 4]}, 2)])
def test_registered_and_passes_the_gymnasium_checker_without_warnings(front_end, bands):
    settings = {} if front_end == "mel" else {"front_end": front_end}  # no key: mel
    env = gymnasium.make(AUDIO_EVENT_ID, world="office", duration_s=8.0, **settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert not caught, [str(w.message) for w in caught]
    assert env.observation_space.shape == (bands,) and env.action_space.n == 2


@pytest.mark.parametrize("seed, front_end", [(0, "mel"), (5, "mel"), (0, "bands")])
def test_stepping_equals_the_vectorised_episode_and_score(seed, front_end):
    env = AudioEventDetectionEnv("kitchen", duration_s=30.0, front_end=front_end)
    observation, _ = env.reset(seed=seed)
    vectorised = episode("kitchen", seed, env.settings)
    np.testing.assert_array_equal(observation, vectorised.features[0])
    rng = np.random.default_rng(seed)
    # bursts of detections: rising edges, held actions and gaps
    actions = np.repeat((rng.random(len(vectorised.features) // 20 + 1) < 0.3).astype(int), 20)[: len(vectorised.features)]
    totals = dict.fromkeys(TERM_NAMES, 0.0)
    observations = [observation]
    for t, action in enumerate(actions):
        observation, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
        for name in TERM_NAMES:
            totals[name] += info["reward_terms"][name]
        if not terminated:
            observations.append(observation)
        assert terminated == (t == len(actions) - 1) and not truncated
    np.testing.assert_array_equal(np.array(observations), vectorised.features)
    result = score(actions, vectorised.events, vectorised.classes, hop_s(), env.settings.reward)
    np.testing.assert_allclose([totals[name] for name in TERM_NAMES], [result.total_terms[name] for name in TERM_NAMES],
                               rtol=0, atol=1e-9)
    assert sum(totals.values()) != 0.0  # the actions did score something


def test_event_times_are_shifted_to_when_their_frames_are_available():
    from spikefly.envs.audio_env import clip_seed
    from spikefly.worlds.soundscape import load_soundscape

    clip = render_clip(load_soundscape("office"), np.random.default_rng(clip_seed(1)))
    shifted = episode("office", 1).events
    assert len(shifted) == len(clip.events) > 0
    # frame t spans [t hop, t hop + 25 ms), is complete at t hop + 25 ms and is scored at t hop:
    # events move 25 ms earlier, so a latency is counted from the true onset
    for moved, original in zip(shifted, clip.events):
        assert moved.onset_s == pytest.approx(original.onset_s - 0.025, abs=1e-12)
        assert moved.offset_s == pytest.approx(original.offset_s - 0.025, abs=1e-12)


def test_an_event_starting_in_the_first_frame_window_is_scored_from_frame_zero():
    # a smoke alarm starting 8 ms into the clip: 25 ms earlier would be before the clip (the scorer
    # rejected it, and `spikefly bench --env audio` crashed on such a seed)
    clip = Clip(np.zeros(32_000, np.float32), 16_000, (Event(0.008, 1.5, "smoke_alarm", 5.0),))
    streamed = episode_of_clip(clip, ("smoke_alarm",))
    events = streamed.events
    assert events[0].onset_s == 0.0 and all(0.0 <= e.onset_s <= e.offset_s for e in events)
    frames = streamed.features.shape[0]
    result = score(np.zeros(frames, np.int64), events, streamed.classes, hop_s(), AudioEventDetectionEnv("street").settings.reward)
    assert result.counts["misses"] >= 1


def test_detection_needs_one_spike_and_picks_the_most_active_class():
    assert detected_class(np.array([-1.0, -1.0], np.float32)) == 0
    assert detected_class(np.array([-0.5, -1.0], np.float32)) == 1
    assert detected_class(np.array([-0.5, 0.5], np.float32)) == 2


def test_bad_actions_and_settings_are_clear_errors():
    env = AudioEventDetectionEnv("office", duration_s=2.0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be an integer in \\[0, 1\\]"):
        env.step(2)
    with pytest.raises(ValueError, match="snr_db"):
        AudioEventDetectionEnv("office", snr_db=(5.0, -5.0))
    with pytest.raises(TypeError, match="unknown AudioEventDetection setting"):
        AudioEventDetectionEnv("office", snr=3)
    with pytest.raises(ValueError, match="front_end='fft' is not a front end; give one of \\['bands', 'mel'\\]"):
        AudioEventDetectionEnv("office", front_end="fft")
    with pytest.raises(ValueError, match="\\['alpha'\\] are not BandFrontEnd fields"):
        AudioEventDetectionEnv("office", front_end={"kind": "bands", "alpha": 1.0})
    with pytest.raises(ValueError, match="hop_samples and window_samples must stay"):
        AudioEventDetectionEnv("office", front_end={"kind": "mel", "hop_samples": 320})


def test_reset_takes_the_same_world_option_as_the_quadrotor_env(tmp_path) -> None:
    env = AudioEventDetectionEnv("kitchen")
    env.reset(seed=0, options={"world": "office"})
    assert env.soundscape.name == "office"
    np.testing.assert_array_equal(env.reset(seed=3)[0], AudioEventDetectionEnv("office").reset(seed=3)[0])
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['wrold'\]; valid: \['world'\]"):
        env.reset(options={"wrold": "street"})
    other = tmp_path / "dogs.toml"
    other.write_text('name = "dogs"\nkind = "soundscape"\nduration_s = 10.0\ntarget = ["dog_bark"]\n'
                     '[[backgrounds]]\nsource = "pink_noise"\n[[events]]\nsource = "dog_bark"\n')
    with pytest.raises(ValueError, match="detects \\['dog_bark'\\], this env \\['smoke_alarm'\\].*Fix: make a new env"):
        env.reset(options={"world": str(other)})
    assert env.soundscape.name == "office"

