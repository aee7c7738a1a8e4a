"""The evolved spiking detector beside two non-spiking baselines, scored by the same scorer.

    python benchmarks/audio_baselines.py CONTROLLER [--clips 60] [--train-clips 40] [--board nrf52840]
                                        [--world NAME ...] [--snr LOW HIGH] [--background NAME]

Clips ``0 .. clips-1`` of every test soundscape (``--world``, default: the soundscapes the
controller was evolved on, e.g. the held-out ``heldout_babble`` or ``heldout_music`` instead) are
the test set (the seeds ``spikefly evaluate`` uses; evolution never sees seeds this small); the
baselines train on seeds from ``10_000`` up of the controller's training soundscapes, as it did.
Baselines:

- **MLP** (numpy): 5 stacked frames of the same 32 gain-controlled features -> 32 ReLU -> 1,
  with a hysteresis threshold fitted on training clips for event F1;
- **Goertzel**: narrow-band power at the smoke-alarm tones on the raw audio, the classic rule.

Prints a markdown table: event F1, precision, recall, false alarms per hour, median latency,
and energy per hour on the board (the front end's fixed cost included where a method uses it).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from spikefly.controllers import load
from spikefly.controllers.cost_model import arithmetic_cost, dense_ann_cost
from spikefly.envs.audio_env import AudioSettings, _soundscape, clip_seed, episode, hop_s
from spikefly.envs.audio.scoring import event_metrics, score
from spikefly.envs.audio.soundscape_render import render_clip
from spikefly.evolution.baselines.audio import GoertzelDetector, MLPDetector
from spikefly.evolution.evaluate import board_costs, evaluate_audio

WORLDS = ("kitchen", "street", "office")
"""Training soundscapes of a controller file that does not name its own."""
TRAIN_SEED = 10_000


def clips(worlds, seeds: range, settings: AudioSettings):
    """(episode, raw clip) pairs: the episode's features and aligned events, and the clip's audio."""
    pairs = []
    for world in worlds:
        soundscape = _soundscape(world)
        for seed in seeds:
            raw = render_clip(soundscape, np.random.default_rng(clip_seed(seed)), duration_s=settings.duration_s,
                                    snr_db=settings.snr_db,
                                    backgrounds=list(settings.backgrounds) if settings.backgrounds else None)
            pairs.append((episode(world, seed, settings), raw))
    return pairs


def per_hour_j(report) -> float:
    return report.power_w * 3600.0


CONDITIONS = {
    "rooms": ({}, None),
    "stationary": ({"backgrounds": ["pink_noise", "hvac", "mains_hum"]}, None),
    "babble": ({}, ["heldout_babble"]),
    "music": ({}, ["heldout_music"]),
    "tv": ({}, ["heldout_tv"]),
    "low-snr": ({"snr_db": [-6.0, 0.0]}, None),
    "no-alarm": ({}, ["heldout_no_alarm"]),
}
"""``--conditions``: (env overrides, test soundscapes or None for ``--world``'s) of each named condition:
the training rooms as bundled; their events over stationary noise only; held-out recordings of
speech babble, music and TV (languages, songs and sounds no training soundscape plays); every
event at -6 to 0 dB; a babble room with distractors and no alarm (false alarms only)."""


def condition_rows(spec, worlds, clip_count: int, overrides: dict, board: str, mlp, goertzel) -> tuple[list, float]:
    """The three methods' (name, metrics, energy per hour, size) on ``clip_count`` clips of each of ``worlds``."""
    test_settings = AudioSettings.from_kwargs(**{**spec.env_settings, **overrides})
    test = clips(worlds, range(clip_count), test_settings)
    audio_s = sum(raw.duration_s for _, raw in test)
    rate = 1.0 / hop_s()
    features = test_settings.front_end  # the one the controller was evolved with (mel when its file has no key)
    front_end = arithmetic_cost(features.cost_per_frame()["macs"], board, rate)
    report = evaluate_audio(spec, list(worlds), clip_count, 0, overrides)
    cost = board_costs(spec, report, [board])[board]
    rows = [("evolved LIF (spikefly)", report["summary"], cost["per_hour_j"],
             f"{spec.network.n_neurons} neurons, {spec.network.n_synapses} synapses")]
    scored = [score(mlp.predict(ep.features), ep.events, ep.classes, hop_s()) for ep, _ in test]
    layers = [mlp.settings.context_frames * features.bands, mlp.settings.hidden_units, 1]
    energy = per_hour_j(dense_ann_cost(layers, board, rate)) + per_hour_j(front_end)
    rows.append(("MLP on the same features", event_metrics(scored, audio_s), energy, f"{mlp.parameter_count} parameters"))
    scored = []
    for ep, raw in test:  # a Goertzel frame t covers samples [160 t, 160 t + 160): complete at (t + 1) hop
        events = [replace(e, onset_s=e.onset_s - hop_s(), offset_s=e.offset_s - hop_s()) for e in raw.events]
        scored.append(score(goertzel.predict(raw), events, ep.classes, hop_s()))
    energy = per_hour_j(arithmetic_cost(goertzel.ops_per_frame()["macs"], board, rate))
    rows.append(("Goertzel band rule (raw audio)", event_metrics(scored, audio_s), energy, "no front end"))
    return rows, audio_s


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("controller", help="an evolved audio controller (champion.json)")
    parser.add_argument("--clips", type=int, default=60, help="test clips per soundscape (default 60: one hour in all)")
    parser.add_argument("--train-clips", type=int, default=40, help="baseline training clips per soundscape")
    parser.add_argument("--board", default="nrf52840")
    parser.add_argument("--world", nargs="+", dest="worlds", metavar="NAME",
                        help="test soundscapes (default: the controller's training soundscapes)")
    parser.add_argument("--snr", nargs=2, type=float, metavar=("LOW_DB", "HIGH_DB"))
    parser.add_argument("--background", action="append", dest="backgrounds")
    parser.add_argument("--conditions", nargs="+", choices=list(CONDITIONS), metavar="NAME",
                        help=f"a table of every method under each named condition instead ({', '.join(CONDITIONS)}); "
                        "--clips is then per soundscape of each condition")
    args = parser.parse_args(argv)

    overrides = {key: value for key, value in (("snr_db", args.snr), ("backgrounds", args.backgrounds)) if value}
    spec = load(args.controller)
    trained_on = list(spec.metadata.get("worlds") or WORLDS)
    worlds = args.worlds or trained_on
    train = clips(trained_on, range(TRAIN_SEED, TRAIN_SEED + args.train_clips), AudioSettings.from_kwargs(**spec.env_settings))
    target = train[0][0].classes[0]
    mlp = MLPDetector(target).fit([ep.features for ep, _ in train], [ep.events for ep, _ in train])
    goertzel = GoertzelDetector(target).fit([raw for _, raw in train])
    header = "| method | event F1 | precision | recall | false alarms / h | median latency (s) | energy per hour (J) | size |"
    if args.conditions:
        print(f"baselines trained on {args.train_clips} clips of each of {', '.join(trained_on)}; {args.clips} test clips "
              f"per soundscape; energy on {args.board}\n")
        print("| condition | method | event F1 | false alarms / h | misses / 20 min | false alarms / 20 min | median latency (s) |")
        print("|---|---|---|---|---|---|---|")
        for name in args.conditions:
            extra, condition_worlds = CONDITIONS[name]
            rows, audio_s = condition_rows(spec, condition_worlds or worlds, args.clips, {**overrides, **extra}, args.board,
                                           mlp, goertzel)
            for method, metrics, _, _ in rows:
                per_20 = 1200.0 / audio_s
                print(f"| {name} | {method} | {metrics['f1']:.3f} | {metrics['false_alarms_per_hour']:.1f} | "
                      f"{metrics['misses'] * per_20:.1f} | {metrics['false_alarms'] * per_20:.1f} | "
                      f"{metrics['median_latency_s']:.2f} |", flush=True)
        return
    rows, audio_s = condition_rows(spec, worlds, args.clips, overrides, args.board, mlp, goertzel)
    condition = ", ".join(f"{k} {v}" for k, v in overrides.items()) or "bundled SNR (0-15 dB for targets)"
    print(f"{args.clips * len(worlds)} test clips of {', '.join(worlds)}, {audio_s / 3600:.2f} h of audio; {condition}; "
          f"baselines trained on {', '.join(trained_on)}; energy on {args.board}")
    print(header)
    print("|---|---|---|---|---|---|---|---|")
    for name, metrics, energy, size in rows:
        print(f"| {name} | {metrics['f1']:.3f} | {metrics['precision']:.3f} | {metrics['recall']:.3f} | "
              f"{metrics['false_alarms_per_hour']:.1f} | {metrics['median_latency_s']:.2f} | {energy:.3f} | {size} |")


if __name__ == "__main__":
    main()
