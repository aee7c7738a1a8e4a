"""Streaming scorer of an audio event detector, after the MLPerf Tiny streaming wake-word rule.

The detector emits one action per frame (100 frames/s by default): 0 = nothing, ``c >= 1`` =
"class ``classes[c - 1]`` is present". Frame ``t`` stands for time ``t * hop_s``. Events are
anything with ``onset_s``, ``offset_s`` and ``label`` (:class:`AudioEvent`); an event whose label
is in ``classes`` is a *target* of that class, any other event is a *distractor*.

Rules, in frames (``hop_s`` = frame period; times are rounded to frames with a 1e-6-frame
tolerance, so 2.5 s is frame 250 exactly):

- **Trigger**: a frame whose action ``a[t] != 0`` and ``a[t] != a[t - 1]`` (a rising edge or a
  change of class; ``a[-1] = 0``). A held action is one trigger.
- Each target event has a *window* ``ceil(onset_s / hop_s) <= t <= floor((offset_s + 0.5) / hop_s)``
  (:data:`HIT_WINDOW_S`) and a *grace* span from the same first frame to
  ``floor((offset_s + 1.0) / hop_s)`` (:data:`GRACE_S`).
- A trigger of class ``c`` at frame ``t`` is, by the first rule that applies:

  1. **hit** of the earliest-onset undetected class-``c`` event whose window holds ``t``;
     latency ``t * hop_s - onset_s``;
  2. nothing (a repeat) if ``t`` is in the grace span of an already-detected class-``c`` event —
     inside the event or up to 1 s after its end;
  3. **wrong_class** if ``t`` is in the window of a target event of another class, charged once
     per event (the earliest-onset uncharged one); later wrong-class triggers there score nothing;
  4. otherwise a **false alarm** — including triggers during distractor events (counted apart in
     ``distractor_false_alarms`` when a distractor's window holds ``t``), and triggers between
     end + 0.5 s and end + 1 s of an event that was never detected.

- A target event never hit is a **miss**, scored at the frame its window closes
  (``floor((offset_s + 0.5) / hop_s)``, after that frame's trigger is judged) or, if the stream
  stops first, by :meth:`StreamingScorer.finish` (the env calls it when the episode ends).
  Events that start after the last frame are not scored at all.

Reward = sum of the named terms (:data:`TERM_NAMES`), weighted by :class:`AudioRewardWeights`.
:class:`StreamingScorer` consumes one frame per :meth:`~StreamingScorer.step` (what ``env.step``
calls); :func:`score` and :func:`score_batch` run the same compiled kernel over whole episodes.

Speed (2 shared cores, 60 s episode = 6000 frames, 20 events): :func:`score` 35-80 µs, of which
~15 µs builds the event table; :func:`score_batch` 14-30 µs per episode, random actions (a
trigger every ~4 frames) included; :meth:`StreamingScorer.step` ~3 µs. The kernels run without
the Numba runtime (``_nrt=False``): with it, reference counting cost ~100 ns per trigger (8x).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple, Protocol

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

TERM_NAMES = ("hit", "false_alarm", "miss", "wrong_class")
TERM_HIT, TERM_FALSE_ALARM, TERM_MISS, TERM_WRONG_CLASS = range(4)
N_TERMS = len(TERM_NAMES)
COUNT_NAMES = ("hits", "misses", "false_alarms", "wrong_class", "distractor_false_alarms")
COUNT_HITS, COUNT_MISSES, COUNT_FALSE_ALARMS, COUNT_WRONG_CLASS, COUNT_DISTRACTOR_FALSE_ALARMS = range(5)
N_COUNTS = len(COUNT_NAMES)
HIT_WINDOW_S = 0.5
"""A trigger up to this long after an event's end still detects it (MLPerf Tiny streaming rule)."""
GRACE_S = 1.0
"""Repeat triggers up to this long after a detected event's end are not false alarms."""
_FRAME_TOLERANCE = 1e-6  # in frames: absorbs float error such as 0.3 / 0.01 = 29.999999999999996


