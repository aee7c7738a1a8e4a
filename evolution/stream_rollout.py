"""A whole population on streams of feature frames in one compiled call: encode -> LIF -> decode -> detect.

The audio task's counterpart of :mod:`spikefly.evolution.fused_rollout`: every genome listens to
the same E episodes (feature arrays [T, F], one row per 10 ms frame), genomes in parallel
(``prange``), each episode from a fresh network state, and writes one discrete action per frame
(:func:`spikefly.envs.audio_env.detected_class`: 0 = nothing, c = class c). The float / integer
network kinds are the fused rollout's compile-time overloads, so a frame is the same arithmetic
as a :class:`~spikefly.controllers.SpikingController` step followed by the env's action rule.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from spikefly.controllers.codec import coding_for, decode_into, encode_into
from spikefly.controllers.counter_rng import derive_key
from spikefly.controllers.decoders import Decoder
from spikefly.controllers.encoders import Encoder
from spikefly.controllers.network import IntegerLIFNetwork, LIFNetwork
from spikefly.envs.audio_env import detected_class
from spikefly.evolution.fused_rollout import fresh_state, genome_network, network_run, pack_population


@njit(cache=True)
def listen_genome(network, state, n_outputs, coding, n_classes, features, lengths, actions, episode_ops):
    """Every episode of one genome: ``actions`` int8[E, T] and ``episode_ops`` int64[E, 4].

    ``network``, ``state`` and ``coding`` as :func:`spikefly.evolution.fused_rollout.fly_genome` takes them.
    """
    membrane, adaptation, refractory, ring, step, counters, spiked = state
    steps_per_action = coding.steps_per_action
    n_inputs = network[0].shape[0] - membrane.shape[0] - 1  # row_ptr has n_inputs + n_neurons + 1 entries
    inputs = np.zeros((steps_per_action, n_inputs), np.float32)
    inputs_q = np.zeros((steps_per_action, n_inputs), np.int32)
    out_spikes = np.zeros((steps_per_action, n_outputs), np.uint8)
    out_membrane_q = np.zeros((steps_per_action, n_outputs), np.int32)
    out_membrane = np.zeros((steps_per_action, n_outputs), np.float32)
    encoder_state = np.zeros(coding.encoder_state_size, np.float32)
    decoder_state = np.zeros(coding.decoder_state_size, np.float32)
    values = np.zeros(n_classes, np.float32)
    for e in range(features.shape[0]):
        fresh_state(state, encoder_state, decoder_state)
        for t in range(lengths[e]):
            encode_into(coding.encoder_code, coding.encoder_params, features[e, t], coding.low, coding.high,
                        coding.episode_keys[e], np.uint64(t), encoder_state, inputs)
            network_run(network, state, inputs, inputs_q, out_spikes, out_membrane_q, out_membrane)
            decode_into(coding.decoder_code, coding.decoder_params, out_spikes, out_membrane, decoder_state, values)
            actions[e, t] = detected_class(values)
        for i in range(4):
            episode_ops[e, i] = counters[i]


@njit(cache=True, parallel=True)
def listen_population(offsets, network_arrays, state, coding, n_classes, features, lengths, actions, episode_ops):
    """Every genome on every episode, genomes in parallel: ``actions`` int8[G, E, T], ``episode_ops`` int64[G, E, 4].

    ``offsets``, ``network_arrays`` and ``state`` as :func:`spikefly.evolution.fused_rollout.rollout_population` takes them.
    """
    neuron_offset, row_ptr_offset, synapse_offset, output_offset = offsets
    membrane, adaptation, refractory, ring, ring_offset, step, counters, spiked = state
    for g in prange(neuron_offset.shape[0] - 1):
        n0, n1 = neuron_offset[g], neuron_offset[g + 1]
        ring_g = ring[ring_offset[g]:ring_offset[g + 1]].reshape(((ring_offset[g + 1] - ring_offset[g]) // (n1 - n0), n1 - n0))
        listen_genome(
            genome_network(network_arrays, g, neuron_offset, row_ptr_offset, synapse_offset, output_offset),
            (membrane[n0:n1], adaptation[n0:n1], refractory[n0:n1], ring_g, step[g:g + 1], counters[g], spiked[n0:n1]),
            output_offset[g + 1] - output_offset[g], coding, n_classes, features, lengths, actions[g], episode_ops[g],
        )


class PopulationListener:
    """Run populations of spiking detectors over feature streams: coding fixed once, populations vary."""

    def __init__(self, encoder: Encoder, decoder: Decoder, steps_per_action: int, n_classes: int,
                 observation_low: NDArray[np.float32], observation_high: NDArray[np.float32]) -> None:
        self.encoder, self.decoder = encoder, decoder
        self.steps_per_action = steps_per_action
        self.n_classes = n_classes
        self.low = np.ascontiguousarray(observation_low, dtype=np.float32)
        self.high = np.ascontiguousarray(observation_high, dtype=np.float32)

    def run(self, networks: list[LIFNetwork] | list[IntegerLIFNetwork], features: list[NDArray[np.float32]],
            episode_seeds: list[int]) -> tuple[NDArray[np.int8], NDArray[np.int64], NDArray[np.int64]]:
        """Actions int8[G, E, T_max] (0 past an episode's end), op counts int64[G, E, 4] and lengths int64[E]."""
        if len(features) != len(episode_seeds):
            raise ValueError(f"one seed per feature stream: {len(features)} streams, {len(episode_seeds)} seeds")
        lengths = np.array([len(f) for f in features], np.int64)
        stacked = np.zeros((len(features), int(lengths.max()), self.low.shape[0]), np.float32)
        for e, f in enumerate(features):
            stacked[e, : len(f)] = f
        batch, network_arrays, state = pack_population(networks, "PopulationListener.run")
        keys = np.array([derive_key(seed) for seed in episode_seeds], dtype=np.uint64)
        actions = np.zeros((len(networks), len(features), stacked.shape[1]), np.int8)
        ops = np.zeros((len(networks), len(features), 4), np.int64)
        listen_population(
            (batch.neuron_offset, batch.row_ptr_offset, batch.synapse_offset, batch.output_offset), network_arrays,
            state.kernel_arrays(), coding_for(self.encoder, self.decoder, self.steps_per_action, self.low, self.high, keys,
                                               self.n_classes),
            self.n_classes, stacked, lengths, actions, ops,
        )
        return actions, ops, lengths
