"""Encoders: firing statistics, exact spike traces, state carried across steps, cost bounds, settings dicts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikefly.controllers.coding import CodingSettingsError
from spikefly.controllers.counter_rng import derive_key, uniform01
from spikefly.controllers.encoders import (
    ENCODERS,
    DeltaEncoder,
    DirectEncoder,
    Encoder,
    LatencyEncoder,
    LevelEncoder,
    PopulationEncoder,
    RateEncoder,
    encode_delta,
    encode_rate,
    encoder_from_dict,
    prime_delta_state,
)

K = 8


def unit_bounds(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(n, dtype=np.float32), np.ones(n, dtype=np.float32)


def as_obs(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


# --- rate ------------------------------------------------------------------------------------


def test_rate_mean_firing_matches_max_rate_times_x() -> None:
    x = as_obs(0.0, 0.1, 0.37, 0.5, 0.9, 1.0)
    low, high = unit_bounds(x.size)
    max_rate, n_steps = 0.6, 2000
    key = derive_key(11)
    out = np.empty((K, x.size), dtype=np.float32)
    total = np.zeros(x.size)
    for counter in range(n_steps):
        encode_rate(x, low, high, max_rate, key, np.uint64(counter), out)
        total += out.sum(axis=0)
    trials = n_steps * K
    p = max_rate * x.astype(np.float64)
    binomial_std = np.sqrt(p * (1 - p) / trials)
    np.testing.assert_array_less(np.abs(total / trials - p), 5 * binomial_std + 1e-12)
    assert total[0] == 0  # x = 0 never fires


def test_rate_spikes_are_a_pure_function_of_key_step_substep_channel() -> None:
    encoder = RateEncoder(max_rate=0.7)
    x = as_obs(0.2, 0.5, 0.5, 0.95)
    low, high = unit_bounds(x.size)
    key = derive_key(3, 1, 4)
    forward = [encoder.encode(x, low, high, K, key=key, counter=c) for c in range(40)]
    backward = [encoder.encode(x, low, high, K, key=key, counter=c) for c in reversed(range(40))][::-1]
    np.testing.assert_array_equal(np.stack(forward), np.stack(backward))
    # Rebuild step 17 draw by draw, channels in reverse order: the documented stream.
    rebuilt = np.zeros((K, x.size), dtype=np.float32)
    for i in reversed(range(x.size)):
        for k in reversed(range(K)):
            rebuilt[k, i] = uniform01(key, np.uint64(17 * K + k), np.uint64(i)) < 0.7 * float(x[i])
    np.testing.assert_array_equal(forward[17], rebuilt)
    # Equal inputs on different channels, different steps and different keys draw differently.
    stacked = np.stack(forward)
    assert not np.array_equal(stacked[:, :, 1], stacked[:, :, 2])
    assert not np.array_equal(np.stack(forward[:10]), np.stack(forward[10:20]))
    other_key = [encoder.encode(x, low, high, K, key=derive_key(3, 1, 5), counter=c) for c in range(40)]
    assert not np.array_equal(np.stack(forward), np.stack(other_key))


def test_rate_extremes_are_deterministic() -> None:
    low, high = unit_bounds(2)
    out = RateEncoder(max_rate=1.0).encode(as_obs(1.0, 0.0), low, high, K, key=5, counter=9)
    np.testing.assert_array_equal(out[:, 0], np.ones(K))
    np.testing.assert_array_equal(out[:, 1], np.zeros(K))


# --- latency ---------------------------------------------------------------------------------


def test_latency_spike_substeps_for_hand_picked_values() -> None:
    x = as_obs(1.0, 0.8, 0.75, 0.5, 0.25, 0.06, 0.03, 0.0)
    low, high = unit_bounds(x.size)
    out = LatencyEncoder(cutoff=0.05).encode(x, low, high, K)
    # (1 - x) * 7 = 0, 1.4, 1.75, 3.5, 5.25, 6.58 -> 0, 1, 2, 4 (half rounds up), 5, 7; 0.03 and 0 < cutoff.
    expected = [0, 1, 2, 4, 5, 7, None, None]
    for i, substep in enumerate(expected):
        column = out[:, i]
        if substep is None:
            assert column.sum() == 0
        else:
            assert column.sum() == 1 and column[substep] == 1.0, (i, column)


def test_latency_uses_the_bounds_and_zero_cutoff_fires_at_the_last_substep() -> None:
    low = as_obs(-2.0, -2.0, 10.0)
    high = as_obs(2.0, 2.0, 20.0)
    out = LatencyEncoder(cutoff=0.0).encode(as_obs(0.0, -5.0, 30.0), low, high, 5)
    # x = 0.5 -> substep 2; -5 clips to x = 0 -> substep 4; 30 clips to x = 1 -> substep 0.
    assert [int(np.flatnonzero(out[:, i])[0]) for i in range(3)] == [2, 4, 0]
    assert out.sum() == 3


# --- delta -----------------------------------------------------------------------------------


def run_delta(trace: list[float], steps: int, threshold: float, state: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """(up substeps, down substeps) per call for a one-element observation in bounds [0, 8]."""
    low, high = as_obs(0.0), as_obs(8.0)
    out = np.empty((steps, 2), dtype=np.float32)
    result = []
    for value in trace:
        encode_delta(as_obs(value), low, high, threshold, state, out)
        result.append((np.flatnonzero(out[:, 0]).tolist(), np.flatnonzero(out[:, 1]).tolist()))
    return result


def test_delta_ramp_trace() -> None:
    state = np.zeros(1, dtype=np.float32)
    # threshold 1/8 of [0, 8] = one observation unit per spike; K = 4.
    trace = run_delta([0.0, 0.5, 1.5, 3.0, 6.0, 6.0, 5.5, 5.0, 3.0], 4, 0.125, state)
    assert trace == [
        ([], []),            # no change
        ([], []),            # half a step: below threshold
        ([0], []),           # 1.5 from 0: one step up, remainder kept
        ([0, 2], []),        # 3 from 1: two steps, spread over 4 substeps
        ([0, 1, 2], []),     # 6 from 3: three steps at (j * 4) // 3
        ([], []),            # unchanged
        ([], []),            # half a step down: dead band
        ([], [0]),           # 5 from 6: one step down
        ([], [0, 2]),        # 3 from 5: two steps down
    ]
    assert state[0] == pytest.approx(3.0 / 8.0)


def test_delta_step_input_is_capped_at_one_spike_per_substep_and_caught_up_next_call() -> None:
    state = np.zeros(1, dtype=np.float32)
    trace = run_delta([8.0, 8.0, 8.0, 2.0, 2.0, 2.0], 4, 0.125, state)
    assert trace == [
        ([0, 1, 2, 3], []),  # 8 steps owed, 4 sent
        ([0, 1, 2, 3], []),  # the other 4, from state carried across calls
        ([], []),
        ([], [0, 1, 2, 3]),  # 6 steps down owed, 4 sent
        ([], [0, 2]),        # the remaining 2
        ([], []),
    ]
    assert state[0] == pytest.approx(2.0 / 8.0)


def test_delta_channels_are_up_down_pairs_per_element_and_priming_starts_silent() -> None:
    low, high = unit_bounds(2)
    encoder = DeltaEncoder(threshold=0.25)
    assert encoder.n_channels(2) == 4 and encoder.state_size(2) == 2
    state = encoder.initial_state(2)
    np.testing.assert_array_equal(state, [0.0, 0.0])
    encoder.encode(as_obs(0.5, 0.5), low, high, 4, state=state)
    out = encoder.encode(as_obs(1.0, 0.0), low, high, 4, state=state)
    np.testing.assert_array_equal(out.sum(axis=0), [2, 0, 0, 2])  # element 0 up, element 1 down
    primed = np.zeros(2, dtype=np.float32)
    prime_delta_state(as_obs(0.7, 0.2), low, high, primed)
    np.testing.assert_allclose(primed, [0.7, 0.2])
    assert encoder.encode(as_obs(0.7, 0.2), low, high, 4, state=primed).sum() == 0


def test_delta_wrong_state_is_an_error_with_the_fix() -> None:
    low, high = unit_bounds(3)
    with pytest.raises(ValueError, match=r"initial_state"):
        DeltaEncoder().encode(as_obs(0, 0, 0), low, high, 4)
    with pytest.raises(ValueError, match=r"float32\[3\]"):
        DeltaEncoder().encode(as_obs(0, 0, 0), low, high, 4, state=np.zeros(3))


# --- population ------------------------------------------------------------------------------


def test_population_current_intensity_profile() -> None:
    encoder = PopulationEncoder(n_fields=5, sigma=0.125, output="current")
    low, high = unit_bounds(2)
    out = encoder.encode(as_obs(0.25, 0.6), low, high, 3)
    assert out.shape == (3, 10)
    np.testing.assert_array_equal(out[0], out[2])  # the same current at every substep
    # Centres 0, .25, .5, .75, 1 and sigma = half the spacing: a neighbour one spacing away sees exp(-2).
    np.testing.assert_allclose(out[0, :5], np.exp([-2.0, 0.0, -2.0, -8.0, -18.0]), rtol=1e-6)
    centres = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(out[0, 5:], np.exp(-((0.6 - centres) ** 2) / (2 * 0.125**2)), rtol=1e-5)
    assert int(np.argmax(out[0, 5:])) == 2  # 0.6 is nearest the centre 0.5
    single = PopulationEncoder(n_fields=1, sigma=0.5).encode(as_obs(0.5), *unit_bounds(1), 2)
    np.testing.assert_allclose(single, 1.0)  # one field sits at 0.5


def test_population_spike_counts_track_intensity() -> None:
    encoder = PopulationEncoder(n_fields=4, sigma=0.2, output="spikes", max_rate=0.8)
    x = as_obs(0.3)
    low, high = unit_bounds(1)
    state = encoder.initial_state(1)
    assert state.shape == (4,)
    intensity = PopulationEncoder(n_fields=4, sigma=0.2).encode(x, low, high, 1)[0]
    per_step, n_steps = [], 50
    for _ in range(n_steps):
        spikes = encoder.encode(x, low, high, K, state=state)
        assert set(np.unique(spikes)) <= {0.0, 1.0}
        per_step.append(spikes.sum(axis=0))
    per_step_counts = np.array(per_step)
    expected_per_step = K * 0.8 * intensity.astype(np.float64)
    # Regular spiking: within one spike of the drive every step, and within one over the whole run.
    assert np.all(np.abs(per_step_counts - expected_per_step) < 1.0 + 1e-9)
    assert np.all(np.abs(per_step_counts.sum(axis=0) - n_steps * expected_per_step) <= 1.0 + 1e-4)
    assert list(np.argsort(per_step_counts.sum(axis=0))) == list(np.argsort(intensity))


# --- direct and level ------------------------------------------------------------------------


def test_direct_is_an_exact_copy_of_the_normalised_value() -> None:
    low, high = as_obs(0.0, -1.0, 0.0, 0.0, 0.0), as_obs(1.0, 1.0, 4.0, 1.0, 1.0)
    obs = as_obs(0.3, 0.5, 1.0, 7.0, np.nan)
    unsigned = DirectEncoder().encode(obs, low, high, 4)
    expected = np.array([np.float32(0.3), 0.75, 0.25, 1.0, 0.0], dtype=np.float32)  # clipped; NaN reads as low
    np.testing.assert_array_equal(unsigned, np.tile(expected, (4, 1)))
    signed = DirectEncoder(signed=True).encode(obs, low, high, 4)
    np.testing.assert_allclose(signed, np.tile(2 * expected.astype(np.float64) - 1, (4, 1)), atol=1e-7)


def test_level_code_is_a_thermometer_at_substep_zero() -> None:
    low, high = unit_bounds(3)
    out = LevelEncoder(n_levels=3).encode(as_obs(0.5, 0.2, 1.0), low, high, 4)
    # Thresholds 0.25, 0.5, 0.75.
    np.testing.assert_array_equal(out[0], [1, 1, 0, 0, 0, 0, 1, 1, 1])
    assert out[1:].sum() == 0


# --- every encoder: properties and settings --------------------------------------------------

ALL_ENCODERS: list[Encoder] = [
    RateEncoder(max_rate=0.3),
    LatencyEncoder(cutoff=0.2),
    DeltaEncoder(threshold=0.1),
    PopulationEncoder(n_fields=3, sigma=0.3, output="current"),
    PopulationEncoder(n_fields=7, sigma=0.05, output="spikes", max_rate=0.25),
    DirectEncoder(signed=True),
    DirectEncoder(signed=False),
    LevelEncoder(n_levels=6),
]
SPIKING = {"rate", "latency", "delta", "level"}


@settings(max_examples=60, deadline=None)
@given(
    encoder=st.sampled_from(ALL_ENCODERS),
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=6),
    steps=st.integers(1, 12),
    counter=st.integers(0, 2**40),
)
def test_output_shape_range_and_cost_bound_hold_for_any_observation(
    encoder: Encoder, values: list[float], steps: int, counter: int
) -> None:
    n = len(values)
    low, high = np.full(n, -3.0, dtype=np.float32), np.full(n, 5.0, dtype=np.float32)
    state = encoder.initial_state(n) if encoder.has_state else None
    cost = encoder.cost(n, steps)
    for _ in range(2):  # twice, so carried state is exercised
        out = encoder.encode(as_obs(*values), low, high, steps, state=state, key=7, counter=counter)
        assert out.shape == (steps, encoder.n_channels(n)) and out.dtype == np.float32
        assert np.all(np.isfinite(out))
        is_spiking = encoder.kind in SPIKING or getattr(encoder, "output", "") == "spikes"
        if is_spiking:
            assert set(np.unique(out)) <= {0.0, 1.0}
            assert out.sum() <= cost.max_input_spikes
            assert cost.analog_inputs == 0
        else:
            assert out.size == cost.analog_inputs and cost.max_input_spikes == 0
            assert out.min() >= (-1.0 if getattr(encoder, "signed", False) else 0.0) and out.max() <= 1.0
        if state is not None:
            assert np.all(np.isfinite(state))


@pytest.mark.parametrize("encoder", ALL_ENCODERS + [cls() for cls in ENCODERS.values()], ids=lambda e: e.kind)
def test_settings_round_trip_exactly_through_json(encoder: Encoder) -> None:
    as_dict = encoder.to_dict()
    assert as_dict["kind"] == encoder.kind
    back = encoder_from_dict(json.loads(json.dumps(as_dict)))
    assert back == encoder and type(back) is type(encoder)
    assert back.to_dict() == as_dict
    assert type(encoder).from_dict(as_dict) == encoder


@pytest.mark.parametrize("cls", list(ENCODERS.values()), ids=lambda c: c.kind)
def test_bad_settings_dicts_name_the_key(cls: type[Encoder]) -> None:
    good = cls().to_dict()
    field = next(name for name in good if name != "kind")
    with pytest.raises(CodingSettingsError, match="unknown key 'colour'"):
        cls.from_dict({**good, "colour": 1})
    misspelled = {("x" + field if name == field else name): value for name, value in good.items()}
    with pytest.raises(CodingSettingsError, match=f"unknown key 'x{field}'.*did you mean '{field}'"):
        cls.from_dict(misspelled)
    with pytest.raises(CodingSettingsError, match=f"missing key '{field}'"):
        cls.from_dict({name: value for name, value in good.items() if name != field})
    with pytest.raises(CodingSettingsError, match="missing key 'kind'"):
        encoder_from_dict({name: value for name, value in good.items() if name != "kind"})
    with pytest.raises(CodingSettingsError, match="key 'kind'"):
        cls.from_dict({**good, "kind": "morse"})
    with pytest.raises(CodingSettingsError, match=f"{field}="):
        cls.from_dict({**good, field: "lots"})


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: RateEncoder(max_rate=0.0), "max_rate"),
        (lambda: RateEncoder(max_rate=1.5), "max_rate"),
        (lambda: LatencyEncoder(cutoff=math.nan), "cutoff"),
        (lambda: DeltaEncoder(threshold=-0.1), "threshold"),
        (lambda: PopulationEncoder(n_fields=0), "n_fields"),
        (lambda: PopulationEncoder(n_fields=2.0), "n_fields"),  # type: ignore[arg-type]
        (lambda: PopulationEncoder(output="analog"), "output"),
        (lambda: PopulationEncoder(sigma=True), "sigma"),  # type: ignore[arg-type]
        (lambda: DirectEncoder(signed=1), "signed"),  # type: ignore[arg-type]
        (lambda: LevelEncoder(n_levels=-2), "n_levels"),
    ],
)
def test_bad_values_are_errors_naming_the_setting(make, field: str) -> None:
    with pytest.raises(CodingSettingsError, match=f"{field}="):
        make()


def test_infinite_or_empty_bounds_are_errors_with_the_fix() -> None:
    obs = as_obs(0.0, 0.0)
    with pytest.raises(ValueError, match=r"element 1 .*Fix: give the observation space finite limits"):
        DirectEncoder().encode(obs, as_obs(0.0, -np.inf), as_obs(1.0, 1.0), 4)
    with pytest.raises(ValueError, match=r"element 0 .*high > low"):
        DirectEncoder().encode(obs, as_obs(1.0, 0.0), as_obs(1.0, 1.0), 4)
    with pytest.raises(ValueError, match="shape"):
        DirectEncoder().encode(as_obs(0.0), as_obs(0.0, 0.0), as_obs(1.0, 1.0), 4)


def test_channel_counts_and_costs() -> None:
    assert [cls().n_channels(10) for cls in ENCODERS.values()] == [10, 10, 20, 50, 10, 40]
    rate = RateEncoder().cost(10, 8)
    assert (rate.max_input_spikes, rate.random_draws, rate.analog_inputs) == (80, 80, 0)
    assert LatencyEncoder().cost(10, 8).max_input_spikes == 10
    population = PopulationEncoder(n_fields=5).cost(10, 8)
    assert (population.analog_inputs, population.transcendental_ops, population.max_input_spikes) == (400, 50, 0)
    assert PopulationEncoder(output="spikes").cost(10, 8).state_bytes == 4 * 50
    assert DirectEncoder().cost(10, 8).analog_inputs == 80
    assert DeltaEncoder().cost(10, 8).state_bytes == 40
