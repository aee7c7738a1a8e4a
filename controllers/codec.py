"""Encoders and decoders behind one compiled entry point each, chosen by an integer code.

Compiled loops (a controller's control step, a whole population's, later the fused physics loop)
cannot hold Python encoder objects. :func:`encoder_kernel_args` turns any encoder into
``(code, params)`` — an int and a float64 array — and :func:`encode_into` dispatches on the
code to the encoder's own kernel; likewise :func:`decoder_kernel_args` / :func:`decode_into`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.controllers.decoders import (
    Decoder,
    MembraneDecoder,
    PopulationDecoder,
    RateDecoder,
    decode_membrane,
    decode_population,
    decode_rate,
)
from spikefly.controllers.encoders import (
    DeltaEncoder,
    DirectEncoder,
    Encoder,
    LatencyEncoder,
    LevelEncoder,
    PopulationEncoder,
    RateEncoder,
    encode_delta,
    encode_direct,
    encode_latency,
    encode_level,
    encode_population_current,
    encode_population_spikes,
    encode_rate,
)

ENCODE_RATE = 0
ENCODE_LATENCY = 1
ENCODE_DELTA = 2
ENCODE_POPULATION_CURRENT = 3
ENCODE_POPULATION_SPIKES = 4
ENCODE_DIRECT = 5
ENCODE_LEVEL = 6

DECODE_RATE = 0
DECODE_MEMBRANE = 1
DECODE_POPULATION = 2


def encoder_kernel_args(encoder: Encoder) -> tuple[int, NDArray[np.float64]]:
    """(code, params float64[P]) of an encoder for :func:`encode_into`."""
    if isinstance(encoder, RateEncoder):
        return ENCODE_RATE, np.array([encoder.max_rate])
    if isinstance(encoder, LatencyEncoder):
        return ENCODE_LATENCY, np.array([encoder.cutoff])
    if isinstance(encoder, DeltaEncoder):
        return ENCODE_DELTA, np.array([encoder.threshold])
    if isinstance(encoder, PopulationEncoder):
        if encoder.output == "spikes":
            return ENCODE_POPULATION_SPIKES, np.array([encoder.n_fields, encoder.sigma, encoder.max_rate], dtype=np.float64)
        return ENCODE_POPULATION_CURRENT, np.array([encoder.n_fields, encoder.sigma], dtype=np.float64)
    if isinstance(encoder, DirectEncoder):
        return ENCODE_DIRECT, np.array([1.0 if encoder.signed else 0.0])
    if isinstance(encoder, LevelEncoder):
        return ENCODE_LEVEL, np.array([encoder.n_levels], dtype=np.float64)
    raise TypeError(f"no compiled kernel for encoder {type(encoder).__name__}")


def decoder_kernel_args(decoder: Decoder) -> tuple[int, NDArray[np.float64]]:
    """(code, params float64[P]) of a decoder for :func:`decode_into`."""
    if isinstance(decoder, RateDecoder):
        return DECODE_RATE, np.array([1.0 if decoder.signed_pairs else 0.0, decoder.hold_steps], dtype=np.float64)
    if isinstance(decoder, MembraneDecoder):
        return DECODE_MEMBRANE, np.array([decoder.gain, 1.0 if decoder.reduce == "last" else 0.0])
    if isinstance(decoder, PopulationDecoder):
        return DECODE_POPULATION, np.array([decoder.group_size], dtype=np.float64)
    raise TypeError(f"no compiled kernel for decoder {type(decoder).__name__}")


class Coding(NamedTuple):
    """A population kernel's coding (shared by every genome): how observations become input spikes, and
    output spikes an action. Build it with :func:`coding_for`."""

    encoder_code: int
    encoder_params: Any
    encoder_state_size: int
    low: Any
    high: Any
    episode_keys: Any
    """uint64[E]: each episode's counter-RNG key (the encoder's randomness)."""
    decoder_code: int
    decoder_params: Any
    steps_per_action: int
    decoder_state_size: int
    """Length of the decoder's carried state (0: stateless); reset with the network at each episode."""


def coding_for(encoder: Encoder, decoder: Decoder, steps_per_action: int, low: NDArray[np.float32],
               high: NDArray[np.float32], episode_keys: NDArray[np.uint64], n_actions: int) -> Coding:
    """The :class:`Coding` of these coders, observation bounds, episode keys and action count."""
    encoder_code, encoder_params = encoder_kernel_args(encoder)
    decoder_code, decoder_params = decoder_kernel_args(decoder)
    return Coding(encoder_code, encoder_params, encoder.state_size(len(low)), low, high, episode_keys, decoder_code,
                  decoder_params, steps_per_action, decoder.state_size(n_actions))


@njit(cache=True)
def encode_into(code, params, observation, low, high, key, counter, state, out):
    """Encode ``observation`` float32[n_obs] into ``out`` float32[K, channels] with the encoder ``code``.

    ``state`` float32[S] is the encoder's carried state (size 0 for stateless encoders); ``key``
    and ``counter`` (uint64) feed the random encoders.
    """
    if code == ENCODE_RATE:
        encode_rate(observation, low, high, params[0], key, counter, out)
    elif code == ENCODE_LATENCY:
        encode_latency(observation, low, high, params[0], out)
    elif code == ENCODE_DELTA:
        encode_delta(observation, low, high, params[0], state, out)
    elif code == ENCODE_POPULATION_CURRENT:
        encode_population_current(observation, low, high, int(params[0]), params[1], out)
    elif code == ENCODE_POPULATION_SPIKES:
        encode_population_spikes(observation, low, high, int(params[0]), params[1], params[2], state, out)
    elif code == ENCODE_DIRECT:
        encode_direct(observation, low, high, params[0] != 0.0, out)
    else:
        encode_level(observation, low, high, int(params[0]), out)


@njit(cache=True)
def decode_into(code, params, out_spikes, out_membrane, state, action):
    """Decode output spikes uint8[K, n_out] / membranes float32[K, n_out] into ``action`` float32[A].

    ``state`` float32[S] is the decoder's carried state (size 0 for stateless decoders).
    """
    if code == DECODE_RATE:
        decode_rate(out_spikes, params[0] != 0.0, int(params[1]), state, action)
    elif code == DECODE_MEMBRANE:
        decode_membrane(out_membrane, params[0], params[1] != 0.0, action)
    else:
        decode_population(out_spikes, int(params[0]), action)
