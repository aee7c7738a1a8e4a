"""RL baselines: the twin as an SB3 VecEnv, training with validation selection, the card, evaluate on a card."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")

from spikefly.controllers.cost_model import dense_ann_cost
from spikefly.evolution.baselines import policy_card
from spikefly.evolution.cli.commands import main
from spikefly.evolution.evaluate import evaluate_controller
from spikefly.evolution.baselines.rl import (
    BaselineError,
    BaselineSettings,
    PolicyController,
    load_card,
    make_twin_vec_env,
    train_baseline,
)

TINY = {"total_steps": 512, "n_envs": 2, "n_steps": 128, "validation_every_steps": 256, "validation_episodes": 2}


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ppo")
    return train_baseline(BaselineSettings(**TINY), out), out


def test_twin_vec_env_counts_every_step_and_restarts_finished_drones_in_the_same_step():
    env = make_twin_vec_env(3, "empty", {}, seed=4)
    start = env.reset()
    rng = np.random.default_rng(0)
    finished = 0
    for step in range(700):  # empty's 20 s limit is 600 steps at 30 Hz: every drone ends at least once
        observations, _, dones, infos = env.step(rng.uniform(-1, 1, (3, 4)).astype(np.float32))
        for index in np.flatnonzero(dones):
            finished += 1
            assert infos[index]["outcome"] in {"goal", "collision", "out_of_bounds", "timeout"}
            assert infos[index]["TimeLimit.truncated"] == (infos[index]["outcome"] == "timeout")
            assert not np.array_equal(infos[index]["terminal_observation"], observations[index])
            # empty has one layout: a restarted drone sees exactly what it saw at the start
            np.testing.assert_array_equal(observations[index], start[index])
    assert finished >= 3
    assert env.env_steps == 3 * 700


def test_training_writes_a_card_with_the_actor_size_and_counts_validation_steps(ppo_run):
    summary, out = ppo_run
    card = json.loads((out / "card.json").read_text())
    assert card["kind"] == "sb3_policy" and card["algorithm"] == "ppo" and card["policy"] == "policy.zip"
    assert card["env"]["id"] == "spikefly/QuadrotorAvoid-v0"
    assert card["env"]["observation_space"]["shape"] == [26] and card["env"]["action_space"]["shape"] == [4]
    # SB3's default MlpPolicy actor: 26 -> 64 -> 64 -> 4
    assert card["size"]["macs_per_step"] == 26 * 64 + 64 * 64 + 64 * 4
    assert card["size"]["parameters"] == (26 * 64 + 64) + (64 * 64 + 64) + (64 * 4 + 4)
    assert card["size"]["parameters_total"] > card["size"]["parameters"]  # the critic is not deployed
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [record["training_steps"] for record in log] == [256, 512]
    assert summary.training_steps == 512
    validation_steps = summary.env_steps - summary.training_steps
    assert validation_steps >= 2 * 2  # two validations of two episodes, at least one step each
    assert log[-1]["env_steps"] == summary.env_steps
    assert card["training"]["selected"] == max(log, key=lambda r: (r["success_rate"], r["mean_return"]))


def test_same_seed_same_policy(ppo_run, tmp_path):
    _, out = ppo_run
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("SB3-*"))
    train_baseline(BaselineSettings(**TINY), tmp_path)
    assert set(temp.glob("SB3-*")) == before  # SB3's default logger would leave a folder there per run
    first = policy_card.algorithm_class("ppo").load(out / "policy.zip").policy.state_dict()
    second = policy_card.algorithm_class("ppo").load(tmp_path / "policy.zip").policy.state_dict()
    for name in first:
        assert np.array_equal(first[name].numpy(), second[name].numpy()), name


def test_evaluate_flies_a_card_in_pybullet_and_prices_its_macs(ppo_run, capsys):
    _, out = ppo_run
    card = load_card(out / "card.json")
    report = evaluate_controller(card, ["empty"], 1, seed=0, progress=False)
    assert report["network"] == {"kind": "sb3_policy", "algorithm": "ppo", "parameters": card.parameters,
                                 "macs_per_step": card.macs_per_step}
    assert report["summary"]["episodes"] == 1 and report["episodes"][0]["steps"] > 0
    assert main(["evaluate", str(out / "card.json"), "--world", "empty", "--episodes", "1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["episodes"] == report["episodes"]  # same seed, same flight
    expected = dense_ann_cost([26, 64, 64, 4], "stm32f405", 30.0).to_dict()
    assert printed["boards"]["stm32f405"]["energy_j"] == pytest.approx(expected["energy_j"])
    assert main(["evaluate", str(out / "card.json"), "--world", "empty", "--episodes", "1"]) == 0
    assert "ppo policy, 6148 parameters, 6016 MACs per step" in capsys.readouterr().out


def test_a_card_without_its_policy_file_is_a_one_line_error(ppo_run, tmp_path, capsys):
    _, out = ppo_run
    (tmp_path / "card.json").write_text((out / "card.json").read_text())
    with pytest.raises(BaselineError, match="policy file .* is missing"):
        load_card(tmp_path / "card.json")
    assert main(["evaluate", str(tmp_path / "card.json")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Fix: keep policy.zip beside the card" in error


def test_recurrent_controller_carries_the_lstm_state_across_steps():
    from sb3_contrib import RecurrentPPO

    env = make_twin_vec_env(1, "empty", {}, seed=0)
    model = RecurrentPPO("MlpLstmPolicy", env, seed=1, device="cpu", policy_kwargs={"lstm_hidden_size": 8, "enable_critic_lstm": False})
    observation = env.reset()[0]
    controller = PolicyController(model, recurrent=True)
    controller.reset(seed=0)
    carried = [controller.act(observation) for _ in range(3)]
    state, expected = None, []
    for step in range(3):
        action, state = model.predict(observation[None], state=state, episode_start=np.array([step == 0]), deterministic=True)
        expected.append(action[0])
    np.testing.assert_array_equal(carried, expected)
    fresh, _ = model.predict(observation[None], state=None, episode_start=np.array([True]), deterministic=True)
    assert not np.array_equal(carried[2], fresh[0])  # the state changed the answer to the same observation
    controller.reset(seed=1)
    np.testing.assert_array_equal(controller.act(observation), carried[0])  # a new episode starts from zero state


def test_actor_size_counts_the_policy_lstm_not_the_critic():
    from sb3_contrib import RecurrentPPO

    model = RecurrentPPO("MlpLstmPolicy", make_twin_vec_env(1, "empty", {}, seed=0), device="cpu",
                         policy_kwargs={"lstm_hidden_size": 16, "enable_critic_lstm": False})
    size = policy_card.actor_size(model)
    assert size["macs_per_step"] == 4 * 16 * (26 + 16) + 16 * 64 + 64 * 64 + 64 * 4
    assert size["layers"][0] == {"kind": "lstm", "in": 26, "hidden": 16, "layers": 1}


def test_audio_baseline_trains_on_the_audio_env_and_evaluate_listens_with_it(tmp_path):
    settings = BaselineSettings(env_id="spikefly/AudioEventDetection-v0", worlds=("kitchen",), env_settings={"duration_s": 2.0},
                                total_steps=256, n_envs=2, n_steps=64, validation_every_steps=256, validation_episodes=1)
    summary = train_baseline(settings, tmp_path)
    card = load_card(summary.card)
    assert card.n_actions == 1 and card.macs_per_step == 32 * 64 + 64 * 64 + 64 * 2
    report = evaluate_controller(card, ["kitchen"], 1, seed=0, audio_settings={"duration_s": 2.0})
    assert report["summary"]["episodes"] == 1 and "f1" in report["summary"]
    from spikefly.envs.audio_env import AudioSettings, episode

    assert report["episodes"][0]["steps"] == len(episode("kitchen", 0, AudioSettings(duration_s=2.0)).features)


def test_bad_settings_name_the_setting():
    with pytest.raises(BaselineError, match="algorithm='a2c'"):
        BaselineSettings(algorithm="a2c")
    with pytest.raises(BaselineError, match="n_envs=0"):
        BaselineSettings(n_envs=0)


def test_baseline_cli_rejects_a_bad_world_before_writing_anything(tmp_path, capsys):
    assert main(["baseline", "ppo", "--world", "atlantis", "--out", str(tmp_path / "run")]) == 2
    assert "no bundled world named 'atlantis'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["baseline", "ppo", "--env", "mars"])
    assert exit_info.value.code == 2
