"""Evolution on the audio task: the compiled listener equals a controller stepping the env; runs end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikefly.controllers import ControllerSpec, LevelEncoder, RateDecoder, SpikingController, load, quantize, random_network, save
from spikefly.envs.audio_env import AudioEventDetectionEnv, detected_class, episode, hop_s
from spikefly.envs.audio.scoring import score
from spikefly.evolution.audio_task import DETECTION_HOLD_STEPS, ENCODER_HIGH, ENCODER_LOW, SEVEN_BANDS, AudioFlyer, episode_f1
from spikefly.evolution.cli.commands import main
from spikefly.evolution.episodes import VALIDATION, episodes_for
from spikefly.evolution.settings import EvolveSettings
from spikefly.evolution.stream_rollout import PopulationListener

K = 4
LOW, HIGH = np.full(32, ENCODER_LOW, np.float32), np.full(32, ENCODER_HIGH, np.float32)


def networks(integer: bool, weight_scale: float = 2.0):
    nets = [random_network(np.random.default_rng(g), 64, 6, 1, 0.25, weight_scale=weight_scale, max_delay=1) for g in range(3)]
    return [quantize(net) for net in nets] if integer else nets


@pytest.mark.parametrize("hold", [0, 30], ids=["no-hold", "hold"])
@pytest.mark.parametrize("integer", [False, True], ids=["float", "int8"])
def test_listener_equals_a_controller_stepping_the_env(integer, hold):
    encoder, decoder = LevelEncoder(n_levels=2), RateDecoder(hold_steps=hold)
    listener = PopulationListener(encoder, decoder, K, 1, LOW, HIGH)
    seeds = [2, 9]
    clips = [episode("kitchen", s) for s in seeds]
    nets = networks(integer, weight_scale=1.0)  # every one spikes, none all the time: a hold has silences to fill
    actions, ops, lengths = listener.run(nets, [c.features for c in clips], seeds)
    plain = PopulationListener(encoder, RateDecoder(), K, 1, LOW, HIGH).run(nets, [c.features for c in clips], seeds)[0]
    for g, network in enumerate(nets):
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
            if hold:  # the detection stays on past the frames the output neuron spiked in: fewer, longer triggers
                def triggers(a):
                    return np.count_nonzero(np.diff(np.r_[0, a]) > 0)
                assert np.count_nonzero(stepped) > np.count_nonzero(plain[g, e]) > 0
                assert triggers(stepped) < triggers(plain[g, e, : lengths[e]])
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
    printed = capsys.readouterr().out
    assert "validation event F1" in printed and "--world heldout_babble heldout_music heldout_tv" in printed
    spec = load(out / "champion.json")
    assert spec.env_id == "spikefly/AudioEventDetection-v0" and spec.board["board"] == "xylo_audio2"
    assert spec.decoder == RateDecoder(hold_steps=DETECTION_HOLD_STEPS)  # evolved with the hold it is deployed with
    assert main(["evaluate", str(out / "champion.json"), "--episodes", "2", "--board", "nrf52840", "--snr", "-6", "0",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"f1", "precision", "recall", "false_alarms_per_hour", "median_latency_s"} <= set(report["summary"])
    assert report["settings"]["snr_db"] == [-6.0, 0.0] and report["boards"]["nrf52840"]["per_hour_j"] > 0
    # the front end is recorded (the task's seven bands); a file that loses the key is heard as mel and refused
    assert spec.env_settings == {"front_end": SEVEN_BANDS} and spec.observation_low.shape == (7,)
    assert main(["evaluate", str(out / "champion.json"), "--episodes", "1", "--board", "nrf52840", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["boards"]["nrf52840"]["front_end_macs_per_frame"] == 1372
    document = json.loads((out / "champion.json").read_text())
    del document["env"]["settings"]["front_end"]
    (tmp_path / "lost.json").write_text(json.dumps(document))
    assert main(["evaluate", str(tmp_path / "lost.json"), "--episodes", "1"]) == 2
    assert "expects 7 features per frame, the mel front end gives 32" in capsys.readouterr().err
    # a file written before the key existed is mel, and is charged as mel
    mel = quantize(random_network(np.random.default_rng(0), 64, 3, 1, 0.2, weight_scale=2.0))
    old = ControllerSpec(network=mel, encoder=LevelEncoder(n_levels=2), decoder=RateDecoder(), steps_per_action=1,
                         observation_low=np.full(32, ENCODER_LOW, np.float32), observation_high=np.full(32, ENCODER_HIGH, np.float32),
                         n_actions=1, env_id="spikefly/AudioEventDetection-v0", env_settings={})
    save(old, tmp_path / "old.json")
    assert main(["evaluate", str(tmp_path / "old.json"), "--episodes", "1", "--board", "nrf52840", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["boards"]["nrf52840"]["front_end_macs_per_frame"] == 6074


def test_evolve_with_the_band_front_end_records_it_and_evaluate_charges_it(tmp_path, capsys):
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"validation_every": 2, "validation_episodes": 1, "training_pool": 2, "validation_top": 1,
                                    "worlds": ["office"], "env_settings": {"front_end": "bands"}}))
    out = tmp_path / "run"
    assert main(["evolve", "--env", "audio", "--population", "10", "--generations", "1", "--episodes", "1", "--quiet",
                 "--settings", str(settings), "--out", str(out)]) == 0
    capsys.readouterr()
    spec = load(out / "champion.json")
    assert spec.env_settings == {"front_end": "bands"} and spec.observation_low.shape == (12,)
    assert spec.network.n_inputs == 24  # level code: 2 channels per band
    assert main(["evaluate", str(out / "champion.json"), "--episodes", "1", "--board", "nrf52840", "--board", "xylo_audio2",
                 "--json"]) == 0
    boards = json.loads(capsys.readouterr().out)["boards"]
    assert boards["nrf52840"]["front_end_macs_per_frame"] == 2100 and boards["xylo_audio2"]["front_end_macs_per_frame"] == 0
    document = json.loads((out / "champion.json").read_text())
    document["env"]["settings"]["front_end"] = "fft"
    (tmp_path / "bad.json").write_text(json.dumps(document))
    assert main(["evaluate", str(tmp_path / "bad.json"), "--episodes", "1"]) == 2
    error = capsys.readouterr().err
    assert "bad.json: env_settings: front_end='fft' is not a front end" in error
    assert "Fix: correct that key in the controller file's env.settings" in error
    document["env"]["settings"] = {}  # a band controller with no key is read as mel: a size mismatch, named
    (tmp_path / "unkeyed.json").write_text(json.dumps(document))
    assert main(["evaluate", str(tmp_path / "unkeyed.json"), "--episodes", "1"]) == 2
    assert "expects 12 features per frame, the mel front end gives 32" in capsys.readouterr().err


def test_a_settings_file_with_an_unknown_front_end_is_one_error_naming_file_key_and_fix(tmp_path, capsys):
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"env_settings": {"front_end": {"kind": "bands", "pcen_alpha": 2}}}))
    assert main(["evolve", "--env", "audio", "--settings", str(settings), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "s.json: env_settings: front_end (bands): need 0 <= pcen_alpha <= 1" in error and "Fix: correct that key" in error
    assert not (tmp_path / "run").exists()


def test_the_default_level_code_sees_a_smoke_alarms_beeps_and_little_of_the_room():
    # the encoder's first threshold must sit under an alarm's tonality and over the room's: with the
    # mel range (thresholds 2 and 5) the network heard only onsets and missed a third of the alarms
    from spikefly.envs.audio_env import AudioSettings
    from spikefly.evolution.audio_task import encoder_range

    settings = AudioSettings.from_kwargs(front_end=dict(SEVEN_BANDS))
    low, high = encoder_range(settings.front_end)
    first_threshold = low + (high - low) / 3  # the level code's thresholds are (j + 1) / (L + 1) of the range
    assert 0.15 < first_threshold < 0.3
    alarm_bands = [SEVEN_BANDS["centres_hz"].index(f) for f in (520.0, 2900.0, 3100.0, 3300.0, 3500.0)]
    on_in_beeps, tone_outside, low_outside = [], [], []
    for seed in range(3):
        clip = episode("office", seed, settings)
        heard = clip.features >= first_threshold
        outside = np.ones(len(heard), bool)
        for event in clip.events:
            span = slice(int(event.onset_s / hop_s()), int((event.offset_s + 0.5) / hop_s()))
            outside[span] = False
            if event.label == "smoke_alarm" and event.snr_db >= 3:  # beeps fill 3 of every 5 s of a T3 cycle
                on_in_beeps.append(heard[span][:, alarm_bands].any(axis=1).mean())
        tone_outside.append(heard[outside][:, alarm_bands[1:]].any(axis=1).mean())
        low_outside.append(heard[outside][:, alarm_bands[0]].mean())  # 520 Hz: where talkers put their power
    assert on_in_beeps and min(on_in_beeps) > 0.3, on_in_beeps
    assert max(tone_outside) < 0.02 and max(low_outside) < 0.15, (tone_outside, low_outside)
