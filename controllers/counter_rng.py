"""Counter-based random numbers for Numba kernels: a draw is a hash of (key, counter, channel).

A draw depends on nothing but its three inputs, so the random stream for (seed, episode, control
step, substep, channel) is the same whatever order the draws are made in, however a population is
batched and however many threads run. There is no generator state to carry, split or lock.

The hash is a chain of three splitmix64 finalisers (Steele, Lea & Flood 2014; the finaliser is
Stafford's "Mix13"): the key is mixed, then the counter and then the channel are added with odd
Weyl strides and mixed again. Each stage is a bijection of its input, so for a fixed key
different counters never collide, and for a fixed (key, counter) different channels never collide.
Cost of one draw: 3 finalisers = 6 integer multiplies and 9 shift-xors on 64-bit words.

Keys come from :func:`derive_key` (Python) or :func:`derive_key_compiled` / :func:`fold_key`
(Numba), e.g. ``derive_key(run_seed, generation, episode)``; both give the same key.
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit
from numpy.typing import NDArray

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
"""splitmix64's Weyl increment (2^64 / golden ratio, odd)."""
_CHANNEL_STRIDE = 0xD1B54A32D192ED03
"""A second odd multiplier (Steele & Vigna 2021, "spectrally good" multipliers) so counter and
channel strides differ."""
_KEY_SALT = 0x6A09E667F3BCC909
"""Keeps key 0 from mapping to the splitmix64 stream of seed 0 (first 64 bits of sqrt(2))."""
_FOLD_SALT = 0xBB67AE8584CAA73B
"""Separates key derivation from drawing (first 64 bits of sqrt(3))."""
_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB

# Numba freezes NumPy scalar globals as typed constants; plain Python ints above 2^63 would not
# stay uint64, and any int64 operand turns uint64 arithmetic into float64.
_U_GOLDEN = np.uint64(_GOLDEN)
_U_CHANNEL_STRIDE = np.uint64(_CHANNEL_STRIDE)
_U_KEY_SALT = np.uint64(_KEY_SALT)
_U_FOLD_SALT = np.uint64(_FOLD_SALT)
_U_MIX_1 = np.uint64(_MIX_1)
_U_MIX_2 = np.uint64(_MIX_2)
_U_ONE = np.uint64(1)
_U_30 = np.uint64(30)
_U_27 = np.uint64(27)
_U_31 = np.uint64(31)
_U_11 = np.uint64(11)
_TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0


@njit(cache=True)
def mix64(value):
    """The splitmix64 finaliser: a bijection uint64 -> uint64 with full avalanche."""
    z = np.uint64(value)
    z = (z ^ (z >> _U_30)) * _U_MIX_1
    z = (z ^ (z >> _U_27)) * _U_MIX_2
    return z ^ (z >> _U_31)


@njit(cache=True)
def random_bits(key, counter, channel):
    """64 random bits (uint64) for (key, counter, channel); integers are taken modulo 2^64.

    From Python, pass values above 2^63 - 1 as ``np.uint64`` (Numba cannot type larger ints).
    """
    h = mix64(np.uint64(key) ^ _U_KEY_SALT)
    h = mix64(h + (np.uint64(counter) + _U_ONE) * _U_GOLDEN)
    return mix64(h + (np.uint64(channel) + _U_ONE) * _U_CHANNEL_STRIDE)


@njit(cache=True)
def uniform01(key, counter, channel):
    """A float64 uniform in [0, 1) on a 2^-53 grid for (key, counter, channel) (uint64 each)."""
    return np.float64(random_bits(key, counter, channel) >> _U_11) * _TWO_TO_MINUS_53


@njit(cache=True)
def fold_key(key, value):
    """The key (uint64) for ``value`` under ``key``: one step of :func:`derive_key`.

    The key is mixed first and the value added with a Weyl stride, so folding is neither
    symmetric in (key, value) nor collapses when they are equal, and for a fixed key distinct
    values give distinct keys.
    """
    return mix64(mix64(np.uint64(key) ^ _U_FOLD_SALT) + (np.uint64(value) + _U_ONE) * _U_GOLDEN)


@njit(cache=True)
def derive_key_compiled(seed, ids):
    """Compiled twin of :func:`derive_key`: ``seed`` (uint64) and ``ids`` uint64[n] -> uint64 key."""
    key = mix64(np.uint64(seed) + _U_GOLDEN)
    for i in range(ids.shape[0]):
        key = fold_key(key, ids[i])
    return key


def _mix64_python(value: int) -> int:
    z = value & _MASK64
    z = ((z ^ (z >> 30)) * _MIX_1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX_2) & _MASK64
    return z ^ (z >> 31)


def _as_uint64_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r}: must be an integer in [0, 2^64)")
    as_int = int(value)
    if not 0 <= as_int <= _MASK64:
        raise ValueError(f"{name}={as_int}: must be in [0, 2^64). Fix: pass a non-negative seed or id.")
    return as_int


def derive_key(seed: int, *ids: int) -> np.uint64:
    """A random key from a seed and any number of ids, e.g. ``derive_key(run_seed, generation, episode)``.

    Order matters: ``derive_key(1, 2, 3) != derive_key(1, 3, 2)``. Every argument must be an
    integer in [0, 2^64). Returns a NumPy uint64 so Numba kernels receive it as uint64. Equals
    ``derive_key_compiled(seed, np.array(ids, dtype=np.uint64))``.
    """
    key = _mix64_python(_as_uint64_int("seed", seed) + _GOLDEN)
    for position, value in enumerate(ids):
        stride = ((_as_uint64_int(f"ids[{position}]", value) + 1) * _GOLDEN) & _MASK64
        key = _mix64_python(_mix64_python(key ^ _FOLD_SALT) + stride)
    return np.uint64(key)


def uniform01_block(key: int, counters: NDArray[np.uint64], channels: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Uniform draws float64[len(counters), len(channels)] for every (counter, channel) pair (for checks and plots)."""
    return _uniform01_block(np.uint64(key), np.ascontiguousarray(counters, dtype=np.uint64),
                            np.ascontiguousarray(channels, dtype=np.uint64))


@njit(cache=True)
def _uniform01_block(key, counters, channels):
    out = np.empty((counters.shape[0], channels.shape[0]))
    for i in range(counters.shape[0]):
        for j in range(channels.shape[0]):
            out[i, j] = uniform01(key, counters[i], channels[j])
    return out
