"""The streaming detection scorer: the MLPerf-Tiny-style rules, step/score/batch agreement, metrics."""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikefly.envs.audio.scoring import (
    COUNT_NAMES,
    TERM_NAMES,
    AudioRewardWeights,
    StreamingScorer,
    event_metrics,
    score,
    score_batch,
)

HOP_S = 0.01


class Event(NamedTuple):
    onset_s: float
    offset_s: float
    label: str


SMOKE = Event(1.0, 2.0, "smoke")  # frames 100..200; window closes at frame 250, grace at frame 300


def actions_with(n_frames: int, *runs: tuple[int, int, int]) -> np.ndarray:
    """int64[n_frames] of zeros with ``(first_frame, last_frame, action)`` runs set (inclusive)."""
    actions = np.zeros(n_frames, np.int64)
    for first, last, action in runs:
        actions[first : last + 1] = action
    return actions


def terms_at(result, frame: int) -> dict[str, float]:
    return dict(zip(TERM_NAMES, result.frame_terms[frame].tolist()))


def test_trigger_at_onset_is_a_hit_with_full_latency_bonus() -> None:
    result = score(actions_with(400, (100, 110, 1)), [SMOKE], ("smoke",), HOP_S)
    assert result.counts == {"hits": 1, "misses": 0, "false_alarms": 0, "wrong_class": 0, "distractor_false_alarms": 0}
    assert terms_at(result, 100) == {"hit": 1.5, "false_alarm": 0.0, "miss": 0.0, "wrong_class": 0.0}
    assert result.latencies_s.tolist() == [0.0]
    assert result.total == 1.5


def test_latency_bonus_falls_linearly() -> None:
    result = score(actions_with(400, (130, 140, 1)), [SMOKE], ("smoke",), HOP_S)  # 0.3 s late
    assert result.frame_terms[130, 0] == pytest.approx(1.0 + 0.5 * (1 - 0.3 / 1.0))
    assert result.latencies_s == pytest.approx([0.3])
    weights = AudioRewardWeights(hit_reward=2.0, latency_bonus=1.0, latency_scale_s=0.5)
    result = score(actions_with(400, (130, 140, 1)), [SMOKE], ("smoke",), HOP_S, weights)
    assert result.frame_terms[130, 0] == pytest.approx(2.0 + 1.0 * (1 - 0.3 / 0.5))


def test_hit_window_ends_half_a_second_after_the_event() -> None:
    late = score(actions_with(400, (250, 260, 1)), [SMOKE], ("smoke",), HOP_S)  # end + 0.5 s: still a hit
    assert late.counts["hits"] == 1 and late.counts["false_alarms"] == 0
    assert late.frame_terms[250, 0] == 1.0  # latency 1.5 s: no bonus left
    too_late = score(actions_with(400, (251, 260, 1)), [SMOKE], ("smoke",), HOP_S)  # end + 0.51 s
    assert too_late.counts == {"hits": 0, "misses": 1, "false_alarms": 1, "wrong_class": 0, "distractor_false_alarms": 0}


def test_trigger_at_end_plus_0_6_s_is_a_false_alarm_unless_the_event_was_detected() -> None:
    undetected = score(actions_with(400, (260, 270, 1)), [SMOKE], ("smoke",), HOP_S)
    assert undetected.counts["false_alarms"] == 1 and undetected.counts["misses"] == 1
    assert terms_at(undetected, 260)["false_alarm"] == -1.0
    detected = score(actions_with(400, (100, 110, 1), (260, 270, 1)), [SMOKE], ("smoke",), HOP_S)
    assert detected.counts["false_alarms"] == 0 and detected.counts["hits"] == 1
    assert not detected.frame_terms[260].any()


def test_grace_ends_one_second_after_a_detected_event() -> None:
    at_edge = score(actions_with(400, (100, 110, 1), (300, 310, 1)), [SMOKE], ("smoke",), HOP_S)  # end + 1.0 s
    assert at_edge.counts["false_alarms"] == 0
    past_edge = score(actions_with(400, (100, 110, 1), (301, 310, 1)), [SMOKE], ("smoke",), HOP_S)  # end + 1.01 s
    assert past_edge.counts["false_alarms"] == 1 and past_edge.frame_terms[301, 1] == -1.0


