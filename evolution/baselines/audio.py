"""Non-spiking baselines for streaming audio event detection, judged by the same scorer as the SNNs.

- :class:`GoertzelDetector` — the classic smoke-alarm rule on raw audio: Goertzel power in narrow
  bands (2.9-3.5 kHz every 100 Hz, plus 520 Hz) per 10 ms frame over broadband frame energy.
- :class:`MLPDetector` — a one-hidden-layer perceptron on the front end's 32 gain-controlled
  features per frame, the latest ``context_frames`` frames stacked; numpy, Adam, seeded.

Both turn a per-frame score into actions with :class:`Postprocessing` (exponential smoothing,
then a threshold with hysteresis and minimum durations), whose settings ``fit`` picks by grid
search for the best event F1 under :func:`spikefly.envs.audio.scoring.score` on training clips.
Both are binary: action 1 = ``target_label`` present. ``predict`` returns int64[T] actions and
``ops_per_frame`` the arithmetic per 10 ms frame (keys :data:`OP_NAMES`; ``macs`` is what
:class:`spikefly.controllers.cost_model.StepCounts` prices).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.envs.audio.scoring import AudioEvent, event_metrics, score

HOP_S = 0.01
OP_NAMES = ("macs", "multiplies", "adds", "divides", "compares")


class ClipLike(Protocol):
    """Anything with mono ``audio`` float[N], its ``sample_rate`` (Hz) and its ``events``."""

    @property
    def audio(self) -> NDArray[np.floating]: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def events(self) -> Sequence[AudioEvent]: ...


@dataclass(frozen=True)
class Postprocessing:
    """Per-frame score -> action 0/1: smooth, then threshold with hysteresis."""

    smoothing_frames: float = 3.0
    """Time constant of the exponential moving average, frames (<= 1: no smoothing)."""
    on_threshold: float = 0.5
    """The smoothed score must reach this ..."""
    min_on_frames: int = 5
    """... for this many consecutive frames before the detector fires (action 1 from that frame)."""
    off_threshold: float = 0.25
    """Once firing, it stops after the smoothed score stays below this ..."""
    hold_frames: int = 60
    """... for this many consecutive frames."""

    def apply(self, frame_score: NDArray[np.float64]) -> NDArray[np.int64]:
        """Actions int64[T] from a score float[T]."""
        smoothed = exponential_average(np.ascontiguousarray(frame_score, dtype=np.float64), 1.0 / max(self.smoothing_frames, 1.0))
        return hysteresis(smoothed, self.on_threshold, self.off_threshold, self.min_on_frames, self.hold_frames)

    def ops_per_frame(self) -> dict[str, int]:
        smoothing = self.smoothing_frames > 1.0
        return {"macs": int(smoothing), "multiplies": 0, "adds": 1 + int(smoothing), "divides": 0, "compares": 2}


@njit(cache=True)
def exponential_average(values, alpha):
    """y[t] = y[t-1] + alpha * (x[t] - y[t-1]), y[-1] = 0; float64[T]."""
    out = np.empty_like(values)
    level = 0.0
    for t in range(values.shape[0]):
        level += alpha * (values[t] - level)
        out[t] = level
    return out


@njit(cache=True)
def hysteresis(values, on_threshold, off_threshold, min_on_frames, hold_frames):
    """Actions int64[T]: fire after ``min_on_frames`` frames >= on, stop after ``hold_frames`` < off."""
    out = np.zeros(values.shape[0], np.int64)
    firing = False
    run = 0
    for t in range(values.shape[0]):
        if not firing:
            run = run + 1 if values[t] >= on_threshold else 0
            if run >= min_on_frames:
                firing, run = True, 0
        else:
            run = run + 1 if values[t] < off_threshold else 0
            if run >= hold_frames:
                firing, run = False, 0
        out[t] = firing
    return out


def fit_postprocessing(
    frame_scores: Sequence[NDArray[np.float64]], events: Sequence[Sequence[AudioEvent]], target_label: str,
    on_thresholds: Sequence[float], smoothing_frames: Sequence[float] = (1.0, 3.0, 10.0),
    off_fractions: Sequence[float] = (0.5, 0.8), min_on_frames: Sequence[int] = (1, 5, 15, 30),
    hold_frames: Sequence[int] = (10, 60, 160),
) -> tuple[Postprocessing, dict[str, float]]:
    """Grid-search the post-processing for the best pooled event F1; the choice and its metrics.

    ``frame_scores``: one float[T] per clip; ``events``: that clip's events; every axis of the grid
    in increasing order (off threshold = on threshold x off fraction). Training clips often leave
    many grid points at the best F1: the most interior one wins (most grid neighbours also at the
    best F1), then the higher total reward. Breaking ties by reward alone picks the most eager
    (lowest-latency) edge of the plateau, which false-alarms on unseen clips.
    """
    if len(frame_scores) != len(events) or not frame_scores:
        raise ValueError(
            f"need one event list per clip and at least one clip, got {len(frame_scores)} clips, {len(events)} event lists"
        )
    axes = (tuple(smoothing_frames), tuple(on_thresholds), tuple(off_fractions), tuple(min_on_frames), tuple(hold_frames))
    for name, axis in zip(("smoothing_frames", "on_thresholds", "off_fractions", "min_on_frames", "hold_frames"), axes):
        if not axis or list(axis) != sorted(set(axis)):
            raise ValueError(f"{name} must be non-empty, distinct and increasing, got {axis}")
    seconds = sum(len(s) for s in frame_scores) * HOP_S
    f1 = np.zeros([len(axis) for axis in axes])
    total = np.zeros_like(f1)
    metrics: dict[tuple[int, ...], dict[str, float]] = {}
    for i, smoothing in enumerate(axes[0]):
        smoothed = [exponential_average(np.ascontiguousarray(s, dtype=np.float64), 1.0 / max(smoothing, 1.0)) for s in frame_scores]
        for rest in itertools.product(*(range(len(axis)) for axis in axes[1:])):
            on, fraction, min_on, hold = (axis[k] for axis, k in zip(axes[1:], rest))
            results = [
                score(hysteresis(s, on, on * fraction, min_on, hold), clip_events, (target_label,), HOP_S)
                for s, clip_events in zip(smoothed, events)
            ]
            metrics[(i, *rest)] = event_metrics(results, seconds)
            f1[(i, *rest)] = metrics[(i, *rest)]["f1"]
            total[(i, *rest)] = sum(r.total for r in results)
    tied = np.pad(f1 >= f1.max() - 1e-9, 1)
    interior = sum(np.roll(tied, shift, axis)[(slice(1, -1),) * f1.ndim] for axis in range(f1.ndim) for shift in (1, -1))
    order = np.lexsort((total.ravel(), interior.ravel(), tied[(slice(1, -1),) * f1.ndim].ravel()))
    index = np.unravel_index(order[-1], f1.shape)
    smoothing, on, fraction, min_on, hold = (axis[k] for axis, k in zip(axes, index))
    chosen = Postprocessing(smoothing, on_threshold=on, min_on_frames=min_on, off_threshold=on * fraction, hold_frames=hold)
    return chosen, metrics[tuple(int(k) for k in index)]


@dataclass(frozen=True)
class GoertzelSettings:
    """The band detector's fixed front end (the post-processing is fitted)."""

    band_hz: tuple[float, ...] = (2900.0, 3000.0, 3100.0, 3200.0, 3300.0, 3400.0, 3500.0, 520.0)
    """Goertzel centre frequencies: T3 smoke-alarm tones (2.9-3.5 kHz) and the 520 Hz low-frequency alarm."""
    sample_rate: int = 16000
    """Audio sample rate, Hz; clips must match."""
    window_samples: int = 160
    """Hann window over the latest hop (10 ms): 100 Hz bins, so 100 Hz-spaced bands lose <= 1.5 dB between centres."""
    energy_floor: float = 1e-10
    """Added to the windowed frame energy (sum of squares) so silence scores 0, not NaN."""


