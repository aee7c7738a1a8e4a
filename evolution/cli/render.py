"""``spikefly render``: record a controller's episode, then draw it as a review video.

Recording flies (or listens) exactly as ``spikefly evaluate`` does for the same world and seed
(:mod:`spikefly.evolution.review.record`); the video is drawn afterwards from the recorded arrays
(:mod:`spikefly.envs.render.flight`, :mod:`spikefly.envs.render.clip`). A saved recording (``.npz``)
can be drawn again without the controller.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import Any

from spikefly.core.outputs import check_output_file
from spikefly.evolution.cli.args import seed


def add_render_parser(commands) -> None:
    render = commands.add_parser(
        "render",
        help="fly (or listen with) a controller once and write a review video (.mp4 or .gif)",
        description="Record one episode of a controller (the same flight spikefly evaluate flies for that world and "
        "seed), then draw it offline: chase camera and top-down view of the PyBullet scene with the range rays "
        "coloured by distance, the goal and the flown path; the network's spike raster (inputs, hidden, outputs), the "
        "action bars and a heads-up line with time, speed, clearance, outcome and energy so far. The video plays at "
        "the control rate, in real time. Audio controllers: the clip's spectrogram with event windows, input spikes, "
        "raster and detections, with the clip as the sound track. Needs pip install \"spikefly[render]\".",
    )
    render.add_argument("controller", help="controller file (.json), or a recording (.npz) saved with --save-recording")
    render.add_argument("--world", metavar="NAME_OR_FILE", help="world to fly or soundscape to hear (default: the first it was trained on)")
    render.add_argument("--seed", type=seed, default=0, help="episode seed, as spikefly evaluate's episode seed (default: 0)")
    render.add_argument("--out", metavar="FILE", help="video file, .mp4 or .gif (default: <controller>-<world>-seed<S>.mp4)")
    render.add_argument("--size", default="640x480", metavar="WxH", help="frame size, multiples of 16 (default: 640x480)")
    render.add_argument("--save-recording", metavar="FILE.npz", help="also keep the recorded arrays (render them again without flying)")
    render.add_argument("--renderer", choices=["auto", "egl", "tiny"], default="auto",
                        help="chase camera: PyBullet's EGL plugin (faster), TinyRenderer (CPU), or auto: EGL if it loads (default)")
    render.add_argument("--no-audio", action="store_true", help="audio controllers: no sound track in the video")
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.add_argument("--json", action="store_true", help="print the result as JSON")
    render.set_defaults(run=run_render)


MIN_SIDE, MAX_SIDE = 160, 3840
"""Bounds of a video side in pixels (the panels need room; PyBullet's renderer aborts on huge frames)."""


def parse_size(text: str) -> tuple[int, int]:
    from spikefly.envs.render.video import RenderError

    match = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not match:
        raise RenderError(f"--size {text!r}: give WIDTHxHEIGHT, e.g. 640x480")
    width, height = int(match.group(1)), int(match.group(2))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE) or width % 16 or height % 16:
        raise RenderError(f"--size {text}: each side from {MIN_SIDE} to {MAX_SIDE} pixels, in multiples of 16. "
                          "Fix: e.g. --size 640x480 or 1280x720")
    return width, height


def run_render(args: argparse.Namespace) -> int:
    from spikefly.envs.render.recording import FlightRecording, load_recording, save_recording
    from spikefly.envs.render.draw import render_recording
    from spikefly.envs.render.flight import require_render_dependencies, video_kind

    require_render_dependencies()
    width, height = parse_size(args.size)
    for path, flag in ((args.out, "--out"), (args.save_recording, "--save-recording")):  # before any flying
        if path:
            check_output_file(path, flag)
    if args.out:
        video_kind(Path(args.out))
    source = Path(args.controller)
    if source.suffix.lower() == ".npz":
        recording = load_recording(source)
        stem = source.stem
    else:
        recording, stem = _record(args)
    out = Path(args.out) if args.out else Path(f"{stem}.mp4")
    if not args.out:  # the default name (.mp4) beside the controller: only its folder is left to check
        check_output_file(out)
    if args.save_recording:
        save_recording(recording, args.save_recording)
    stats = render_recording(recording, out, width, height, progress=not (args.quiet or args.json), renderer=args.renderer,
                             audio=not args.no_audio)
    if isinstance(recording, FlightRecording):
        result: dict[str, Any] = {"outcome": recording.outcome, "flight_s": float(recording.time_s[-1])}
    else:
        result = {"counts": recording.counts, "clip_s": recording.steps * recording.frame_s}
    result.update({"video": str(stats.path), "frames": stats.frames, "fps": stats.fps, "render_s": round(stats.seconds, 2),
                   "world": recording.world, "seed": recording.seed, "return": round(recording.total_return, 6)})
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if isinstance(recording, FlightRecording):
        what = f"{result['flight_s']:.1f} s of flight, {recording.outcome}"
    else:
        counts = recording.counts
        what = (f"{result['clip_s']:.1f} s of audio, {counts.get('hits', 0)} hits, {counts.get('misses', 0)} misses, "
                f"{counts.get('false_alarms', 0)} false alarms")
    print(f"wrote {stats.path}: {stats.frames} frames at {stats.fps:g} fps ({what}, return {recording.total_return:.2f}) "
          f"in {stats.seconds:.1f} s")
    return 0


def _record(args: argparse.Namespace):
    from spikefly.controllers import load
    from spikefly.envs.render.video import RenderError
    from spikefly.evolution.settings import EvolveSettings
    from spikefly.evolution.tasks import task_for

    spec = load(args.controller)
    task = task_for(spec.env_id)
    if task.review is None:
        raise RenderError(f"{args.controller}: the {task.name} task records no episodes to render")
    world = args.world or str((spec.metadata.get("worlds") or EvolveSettings.of_task(spec.env_id).worlds)[0])
    stem = f"{Path(args.controller).stem}-{Path(os.fspath(world)).stem}-seed{args.seed}"
    return task.review.record(spec, world, args.seed), stem


__all__ = ["add_render_parser", "run_render"]
