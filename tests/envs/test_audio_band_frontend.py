"""The resonator-bank front end with PCEN or tonality: band response, PCEN, tonality, streaming equals batch, the cost count, errors."""

from __future__ import annotations


import numpy as np
import pytest

from spikefly.envs.audio.band_frontend import BandFrontEnd
from spikefly.envs.audio.band_reference import count_operations
from spikefly.envs.audio.frontend import FrontEnd

RATE = 16_000
RAW_ENERGY = {"pcen_alpha": 0.0, "pcen_delta": 0.0, "pcen_root": 1.0}
"""PCEN that outputs E itself: (E / M^0 + 0)^1 - 0."""


def noise(seconds: float, rms: float = 0.05, seed: int = 0) -> np.ndarray:
    return (rms * np.random.default_rng(seed).standard_normal(round(seconds * RATE))).astype(np.float32)


def tone(seconds: float, hz: float, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(round(seconds * RATE)) / RATE)).astype(np.float32)


def test_frames_have_the_mel_front_ends_timing() -> None:
    band, mel = BandFrontEnd(), FrontEnd()
    for samples in (0, 399, 400, 559, 560, 16_000):
        assert band.frame_count(samples) == mel.frame_count(samples)
    np.testing.assert_array_equal(band.frame_times_s(5), mel.frame_times_s(5))
    assert band.features(noise(1.0)).shape == (98, 12) and band.features(np.zeros(0)).shape == (0, 12)


@pytest.mark.parametrize("band", range(12))
def test_a_centred_sine_gives_its_power_in_its_band_and_far_less_two_bands_away(band: int) -> None:
    front_end = BandFrontEnd(**RAW_ENERGY)
    energy = front_end.features(tone(0.5, front_end.centres_hz[band]))[10:].mean(axis=0)
    assert energy[band] == pytest.approx(0.125, rel=0.02)  # A^2 / 2 for A = 0.5
    others = np.delete(energy, range(max(band - 1, 0), min(band + 2, 12)))
    assert others.max() < 0.125 / 10  # at least 10 dB down beyond the neighbours


def test_the_envelope_estimate_does_not_lift_a_high_tone_into_the_low_bands() -> None:
    energy = BandFrontEnd(**RAW_ENERGY).features(tone(0.5, 3100.0))[10:].mean(axis=0)
    assert energy[:3].max() < 0.125 * 10 ** (-2.5)  # 400-800 Hz bands: more than 25 dB down


def test_pcen_ignores_a_steady_level_and_lifts_a_tonal_onset() -> None:
    front_end = BandFrontEnd()
    quiet, loud = front_end.features(noise(4.0, rms=0.01)), front_end.features(noise(4.0, rms=0.3))
    steady = (1 + front_end.pcen_delta) ** front_end.pcen_root - front_end.pcen_delta**front_end.pcen_root  # 0.318
    assert quiet[0] == pytest.approx(np.full(12, steady), rel=0.05) and loud[0] == pytest.approx(np.full(12, steady), rel=1e-3)
    np.testing.assert_allclose(quiet[200:].mean(axis=0), loud[200:].mean(axis=0), rtol=0.05)  # level-free
    audio = np.concatenate([noise(3.0), noise(1.0, seed=1) + tone(1.0, 3100.0, amplitude=0.1)])
    features = front_end.features(audio)
    onset = front_end.frame_count(3 * RATE)  # the first frame ending after the tone starts
    after = features[onset : onset + 10]
    alarm_band = front_end.centres_hz.index(3100.0)
    assert after[:, alarm_band].max() > 3.0 and after[:, 0].max() < 1.0 and features[:onset].max() < 2.5


@pytest.mark.parametrize("normalisation", ["pcen", "tonality"])
@pytest.mark.parametrize("sizes", [[1], [160], [7, 333, 4096], [400, 1, 159, 1000], [2, 3, 5, 11, 13]])
def test_streaming_in_any_chunks_equals_the_whole_clip_bit_for_bit(sizes: list[int], normalisation: str) -> None:
    front_end = BandFrontEnd(normalisation=normalisation)
    audio = np.concatenate([noise(0.6), tone(0.4, 3100.0, 0.2) + noise(0.4, seed=1), noise(0.3, seed=2)])
    whole = front_end.features(audio)
    state, pieces, start, turn = front_end.initial_state(), [], 0, 0
    while start < len(audio):
        size = sizes[turn % len(sizes)]
        frames, state = front_end.step(state, audio[start : start + size])
        pieces.append(frames)
        start, turn = start + size, turn + 1
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    assert state.position == len(audio)


@pytest.mark.parametrize("normalisation", ["pcen", "tonality"])
def test_step_leaves_the_state_it_was_given_untouched(normalisation: str) -> None:
    front_end = BandFrontEnd(normalisation=normalisation)
    _, after = front_end.step(front_end.initial_state(), np.r_[noise(0.1), noise(0.0015, seed=3)])  # ends mid-frame
    ring, smoothed, power = after.ring.copy(), after.smoothed.copy(), after.frame_power.copy()
    front_end.step(after, noise(0.1, seed=1))
    np.testing.assert_array_equal(after.ring, ring)
    np.testing.assert_array_equal(after.smoothed, smoothed)
    np.testing.assert_array_equal(after.frame_power, power)


