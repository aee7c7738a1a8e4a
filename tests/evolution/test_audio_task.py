"""Evolution on the audio task: the compiled listener equals a controller stepping the env; runs end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikefly.controllers import LevelEncoder, RateDecoder, SpikingController, load, quantize, random_network
from spikefly.envs.audio_env import AudioEventDetectionEnv, detected_class, episode, hop_s
from spikefly.envs.audio.scoring import score
from spikefly.evolution.audio_task import ENCODER_HIGH, ENCODER_LOW, AudioFlyer, episode_f1
from spikefly.evolution.cli.commands import main
from spikefly.evolution.episodes import VALIDATION, episodes_for
from spikefly.evolution.settings import EvolveSettings
from spikefly.evolution.stream_rollout import PopulationListener

K = 4
LOW, HIGH = np.full(32, ENCODER_LOW, np.float32), np.full(32, ENCODER_HIGH, np.float32)


def networks(integer: bool):
    nets = [random_network(np.random.default_rng(g), 64, 6, 1, 0.25, weight_scale=2.0, max_delay=1) for g in range(3)]
    return [quantize(net) for net in nets] if integer else nets


@pytest.mark.parametrize("integer", [False, True], ids=["float", "int8"])
def test_listener_equals_a_controller_stepping_the_env(integer):
    encoder, decoder = LevelEncoder(n_levels=2), RateDecoder()
    listener = PopulationListener(encoder, decoder, K, 1, LOW, HIGH)
    seeds = [2, 9]
    clips = [episode("kitchen", s) for s in seeds]
    actions, ops, lengths = listener.run(networks(integer), [c.features for c in clips], seeds)
    for g, network in enumerate(networks(integer)):
        for e, seed in enumerate(seeds):
            env = AudioEventDetectionEnv("kitchen")
            observation, _ = env.reset(seed=seed)
            controller = SpikingController(network, encoder, decoder, K, LOW, HIGH, 1, seed=seed)
            stepped, total = [], 0.0
            while True:
                action = detected_class(controller.act(observation))
                stepped.append(action)
                observation, reward, terminated, _, _ = env.step(action)
                total += reward
                if terminated:
                    break
            np.testing.assert_array_equal(actions[g, e, : lengths[e]], stepped)
            assert tuple(ops[g, e]) == tuple(controller.counts)
            assert score(stepped, clips[e].events, clips[e].classes, hop_s()).total == pytest.approx(total, abs=1e-9)


def test_flyer_returns_scores_f1_and_a_pool_of_training_clips():
    settings = EvolveSettings.for_env({"env_id": "spikefly/AudioEventDetection-v0", "worlds": ["office"]})
    assert settings.board == "xylo_audio2" and settings.integer and settings.training_pool > 0
    flyer = AudioFlyer(settings)
    episodes = episodes_for(settings.worlds, 2, 0, VALIDATION)
    results = flyer.fly(networks(False)[:2], episodes)
    assert results.returns.shape == (2, 2) and results.ops.shape == (2, 2, 4)
    np.testing.assert_array_equal(results.success, episode_f1(results.counts))
    assert episode_f1(np.array([0, 0, 0, 0, 0])) == 1.0 and episode_f1(np.array([1, 1, 0, 0, 0])) == pytest.approx(2 / 3)


def test_evolve_env_audio_end_to_end_and_evaluate_reports_event_metrics(tmp_path, capsys):
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"validation_every": 2, "validation_episodes": 2, "training_pool": 3,
                                    "validation_top": 2, "worlds": ["office"]}))
    out = tmp_path / "run"
    assert main(["evolve", "--env", "audio", "--population", "12", "--generations", "2", "--episodes", "1", "--quiet",
                 "--settings", str(settings), "--out", str(out)]) == 0
    assert "validation event F1" in capsys.readouterr().out
    spec = load(out / "champion.json")
    assert spec.env_id == "spikefly/AudioEventDetection-v0" and spec.board["board"] == "xylo_audio2"
    assert main(["evaluate", str(out / "champion.json"), "--episodes", "2", "--board", "nrf52840", "--snr", "-6", "0",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"f1", "precision", "recall", "false_alarms_per_hour", "median_latency_s"} <= set(report["summary"])
    assert report["settings"]["snr_db"] == [-6.0, 0.0] and report["boards"]["nrf52840"]["per_hour_j"] > 0