def test_repeat_triggers_inside_a_detected_event_score_nothing() -> None:
    actions = actions_with(400, (100, 105, 1), (150, 155, 1), (199, 199, 1), (240, 241, 1), (280, 290, 1))
    result = score(actions, [SMOKE], ("smoke",), HOP_S)
    assert result.counts["hits"] == 1 and result.counts["false_alarms"] == 0
    assert result.total == 1.5


def test_held_action_is_one_trigger() -> None:
    result = score(actions_with(1000, (100, 900, 1)), [SMOKE], ("smoke",), HOP_S)
    assert result.counts == {"hits": 1, "misses": 0, "false_alarms": 0, "wrong_class": 0, "distractor_false_alarms": 0}
    held_from_before = score(actions_with(1000, (50, 900, 1)), [SMOKE], ("smoke",), HOP_S)
    assert held_from_before.counts["false_alarms"] == 1 and held_from_before.counts["misses"] == 1


def test_a_change_of_class_is_a_trigger() -> None:
    result = score(actions_with(400, (100, 150, 1), (151, 160, 2)), [SMOKE], ("smoke", "co"), HOP_S)
    assert result.counts["hits"] == 1 and result.counts["wrong_class"] == 1


def test_miss_is_scored_when_the_window_closes() -> None:
    result = score(np.zeros(400, np.int64), [SMOKE], ("smoke",), HOP_S)
    assert result.frame_terms[250].tolist() == [0.0, 0.0, -1.0, 0.0]
    assert np.count_nonzero(result.frame_terms) == 1 and not result.finish_terms.any()
    scorer = StreamingScorer([SMOKE], ("smoke",), HOP_S)
    assert [scorer.step(0)["miss"] for _ in range(251)][-2:] == [0.0, -1.0]


def test_finish_scores_misses_of_events_still_open_and_ignores_unstarted_ones() -> None:
    events = [SMOKE, Event(3.0, 4.0, "smoke")]  # the second starts after the last frame (199)
    result = score(np.zeros(200, np.int64), events, ("smoke",), HOP_S)
    assert not result.frame_terms.any()
    assert result.finish_terms.tolist() == [0.0, 0.0, -1.0, 0.0]
    assert result.counts["misses"] == 1
    scorer = StreamingScorer(events, ("smoke",), HOP_S)
    for _ in range(200):
        scorer.step(0)
    assert scorer.finish() == {"hit": 0.0, "false_alarm": 0.0, "miss": -1.0, "wrong_class": 0.0}
    with pytest.raises(RuntimeError, match="new StreamingScorer"):
        scorer.step(0)


def test_trigger_during_a_distractor_is_a_false_alarm() -> None:
    co_alarm = Event(1.0, 2.0, "co_alarm")
    result = score(actions_with(400, (150, 160, 1)), [co_alarm], ("smoke",), HOP_S)
    assert result.counts == {"hits": 0, "misses": 0, "false_alarms": 1, "wrong_class": 0, "distractor_false_alarms": 1}
    assert result.total == -1.0


def test_wrong_class_is_charged_once_per_event() -> None:
    actions = actions_with(400, (120, 125, 2), (140, 145, 2), (160, 170, 1))
    result = score(actions, [SMOKE], ("smoke", "co"), HOP_S)
    assert result.counts == {"hits": 1, "misses": 0, "false_alarms": 0, "wrong_class": 1, "distractor_false_alarms": 0}
    assert result.frame_terms[120, 3] == -0.5 and not result.frame_terms[140].any()
    assert result.frame_terms[160, 0] == pytest.approx(1.0 + 0.5 * 0.4)


