"""Observation -> spikes -> LIF network -> action: one controller, or a whole population at once.

A control step is: encode the observation into input channels over ``steps_per_action`` (K)
substeps, run the network K steps, decode its outputs into an action in [-1, 1]. For one
controller that is one compiled call (:func:`control_step` / :func:`control_step_int`); for a
population, three (encode all, run the batch, decode all) with networks in parallel.

Integer networks take the encoder's float output quantised to their ``input_fractional_bits``
(spikes stay 1) and report membranes in Q.F, which the decoder reads as ``membrane / 2**F``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray

from spikefly.controllers.codec import decode_into, decoder_kernel_args, encode_into, encoder_kernel_args
from spikefly.controllers.counter_rng import derive_key
from spikefly.controllers.decoders import Decoder
from spikefly.controllers.encoders import Encoder
from spikefly.controllers.lif_kernels import (
    INPUT_FRACTIONAL_BITS,
    lif_run_batch,
    lif_run_batch_int,
    lif_run_into,
    lif_run_into_int,
)
from spikefly.controllers.lif_state import LIFBatchState, LIFState, OperationCounts, pack_batch
from spikefly.controllers.network import IntegerLIFNetwork, LIFNetwork

Network = LIFNetwork | IntegerLIFNetwork


@njit(cache=True)
def quantize_channels(inputs, input_fractional_bits, out):
    """Float inputs [K, C] -> int32 [K, C] at ``input_fractional_bits`` (nearest, ties to even)."""
    scale = float(1 << input_fractional_bits)
    for k in range(inputs.shape[0]):
        for c in range(inputs.shape[1]):
            out[k, c] = np.int32(np.round(inputs[k, c] * scale))


@njit(cache=True)
def control_step(
    encoder_code, encoder_params, observation, low, high, key, counter, encoder_state, inputs,
    network, state, out_spikes, out_membrane, decoder_code, decoder_params, decoder_state, action,
):
    """One control step of one float network: encode, K network steps, decode into ``action``."""
    encode_into(encoder_code, encoder_params, observation, low, high, key, counter, encoder_state, inputs)
    lif_run_into(network, state, inputs, out_spikes, out_membrane)
    decode_into(decoder_code, decoder_params, out_spikes, out_membrane, decoder_state, action)


@njit(cache=True)
def control_step_int(
    encoder_code, encoder_params, observation, low, high, key, counter, encoder_state, inputs, inputs_q,
    network, fractional_bits, state, out_spikes, out_membrane_q, out_membrane, decoder_code, decoder_params,
    decoder_state, action,
):
    """One control step of one integer network (inputs quantised, membranes read as Q.F)."""
    encode_into(encoder_code, encoder_params, observation, low, high, key, counter, encoder_state, inputs)
    quantize_channels(inputs, network[INPUT_FRACTIONAL_BITS], inputs_q)
    lif_run_into_int(network, state, inputs_q, out_spikes, out_membrane_q)
    scale = 1.0 / float(1 << fractional_bits)
    for k in range(out_membrane_q.shape[0]):
        for j in range(out_membrane_q.shape[1]):
            out_membrane[k, j] = np.float32(out_membrane_q[k, j] * scale)
    decode_into(decoder_code, decoder_params, out_spikes, out_membrane, decoder_state, action)


class _Coding:
    """Checks and compiled arguments shared by one controller and a population."""

    def __init__(
        self, n_inputs: int, n_outputs: int, encoder: Encoder, decoder: Decoder, steps_per_action: int,
        observation_low: ArrayLike, observation_high: ArrayLike, n_actions: int,
    ) -> None:
        low = np.ascontiguousarray(observation_low, dtype=np.float32)
        high = np.ascontiguousarray(observation_high, dtype=np.float32)
        if low.ndim != 1 or low.shape != high.shape:
            raise ValueError(f"observation bounds must be 1-D and alike, got {low.shape} and {high.shape}")
        if not (isinstance(steps_per_action, int) and steps_per_action >= 1):
            raise ValueError(f"steps_per_action={steps_per_action!r}: must be an integer >= 1")
        n_obs = low.shape[0]
        channels = encoder.n_channels(n_obs)
        if n_inputs != channels:
            raise ValueError(
                f"the network has {n_inputs} inputs but the {encoder.kind} encoder makes {channels} channels "
                f"from {n_obs} observations. Fix: build the network with n_inputs={channels}."
            )
        needed = decoder.n_outputs_needed(n_actions)
        if n_outputs != needed:
            raise ValueError(
                f"the network has {n_outputs} outputs but the {decoder.kind} decoder needs {needed} for "
                f"{n_actions} actions. Fix: build the network with {needed} output neurons."
            )
        self.encoder, self.decoder = encoder, decoder
        self.steps_per_action, self.n_actions, self.n_obs = steps_per_action, n_actions, n_obs
        self.low, self.high = low, high
        self.encoder_code, self.encoder_params = encoder_kernel_args(encoder)
        self.decoder_code, self.decoder_params = decoder_kernel_args(decoder)
        self.state_size = encoder.state_size(n_obs)
        self.decoder_state_size = decoder.state_size(n_actions)
        self.channels = channels

    def observation(self, observation: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.float32]:
        array = np.ascontiguousarray(observation, dtype=np.float32)
        if array.shape != shape:
            raise ValueError(f"observation must have shape {shape}, got {array.shape}")
        return array


class SpikingController:
    """A spiking network with its encoder and decoder, acting once per control step.

    ``observation_low`` / ``observation_high`` (n_obs,) are the observation space's bounds; the
    network must have ``encoder.n_channels(n_obs)`` inputs and
    ``decoder.n_outputs_needed(n_actions)`` outputs. ``seed`` keys the random encoders.
    """

    def __init__(
        self, network: Network, encoder: Encoder, decoder: Decoder, steps_per_action: int,
        observation_low: ArrayLike, observation_high: ArrayLike, n_actions: int, *, seed: int = 0,
    ) -> None:
        self.network = network
        self._coding = _Coding(
            network.n_inputs, network.n_outputs, encoder, decoder, steps_per_action, observation_low, observation_high, n_actions
        )
        k, n_out = steps_per_action, network.n_outputs
        self.integer = isinstance(network, IntegerLIFNetwork)
        self.state = LIFState.zeros(network)
        self._encoder_state = encoder.initial_state(self._coding.n_obs)
        self._decoder_state = decoder.initial_state(n_actions)
        self._inputs = np.zeros((k, network.n_inputs), np.float32)
        self._inputs_q = np.zeros((k, network.n_inputs), np.int32)
        self.out_spikes = np.zeros((k, n_out), np.uint8)
        """uint8[K, n_out]: output spikes of the latest control step."""
        self.out_membrane = np.zeros((k, n_out), np.float32)
        """float32[K, n_out]: output membranes of the latest control step (Q.F / 2**F when integer)."""
        self._out_membrane_q = np.zeros((k, n_out), np.int32)
        self._action = np.zeros(n_actions, np.float32)
        self.reset(seed=seed)

    @property
    def steps_per_action(self) -> int:
        return self._coding.steps_per_action

    def reset(self, *, seed: int | None = None) -> None:
        """Resting state for a new episode; ``seed`` re-keys the random encoders."""
        if seed is not None:
            self._key = derive_key(seed)
        self.state.reset()
        self._encoder_state[:] = 0.0
        self._decoder_state[:] = 0.0
        self._counter = 0

    def act(self, observation: ArrayLike) -> NDArray[np.float32]:
        """The action (n_actions,) in [-1, 1] for ``observation`` (n_obs,)."""
        c = self._coding
        observation = c.observation(observation, (c.n_obs,))
        common = (c.encoder_code, c.encoder_params, observation, c.low, c.high, self._key, np.uint64(self._counter),
                  self._encoder_state, self._inputs)
        if self.integer:
            control_step_int(
                *common, self._inputs_q, self.network.kernel_arrays(), self.network.fractional_bits,
                self.state.kernel_arrays(), self.out_spikes, self._out_membrane_q, self.out_membrane,
                c.decoder_code, c.decoder_params, self._decoder_state, self._action,
            )
        else:
            control_step(
                *common, self.network.kernel_arrays(), self.state.kernel_arrays(), self.out_spikes, self.out_membrane,
                c.decoder_code, c.decoder_params, self._decoder_state, self._action,
            )
        self._counter += 1
        return self._action.copy()

    @property
    def counts(self) -> OperationCounts:
        """Operations since the last reset (the board cost model's inputs)."""
        return self.state.counts()


@njit(cache=True, parallel=True)
def encode_population(code, params, observations, low, high, keys, counter, states, inputs):
    """Encode observations [B, n_obs] into inputs [B, K, C], networks in parallel."""
    for b in prange(observations.shape[0]):
        encode_into(code, params, observations[b], low, high, keys[b], counter, states[b], inputs[b])


@njit(cache=True, parallel=True)
def quantize_population(inputs, input_fractional_bits, out):
    for b in prange(inputs.shape[0]):
        quantize_channels(inputs[b], input_fractional_bits, out[b])


@njit(cache=True, parallel=True)
def decode_population_actions(code, params, out_spikes, out_membrane, membrane_scale, states, actions):
    """Decode [B, K, n_out] outputs into actions [B, A] (decoder states [B, S]); membranes are multiplied by ``membrane_scale``."""
    for b in prange(actions.shape[0]):
        membrane = (out_membrane[b] * membrane_scale).astype(np.float32)
        decode_into(code, params, out_spikes[b], membrane, states[b], actions[b])


class SpikingPopulation:
    """Many networks (a population) with one encoder and decoder, stepped together.

    Networks may differ in size but must share ``n_inputs`` and ``n_outputs`` and be all float
    or all integer. Actions and op counts equal those of a :class:`SpikingController` per
    network, bit for bit.
    """

    def __init__(
        self, networks: list[Network], encoder: Encoder, decoder: Decoder, steps_per_action: int,
        observation_low: ArrayLike, observation_high: ArrayLike, n_actions: int, *, seed: int = 0,
    ) -> None:
        if not networks:
            raise ValueError("SpikingPopulation needs at least one network")
        outputs = {net.n_outputs for net in networks}
        if len(outputs) != 1:
            raise ValueError(f"every network of a population needs the same number of outputs, got {sorted(outputs)}")
        self.networks = list(networks)
        self._coding = _Coding(
            networks[0].n_inputs, outputs.pop(), encoder, decoder, steps_per_action, observation_low, observation_high, n_actions
        )
        self.batch = pack_batch(self.networks)
        self.state = LIFBatchState.zeros(self.batch)
        count = len(networks)
        self._encoder_state = np.zeros((count, self._coding.state_size), np.float32)
        self._decoder_state = np.zeros((count, self._coding.decoder_state_size), np.float32)
        self._inputs = np.zeros((count, steps_per_action, self.batch.n_inputs), np.float32)
        self._inputs_q = np.zeros((count, steps_per_action, self.batch.n_inputs), np.int32)
        self._actions = np.zeros((count, n_actions), np.float32)
        self._membrane_scale = 1.0 / (1 << networks[0].fractional_bits) if self.batch.integer else 1.0
        self.reset(seed=seed)

    def __len__(self) -> int:
        return len(self.networks)

    def reset(self, *, seed: int | None = None) -> None:
        if seed is not None:
            self._keys = np.full(len(self.networks), derive_key(seed), dtype=np.uint64)
        self.state.reset()
        self._encoder_state[:] = 0.0
        self._decoder_state[:] = 0.0
        self._counter = 0

    def act(self, observations: ArrayLike) -> NDArray[np.float32]:
        """Actions [B, n_actions] for observations [B, n_obs] (row b for network b)."""
        c = self._coding
        observations = c.observation(observations, (len(self.networks), c.n_obs))
        encode_population(
            c.encoder_code, c.encoder_params, observations, c.low, c.high, self._keys, np.uint64(self._counter),
            self._encoder_state, self._inputs,
        )
        if self.batch.integer:
            quantize_population(self._inputs, self.networks[0].input_fractional_bits, self._inputs_q)
            out_spikes, out_membrane = lif_run_batch_int(self.batch.kernel_arrays(), self.state.kernel_arrays(), self._inputs_q)
        else:
            out_spikes, out_membrane = lif_run_batch(self.batch.kernel_arrays(), self.state.kernel_arrays(), self._inputs)
        decode_population_actions(c.decoder_code, c.decoder_params, out_spikes, out_membrane, self._membrane_scale,
                                   self._decoder_state, self._actions)
        self._counter += 1
        return self._actions.copy()

    def counts(self, network: int) -> OperationCounts:
        return self.state.counts(network)
