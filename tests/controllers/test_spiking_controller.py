"""SpikingController and SpikingPopulation: what evolution and evaluation rely on."""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.controllers import (
    DeltaEncoder,
    DirectEncoder,
    LatencyEncoder,
    MembraneDecoder,
    PopulationDecoder,
    PopulationEncoder,
    RateDecoder,
    RateEncoder,
    SpikingController,
    SpikingPopulation,
    quantize,
    random_network,
)

N_OBS, N_ACTIONS, K = 12, 4, 8
LOW = -np.ones(N_OBS, np.float32)
HIGH = np.ones(N_OBS, np.float32)

CODINGS = [
    (RateEncoder(max_rate=0.6), RateDecoder(signed_pairs=True), False),
    (DeltaEncoder(threshold=0.05), RateDecoder(signed_pairs=False), False),
    (PopulationEncoder(n_fields=3, output="spikes"), PopulationDecoder(group_size=3), False),
    (DirectEncoder(signed=True), MembraneDecoder(gain=2.0), True),
    (LatencyEncoder(), RateDecoder(signed_pairs=True), False),
]
IDS = ["rate-rate", "delta-rate", "population-population", "direct-membrane", "latency-rate"]


def networks(encoder, decoder, readout: bool, count: int = 4, seed: int = 0):
    return [
        random_network(
            np.random.default_rng(seed + i), encoder.n_channels(N_OBS), 16 + 3 * i, decoder.n_outputs_needed(N_ACTIONS),
            0.25, max_delay=2, membrane_readout=readout,
        )
        for i in range(count)
    ]


def observations(steps: int = 40, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.2, 1.2, size=(steps, N_OBS)).astype(np.float32)


@pytest.mark.parametrize("integer", [False, True], ids=["float", "integer"])
@pytest.mark.parametrize(("encoder", "decoder", "readout"), CODINGS, ids=IDS)
def test_population_equals_one_controller_per_network(encoder, decoder, readout, integer):
    nets = networks(encoder, decoder, readout)
    if integer:
        nets = [quantize(net) for net in nets]
    obs = observations()
    singles = []
    for net in nets:
        controller = SpikingController(net, encoder, decoder, K, LOW, HIGH, N_ACTIONS, seed=9)
        singles.append([controller.act(o) for o in obs])
        last_counts = controller.counts
    population = SpikingPopulation(nets, encoder, decoder, K, LOW, HIGH, N_ACTIONS, seed=9)
    together = [population.act(np.repeat(o[None], len(nets), axis=0)) for o in obs]
    np.testing.assert_array_equal(np.array(singles), np.array(together).transpose(1, 0, 2))
    assert population.counts(len(nets) - 1) == last_counts


@pytest.mark.parametrize(("encoder", "decoder", "readout"), CODINGS, ids=IDS)
def test_actions_stay_in_the_action_box(encoder, decoder, readout):
    (net,) = networks(encoder, decoder, readout, count=1)
    controller = SpikingController(net, encoder, decoder, K, LOW, HIGH, N_ACTIONS)
    actions = np.array([controller.act(o) for o in observations(100)])
    assert actions.shape == (100, N_ACTIONS) and actions.dtype == np.float32
    assert np.all(np.abs(actions) <= 1.0) and np.all(np.isfinite(actions))


def test_reset_replays_the_episode_and_seeds_key_the_rate_encoder():
    encoder, decoder = RateEncoder(max_rate=0.5), RateDecoder(signed_pairs=True)
    (net,) = networks(encoder, decoder, False, count=1)
    controller = SpikingController(net, encoder, decoder, K, LOW, HIGH, N_ACTIONS, seed=1)
    obs = observations()
    first = [controller.act(o) for o in obs]
    controller.reset()
    np.testing.assert_array_equal(first, [controller.act(o) for o in obs])
    controller.reset(seed=2)
    assert not np.array_equal(first, [controller.act(o) for o in obs])


def test_op_counts_follow_the_steps_taken():
    encoder, decoder = DeltaEncoder(), RateDecoder()
    (net,) = networks(encoder, decoder, False, count=1)
    controller = SpikingController(net, encoder, decoder, K, LOW, HIGH, N_ACTIONS)
    for o in observations(25):
        controller.act(o)
    counts = controller.counts
    assert counts.neuron_updates == 25 * K * net.n_neurons
    assert counts.synaptic_ops >= counts.input_events > 0
    controller.reset()
    assert controller.counts.neuron_updates == 0


def test_mismatched_network_and_coding_name_the_fix():
    encoder, decoder = DeltaEncoder(), RateDecoder(signed_pairs=True)
    wrong_inputs = random_network(np.random.default_rng(0), N_OBS, 10, decoder.n_outputs_needed(N_ACTIONS), 0.3)
    with pytest.raises(ValueError, match=f"n_inputs={2 * N_OBS}"):
        SpikingController(wrong_inputs, encoder, decoder, K, LOW, HIGH, N_ACTIONS)
    wrong_outputs = random_network(np.random.default_rng(0), 2 * N_OBS, 10, 3, 0.3)
    with pytest.raises(ValueError, match="8 output neurons"):
        SpikingController(wrong_outputs, encoder, decoder, K, LOW, HIGH, N_ACTIONS)
    (net,) = networks(encoder, decoder, False, count=1)
    controller = SpikingController(net, encoder, decoder, K, LOW, HIGH, N_ACTIONS)
    with pytest.raises(ValueError, match=r"shape \(12,\)"):
        controller.act(np.zeros(5, np.float32))
