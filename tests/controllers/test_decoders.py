"""Decoders: hand-checked actions, [-1, 1] for any input, neutral silence, settings dicts, use inside compiled loops."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit

from spikefly.controllers.coding import CodingSettingsError
from spikefly.controllers.counter_rng import derive_key
from spikefly.controllers.decoders import (
    DECODERS,
    Decoder,
    MembraneDecoder,
    PopulationDecoder,
    RateDecoder,
    decode_rate,
    decoder_from_dict,
)
from spikefly.controllers.encoders import (
    RateEncoder,
    encode_delta,
    encode_rate,
)


def spikes_with_counts(counts: list[int], steps: int) -> np.ndarray:
    """uint8[steps, len(counts)] where neuron j spikes in its first counts[j] substeps."""
    out = np.zeros((steps, len(counts)), dtype=np.uint8)
    for neuron, count in enumerate(counts):
        out[:count, neuron] = 1
    return out


def test_rate_single_neuron_per_action() -> None:
    decoder = RateDecoder()
    action = decoder.decode(spikes_with_counts([0, 1, 2, 4], 4), 4)
    np.testing.assert_array_equal(action, [-1.0, -0.5, 0.0, 1.0])
    assert action.dtype == np.float32
    # Any non-zero entry is one spike.
    np.testing.assert_array_equal(decoder.decode(np.full((4, 1), 7, dtype=np.uint8), 1), [1.0])


def test_rate_signed_pairs() -> None:
    decoder = RateDecoder(signed_pairs=True)
    assert decoder.n_outputs_needed(3) == 6
    # (pos, neg) counts per action: (3, 1), (0, 4), (2, 2) over K = 4.
    action = decoder.decode(spikes_with_counts([3, 1, 0, 4, 2, 2], 4), 3)
    np.testing.assert_array_equal(action, [0.5, -1.0, 0.0])


def test_a_rate_hold_keeps_a_detection_through_silent_steps_and_a_new_spike_restarts_it() -> None:
    decoder = RateDecoder(hold_steps=3)
    assert decoder.state_size(1) == 2 and RateDecoder().state_size(1) == 0
    state = decoder.initial_state(1)
    spike, silent = spikes_with_counts([1], 2), spikes_with_counts([0], 2)  # K = 2: one spike reads 0.0
    steps = [spike, silent, silent, silent, silent, spike, silent, spike, silent, silent, silent, silent]
    actions = [float(decoder.decode(step, 1, state)[0]) for step in steps]
    # held through 3 silent steps, then silence (-1); the spike at step 7 restarts the count.
    assert actions == [0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
    # a stronger step is held at its own value, and a fresh state forgets the hold.
    assert decoder.decode(spikes_with_counts([2], 2), 1, state)[0] == 1.0
    assert decoder.decode(silent, 1, state)[0] == 1.0
    assert decoder.decode(silent, 1, decoder.initial_state(1))[0] == -1.0


def test_a_rate_hold_is_per_action_and_needs_its_state() -> None:
    decoder = RateDecoder(signed_pairs=True, hold_steps=1)
    state = decoder.initial_state(2)
    np.testing.assert_array_equal(decoder.decode(spikes_with_counts([2, 0, 0, 0], 2), 2, state), [1.0, 0.0])
    np.testing.assert_array_equal(decoder.decode(spikes_with_counts([0, 0, 0, 1], 2), 2, state), [1.0, -0.5])
    np.testing.assert_array_equal(decoder.decode(spikes_with_counts([0, 0, 0, 0], 2), 2, state), [0.0, -0.5])
    with pytest.raises(ValueError, match=r"rate decoder needs state float32\[4\].*initial_state"):
        decoder.decode(spikes_with_counts([0, 0, 0, 0], 2), 2)
    with pytest.raises(CodingSettingsError, match="hold_steps=-1 must be an integer >= 0"):
        RateDecoder(hold_steps=-1)


def test_a_decoder_dict_written_before_the_hold_reads_as_no_hold() -> None:
    assert decoder_from_dict({"kind": "rate", "signed_pairs": False}) == RateDecoder(hold_steps=0)


def test_membrane_mean_and_last() -> None:
    membrane = np.array([[0.0, 0.5], [0.0, 0.5], [0.0, 0.5], [1.0, 0.5]], dtype=np.float32)
    mean = MembraneDecoder(gain=2.0, reduce="mean").decode(membrane, 2)
    np.testing.assert_allclose(mean, [math.tanh(0.5), math.tanh(1.0)], rtol=1e-6)
    last = MembraneDecoder(gain=2.0, reduce="last").decode(membrane, 2)
    np.testing.assert_allclose(last, [math.tanh(2.0), math.tanh(1.0)], rtol=1e-6)


def test_membrane_non_finite_values_give_finite_actions() -> None:
    membrane = np.array([[np.nan, np.inf, np.inf, -np.inf], [0.0, 0.0, -np.inf, -np.inf]], dtype=np.float32)
    action = MembraneDecoder(gain=1.0).decode(membrane, 4)
    np.testing.assert_array_equal(action, [0.0, 1.0, 0.0, -1.0])


def test_population_vector() -> None:
    decoder = PopulationDecoder(group_size=5)  # preferences -1, -0.5, 0, 0.5, 1
    assert decoder.n_outputs_needed(2) == 10
    spikes = spikes_with_counts([0, 0, 0, 2, 2] + [1, 0, 0, 0, 1], 4)
    np.testing.assert_allclose(decoder.decode(spikes, 2), [(2 * 0.5 + 2 * 1.0) / 4, 0.0])
    pair = PopulationDecoder(group_size=2)  # preferences -1, 1
    np.testing.assert_allclose(pair.decode(spikes_with_counts([3, 1], 4), 1), [-0.5])


@pytest.mark.parametrize(
    ("decoder", "expected_neutral"),
    [(RateDecoder(), -1.0), (RateDecoder(signed_pairs=True), 0.0), (MembraneDecoder(gain=3.0), 0.0),
     (MembraneDecoder(reduce="last"), 0.0), (PopulationDecoder(group_size=4), 0.0)],
    ids=lambda value: getattr(value, "kind", str(value)),
)
def test_silence_maps_to_the_documented_neutral_action(decoder: Decoder, expected_neutral: float) -> None:
    assert decoder.neutral == expected_neutral
    n_out = decoder.n_outputs_needed(4)
    silent = np.zeros((6, n_out), dtype=np.uint8 if decoder.reads == "spikes" else np.float32)
    np.testing.assert_array_equal(decoder.decode(silent, 4), np.full(4, expected_neutral, dtype=np.float32))


ALL_DECODERS: list[Decoder] = [
    RateDecoder(), RateDecoder(signed_pairs=True), RateDecoder(hold_steps=5), MembraneDecoder(gain=0.01), MembraneDecoder(gain=1e6, reduce="last"),
    PopulationDecoder(group_size=2), PopulationDecoder(group_size=7),
]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), decoder=st.sampled_from(ALL_DECODERS), n_actions=st.integers(1, 4), steps=st.integers(1, 10))
def test_any_output_decodes_to_finite_actions_in_range(data: st.DataObject, decoder: Decoder, n_actions: int, steps: int) -> None:
    shape = (steps, decoder.n_outputs_needed(n_actions))
    if decoder.reads == "spikes":
        outputs = data.draw(hnp.arrays(np.uint8, shape))
    else:
        outputs = data.draw(hnp.arrays(np.float32, shape, elements=st.floats(width=32, allow_nan=True, allow_infinity=True)))
    action = decoder.decode(outputs, n_actions, decoder.initial_state(n_actions))
    assert action.shape == (n_actions,) and action.dtype == np.float32
    assert np.all(np.isfinite(action))
    assert np.all(action >= -1.0) and np.all(action <= 1.0)


def test_wrong_output_shape_or_dtype_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"out_spikes uint8\[K, 10\] for 2 action"):
        PopulationDecoder().decode(np.zeros((4, 9), dtype=np.uint8), 2)
    with pytest.raises(ValueError, match=r"out_membrane float32\[K, 2\]"):
        MembraneDecoder().decode(np.zeros((4, 2), dtype=np.uint8), 2)


@pytest.mark.parametrize("decoder", ALL_DECODERS + [cls() for cls in DECODERS.values()], ids=lambda d: d.kind)
def test_settings_round_trip_exactly_through_json(decoder: Decoder) -> None:
    as_dict = decoder.to_dict()
    back = decoder_from_dict(json.loads(json.dumps(as_dict)))
    assert back == decoder and type(back) is type(decoder) and back.to_dict() == as_dict


@pytest.mark.parametrize("cls", list(DECODERS.values()), ids=lambda c: c.kind)
def test_bad_settings_dicts_name_the_key(cls: type[Decoder]) -> None:
    good = cls().to_dict()
    field = next(name for name in good if name != "kind" and name not in cls.added_keys)
    with pytest.raises(CodingSettingsError, match="unknown key 'extra'"):
        cls.from_dict({**good, "extra": 0})
    with pytest.raises(CodingSettingsError, match=f"missing key '{field}'"):
        cls.from_dict({name: value for name, value in good.items() if name != field})
    with pytest.raises(CodingSettingsError, match="key 'kind' is 'bogus'"):
        decoder_from_dict({**good, "kind": "bogus"})
    with pytest.raises(CodingSettingsError, match=f"{field}="):
        cls.from_dict({**good, field: [1]})


@pytest.mark.parametrize(
    ("make", "field"),
    [(lambda: MembraneDecoder(gain=0.0), "gain"), (lambda: MembraneDecoder(reduce="max"), "reduce"),
     (lambda: PopulationDecoder(group_size=1), "group_size"), (lambda: RateDecoder(signed_pairs="yes"), "signed_pairs")],
)
def test_bad_values_are_errors_naming_the_setting(make, field: str) -> None:
    with pytest.raises(CodingSettingsError, match=f"{field}="):
        make()


# --- kernels compose inside one compiled loop, as the fused population loop needs -------------


@njit
def fused_rate_loop(observations, low, high, max_rate, key, steps, threshold):
    """Per controller b and control step t: rate-encode, pass spikes straight through, decode (pairs)."""
    n_controllers, n_steps, n_obs = observations.shape
    actions = np.empty((n_controllers, n_steps, n_obs // 2), dtype=np.float32)
    spikes_in = np.empty((steps, n_obs), dtype=np.float32)
    spikes_out = np.empty((steps, n_obs), dtype=np.uint8)
    delta_out = np.empty((steps, 2 * n_obs), dtype=np.float32)
    last_sent = np.zeros(n_obs, dtype=np.float32)
    for b in range(n_controllers):
        for t in range(n_steps):
            encode_rate(observations[b, t], low, high, max_rate, key, np.uint64(t), spikes_in)
            encode_delta(observations[b, t], low, high, threshold, last_sent, delta_out)
            for k in range(steps):
                for i in range(n_obs):
                    spikes_out[k, i] = np.uint8(spikes_in[k, i])
            decode_rate(spikes_out, True, 0, last_sent[:0], actions[b, t])
    return actions


def test_kernels_compose_in_a_compiled_population_loop() -> None:
    rng = np.random.default_rng(0)
    observations = rng.uniform(0.0, 1.0, size=(3, 5, 4)).astype(np.float32)
    low, high = np.zeros(4, dtype=np.float32), np.ones(4, dtype=np.float32)
    key = derive_key(1, 2)
    fused = fused_rate_loop(observations, low, high, 0.5, key, 8, 0.1)
    encoder, decoder = RateEncoder(max_rate=0.5), RateDecoder(signed_pairs=True)
    for b in range(3):
        for t in range(5):
            spikes = encoder.encode(observations[b, t], low, high, 8, key=key, counter=t).astype(np.uint8)
            np.testing.assert_array_equal(fused[b, t], decoder.decode(spikes, 2))
    # Common random numbers: the same observation at the same step gives the same spikes for every controller.
    same = np.repeat(observations[:1], 3, axis=0)
    result = fused_rate_loop(same, low, high, 0.5, key, 8, 0.1)
    np.testing.assert_array_equal(result[0], result[2])