class AudioEvent(Protocol):
    """Anything with an onset, an offset (s, from the start of the stream) and a label."""

    @property
    def onset_s(self) -> float: ...
    @property
    def offset_s(self) -> float: ...
    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class AudioRewardWeights:
    """Weights of the detection reward terms; each term is reported by name per frame.

    Defaults make a prompt hit worth +1.5, a late one +1, and a false alarm or a miss -1, so
    firing at everything and never firing both score below a working detector.
    """

    hit_reward: float = 1.0
    """Added for the first trigger of the right class inside an event's window."""
    latency_bonus: float = 0.5
    """Extra hit reward at zero latency, falling linearly to 0 at ``latency_scale_s``."""
    latency_scale_s: float = 1.0
    """Latency (s after onset) at which the bonus reaches 0; must be > 0."""
    false_alarm_penalty: float = 1.0
    """Subtracted per trigger outside every target window and grace span."""
    miss_penalty: float = 1.0
    """Subtracted once per target event never hit, when its window closes."""
    wrong_class_penalty: float = 0.5
    """Subtracted once per target event that drew a trigger of another class in its window."""

    def __post_init__(self) -> None:
        if not self.latency_scale_s > 0:
            raise ValueError(f"latency_scale_s must be > 0 s, got {self.latency_scale_s}")

    @classmethod
    def from_mapping(cls, values: dict[str, float]) -> AudioRewardWeights:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown audio reward weight(s) {unknown}; valid names: {sorted(known)}")
        return cls(**values)

    def as_array(self) -> NDArray[np.float64]:
        """float64[6]: hit, latency bonus, latency scale, false alarm, miss, wrong class."""
        return np.array([
            self.hit_reward, self.latency_bonus, self.latency_scale_s,
            self.false_alarm_penalty, self.miss_penalty, self.wrong_class_penalty,
        ])


class EventTable(NamedTuple):
    """Events in frames, sorted by onset (then offset, then input order); E = number of events."""

    event_class: NDArray[np.int64]
    """[E] action index of a target event (>= 1), 0 for a distractor."""
    first_frame: NDArray[np.int64]
    """[E] first frame at or after the onset."""
    window_end_frame: NDArray[np.int64]
    """[E] last frame at which a trigger still hits (offset + 0.5 s)."""
    grace_end_frame: NDArray[np.int64]
    """[E] last frame of the repeat-trigger grace span (offset + 1 s)."""
    onset_s: NDArray[np.float64]
    """[E] onset time, for latencies."""
    miss_order: NDArray[np.int64]
    """[n_targets] target event indices by window end: the order misses are scored in."""


def event_table(events: Sequence[AudioEvent], classes: Sequence[str], hop_s: float) -> EventTable:
    """Convert events to frames for the kernel; checks the classes and the event times."""
    class_index = _class_index(classes)
    if not hop_s > 0:
        raise ValueError(f"hop_s must be > 0 s, got {hop_s}")
    rows = []
    for position, event in enumerate(events):
        onset_s, offset_s = float(event.onset_s), float(event.offset_s)
        if not 0.0 <= onset_s <= offset_s:
            raise ValueError(f"event {position} ({event.label!r}) needs 0 <= onset_s <= offset_s, got {onset_s}, {offset_s}")
        rows.append((onset_s, offset_s, position, class_index.get(event.label, 0)))
    rows.sort()
    onset = np.array([r[0] for r in rows], dtype=np.float64)
    offset = np.array([r[1] for r in rows], dtype=np.float64)
    event_class = np.array([r[3] for r in rows], dtype=np.int64)
    window_end = np.floor((offset + HIT_WINDOW_S) / hop_s + _FRAME_TOLERANCE).astype(np.int64)
    targets = np.flatnonzero(event_class > 0)
    return EventTable(
        event_class=event_class,
        first_frame=np.ceil(onset / hop_s - _FRAME_TOLERANCE).astype(np.int64),
        window_end_frame=window_end,
        grace_end_frame=np.floor((offset + GRACE_S) / hop_s + _FRAME_TOLERANCE).astype(np.int64),
        onset_s=onset,
        miss_order=targets[np.argsort(window_end[targets], kind="stable")].astype(np.int64),
    )


def _class_index(classes: Sequence[str]) -> dict[str, int]:
    if isinstance(classes, str):
        raise TypeError(f"classes must be a sequence of labels, e.g. ({classes!r},), not a string")
    if len(classes) == 0 or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be non-empty and distinct, got {list(classes)}")
    return {label: index + 1 for index, label in enumerate(classes)}


class ScorerState(NamedTuple):
    """Mutable state of one stream (updated in place by the kernel)."""

    cursor: NDArray[np.int64]
    """[4] frames consumed, previous action, position in ``miss_order`` of the next miss to judge,
    first event whose grace span may still hold a trigger."""
    detected: NDArray[np.bool_]
    """[E] event hit."""
    wrong_charged: NDArray[np.bool_]
    """[E] wrong-class penalty already charged."""
    latency_s: NDArray[np.float64]
    """[E] latency of the hit, NaN if none."""
    counts: NDArray[np.int64]
    """[5] in :data:`COUNT_NAMES` order."""