@njit(cache=True)
def goertzel_band_ratio(audio, hop, window, coefficients, normalisation, energy_floor):
    """Band power over frame energy float64[T, B], T = len(audio) // hop.

    Frame t analyses the ``len(window)`` samples ending at sample ``(t + 1) * hop`` (zeros before the
    start). A pure tone at a band centre scores ~1 there; white noise ~``3 / len(window)``.
    """
    n_frames = audio.shape[0] // hop
    width = window.shape[0]
    out = np.empty((n_frames, coefficients.shape[0]))
    windowed = np.empty(width)
    for t in range(n_frames):
        start = (t + 1) * hop - width
        energy = energy_floor
        for n in range(width):
            sample = audio[start + n] if start + n >= 0 else 0.0
            windowed[n] = sample * window[n]
            energy += windowed[n] * windowed[n]
        scale = normalisation / energy
        for b in range(coefficients.shape[0]):
            coefficient = coefficients[b]
            s1 = 0.0
            s2 = 0.0
            for n in range(width):
                s0 = windowed[n] + coefficient * s1 - s2
                s2 = s1
                s1 = s0
            out[t, b] = (s1 * s1 + s2 * s2 - coefficient * s1 * s2) * scale
    return out


class GoertzelDetector:
    """Tone detector on raw audio: max over bands of Goertzel power / frame energy, post-processed."""

    on_threshold_grid = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6)

    def __init__(
        self, target_label: str, settings: GoertzelSettings | None = None, postprocessing: Postprocessing | None = None
    ) -> None:
        self.target_label = target_label
        self.settings = settings or GoertzelSettings()
        self.postprocessing = postprocessing or Postprocessing(smoothing_frames=3.0, on_threshold=0.3, off_threshold=0.15)
        self.training_metrics: dict[str, float] = {}
        s = self.settings
        hop = s.sample_rate * HOP_S
        if abs(hop - round(hop)) > 1e-9:
            raise ValueError(f"sample_rate {s.sample_rate} Hz does not give a whole number of samples per {HOP_S} s hop")
        self.hop_samples = round(hop)
        self.window = np.hanning(s.window_samples + 1)[:-1]  # periodic Hann
        self.coefficients = 2.0 * np.cos(2.0 * np.pi * np.asarray(s.band_hz) / s.sample_rate)
        # Makes a band-centred pure tone score ~1: |X|^2 / E = (sum w)^2 / (2 sum w^2) for a tone.
        self.normalisation = 2.0 * np.sum(self.window**2) / np.sum(self.window) ** 2

    def frame_score(self, clip_or_audio: ClipLike | NDArray[np.floating]) -> NDArray[np.float64]:
        """Max band ratio per frame, float64[T] (T = samples // 160)."""
        audio = self._audio(clip_or_audio)
        ratios = goertzel_band_ratio(
            audio, self.hop_samples, self.window, self.coefficients, self.normalisation, self.settings.energy_floor
        )
        return ratios.max(axis=1) if ratios.shape[0] else np.zeros(0)

    def predict(self, clip_or_audio: ClipLike | NDArray[np.floating]) -> NDArray[np.int64]:
        """Actions int64[T] (1 = target present)."""
        return self.postprocessing.apply(self.frame_score(clip_or_audio))

    def fit(self, clips: Sequence[ClipLike]) -> GoertzelDetector:
        """Grid-search the post-processing for the best event F1 on ``clips``; returns self."""
        self.postprocessing, self.training_metrics = fit_postprocessing(
            [self.frame_score(clip) for clip in clips], [clip.events for clip in clips], self.target_label, self.on_threshold_grid
        )
        return self

    def ops_per_frame(self) -> dict[str, int]:
        """Arithmetic per 10 ms frame: window, energy, one Goertzel recursion per band, ratio, max."""
        width, bands = self.settings.window_samples, len(self.settings.band_hz)
        ops = {
            "macs": width + bands * width,  # energy sum of squares; s0 = x + c*s1 - s2 per band and sample
            "multiplies": width + bands * 4 + bands,  # window; power s1^2 + s2^2 - c*s1*s2; scale
            "adds": bands * width + bands * 2,  # the "- s2" of the recursion; power
            "divides": 1,  # normalisation / energy
            "compares": bands - 1,  # max over bands
        }
        return {name: ops[name] + self.postprocessing.ops_per_frame()[name] for name in OP_NAMES}

    def _audio(self, clip_or_audio: ClipLike | NDArray[np.floating]) -> NDArray[np.float64]:
        if hasattr(clip_or_audio, "audio"):
            if clip_or_audio.sample_rate != self.settings.sample_rate:
                raise ValueError(
                    f"clip sample_rate {clip_or_audio.sample_rate} Hz != {self.settings.sample_rate} Hz: resample it, or pass "
                    f"GoertzelSettings(sample_rate={clip_or_audio.sample_rate})"
                )
            clip_or_audio = clip_or_audio.audio
        audio = np.asarray(clip_or_audio, dtype=np.float64)
        if audio.ndim != 1:
            raise ValueError(f"audio must be mono float[N], got shape {audio.shape}")
        return np.ascontiguousarray(audio)