def test_bad_inputs_fail_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"class index 1\.\.1"):
        score(np.array([0, 2]), [SMOKE], ("smoke",))
    with pytest.raises(ValueError, match="integer array"):
        score(np.zeros(5), [SMOKE], ("smoke",))
    with pytest.raises(ValueError, match="onset_s <= offset_s"):
        score(np.zeros(5, np.int64), [Event(2.0, 1.0, "smoke")], ("smoke",))
    with pytest.raises(TypeError, match=r"\('smoke',\)"):
        StreamingScorer([SMOKE], "smoke")
    with pytest.raises(ValueError, match="unknown audio reward weight.*hit_bonus"):
        AudioRewardWeights.from_mapping({"hit_bonus": 1.0})


def reference_score(
    actions: np.ndarray, events: list[Event], classes: tuple[str, ...], weights: AudioRewardWeights
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """The module docstring's rules, written out directly: (frame terms [T, 4], finish terms [4], counts)."""
    order = sorted(range(len(events)), key=lambda i: (events[i].onset_s, events[i].offset_s, i))
    ev = [events[i] for i in order]
    cls = [classes.index(e.label) + 1 if e.label in classes else 0 for e in ev]
    first = [math.ceil(e.onset_s / HOP_S - 1e-6) for e in ev]
    window_end = [math.floor((e.offset_s + 0.5) / HOP_S + 1e-6) for e in ev]
    grace_end = [math.floor((e.offset_s + 1.0) / HOP_S + 1e-6) for e in ev]
    detected, charged, miss_scored = [False] * len(ev), [False] * len(ev), [False] * len(ev)
    counts = dict.fromkeys(COUNT_NAMES, 0)
    terms = np.zeros((len(actions), 4))
    previous = 0
    for t, a in enumerate(actions.tolist()):
        if a != 0 and a != previous:
            in_window = [e for e in range(len(ev)) if first[e] <= t <= window_end[e]]
            hit = [e for e in in_window if cls[e] == a and not detected[e]]
            repeat = [e for e in range(len(ev)) if cls[e] == a and detected[e] and first[e] <= t <= grace_end[e]]
            other = [e for e in in_window if cls[e] not in (0, a)]
            if hit:
                e = hit[0]
                detected[e] = True
                latency = max(0.0, t * HOP_S - ev[e].onset_s)
                counts["hits"] += 1
                terms[t, 0] += weights.hit_reward + weights.latency_bonus * max(0.0, 1 - latency / weights.latency_scale_s)
            elif repeat:
                pass
            elif other:
                uncharged = [e for e in other if not charged[e]]
                if uncharged:
                    charged[uncharged[0]] = True
                    counts["wrong_class"] += 1
                    terms[t, 3] -= weights.wrong_class_penalty
            else:
                counts["false_alarms"] += 1
                terms[t, 1] -= weights.false_alarm_penalty
                counts["distractor_false_alarms"] += any(cls[e] == 0 for e in in_window)
        for e in range(len(ev)):
            if cls[e] and window_end[e] == t and not detected[e]:
                miss_scored[e] = True
                counts["misses"] += 1
                terms[t, 2] -= weights.miss_penalty
        previous = a
    finish = np.zeros(4)
    for e in range(len(ev)):
        if cls[e] and not detected[e] and not miss_scored[e] and first[e] < len(actions):
            counts["misses"] += 1
            finish[2] -= weights.miss_penalty
    return terms, finish, counts


event_lists = st.lists(
    st.builds(
        lambda onset, duration, label: Event(onset, onset + duration, label),
        st.floats(0.0, 6.0), st.floats(0.0, 2.0), st.sampled_from(["smoke", "co", "speech"]),
    ),
    max_size=6,
)
action_runs = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 80)), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(events=event_lists, runs=action_runs, two_classes=st.booleans())
def test_step_score_batch_and_the_written_rules_agree(events: list[Event], runs: list[tuple[int, int]], two_classes: bool) -> None:
    classes = ("smoke", "co") if two_classes else ("smoke",)
    actions = np.concatenate([np.full(length, value % (len(classes) + 1), np.int64) for value, length in runs])
    weights = AudioRewardWeights(latency_bonus=0.7, wrong_class_penalty=0.3)

    result = score(actions, events, classes, HOP_S, weights)
    scorer = StreamingScorer(events, classes, HOP_S, weights)
    stepped = np.array([list(scorer.step(a).values()) for a in actions.tolist()])
    finished = np.array(list(scorer.finish().values()))
    np.testing.assert_array_equal(stepped, result.frame_terms)
    np.testing.assert_array_equal(finished, result.finish_terms)
    assert scorer.counts == result.counts
    np.testing.assert_array_equal(scorer.result().latencies_s, result.latencies_s)

    expected_terms, expected_finish, expected_counts = reference_score(actions, events, classes, weights)
    np.testing.assert_allclose(result.frame_terms, expected_terms, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(result.finish_terms, expected_finish)
    assert result.counts == expected_counts

    batch = score_batch(np.stack([actions, np.zeros_like(actions)]), events, classes, HOP_S, weights)
    np.testing.assert_allclose(batch.total_terms[0], result.frame_terms.sum(axis=0) + result.finish_terms, atol=1e-12)
    assert batch.counts[0].tolist() == [result.counts[name] for name in COUNT_NAMES]
    assert batch.total_terms[1].tolist() == list(score(np.zeros_like(actions), events, classes, HOP_S, weights).total_terms.values())
    np.testing.assert_array_equal(np.sort(batch.latency_s[0][~np.isnan(batch.latency_s[0])]), np.sort(result.latencies_s))


def test_event_metrics_on_a_hand_built_case() -> None:
    events = [Event(10.0, 11.0, "smoke"), Event(20.0, 21.0, "smoke"), Event(30.0, 31.0, "smoke"), Event(40.0, 41.0, "smoke")]
    # Clip 1: hits at 10.0 s (latency 0) and 20.2 s (0.2 s), a false alarm at 15 s, misses at 30 s and 40 s.
    first = actions_with(5000, (1000, 1010, 1), (2020, 2030, 1), (1500, 1510, 1))
    # Clip 2 (first event only): a hit at 10.4 s (0.4 s), a false alarm at 5 s, class 2 at 10.6 s inside the event.
    second = actions_with(3000, (1040, 1050, 1), (500, 510, 1), (1060, 1070, 2))
    results = [score(first, events, ("smoke", "co"), HOP_S), score(second, events[:1], ("smoke", "co"), HOP_S)]
    metrics = event_metrics(results, audio_seconds=1800.0)
    assert (metrics["hits"], metrics["misses"], metrics["false_alarms"], metrics["wrong_class"]) == (3, 2, 2, 1)
    assert metrics["precision"] == pytest.approx(3 / 6)  # wrong class counts as a wrong detection
    assert metrics["recall"] == pytest.approx(3 / 5)
    assert metrics["f1"] == pytest.approx(2 * 0.5 * 0.6 / 1.1)
    assert metrics["false_alarms_per_hour"] == pytest.approx(4.0)
    assert metrics["median_latency_s"] == pytest.approx(0.2)
    assert metrics["events"] == 5


def test_event_metrics_without_detections_or_events() -> None:
    silent = score(np.zeros(100, np.int64), [], ("smoke",), HOP_S)
    metrics = event_metrics(silent, audio_seconds=1.0)
    assert metrics["f1"] == 0.0 and metrics["false_alarms_per_hour"] == 0.0 and math.isnan(metrics["median_latency_s"])


def test_scoring_is_fast_enough_for_evolution() -> None:
    """150 genomes x a 60 s episode of random actions (a trigger every ~4 frames, the worst case)."""
    rng = np.random.default_rng(0)
    events = [Event(onset, onset + rng.uniform(0.5, 4.0), rng.choice(["smoke", "co"])) for onset in np.sort(rng.uniform(0, 58, 20))]
    actions = rng.integers(0, 2, (150, 6000))
    score_batch(actions[:1], events, ("smoke",))  # compile
    score(actions[0], events, ("smoke",))
    start = time.perf_counter()
    score_batch(actions, events, ("smoke",))
    batch_s = time.perf_counter() - start
    start = time.perf_counter()
    for row in actions[:50]:
        score(row, events, ("smoke",))
    single_s = (time.perf_counter() - start) / 50
    assert batch_s / 150 < 1e-3 and single_s < 1e-3, (batch_s / 150, single_s)  # measured ~0.02 and ~0.04 ms