def new_state(n_events: int) -> ScorerState:
    return ScorerState(
        np.zeros(4, np.int64), np.zeros(n_events, np.bool_), np.zeros(n_events, np.bool_),
        np.full(n_events, np.nan), np.zeros(N_COUNTS, np.int64),
    )


@njit(cache=True, _nrt=False, inline="always")
def _judge_trigger(t, c, first_event, table, weights, hop_s, state, terms, row):
    """Judge a class-``c`` trigger at frame ``t`` (module rules 1-4) in one pass over the events;
    its terms go into ``terms[row]``.

    ``first_event``: events before it all have their grace span over before ``t``.
    """
    event_class, first_frame, window_end, grace_end, onset_s, _ = table
    hit_event, wrong_event = -1, -1
    repeat = inside_other_class = inside_distractor = False
    for e in range(first_event, event_class.shape[0]):
        if first_frame[e] > t:
            break
        if event_class[e] == c:
            if state.detected[e]:
                repeat = repeat or t <= grace_end[e]
            elif hit_event < 0 and t <= window_end[e]:
                hit_event = e
        elif t <= window_end[e]:
            if event_class[e] == 0:
                inside_distractor = True
            else:
                inside_other_class = True
                if wrong_event < 0 and not state.wrong_charged[e]:
                    wrong_event = e
    if hit_event >= 0:
        state.detected[hit_event] = True
        latency = max(0.0, t * hop_s - onset_s[hit_event])
        state.latency_s[hit_event] = latency
        state.counts[COUNT_HITS] += 1
        terms[row, TERM_HIT] += weights[0] + weights[1] * max(0.0, 1.0 - latency / weights[2])
    elif repeat:
        pass
    elif wrong_event >= 0:
        state.wrong_charged[wrong_event] = True
        state.counts[COUNT_WRONG_CLASS] += 1
        terms[row, TERM_WRONG_CLASS] -= weights[5]
    elif not inside_other_class:
        state.counts[COUNT_FALSE_ALARMS] += 1
        terms[row, TERM_FALSE_ALARM] -= weights[3]
        if inside_distractor:
            state.counts[COUNT_DISTRACTOR_FALSE_ALARMS] += 1


@njit(cache=True, _nrt=False)
def score_frames(actions, table, weights, hop_s, state, terms_out):
    """Judge ``actions`` int64[F] as the next F frames of the stream; terms into float64[F, 4]."""
    cursor = state.cursor
    t, previous, next_miss, first_event = cursor[0], cursor[1], cursor[2], cursor[3]
    miss_order, window_end, grace_end = table.miss_order, table.window_end_frame, table.grace_end_frame
    n_events, n_targets = grace_end.shape[0], miss_order.shape[0]
    for i in range(actions.shape[0]):
        action = actions[i]
        for k in range(N_TERMS):
            terms_out[i, k] = 0.0
        if action != 0 and action != previous:
            # Valid because t only grows: an event skipped here has its grace over for good.
            while first_event < n_events and grace_end[first_event] < t:
                first_event += 1
            _judge_trigger(t, action, first_event, table, weights, hop_s, state, terms_out, i)
        while next_miss < n_targets and window_end[miss_order[next_miss]] <= t:
            if not state.detected[miss_order[next_miss]]:
                state.counts[COUNT_MISSES] += 1
                terms_out[i, TERM_MISS] -= weights[4]
            next_miss += 1
        previous = action
        t += 1
    cursor[0], cursor[1], cursor[2], cursor[3] = t, previous, next_miss, first_event


@njit(cache=True, _nrt=False)
def score_finish(table, weights, state, terms_out):
    """Misses of started events whose window was still open when the stream stopped; float64[4]."""
    cursor = state.cursor
    terms_out[:] = 0.0
    for p in range(cursor[2], table.miss_order.shape[0]):
        e = table.miss_order[p]
        if not state.detected[e] and table.first_frame[e] < cursor[0]:
            state.counts[COUNT_MISSES] += 1
            terms_out[TERM_MISS] -= weights[4]
    cursor[2] = table.miss_order.shape[0]


@njit(cache=True)
def _score_batch_kernel(actions, table, weights, hop_s, totals, counts, latency_s):
    n_events = table.event_class.shape[0]
    frame_terms = np.empty((actions.shape[1], N_TERMS))
    finish_terms = np.empty(N_TERMS)
    for g in range(actions.shape[0]):
        state = ScorerState(
            np.zeros(4, np.int64), np.zeros(n_events, np.bool_), np.zeros(n_events, np.bool_),
            latency_s[g], counts[g],
        )
        score_frames(actions[g], table, weights, hop_s, state, frame_terms)
        score_finish(table, weights, state, finish_terms)
        totals[g, :] = finish_terms
        for i in range(frame_terms.shape[0]):
            for k in range(N_TERMS):
                totals[g, k] += frame_terms[i, k]