@dataclass(frozen=True)
class MLPSettings:
    """Shape and training of :class:`MLPDetector`."""

    context_frames: int = 5
    """Frames stacked per input (the latest and the ones before it; zeros before the clip)."""
    hidden_units: int = 32
    """ReLU units in the hidden layer."""
    epochs: int = 30
    """Passes over the training frames."""
    batch_size: int = 256
    """Frames per Adam step."""
    learning_rate: float = 3e-3
    """Adam step size."""
    weight_decay: float = 1e-4
    """L2 penalty on the weights (not the biases)."""
    seed: int = 0
    """Seeds the initial weights and the minibatch order."""


def frame_labels(events: Sequence[AudioEvent], target_label: str, n_frames: int) -> NDArray[np.float32]:
    """float32[n_frames]: 1 where frame time t * 10 ms lies within a target event, else 0."""
    labels = np.zeros(n_frames, np.float32)
    for event in events:
        if event.label == target_label:
            first = math.ceil(event.onset_s / HOP_S - 1e-6)
            last = math.floor(event.offset_s / HOP_S + 1e-6)
            labels[max(first, 0) : max(last + 1, 0)] = 1.0
    return labels


def stack_context(features: NDArray[np.float32], context_frames: int) -> NDArray[np.float32]:
    """[T, F] -> [T, context_frames * F]: row t holds frames t - context + 1 .. t, zeros before 0."""
    n_frames, n_features = features.shape
    padded = np.concatenate([np.zeros((context_frames - 1, n_features), features.dtype), features])
    return np.concatenate([padded[k : k + n_frames] for k in range(context_frames)], axis=1)


