"""Non-spiking audio baselines: the Goertzel rule finds T3 beeps in noise, the MLP learns a feature
pattern, both are deterministic and count their ops."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from spikefly.envs.audio.scoring import event_metrics, score
from spikefly.evolution.baselines.audio import (
    GoertzelDetector,
    MLPDetector,
    MLPSettings,
    Postprocessing,
    frame_labels,
    hysteresis,
    stack_context,
)

SAMPLE_RATE = 16000
SMOKE = "smoke_alarm"


class Event(NamedTuple):
    onset_s: float
    offset_s: float
    label: str


class Clip(NamedTuple):
    audio: np.ndarray
    sample_rate: int
    events: list[Event]


def pinkish_noise(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with a 1/f power spectrum above 20 Hz."""
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    frequency = np.fft.rfftfreq(n_samples, 1.0 / SAMPLE_RATE)
    noise = np.fft.irfft(spectrum / np.sqrt(np.maximum(frequency, 20.0)), n_samples)
    return noise / noise.std()


def beeps(audio: np.ndarray, start_s: float, on_s: float, off_s: float, count: int, amplitude: float, frequency_hz: float) -> Event:
    """Add ``count`` tone beeps; the event spans the first beep's start to the last one's end."""
    for k in range(count):
        first = int((start_s + k * (on_s + off_s)) * SAMPLE_RATE)
        n = np.arange(int(on_s * SAMPLE_RATE))
        audio[first : first + len(n)] += amplitude * np.sin(2 * np.pi * frequency_hz * n / SAMPLE_RATE)
    return Event(start_s, start_s + count * on_s + (count - 1) * off_s, "")


def alarm_clip(seed: int, snr_db: float = 10.0, seconds: float = 24.0) -> Clip:
    """Pink-ish noise with two T3 smoke-alarm groups (3.1 kHz, 3 x 0.5 s on / 0.5 s off) and one
    T4 CO-alarm group (same tone, 4 x 0.1 s on / 0.1 s off) as a hard negative."""
    rng = np.random.default_rng(seed)
    audio = pinkish_noise(int(seconds * SAMPLE_RATE), rng)
    amplitude = np.sqrt(2 * 10 ** (snr_db / 10))  # tone power / noise power = SNR
    starts = rng.permutation([1.0, 7.0, 13.0, 19.0])[:3] + rng.uniform(0, 2, 3)
    events = [beeps(audio, s, 0.5, 0.5, 3, amplitude, 3100.0)._replace(label=SMOKE) for s in starts[:2]]
    events.append(beeps(audio, starts[2], 0.1, 0.1, 4, amplitude, 3100.0)._replace(label="co_alarm"))
    return Clip(audio.astype(np.float32), SAMPLE_RATE, events)


def test_goertzel_finds_t3_beeps_in_noise_at_10_db_and_ignores_the_co_pattern() -> None:
    detector = GoertzelDetector(SMOKE).fit([alarm_clip(seed) for seed in range(4)])
    test_clips = [alarm_clip(seed) for seed in range(100, 106)]
    results = [score(detector.predict(clip), clip.events, (SMOKE,)) for clip in test_clips]
    metrics = event_metrics(results, audio_seconds=24.0 * len(test_clips))
    assert metrics["f1"] >= 0.9, metrics
    assert metrics["distractor_false_alarms"] == 0, metrics
    assert metrics["median_latency_s"] < 0.5
    assert detector.predict(test_clips[0]).shape == (2400,)


def test_goertzel_band_ratio_is_near_one_for_a_tone_and_small_for_noise() -> None:
    detector = GoertzelDetector(SMOKE)
    tone = np.sin(2 * np.pi * 3100.0 * np.arange(16000) / SAMPLE_RATE)
    noise = np.random.default_rng(0).standard_normal(16000)
    assert detector.frame_score(tone)[5:].min() == pytest.approx(1.0, abs=0.02)
    assert detector.frame_score(noise).mean() < 0.1
    assert detector.frame_score(np.zeros(1600)).max() == 0.0


