"""Seconds to render a 20 s flight's review video at 640x480, against real time and a camera-only floor.

    python benchmarks/render.py [--world forest] [--controller champion.json --seed S] [--size 640x480]

Without ``--controller`` the flight is a spiking controller whose hidden neurons fire but whose
output neurons never do, so the drone hovers until the world's 20 s time limit: 600 control
steps, 600 frames. The floor renders only the chase camera (PyBullet TinyRenderer, the quarter-
size view the video uses) for the same 600 poses, nothing else; the ratio video/floor is what
composition and encoding add; the camera alone is also timed with TinyRenderer, the fallback where
PyBullet's EGL plugin does not load. Recording (flying the episode) is timed apart: it is not rendering.
Absolute figures move 2x on a shared machine; the ratios, measured in the same run, are steadier.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from spikefly.controllers import ControllerSpec, DirectEncoder, RateDecoder, load, random_network
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.envs.render.flight import _Scene, _yaw, render_flight
from spikefly.evolution.review.record import record_flight


def hovering_spec() -> ControllerSpec:
    """A controller with busy hidden neurons and silent outputs: every action is 0, the drone hovers."""
    space = observation_space(QuadrotorSettings())
    network = random_network(np.random.default_rng(1), space.shape[0], 16, 8, 0.3, weight_scale=1.0)
    threshold = network.threshold.copy()
    threshold[network.output_index] = np.float32(1e30)
    return ControllerSpec(network=dataclasses.replace(network, threshold=threshold), encoder=DirectEncoder(signed=True),
                          decoder=RateDecoder(signed_pairs=True), steps_per_action=8, observation_low=space.low,
                          observation_high=space.high, n_actions=4, env_id="spikefly/QuadrotorAvoid-v0",
                          board={"board": "stm32f405", "weight_bits": 8})


def camera_floor_s(recording, width: int, height: int, renderer: str) -> tuple[float, str]:
    """Seconds for the chase-camera images alone, one per control step, and the renderer that made them."""
    scene = _Scene(recording, renderer)
    try:
        started = time.perf_counter()
        for step in range(1, recording.steps + 1):
            position, quaternion = recording.position_m[step], recording.quaternion[step]
            scene.pose(position, quaternion)
            scene.image(scene.chase_camera(position, _yaw(quaternion), width // 2, height // 2))
        return time.perf_counter() - started, scene.renderer
    finally:
        scene.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="forest")
    parser.add_argument("--controller", help="a controller file (default: the hovering controller, a 20 s flight)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--renderer", choices=["auto", "egl", "tiny"], default="auto", help="chase-camera renderer of the video")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    spec = load(args.controller) if args.controller else hovering_spec()
    started = time.perf_counter()
    recording = record_flight(spec, args.world, args.seed)
    record_s = time.perf_counter() - started
    flight_s = float(recording.time_s[-1])
    floor_s, used = camera_floor_s(recording, width, height, args.renderer)
    tiny_s, _ = camera_floor_s(recording, width, height, "tiny")
    with tempfile.TemporaryDirectory() as folder:
        stats = render_flight(recording, Path(folder) / "flight.mp4", width, height, renderer=args.renderer)
    print(f"flight: {Path(args.world).stem}, seed {args.seed}, {recording.outcome} after {flight_s:.1f} s, "
          f"{recording.steps} control steps (recorded in {record_s:.2f} s)")
    print(f"video {width}x{height}: {stats.frames} frames at {stats.fps:g} fps rendered in {stats.seconds:.1f} s "
          f"({stats.seconds / stats.frames * 1e3:.1f} ms per frame) = {stats.seconds / flight_s:.2f} x real time")
    print(f"floor (chase camera only, {used} {width // 2}x{height // 2}): {floor_s:.1f} s "
          f"({floor_s / recording.steps * 1e3:.1f} ms per frame); video / floor = {stats.seconds / floor_s:.2f}")
    print(f"the same camera with TinyRenderer (the fallback): {tiny_s:.1f} s ({tiny_s / recording.steps * 1e3:.1f} ms per frame); "
          f"TinyRenderer / {used} = {tiny_s / floor_s:.2f}")


if __name__ == "__main__":
    main()
