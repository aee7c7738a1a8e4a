"""`spikefly evaluate --randomise`: a preset or a file of randomisation settings, seeded, reported."""

from __future__ import annotations

import json

import numpy as np

from spikefly.controllers import ControllerSpec, DirectEncoder, RateDecoder, random_network, save
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.envs.sim.randomisation import PRESETS
from spikefly.evolution.cli.commands import main


def _controller(tmp_path, env_settings=None):
    space = observation_space(QuadrotorSettings())
    network = random_network(np.random.default_rng(5), space.shape[0], 10, 8, 0.3, weight_scale=1.0)
    spec = ControllerSpec(network=network, encoder=DirectEncoder(signed=True), decoder=RateDecoder(signed_pairs=True),
                          steps_per_action=8, observation_low=space.low, observation_high=space.high, n_actions=4,
                          env_id="spikefly/QuadrotorAvoid-v0", env_settings=env_settings or {},
                          metadata={"worlds": ["slalom"]})
    return save(spec, tmp_path / "controller.json")


def _evaluate(capsys, *arguments):
    capsys.readouterr()
    assert main(["evaluate", *map(str, arguments), "--physics", "twin", "--episodes", "3", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _flights(report):
    return [(row["outcome"], row["return"], row["steps"], row["rotor_energy_j"]) for row in report["episodes"]]


def test_randomise_alone_flies_the_default_preset_seeded_and_says_so(tmp_path, capsys):
    path = _controller(tmp_path)
    randomised = _evaluate(capsys, path, "--randomise", "--seed", "4")
    assert randomised["randomisation"] == {"source": "preset default",
                                           "settings": {**PRESETS["default"], "wind_gust_time_constant_s": 1.5}}
    assert _flights(_evaluate(capsys, path, "--randomise", "--seed", "4")) == _flights(randomised)
    clean = _evaluate(capsys, path, "--seed", "4")
    assert clean["randomisation"]["source"] == "controller settings"
    assert not any(clean["randomisation"]["settings"][key] for key in PRESETS["default"])
    assert _flights(clean) != _flights(randomised)
    assert _flights(_evaluate(capsys, path, "--randomise", "--seed", "5")) != _flights(randomised)


def test_a_file_overrides_only_its_keys_and_a_preset_replaces_the_controllers_randomisation(tmp_path, capsys):
    path = _controller(tmp_path, {"range_noise_std_m": 0.05})
    settings = tmp_path / "model_error.toml"
    settings.write_text("mass_variation = 0.2\nthrust_variation = 0.15\n")
    report = _evaluate(capsys, path, "--randomise", settings)
    assert report["randomisation"]["source"] == str(settings)
    figures = report["randomisation"]["settings"]
    assert (figures["mass_variation"], figures["thrust_variation"], figures["range_noise_std_m"]) == (0.2, 0.15, 0.05)
    assert _evaluate(capsys, path, "--randomise", "off")["randomisation"]["settings"]["range_noise_std_m"] == 0.0
    capsys.readouterr()
    assert main(["evaluate", str(path), "--physics", "twin", "--episodes", "1", "--randomise", "light"]) == 0
    assert "randomisation: preset light: range_noise_std_m=0.01, range_dropout_prob=0.01" in capsys.readouterr().out


def test_a_bad_randomisation_file_is_one_line_naming_file_key_and_fix(tmp_path, capsys):
    path = _controller(tmp_path)
    bad = tmp_path / "dr.json"
    bad.write_text(json.dumps({"mass_variation": 0.1, "motor_lag_variaton": 0.2}))
    capsys.readouterr()
    assert main(["evaluate", str(path), "--randomise", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert str(bad) in lines[0] and "'motor_lag_variaton'" in lines[0] and "Fix: did you mean 'motor_lag_variation'" in lines[0]
    bad.write_text(json.dumps({"mass_variation": 0.9}))
    assert main(["evaluate", str(path), "--randomise", str(bad)]) == 2
    assert "mass_variation=0.9: must be a fraction in [0, 0.5)" in capsys.readouterr().err


def test_pybullet_and_the_twin_fly_the_same_randomised_episodes(tmp_path, capsys):
    path = _controller(tmp_path)
    capsys.readouterr()
    reports = {}
    for physics in ("twin", "pybullet"):
        assert main(["evaluate", str(path), "--physics", physics, "--episodes", "2", "--randomise", "strong", "--json"]) == 0
        reports[physics] = json.loads(capsys.readouterr().out)
    for twin, pybullet in zip(reports["twin"]["episodes"], reports["pybullet"]["episodes"]):
        assert (twin["outcome"], twin["steps"], twin["synaptic_ops"]) == (pybullet["outcome"], pybullet["steps"], pybullet["synaptic_ops"])
        # The flights agree to ~1e-15 m until the end; Bullet may report a contact one physics step
        # after the twin's analytic test (as without randomisation), which moves time and return a little.
        assert abs(twin["time_s"] - pybullet["time_s"]) <= 1.0 / 240.0 + 1e-6
        assert abs(twin["return"] - pybullet["return"]) < 1e-2
