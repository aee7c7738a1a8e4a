"""Domain randomisation: model error (mass, thrust, motor lag) and its per-seed draws, alike in every engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikefly.envs.sim.pybullet_client import pybullet
from spikefly.envs.sim.drone_model import flight_record
from spikefly.envs.pilots import ReactivePilot
from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
from spikefly.envs.quadrotor_settings import MODEL_VARIATIONS, QuadrotorSettings
from spikefly.envs.sim.randomisation import (
    MODEL_SCALE_MASS,
    PRESETS,
    RandomisationError,
    draw_randomisation,
    load_randomisation,
    flight_records,
)
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds

MODEL_ERROR = {"mass_variation": 0.1, "thrust_variation": 0.1, "motor_lag_variation": 0.2}
DEFAULT = PRESETS["default"]

@pytest.mark.parametrize("key", MODEL_VARIATIONS)
@pytest.mark.parametrize("value", [0.5, -0.01, math.nan, "0.1", True])
def test_a_bad_model_variation_is_an_error_naming_the_key(key, value):
    with pytest.raises(ValueError, match=rf"^{key}=.*must be a fraction in \[0, 0.5\)"):
        QuadrotorSettings(**{key: value})


def test_model_error_is_off_by_default_and_leaves_the_drone_nominal():
    settings = QuadrotorSettings()
    assert all(getattr(settings, key) == 0.0 for key in MODEL_VARIATIONS)
    drawn = draw_randomisation(settings, 26, [0, 1], 10)
    np.testing.assert_array_equal(drawn.model_scale, np.ones((2, 3)))
    twin = QuadrotorTwin(2)
    assert twin.flight_records.shape == (2, 2)  # per drone: the nominal drone, the drone flown
    assert twin.flight_records.tobytes() == np.repeat(flight_record(twin.flight), 4).tobytes()  # bit for bit
    assert twin.contact_thrust_to_weight == twin.drone.thrust_to_weight


def test_each_seed_draws_its_own_drone_and_leaves_the_older_streams_unchanged():
    with_error = QuadrotorSettings(**DEFAULT)
    drawn = draw_randomisation(with_error, 26, [3, 3, 4], 50)
    np.testing.assert_array_equal(drawn.model_scale[0], drawn.model_scale[1])
    assert drawn.model_scale[0, MODEL_SCALE_MASS] != drawn.model_scale[2, MODEL_SCALE_MASS]
    variations = np.array([with_error.mass_variation, with_error.thrust_variation, with_error.motor_lag_variation])
    scales = draw_randomisation(with_error, 26, list(range(200)), 1).model_scale
    assert np.all(np.abs(scales - 1.0) <= variations) and np.all(scales.max(axis=0) - 1.0 > 0.8 * variations)
    # Switching model error on does not move the wind and noise a seed draws ...
    without_error = QuadrotorSettings(**{**DEFAULT, **dict.fromkeys(MODEL_VARIATIONS, 0.0)})
    clean = draw_randomisation(without_error, 26, [3, 3, 4], 50)
    for name in ("mean_wind", "gust_noise", "range_noise"):
        np.testing.assert_array_equal(getattr(drawn, name), getattr(clean, name))
    # ... and a seed's mass error is the same whichever other kinds are on.
    mass_only = draw_randomisation(QuadrotorSettings(mass_variation=0.1), 26, [3, 3, 4], 50)
    np.testing.assert_array_equal(mass_only.model_scale[:, MODEL_SCALE_MASS], drawn.model_scale[:, MODEL_SCALE_MASS])


def test_pybullet_flies_the_drawn_drone_while_the_controller_keeps_the_nominal_one(open_sky):
    env = QuadrotorAvoidEnv(open_sky, **MODEL_ERROR)
    try:
        masses = []
        for seed in (0, 1):
            env.reset(seed=seed)
            sim = env._sim
            scale = draw_randomisation(env.settings, 26, [seed], 1).model_scale[0]
            nominal, expected = flight_records(env.drone, env._flight, scale[None])[0]
            assert nominal.tobytes() == flight_record(env._flight).tobytes()
            mass, _, inertia, *_ = pybullet.getDynamicsInfo(sim.drone_body, -1, physicsClientId=sim.client)
            assert mass == pytest.approx(expected["mass_kg"], rel=1e-12)
            np.testing.assert_allclose(inertia, [expected["inertia_x"], expected["inertia_y"], expected["inertia_z"]], rtol=1e-12)
            assert sim.plant.thrust_coefficient == expected["thrust_coefficient"]
            assert env._flight.mass_kg == env.drone.mass_kg  # the inner controller's belief
            masses.append(mass)
        assert masses[0] != masses[1]
    finally:
        env.close()


def _fly_pybullet(world, seed, settings, steps=60):
    env = QuadrotorAvoidEnv(world, **settings)
    rows = [env.reset(seed=seed)[0]]
    actions = np.random.default_rng(3).uniform(-1, 1, size=(steps, 4)).astype(np.float32)
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        rows.append(np.concatenate([observation, info["position_m"], [reward, info["rotor_energy_j"]]]))
        if terminated or truncated:
            break
    env.close()
    return np.array(rows[1:])


def test_same_seed_same_randomised_flight_other_seed_other_flight(open_sky):
    first = _fly_pybullet(open_sky, 5, DEFAULT)
    np.testing.assert_array_equal(first, _fly_pybullet(open_sky, 5, DEFAULT))
    assert not np.array_equal(first, _fly_pybullet(open_sky, 6, DEFAULT))
    assert not np.array_equal(first, _fly_pybullet(open_sky, 5, {}))


def _free_flight_gap(world, seed, settings):
    """Largest position and observation gaps between PyBullet and the twin over 3 s of random actions."""
    env = QuadrotorAvoidEnv(world, **settings)
    observation, _ = env.reset(seed=seed)
    twin = QuadrotorTwin(1, **settings)
    twin_observation = twin.reset(TwinWorlds.draw([world], [seed]), seeds=[seed])[0]
    position_gaps, observation_gaps = [], [np.abs(observation - twin_observation).max()]
    for action in np.random.default_rng(seed).uniform(-1, 1, size=(90, 4)).astype(np.float32):
        observation, _, _, _, info = env.step(action)
        twin_observation = twin.step(action[None])[0][0]
        position_gaps.append(np.linalg.norm(info["position_m"] - twin.position[0]))
        observation_gaps.append(np.abs(observation - twin_observation).max())
    env.close()
    return max(position_gaps), max(observation_gaps), twin.position[0].copy(), info["rotor_energy_j"], twin.rotor_energy_j[0]


@pytest.mark.parametrize("seed", range(2))
def test_twin_flies_the_randomised_episode_of_a_seed_as_pybullet_does(open_sky, seed):
    clean_gap, _, clean_end, *_ = _free_flight_gap(open_sky, seed, {})
    gap, observation_gap, end, energy, twin_energy = _free_flight_gap(open_sky, seed, DEFAULT)
    # Measured 1e-16..1e-14 m with and without randomisation (PyBullet's free flight is integrated
    # exactly as the twin does); model error, wind and noise must not open the gap.
    assert gap < 1e-9 and clean_gap < 1e-9, (gap, clean_gap)
    assert observation_gap < 1e-6
    assert energy == pytest.approx(twin_energy, rel=1e-9)
    assert np.linalg.norm(end - clean_end) > 0.05  # the randomisation did change the flight


def test_noisy_ranges_and_dropouts_match_pybullet_among_obstacles():
    settings = {**DEFAULT, "range_dropout_prob": 0.1}
    env = QuadrotorAvoidEnv("slalom", **settings)
    observation, _ = env.reset(seed=5)
    twin = QuadrotorTwin(1, **settings)
    twin_observation = twin.reset(TwinWorlds.draw(["slalom"], [5]), seeds=[5])[0]
    pilot = ReactivePilot(env.settings)
    dropped = 0
    try:
        for _ in range(60):
            np.testing.assert_allclose(twin_observation, observation, atol=1e-6)
            dropped += int(np.sum(observation[:16] == 1.0))
            action = pilot(np.round(observation, 4))
            observation, _, terminated, truncated, _ = env.step(action)
            twin_observation = twin.step(action[None])[0][0]
            if terminated or truncated:
                break
    finally:
        env.close()
    assert dropped > 0


def test_presets_and_files_load_and_bad_files_name_the_key_and_fix(tmp_path):
    assert load_randomisation("default").settings == DEFAULT
    assert load_randomisation("strong").source == "preset strong"
    good = tmp_path / "dr.toml"
    good.write_text("mass_variation = 0.15\nwind_speed_mps = 0.5\n")
    assert load_randomisation(good).settings == {"mass_variation": 0.15, "wind_speed_mps": 0.5}
    misspelled = tmp_path / "dr.json"
    misspelled.write_text('{"mass_variaton": 0.1}')
    with pytest.raises(RandomisationError, match=r"dr\.json: unknown key 'mass_variaton'\. Fix: did you mean 'mass_variation'"):
        load_randomisation(misspelled)
    too_big = tmp_path / "big.json"
    too_big.write_text('{"thrust_variation": 0.7}')
    with pytest.raises(RandomisationError, match=r"big\.json: thrust_variation=0\.7: must be a fraction in \[0, 0\.5\).*Fix"):
        load_randomisation(too_big)
    not_a_setting = tmp_path / "rays.json"
    not_a_setting.write_text('{"n_rays": 8}')
    with pytest.raises(RandomisationError, match="only range_noise_std_m"):
        load_randomisation(not_a_setting)
    with pytest.raises(RandomisationError, match=r"nope: neither a randomisation preset nor a file\. Fix: name a preset \(off, light"):
        load_randomisation("nope")