@pytest.mark.parametrize("settings", [{}, {"snapshots_per_frame": 2, "pcen_alpha": 0.9}, {"centres_hz": (500.0, 3000.0), "bandwidth_shifts": (3, 4)},
                                      {"normalisation": "tonality"}, {"normalisation": "tonality", "snapshots_per_frame": 2}])
def test_the_cost_formula_equals_a_count_of_the_plain_oracles_operations(settings: dict) -> None:
    front_end = BandFrontEnd(**settings)
    audio = noise(0.15) + tone(0.15, 3000.0, 0.2)
    frames, per_frame = count_operations(front_end, audio)
    np.testing.assert_array_equal(frames, front_end.features(audio))  # the oracle is the kernel, bit for bit
    cost = front_end.cost_per_frame()
    norm = "tonality" if front_end.normalisation == "tonality" else "pcen"
    expected = {
        "mults": cost["resonator_mults"] + cost["snapshot_mults"] + cost[f"{norm}_mults"],
        "adds": cost["resonator_adds"] + cost["snapshot_adds"] + cost[f"{norm}_adds"],
        "shifts": cost["resonator_shifts"],
        **({"divides": cost["tonality_divides"]} if norm == "tonality" else {"powers": cost["pcen_powers"]}),
    }
    assert len(per_frame) == front_end.frame_count(len(audio)) >= 3
    for counted in per_frame[1:]:  # after the first frame (its window is longer and M starts unsmoothed)
        assert dict(counted) == expected
    assert cost["macs"] == expected["mults"]


def test_default_cost_is_2100_macs_a_third_of_the_mel_front_end() -> None:
    cost = BandFrontEnd().cost_per_frame()
    assert cost["macs"] == 12 * 160 + 3 * 12 * 4 + 3 * 12 == 2100
    assert cost["macs"] < 0.35 * FrontEnd().cost_per_frame()["macs"]


def test_tonality_lights_a_tones_own_band_at_any_level_where_pcen_lights_its_neighbours_too() -> None:
    # a 1.2 kHz beeper with its third harmonic over quiet noise: what made PCEN bands mistake it for an alarm
    bands = {"centres_hz": (1200.0, 3100.0, 3500.0), "bandwidth_shifts": (3, 4, 4)}
    beeper = tone(1.0, 1200.0, 0.3) + tone(1.0, 3600.0, 0.1)
    for level in (0.05, 1.0):
        audio = level * (noise(1.0, seed=2) * 0.01 + beeper)
        tonal = BandFrontEnd(**bands, normalisation="tonality").features(audio)[40:]
        assert tonal[:, 0].min() > 0.5 and tonal[:, 1].max() < 0.05 and tonal[:, 2].max() < 0.2
    alarm = BandFrontEnd(**bands, normalisation="tonality").features(tone(1.0, 3100.0, 0.3) + noise(1.0, seed=2) * 0.01)[40:]
    assert alarm[:, 1].min() > 0.8 and alarm[:, 0].max() < 0.05
    pcen = BandFrontEnd(**bands).features(noise(1.0, seed=2) * 0.01 + np.r_[np.zeros(8000), beeper[:8000]])
    assert pcen[40:, 2].max() > 3.0  # PCEN: the 3.5 kHz band rises at the beeper's onset like an alarm's


def test_the_seven_band_tonality_front_end_costs_less_than_the_goertzel_rule() -> None:
    from spikefly.envs.audio_env import front_end_from_setting
    from spikefly.evolution.audio_task import SEVEN_BANDS
    from spikefly.evolution.baselines.audio import GoertzelDetector

    front_end = front_end_from_setting(SEVEN_BANDS)
    assert front_end.normalisation == "tonality"
    assert front_end.cost_per_frame()["macs"] == 7 * 160 + 3 * 7 * 4 + 160 + 1 + 7 == 1372
    assert front_end.cost_per_frame()["macs"] < GoertzelDetector("smoke_alarm").ops_per_frame()["macs"]


@pytest.mark.parametrize(
    "settings, message",
    [({"centres_hz": (3000.0, 2000.0), "bandwidth_shifts": (4, 4)}, "increasing"),
     ({"centres_hz": (9000.0,), "bandwidth_shifts": (4,)}, "between 0 and 8000"),
     ({"bandwidth_shifts": (4,)}, "one whole number"), ({"snapshots_per_frame": 3}, "must divide"),
     ({"pcen_alpha": 1.5}, "pcen_alpha"), ({"pcen_time_constant_s": 0.0}, "positive"),
     ({"normalisation": "tonal"}, "give one of \\['pcen', 'tonality'\\]"), ({"tonality_floor": 0.0}, "tonality_floor")],
)  # fmt: skip
def test_impossible_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BandFrontEnd(**settings)
