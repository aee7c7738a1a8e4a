"""How separable the smoke alarm is with each audio front end: the same MLP on mel or on PCEN band features.

    python benchmarks/audio_front_ends.py [--train-clips 8] [--valid-clips 4] [--test-clips 6] [--quick]

Clips of the bundled soundscapes (kitchen, street, office; 60 s each) are rendered once; every
front end turns the same audio into features. The MLP baseline of ``benchmarks/audio_baselines.py``
(5 stacked frames -> 32 ReLU -> 1, hysteresis fitted for event F1) trains on seeds from 10,000
and is scored on validation seeds from 20,000 (the bundled backgrounds: what the front end's
parameters are chosen on) and on test seeds 0.. with the bundled backgrounds and with speech
babble (needs espeak-ng; evolution never hears babble). Prints event F1 and the frame-level ROC
AUC of the MLP's output (threshold-free separability), and each front end's MACs per frame.
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import replace

import numpy as np

from spikefly.envs.audio_env import FEATURE_HIGH, FEATURE_LOW, _soundscape, clip_seed, front_end_from_setting, hop_s
from spikefly.envs.audio.scoring import event_metrics, score
from spikefly.envs.audio.soundscape_render import render_clip
from spikefly.evolution.baselines.audio import MLPDetector, frame_labels

WORLDS = ("kitchen", "street", "office")
VARIANTS = {
    "mel (gain control)": "mel",
    "bands, PCEN tau 0.4 s": {"kind": "bands", "pcen_time_constant_s": 0.4},
    "bands, PCEN tau 1 s": {"kind": "bands", "pcen_time_constant_s": 1.0},
    "bands, PCEN tau 2 s (default)": {"kind": "bands", "pcen_time_constant_s": 2.0},
    "bands, PCEN tau 1 s, alpha 0.9": {"kind": "bands", "pcen_time_constant_s": 1.0, "pcen_alpha": 0.9},
    "bands, raw log energy": {"kind": "bands", "pcen_alpha": 0.0, "pcen_delta": 0.0, "pcen_root": 1.0},
}


def render(seeds: range, backgrounds: list[str] | None):
    """(audio, events, classes) of every (world, seed)."""
    out = []
    for world in WORLDS:
        soundscape = _soundscape(world)
        for seed in seeds:
            clip = render_clip(soundscape, np.random.default_rng(clip_seed(seed)), backgrounds=backgrounds)
            out.append((clip.audio, clip.events, soundscape.target))
    return out


def features_of(front_end, clips, log_raw: bool):
    """(features, scorer-aligned events, classes) per clip, as the env's ``episode`` makes them."""
    offset = front_end.frame_times_s(1)[0]
    out = []
    for audio, events, classes in clips:
        raw = front_end.features(audio)
        features = np.log(np.maximum(raw, 1e-12)) if log_raw else raw
        features = np.clip(features, FEATURE_LOW if not log_raw else -30.0, FEATURE_HIGH).astype(np.float32)
        aligned = tuple(replace(e, onset_s=max(e.onset_s - offset, 0.0), offset_s=max(e.offset_s - offset, 0.0)) for e in events)
        out.append((features, aligned, classes))
    return out


def frame_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance a target frame scores above a non-target frame."""
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    positives = labels > 0.5
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / max(n_pos * n_neg, 1))


def judge(detector: MLPDetector, episodes, target: str) -> tuple[float, float, float]:
    """Event F1, false alarms per hour and frame AUC of ``detector`` on ``episodes``."""
    scored = [score(detector.predict(f), e, c, hop_s()) for f, e, c in episodes]
    metrics = event_metrics(scored, sum(len(f) for f, _, _ in episodes) * hop_s())
    probabilities = np.concatenate([detector.probabilities(f) for f, _, _ in episodes])
    labels = np.concatenate([frame_labels(e, target, len(f)) for f, e, _ in episodes])
    return metrics["f1"], metrics["false_alarms_per_hour"], frame_auc(probabilities, labels)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-clips", type=int, default=8, help="training clips per soundscape")
    parser.add_argument("--valid-clips", type=int, default=4, help="validation clips per soundscape")
    parser.add_argument("--test-clips", type=int, default=6, help="test clips per soundscape and condition")
    parser.add_argument("--quick", action="store_true", help="1 clip each and two front ends (a smoke run)")
    args = parser.parse_args(argv)
    variants = dict(list(VARIANTS.items())[:2]) if args.quick else VARIANTS
    counts = (1, 1, 1) if args.quick else (args.train_clips, args.valid_clips, args.test_clips)
    started = time.perf_counter()
    sets = {
        "train": render(range(10_000, 10_000 + counts[0]), None),
        "valid": render(range(20_000, 20_000 + counts[1]), None),
        "test": render(range(counts[2]), None),
    }
    if shutil.which("espeak-ng"):
        sets["test, speech babble"] = render(range(counts[2]), ["speech_babble"])
    print(f"rendered {sum(map(len, sets.values()))} clips of 60 s in {time.perf_counter() - started:.0f} s")
    names = [name for name in sets if name != "train"]
    print("| front end | MACs per frame | " + " | ".join(f"{n}: F1 / FA per h / frame AUC" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for label, setting in variants.items():
        front_end = front_end_from_setting(setting)
        log_raw = front_end.kind == "bands" and front_end.pcen_alpha == 0.0
        episodes = {name: features_of(front_end, clips, log_raw) for name, clips in sets.items()}
        target = episodes["train"][0][2][0]
        detector = MLPDetector(target).fit([f for f, _, _ in episodes["train"]], [e for _, e, _ in episodes["train"]])
        cells = [judge(detector, episodes[name], target) for name in names]
        print(f"| {label} | {front_end.cost_per_frame()['macs']:,} | "
              + " | ".join(f"{f1:.3f} / {fa:.0f} / {auc:.4f}" for f1, fa, auc in cells) + " |", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
