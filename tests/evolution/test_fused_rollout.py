"""The fused compiled rollout equals the Python path: SpikingController acting on the twin."""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.controllers import DeltaEncoder, RateDecoder, RateEncoder, SpikingController, random_network
from spikefly.envs.sim import outcomes
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds
from spikefly.evolution.fused_rollout import PopulationRollout

K = 6


def space():
    space = observation_space(QuadrotorSettings())
    return space.low, space.high


def make_networks(encoder, decoder, count, seed=0):
    return [
        random_network(np.random.default_rng(seed + g), encoder.n_channels(26), 14 + g, decoder.n_outputs_needed(4), 0.25,
                       weight_scale=1.2, max_delay=1)
        for g in range(count)
    ]


def python_path(network, encoder, decoder, worlds, e, seed, settings):
    """One genome, one episode, stepped from Python."""
    low, high = space()
    twin = QuadrotorTwin(1, **settings)
    observation = twin.reset(worlds, [e], [seed])[0]
    controller = SpikingController(network, encoder, decoder, K, low, high, 4, seed=seed)
    total = 0.0
    while True:
        observations, rewards, terminated, truncated = twin.step(controller.act(observation)[None])
        observation = observations[0]
        total += rewards[0]
        if terminated[0] or truncated[0]:
            return total, twin, controller


@pytest.mark.parametrize(
    ("encoder", "settings"),
    [
        (DeltaEncoder(threshold=0.05), {}),
        (RateEncoder(max_rate=0.5), {"range_noise_std_m": 0.02, "wind_speed_mps": 0.5, "wind_gust_std_mps": 0.2}),
        (DeltaEncoder(threshold=0.05), {"progress_metric": "path"}),
        (DeltaEncoder(threshold=0.05), {"geofence_rays": True}),
        (RateEncoder(max_rate=0.5), {"range_noise_std_m": 0.02, "range_dropout_prob": 0.02, "wind_speed_mps": 1.0,
                                     "wind_gust_std_mps": 0.3, "mass_variation": 0.1, "thrust_variation": 0.1,
                                     "motor_lag_variation": 0.2}),
    ],
    ids=["delta-clean", "rate-noisy", "delta-path-progress", "delta-geofence", "rate-model-error"],
)
def test_fused_rollout_equals_controller_on_twin(encoder, settings):
    decoder = RateDecoder(signed_pairs=True)
    networks = make_networks(encoder, decoder, 3)
    seeds = [7, 8]
    worlds = TwinWorlds.draw(["forest", "windows"], seeds)
    low, high = space()
    rollout = PopulationRollout(QuadrotorTwin(1, **settings), encoder, decoder, K, low, high)
    results = rollout.run(networks, worlds, seeds)
    assert results.returns.shape == (3, 2)
    for g, network in enumerate(networks):
        for e, seed in enumerate(seeds):
            total, twin, controller = python_path(network, encoder, decoder, worlds, e, seed, settings)
            assert results.returns[g, e] == total
            assert results.outcomes[g, e] == twin.counters[0, 1]
            assert results.steps[g, e] == twin.steps[0]
            np.testing.assert_array_equal(results.final_position_m[g, e], twin.position[0])
            assert results.min_clearance_m[g, e] == twin.min_clearance_m[0]
            assert tuple(results.ops[g, e]) == tuple(controller.counts)
    assert np.all(results.outcomes != outcomes.NONE)


def test_fused_rollout_does_not_depend_on_thread_count_or_population_order():
    encoder, decoder = RateEncoder(max_rate=0.4), RateDecoder(signed_pairs=True)
    networks = make_networks(encoder, decoder, 6, seed=3)
    seeds = [1, 2, 3]
    worlds = TwinWorlds.draw(["forest"] * 3, seeds)
    low, high = space()
    rollout = PopulationRollout(QuadrotorTwin(1), encoder, decoder, K, low, high)
    forward = rollout.run(networks, worlds, seeds)
    backward = rollout.run(networks[::-1], worlds, seeds)
    np.testing.assert_array_equal(forward.returns, backward.returns[::-1])
    np.testing.assert_array_equal(forward.ops, backward.ops[::-1])