@dataclass(frozen=True)
class ScoreResult:
    """One scored episode. Totals include the terms of :meth:`StreamingScorer.finish`."""

    frame_terms: NDArray[np.float64]
    """[T, 4] reward terms per frame, :data:`TERM_NAMES` order (what ``step`` returned)."""
    finish_terms: NDArray[np.float64]
    """[4] terms scored at the episode end (misses of events still open)."""
    counts: dict[str, int]
    """Keys :data:`COUNT_NAMES`."""
    latencies_s: NDArray[np.float64]
    """[hits] detection latency (s after onset) of each detected event, in onset order."""

    @property
    def total_terms(self) -> dict[str, float]:
        return dict(zip(TERM_NAMES, (self.frame_terms.sum(axis=0) + self.finish_terms).tolist()))

    @property
    def total(self) -> float:
        return float(self.frame_terms.sum() + self.finish_terms.sum())

    @property
    def n_frames(self) -> int:
        return self.frame_terms.shape[0]


class StreamingScorer:
    """Scores one stream frame by frame; :meth:`step` per frame, :meth:`finish` at the end.

    ``events``: the episode's events; ``classes``: label of action 1, 2, ...; ``hop_s``: frame
    period (s). Label matching is exact; events with other labels are distractors.
    """

    def __init__(
        self, events: Sequence[AudioEvent], classes: Sequence[str], hop_s: float = 0.01,
        weights: AudioRewardWeights | None = None,
    ) -> None:
        self.table = event_table(events, classes, hop_s)
        self.n_classes = len(classes)
        self.hop_s = float(hop_s)
        self._weights = (weights or AudioRewardWeights()).as_array()
        self._state = new_state(len(self.table.event_class))
        self._action = np.zeros(1, np.int64)
        self._terms = np.zeros((1, N_TERMS))
        self._frame_terms: list[NDArray[np.float64]] = []
        self._finish_terms: NDArray[np.float64] | None = None

    def step(self, action: int) -> dict[str, float]:
        """Judge the next frame's action; the reward terms it earned, by name."""
        if self._finish_terms is not None:
            raise RuntimeError("step() after finish(): build a new StreamingScorer for the next episode")
        action = int(action)
        if not 0 <= action <= self.n_classes:
            raise ValueError(f"action must be 0 (nothing) or a class index 1..{self.n_classes}, got {action}")
        self._action[0] = action
        score_frames(self._action, self.table, self._weights, self.hop_s, self._state, self._terms)
        self._frame_terms.append(self._terms[0].copy())
        return dict(zip(TERM_NAMES, self._terms[0].tolist()))

    def finish(self) -> dict[str, float]:
        """End the stream (episode end): misses of started events whose window is still open."""
        if self._finish_terms is None:
            self._finish_terms = np.zeros(N_TERMS)
            score_finish(self.table, self._weights, self._state, self._finish_terms)
        return dict(zip(TERM_NAMES, self._finish_terms.tolist()))

    @property
    def counts(self) -> dict[str, int]:
        return dict(zip(COUNT_NAMES, self._state.counts.tolist()))

    def result(self) -> ScoreResult:
        """The episode so far as a :class:`ScoreResult` (finish terms zero until :meth:`finish`)."""
        frames = np.array(self._frame_terms).reshape(-1, N_TERMS)
        finish = self._finish_terms if self._finish_terms is not None else np.zeros(N_TERMS)
        return _result(frames, finish.copy(), self._state)


def _result(frame_terms: NDArray[np.float64], finish_terms: NDArray[np.float64], state: ScorerState) -> ScoreResult:
    latencies = state.latency_s[~np.isnan(state.latency_s)]
    return ScoreResult(frame_terms, finish_terms, dict(zip(COUNT_NAMES, state.counts.tolist())), latencies)


def _checked_actions(actions: ArrayLike, n_classes: int, ndim: int) -> NDArray[np.int64]:
    array = np.asarray(actions)
    if array.ndim != ndim or not np.issubdtype(array.dtype, np.integer):
        shape = "[T]" if ndim == 1 else "[G, T]"
        raise ValueError(f"actions must be an integer array {shape}, got dtype {array.dtype} shape {array.shape}")
    array = np.ascontiguousarray(array, dtype=np.int64)
    if array.size and (array.min() < 0 or array.max() > n_classes):
        raise ValueError(f"actions must be 0 (nothing) or a class index 1..{n_classes}, got values in [{array.min()}, {array.max()}]")
    return array