class MLPDetector:
    """features [T, F] -> standardise -> stack context -> ReLU layer -> logistic unit -> post-processing."""

    on_threshold_grid = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)

    def __init__(self, target_label: str, settings: MLPSettings | None = None) -> None:
        self.target_label = target_label
        self.settings = settings or MLPSettings()
        self.postprocessing = Postprocessing(smoothing_frames=1.0, on_threshold=0.5, off_threshold=0.25)
        self.training_metrics: dict[str, float] = {}
        self.params: dict[str, NDArray[np.float32]] = {}

    @property
    def parameter_count(self) -> int:
        """Weights and biases (the 2 F standardisation constants excluded: they fold into layer 1)."""
        s = self.settings
        return self._n_inputs * s.hidden_units + s.hidden_units + s.hidden_units + 1

    def fit(self, features: Sequence[NDArray[np.float32]], events: Sequence[Sequence[AudioEvent]]) -> MLPDetector:
        """Train on per-frame labels (class-weighted cross-entropy), then fit the post-processing; returns self.

        ``features``: one float32[T, F] per clip; ``events``: that clip's events.
        """
        if len(features) != len(events) or not features:
            raise ValueError(
                f"need one event list per clip and at least one clip, got {len(features)} clips, {len(events)} event lists"
            )
        s = self.settings
        n_features = self._check(features[0]).shape[1]
        stacked_raw = np.concatenate([self._check(f, n_features) for f in features])
        self.params = {"mean": stacked_raw.mean(axis=0), "scale": 1.0 / (stacked_raw.std(axis=0) + 1e-6)}
        inputs = np.concatenate([self._inputs(f) for f in features])
        labels = np.concatenate([frame_labels(e, self.target_label, len(f)) for f, e in zip(features, events)])
        positives = float(labels.sum())
        if positives == 0 or positives == len(labels):
            raise ValueError(
                f"training frames must include both {self.target_label!r} frames and others, got {positives:.0f} of {len(labels)}"
            )
        # Class weighting: both classes carry half the loss, whatever their frame counts.
        sample_weight = np.where(labels > 0, 0.5 / positives, 0.5 / (len(labels) - positives)).astype(np.float32) * len(labels)
        rng = np.random.default_rng(s.seed)
        n_inputs = inputs.shape[1]
        self.params |= {
            "w1": (rng.standard_normal((n_inputs, s.hidden_units)) * np.sqrt(2.0 / n_inputs)).astype(np.float32),
            "b1": np.zeros(s.hidden_units, np.float32),
            "w2": (rng.standard_normal(s.hidden_units) * np.sqrt(1.0 / s.hidden_units)).astype(np.float32),
            "b2": np.zeros(1, np.float32),
        }
        trained = ("w1", "b1", "w2", "b2")
        moments = {k: (np.zeros_like(self.params[k]), np.zeros_like(self.params[k])) for k in trained}
        step = 0
        for _ in range(s.epochs):
            order = rng.permutation(len(labels))
            for first in range(0, len(order), s.batch_size):
                batch = order[first : first + s.batch_size]
                gradients = self._gradients(inputs[batch], labels[batch], sample_weight[batch])
                step += 1
                for k in trained:
                    m, v = moments[k]
                    m *= 0.9
                    m += 0.1 * gradients[k]
                    v *= 0.999
                    v += 0.001 * gradients[k] ** 2
                    corrected = np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
                    self.params[k] -= (s.learning_rate * corrected * m / (np.sqrt(v) + 1e-8)).astype(np.float32)
        self.postprocessing, self.training_metrics = fit_postprocessing(
            [self.probabilities(f) for f in features], events, self.target_label, self.on_threshold_grid
        )
        return self

    def _gradients(
        self, x: NDArray[np.float32], y: NDArray[np.float32], weight: NDArray[np.float32]
    ) -> dict[str, NDArray[np.float32]]:
        p = self.params
        hidden = np.maximum(x @ p["w1"] + p["b1"], 0.0)
        logit = hidden @ p["w2"] + p["b2"][0]
        # d(weighted binary cross-entropy)/d logit = weight * (sigmoid - y), averaged over the batch.
        d_logit = weight * (_sigmoid(logit) - y) / len(y)
        d_hidden = np.outer(d_logit, p["w2"]) * (hidden > 0)
        decay = self.settings.weight_decay
        return {
            "w1": x.T @ d_hidden + decay * p["w1"], "b1": d_hidden.sum(axis=0),
            "w2": hidden.T @ d_logit + decay * p["w2"], "b2": np.array([d_logit.sum()], np.float32),
        }

    def probabilities(self, features: NDArray[np.float32]) -> NDArray[np.float64]:
        """P(target) per frame, float64[T]."""
        if "w1" not in self.params:
            raise RuntimeError("MLPDetector is not trained: call fit(features, events) first")
        p = self.params
        hidden = np.maximum(self._inputs(self._check(features, len(p["mean"]))) @ p["w1"] + p["b1"], 0.0)
        return _sigmoid(hidden @ p["w2"] + p["b2"][0]).astype(np.float64)

    def predict(self, features: NDArray[np.float32]) -> NDArray[np.int64]:
        """Actions int64[T] (1 = target present) from features float32[T, F]."""
        return self.postprocessing.apply(self.probabilities(features))

    def ops_per_frame(self) -> dict[str, int]:
        """Per frame: standardise the new frame, both layers, ReLU; the sigmoid is skipped on a
        device by thresholding the logit instead (``logit >= log(p / (1 - p))``)."""
        hidden = self.settings.hidden_units
        n_features = self._n_inputs // self.settings.context_frames
        ops = {
            "macs": self._n_inputs * hidden + hidden,
            "multiplies": n_features,
            "adds": n_features + hidden + 1,
            "divides": 0,
            "compares": hidden,
        }
        return {name: ops[name] + self.postprocessing.ops_per_frame()[name] for name in OP_NAMES}

    @property
    def _n_inputs(self) -> int:
        if "mean" not in self.params:
            raise RuntimeError("MLPDetector is not trained: call fit(features, events) first")
        return self.settings.context_frames * len(self.params["mean"])

    def _inputs(self, features: NDArray[np.float32]) -> NDArray[np.float32]:
        standardised = ((features - self.params["mean"]) * self.params["scale"]).astype(np.float32)
        return stack_context(standardised, self.settings.context_frames)

    @staticmethod
    def _check(features: NDArray[np.float32], n_features: int | None = None) -> NDArray[np.float32]:
        array = np.asarray(features, dtype=np.float32)
        if array.ndim != 2 or (n_features is not None and array.shape[1] != n_features):
            expected = f"[T, {n_features}]" if n_features is not None else "[T, F]"
            raise ValueError(f"features must be float32 {expected} (FrontEnd().features(audio)), got shape {array.shape}")
        return array


def _sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    return 0.5 * (1.0 + np.tanh(0.5 * x))

