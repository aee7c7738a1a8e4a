"""Counter-based random numbers: reference values, uniformity, independence, order-free reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.controllers.counter_rng import (
    derive_key,
    derive_key_compiled,
    fold_key,
    mix64,
    random_bits,
    uniform01,
    uniform01_block,
)

GOLDEN = 0x9E3779B97F4A7C15


def test_mix64_reproduces_the_splitmix64_reference_stream() -> None:
    # First two outputs of Vigna's splitmix64 seeded with 0: mix64(seed + i * golden).
    assert int(mix64(np.uint64(GOLDEN))) == 0xE220A8397B1DCDAF
    assert int(mix64(np.uint64((2 * GOLDEN) % 2**64))) == 0x6E789E6AA1B965F4


def test_same_inputs_give_the_same_draw_whatever_the_integer_type() -> None:
    first = uniform01(np.uint64(7), np.uint64(11), np.uint64(3))
    assert uniform01(7, 11, 3) == first
    assert uniform01(np.uint64(7), np.uint64(11), np.uint64(3)) == first
    assert uniform01(np.int32(7), np.int64(11), np.uint8(3)) == first
    # Negative integers wrap modulo 2^64, as documented.
    assert uniform01(-1, 0, 0) == uniform01(np.uint64(2**64 - 1), 0, 0)


def test_uniform_mean_and_variance_over_a_million_draws() -> None:
    draws = uniform01_block(derive_key(2024), np.arange(1000), np.arange(1000)).ravel()
    n = draws.size
    assert draws.min() >= 0.0 and draws.max() < 1.0
    # Five standard errors: mean of U(0,1) has std sqrt(1/12 / n); the sample variance has std
    # sqrt((E[(U - 1/2)^4] - 1/144) / n) = sqrt((1/80 - 1/144) / n).
    assert abs(draws.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(draws.var() - 1 / 12) < 5 * np.sqrt((1 / 80 - 1 / 144) / n)
    counts, _ = np.histogram(draws, bins=20, range=(0.0, 1.0))
    chi_square = ((counts - n / 20) ** 2 / (n / 20)).sum()
    assert chi_square < 50.0  # 19 degrees of freedom: p < 1e-4 above 50


@pytest.mark.parametrize("axis", ["counter", "channel"])
def test_adjacent_counters_and_channels_are_uncorrelated(axis: str) -> None:
    draws = uniform01_block(derive_key(5, 1), np.arange(1001), np.arange(1001))
    if axis == "counter":
        left, right = draws[:-1, :], draws[1:, :]
    else:
        left, right = draws[:, :-1], draws[:, 1:]
    correlation = np.corrcoef(left.ravel(), right.ravel())[0, 1]
    assert abs(correlation) < 5 / np.sqrt(left.size)


def test_adjacent_keys_are_uncorrelated() -> None:
    counters, channels = np.arange(1000), np.arange(1000)
    first = uniform01_block(np.uint64(100), counters, channels).ravel()
    second = uniform01_block(np.uint64(101), counters, channels).ravel()
    assert abs(np.corrcoef(first, second)[0, 1]) < 5 / np.sqrt(first.size)


def test_every_output_bit_is_set_half_the_time() -> None:
    bits = np.array([int(random_bits(np.uint64(3), np.uint64(c), np.uint64(0))) for c in range(20000)], dtype=np.uint64)
    ones = np.array([((bits >> np.uint64(b)) & np.uint64(1)).mean() for b in range(64)])
    assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(bits.size))


def test_draws_do_not_depend_on_evaluation_order() -> None:
    key = derive_key(9, 2, 4)
    counters = np.arange(50)
    channels = np.arange(30)
    forward = uniform01_block(key, counters, channels)
    backward = uniform01_block(key, counters[::-1], channels[::-1])[::-1, ::-1]
    one_by_one = np.array([[uniform01(key, c, ch) for ch in channels] for c in counters])
    np.testing.assert_array_equal(forward, backward)
    np.testing.assert_array_equal(forward, one_by_one)


def test_derive_key_python_and_compiled_agree_and_separate_ids() -> None:
    for seed, ids in [(0, ()), (1, (2, 3)), (2**64 - 1, (0, 2**64 - 1, 17)), (42, (7,))]:
        compiled = derive_key_compiled(np.uint64(seed), np.array(ids, dtype=np.uint64))
        assert derive_key(seed, *ids) == compiled
        assert isinstance(derive_key(seed, *ids), np.uint64)
    # The compiled fold is the same step derive_key applies per id.
    assert fold_key(derive_key(1), np.uint64(2)) == derive_key(1, 2)
    keys = {int(derive_key(seed, generation, episode)) for seed in range(12) for generation in range(12) for episode in range(12)}
    assert len(keys) == 12**3
    assert derive_key(3, 5) != derive_key(5, 3)
    assert len({int(derive_key(seed, seed)) for seed in range(100)}) == 100
    assert derive_key(1, 2, 3) != derive_key(1, 3, 2)
    assert derive_key(1, 0) != derive_key(1)


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, True, "3"])
def test_derive_key_rejects_values_outside_uint64_naming_the_argument(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="seed"):
        derive_key(bad)  # type: ignore[arg-type]
    with pytest.raises((ValueError, TypeError), match=r"ids\[1\]"):
        derive_key(0, 1, bad)  # type: ignore[arg-type]