def score(
    actions: ArrayLike, events: Sequence[AudioEvent], classes: Sequence[str], hop_s: float = 0.01,
    weights: AudioRewardWeights | None = None,
) -> ScoreResult:
    """Score a whole episode of actions int[T], then :meth:`StreamingScorer.finish`; same kernel as ``step``."""
    table = event_table(events, classes, hop_s)
    array = _checked_actions(actions, len(classes), ndim=1)
    state = new_state(len(table.event_class))
    weight_array = (weights or AudioRewardWeights()).as_array()
    frame_terms = np.empty((array.shape[0], N_TERMS))
    finish_terms = np.empty(N_TERMS)
    score_frames(array, table, weight_array, float(hop_s), state, frame_terms)
    score_finish(table, weight_array, state, finish_terms)
    return _result(frame_terms, finish_terms, state)


class BatchScoreResult(NamedTuple):
    """G episodes of one event list (e.g. G genomes on the same clip)."""

    total_terms: NDArray[np.float64]
    """[G, 4] summed reward terms, finish included, :data:`TERM_NAMES` order."""
    counts: NDArray[np.int64]
    """[G, 5] in :data:`COUNT_NAMES` order."""
    latency_s: NDArray[np.float64]
    """[G, E] latency per event (events sorted by onset), NaN where not hit or a distractor."""


def score_batch(
    actions: ArrayLike, events: Sequence[AudioEvent], classes: Sequence[str], hop_s: float = 0.01,
    weights: AudioRewardWeights | None = None,
) -> BatchScoreResult:
    """Score actions int[G, T] against one event list; row g equals ``score(actions[g], ...)`` summed."""
    table = event_table(events, classes, hop_s)
    array = _checked_actions(actions, len(classes), ndim=2)
    n_genomes, n_events = array.shape[0], len(table.event_class)
    totals = np.zeros((n_genomes, N_TERMS))
    counts = np.zeros((n_genomes, N_COUNTS), np.int64)
    latency_s = np.full((n_genomes, n_events), np.nan)
    _score_batch_kernel(array, table, (weights or AudioRewardWeights()).as_array(), float(hop_s), totals, counts, latency_s)
    return BatchScoreResult(totals, counts, latency_s)


def event_metrics(results: ScoreResult | Sequence[ScoreResult], audio_seconds: float) -> dict[str, float]:
    """Event-level metrics pooled over episodes.

    precision = hits / (hits + false alarms + wrong class) — every trigger that scored, right or
    wrong; recall = hits / (hits + misses); F1 their harmonic mean (0 where a denominator is 0);
    false alarms per hour of ``audio_seconds``; median latency (s, NaN without hits); the counts.
    """
    if isinstance(results, ScoreResult):
        results = [results]
    if not audio_seconds > 0:
        raise ValueError(f"audio_seconds must be > 0, got {audio_seconds}")
    counts = {name: sum(r.counts[name] for r in results) for name in COUNT_NAMES}
    hits = counts["hits"]
    detections = hits + counts["false_alarms"] + counts["wrong_class"]
    precision = hits / detections if detections else 0.0
    recall = hits / (hits + counts["misses"]) if hits + counts["misses"] else 0.0
    latencies = np.concatenate([r.latencies_s for r in results]) if results else np.zeros(0)
    return {
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "precision": precision,
        "recall": recall,
        "false_alarms_per_hour": counts["false_alarms"] * 3600.0 / audio_seconds,
        "median_latency_s": float(np.median(latencies)) if latencies.size else math.nan,
        "events": hits + counts["misses"],
        **{name: float(value) for name, value in counts.items()},
    }


STREAM_REFERENCE_S = 1200.0
"""The stream length misses and false alarms are counted per: 20 minutes, as in MLPerf Tiny's
streaming wake-word benchmark (which reports them over one ~20-minute continuous stream)."""


def stream_metrics(result: ScoreResult, audio_seconds: float) -> dict[str, float]:
    """:func:`event_metrics` of one continuous stream, plus its misses and false alarms per 20 minutes.

    ``misses_per_20_min`` and ``false_alarms_per_20_min`` are the counts scaled to
    :data:`STREAM_REFERENCE_S` (equal to the counts over a 20-minute stream); ``stream_minutes``
    is the stream's length.
    """
    metrics = event_metrics(result, audio_seconds)
    scale = STREAM_REFERENCE_S / audio_seconds
    return {**metrics, "stream_minutes": audio_seconds / 60.0,
            "misses_per_20_min": metrics["misses"] * scale,
            "false_alarms_per_20_min": metrics["false_alarms"] * scale}
