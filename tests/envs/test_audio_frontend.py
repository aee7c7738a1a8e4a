"""The audio front end: framing, mel bands, gain control, streaming equals batch, cost and speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from spikefly.envs.audio.band_frontend import BandFrontEnd
from spikefly.envs.audio.frontend import FrontEnd, hz_to_mel, mel_to_hz

RATE = 16_000


def noise(seconds: float, rms: float = 0.05, seed: int = 0) -> np.ndarray:
    return (rms * np.random.default_rng(seed).standard_normal(round(seconds * RATE))).astype(np.float32)


def tone(seconds: float, hz: float, amplitude: float = 0.3) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(round(seconds * RATE)) / RATE)).astype(np.float32)


def test_defaults_match_the_reference_front_end() -> None:
    front_end = FrontEnd()
    assert (front_end.sample_rate, front_end.window_samples, front_end.hop_samples, front_end.fft_size) == (
        16000, 400, 160, 512,
    )  # fmt: skip
    assert front_end.bands == 32 and front_end.frames_per_second == 100.0
    assert front_end.band_edges_hz[0] == pytest.approx(50.0) and front_end.band_edges_hz[-1] == pytest.approx(
        8000.0
    )
    assert np.all(np.diff(front_end.band_centres_hz) > 0)
    assert np.all(front_end.filterbank.max(axis=0) > 0.5)  # every band covers bins near its peak
    assert front_end.fast_coefficient == pytest.approx(0.2835, abs=1e-4)
    assert front_end.slow_coefficient == pytest.approx(0.004988, abs=1e-6)
    assert mel_to_hz(hz_to_mel(1234.5)) == pytest.approx(1234.5)
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.5)  # HTK scale: 1000 Hz is ~1000 mel


def test_shape_and_frame_times() -> None:
    front_end = FrontEnd()
    features = front_end.features(noise(1.0))
    assert features.dtype == np.float32 and features.shape == (98, 32)  # 1 + (16000 - 400) // 160
    times = front_end.frame_times_s(len(features))
    assert times[0] == pytest.approx(0.025) and times[1] == pytest.approx(0.035)
    assert times[-1] == pytest.approx((97 * 160 + 400) / RATE)
    assert front_end.features(np.zeros(399, dtype=np.float32)).shape == (0, 32)
    assert front_end.features(np.zeros(0, dtype=np.float32)).shape == (0, 32)


def test_a_3_khz_tone_lights_its_mel_band() -> None:
    front_end = FrontEnd(gain_control=False)
    log_mel = front_end.features(tone(1.0, 3000.0) + noise(1.0, rms=1e-4))
    loudest = np.argmax(log_mel.mean(axis=0))
    assert loudest == np.argmin(np.abs(front_end.band_centres_hz - 3000.0))
    assert log_mel.mean(axis=0)[loudest] - np.median(log_mel.mean(axis=0)) > 5.0  # > 20 dB above the rest


def test_log_mel_is_the_natural_log_of_power() -> None:
    front_end = FrontEnd(gain_control=False)
    bin_hz = 96 * RATE / 512  # on an FFT bin: that bin's power is exactly amplitude^2 / 4
    loud = front_end.features(tone(0.5, bin_hz, amplitude=1.0)).mean(axis=0)
    quiet = front_end.features(tone(0.5, bin_hz, amplitude=0.5)).mean(axis=0)
    band = np.argmax(loud)
    assert loud[band] - quiet[band] == pytest.approx(np.log(4.0), abs=1e-3)
    # The band holds the peak bin (0.25 x its weight) plus the Hann main lobe's neighbours.
    assert np.log(0.25 * front_end.filterbank[96, band]) <= loud[band] <= np.log(0.25 * 3)


@pytest.mark.parametrize("gain_control", [True, False])
def test_streaming_in_any_chunks_equals_the_whole_clip(gain_control: bool) -> None:
    front_end = FrontEnd(gain_control=gain_control)
    audio = np.concatenate([noise(1.5), tone(1.0, 3000.0) + noise(1.0, seed=1), noise(1.0, seed=2)])
    whole = front_end.features(audio)
    for sizes in ([160], [1], [400, 1, 159, 1000], [7, 333, 4096]):
        state, pieces, start, turn = front_end.initial_state(), [], 0, 0
        while start < len(audio):
            size = sizes[turn % len(sizes)]
            frames, state = front_end.step(state, audio[start : start + size])
            pieces.append(frames)
            start, turn = start + size, turn + 1
        np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_step_leaves_the_state_it_was_given_untouched() -> None:
    front_end = FrontEnd()
    state = front_end.initial_state()
    _, after = front_end.step(state, noise(0.1))
    before_fast = after.fast.copy()
    front_end.step(after, noise(0.1, seed=1))
    np.testing.assert_array_equal(after.fast, before_fast)
    assert not state.started and after.started and len(after.pending) < 400


def test_gain_control_sends_a_stationary_background_to_zero() -> None:
    front_end = FrontEnd()
    # Silence, then noise: the onset stands out, then the slow average catches up.
    audio = np.concatenate([np.zeros(RATE, dtype=np.float32), noise(14.0)])
    features = front_end.features(audio)
    times = front_end.frame_times_s(len(features))
    assert features[(times > 1.05) & (times < 1.2)].mean() > 5.0
    settled = features[times > 11.0]
    assert np.abs(settled.mean(axis=0)).max() < 0.1
    raw = FrontEnd(gain_control=False).features(audio)[times > 11.0]
    assert np.abs(raw.mean(axis=0)).min() > 5.0  # the raw log-mel is far from zero


def test_gain_control_contrast_of_a_tone_over_noise() -> None:
    front_end = FrontEnd()
    audio = noise(8.0)
    audio[5 * RATE : 6 * RATE] += tone(1.0, 3000.0, amplitude=0.1)
    features = front_end.features(audio)
    times = front_end.frame_times_s(len(features))
    band = np.argmin(np.abs(front_end.band_centres_hz - 3000.0))
    during = features[(times > 5.05) & (times < 5.5), band].mean()
    background = np.abs(features[(times > 3.0) & (times < 5.0), band]).mean()
    assert during > 10 * background


def test_cost_per_frame_counts_the_arithmetic() -> None:
    front_end = FrontEnd()
    cost = front_end.cost_per_frame()
    assert cost["window_mults"] == 400
    assert cost["fft_mults"] == 4 * 128 * 8 + 2 * 256 and cost["fft_adds"] == 6 * 128 * 8 + 3 * 256
    assert cost["power_mults"] == 2 * 257 and cost["power_adds"] == 257
    assert cost["mel_macs"] == np.count_nonzero(front_end.filterbank)
    assert cost["logs"] == 32 and cost["gain_control_mults"] == 64 and cost["gain_control_adds"] == 160
    parts = ("window_mults", "fft_mults", "power_mults", "mel_macs", "gain_control_mults")
    assert cost["macs"] == sum(cost[name] for name in parts)
    assert all(isinstance(value, int) and value >= 0 for value in cost.values())
    assert FrontEnd(gain_control=False).cost_per_frame()["gain_control_mults"] == 0


@pytest.mark.parametrize(
    "settings",
    [{"fft_size": 256}, {"fft_size": 500, "window_samples": 400}, {"high_hz": 9000.0}, {"low_hz": 0.0, "bands": 200},
     {"slow_time_constant_s": 0.0}, {"hop_samples": 0}],
)  # fmt: skip
def test_impossible_settings_are_refused(settings: dict) -> None:
    with pytest.raises(ValueError):
        FrontEnd(**settings)


def test_rejects_multichannel_audio() -> None:
    with pytest.raises(ValueError, match="1-D"):
        FrontEnd().features(np.zeros((100, 2), dtype=np.float32))


@pytest.mark.parametrize("front_end, bands", [(FrontEnd(), 32), (BandFrontEnd(), 12)], ids=["mel", "bands"])
def test_ten_minutes_of_audio_take_well_under_two_seconds(front_end, bands) -> None:
    front_end.features(noise(1.0))  # compile
    audio = noise(600.0)
    began = time.perf_counter()
    features = front_end.features(audio)
    elapsed = time.perf_counter() - began
    assert features.shape == (59_998, bands)
    assert elapsed < 2.0, f"{elapsed:.2f} s for 10 minutes (measured ~0.25 s for mel)"