def test_goertzel_ops_and_sample_rate_check() -> None:
    detector = GoertzelDetector(SMOKE, postprocessing=Postprocessing(smoothing_frames=1.0))
    ops = detector.ops_per_frame()
    assert ops["macs"] == 160 + 8 * 160  # energy + one recursion per band and sample
    assert set(ops) == {"macs", "multiplies", "adds", "divides", "compares"}
    with pytest.raises(ValueError, match="GoertzelSettings\\(sample_rate=8000\\)"):
        detector.predict(Clip(np.zeros(800, np.float32), 8000, []))


def feature_clip(seed: int, n_frames: int = 3000) -> tuple[np.ndarray, list[Event]]:
    """float32[T, 32] background N(0, 1) with 3 s target events (+1.2 on channels 8-11, decaying)
    and distractor events (+1.2 on channels 20-23)."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_frames, 32)).astype(np.float32)
    events = []
    for k, onset_frame in enumerate(rng.permutation(np.arange(100, n_frames - 400, 400))[:5]):
        onset_frame += int(rng.integers(0, 50))
        length = 300
        channels = slice(8, 12) if k < 3 else slice(20, 24)
        features[onset_frame : onset_frame + length, channels] += 1.2 * np.exp(-np.arange(length) / 400.0)[:, None]
        events.append(Event(onset_frame * 0.01, (onset_frame + length - 1) * 0.01, SMOKE if k < 3 else "speech"))
    return features, events


def trained_mlp(seed: int = 0) -> MLPDetector:
    clips = [feature_clip(s) for s in range(4)]
    return MLPDetector(SMOKE, MLPSettings(epochs=6, seed=seed)).fit([f for f, _ in clips], [e for _, e in clips])


def test_mlp_learns_a_feature_pattern() -> None:
    detector = trained_mlp()
    test = [feature_clip(s) for s in (50, 51, 52)]
    results = [score(detector.predict(features), events, (SMOKE,)) for features, events in test]
    metrics = event_metrics(results, audio_seconds=30.0 * len(test))
    assert metrics["f1"] >= 0.9, metrics
    assert metrics["distractor_false_alarms"] == 0
    assert detector.parameter_count == 5 * 32 * 32 + 32 + 32 + 1
    assert detector.ops_per_frame()["macs"] == 5 * 32 * 32 + 32 + (detector.postprocessing.smoothing_frames > 1)


def test_mlp_is_deterministic_for_a_seed() -> None:
    first, second, other = trained_mlp(0), trained_mlp(0), trained_mlp(1)
    for name in ("w1", "b1", "w2", "b2"):
        np.testing.assert_array_equal(first.params[name], second.params[name])
    assert first.postprocessing == second.postprocessing
    features, _ = feature_clip(60)
    np.testing.assert_array_equal(first.predict(features), second.predict(features))
    assert not np.array_equal(first.params["w1"], other.params["w1"])


def test_mlp_input_errors_name_the_fix() -> None:
    detector = MLPDetector(SMOKE)
    with pytest.raises(RuntimeError, match="call fit"):
        detector.predict(np.zeros((10, 32), np.float32))
    features, events = feature_clip(0, n_frames=600)
    with pytest.raises(ValueError, match=r"\[T, F\]"):
        detector.fit([features[:, 0]], [events])
    with pytest.raises(ValueError, match="both 'smoke_alarm' frames and others"):
        detector.fit([features], [[]])


def test_context_stacking_is_causal() -> None:
    features = np.arange(12, dtype=np.float32).reshape(6, 2)
    stacked = stack_context(features, 3)
    assert stacked.shape == (6, 6)
    assert stacked[0].tolist() == [0, 0, 0, 0, 0, 1]
    assert stacked[4].tolist() == [4, 5, 6, 7, 8, 9]


def test_frame_labels_and_hysteresis() -> None:
    labels = frame_labels([Event(0.05, 0.08, SMOKE), Event(0.0, 0.02, "speech")], SMOKE, 10)
    assert labels.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 0]
    values = np.array([0.0, 0.6, 0.6, 0.6, 0.4, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1])
    assert hysteresis(values, 0.5, 0.2, 2, 2).tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0]
