"""Integer populations in the fused rollout fly exactly as SpikingController flies them on the twin."""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.controllers import (
    DeltaEncoder,
    DirectEncoder,
    MembraneDecoder,
    RateDecoder,
    RateEncoder,
    quantize,
    random_network,
)
from spikefly.envs.sim import outcomes
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds
from spikefly.evolution.fused_rollout import PopulationRollout
from test_fused_rollout import K, python_path, space  # the step-by-step reference path, shared

N_OBS = 26
NOISY = {"range_noise_std_m": 0.02, "wind_speed_mps": 0.5, "wind_gust_std_mps": 0.2}


def float_networks(encoder, decoder, count, seed, membrane_readout=False):
    return [
        random_network(np.random.default_rng(seed + g), encoder.n_channels(N_OBS), 14 + g, decoder.n_outputs_needed(4),
                       0.25, weight_scale=1.2, max_delay=1, membrane_readout=membrane_readout)
        for g in range(count)
    ]


def analog_population():
    """Direct (analog) inputs quantised to Q14, membrane read-out in each genome's own Q.F."""
    encoder, decoder = DirectEncoder(signed=True), MembraneDecoder(gain=2.0)
    parents = float_networks(encoder, decoder, 3, seed=10, membrane_readout=True)
    networks = [
        quantize(network, fractional_bits=bits, decay=decay, input_fractional_bits=14)
        for network, bits, decay in zip(parents, [14, 12, 16], ["shift", "q15", "shift"])
    ]
    return encoder, decoder, networks


def spiking_population():
    """Spike inputs (input_fractional_bits 0); each genome its own fractional_bits."""
    encoder, decoder = DeltaEncoder(threshold=0.05), RateDecoder(signed_pairs=True)
    networks = [
        quantize(network, fractional_bits=bits, decay=decay)
        for network, bits, decay in zip(float_networks(encoder, decoder, 3, seed=20), [10, 12, 16], ["shift", "q15", "q15"])
    ]
    return encoder, decoder, networks


def rate_population():
    encoder, decoder = RateEncoder(max_rate=0.5), RateDecoder(signed_pairs=True)
    return encoder, decoder, [quantize(network) for network in float_networks(encoder, decoder, 2, seed=30)]


@pytest.mark.parametrize(
    ("population", "settings"),
    [(analog_population, {}), (spiking_population, {}), (rate_population, NOISY)],
    ids=["direct-membrane", "delta-rate", "rate-rate-noisy"],
)
def test_integer_rollout_equals_integer_controller_on_twin(population, settings):
    encoder, decoder, networks = population()
    seeds = [7, 8]
    worlds = TwinWorlds.draw(["forest", "windows"], seeds)
    low, high = space()
    rollout = PopulationRollout(QuadrotorTwin(1, **settings), encoder, decoder, K, low, high)
    results = rollout.run(networks, worlds, seeds)
    assert results.returns.shape == (len(networks), 2)
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
    assert results.steps.max() > 5  # the networks flew, not just crashed on the first step


def test_integer_rollout_is_not_the_float_rollout():
    """The integer population flies its own (quantised) arithmetic, not its float parents'."""
    encoder, decoder, integer = analog_population()
    parents = float_networks(encoder, decoder, 3, seed=10, membrane_readout=True)
    seeds = [7]
    worlds = TwinWorlds.draw(["forest"], seeds)
    low, high = space()
    rollout = PopulationRollout(QuadrotorTwin(1), encoder, decoder, K, low, high)
    assert not np.array_equal(rollout.run(integer, worlds, seeds).returns, rollout.run(parents, worlds, seeds).returns)


def test_mixed_float_and_integer_population_is_an_error_naming_the_fix():
    encoder, decoder = DeltaEncoder(threshold=0.05), RateDecoder(signed_pairs=True)
    networks = float_networks(encoder, decoder, 2, seed=0)
    low, high = space()
    rollout = PopulationRollout(QuadrotorTwin(1), encoder, decoder, K, low, high)
    seeds = [1]
    with pytest.raises(ValueError, match=r"all LIFNetwork or all IntegerLIFNetwork, got 1 float and 1 integer.*quantize"):
        rollout.run([networks[0], quantize(networks[1])], TwinWorlds.draw(["forest"], seeds), seeds)
