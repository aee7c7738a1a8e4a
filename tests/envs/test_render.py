"""Review videos as a user meets them: the recorded flight is evaluate's flight, the video plays in real time."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikefly.controllers import (
    ControllerSpec,
    DirectEncoder,
    LevelEncoder,
    RateDecoder,
    quantize,
    random_network,
    save,
)

from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.envs.render.recording import FlightRecording, load_recording, save_recording
from spikefly.evolution.cli.commands import main
from spikefly.evolution.evaluate import evaluate_audio, evaluate_controller
from spikefly.evolution.review.record import record_flight, record_listening, recording_controller

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason='needs pip install "spikefly[render]"')
pytest.importorskip("PIL")

def _flight_spec(seed: int = 5) -> ControllerSpec:
    space = observation_space(QuadrotorSettings())
    network = random_network(np.random.default_rng(seed), space.shape[0], 10, 8, 0.3, weight_scale=1.0)
    return ControllerSpec(network=network, encoder=DirectEncoder(signed=True), decoder=RateDecoder(signed_pairs=True),
                          steps_per_action=8, observation_low=space.low, observation_high=space.high, n_actions=4,
                          env_id="spikefly/QuadrotorAvoid-v0", board={"board": "stm32f405", "weight_bits": 8})


def _audio_spec() -> ControllerSpec:
    from spikefly.evolution.audio_task import ENCODER_HIGH, ENCODER_LOW

    network = quantize(random_network(np.random.default_rng(3), 64, 6, 1, 0.3, weight_scale=2.0), input_fractional_bits=0)
    return ControllerSpec(network=network, encoder=LevelEncoder(n_levels=2), decoder=RateDecoder(signed_pairs=False),
                          steps_per_action=1, observation_low=np.full(32, ENCODER_LOW, np.float32),
                          observation_high=np.full(32, ENCODER_HIGH, np.float32), n_actions=1,
                          env_id="spikefly/AudioEventDetection-v0", env_settings={"duration_s": 4.0})


WORLD = """
name = "short"
kind = "obstacle_course"
time_limit_s = 2.0
[bounds]
min = [-2.0, -3.0, 0.0]
max = [10.0, 3.0, 3.0]
[start]
position = [0.0, 0.0, 1.0]
yaw = 0.0
[goal]
position = [8.0, 0.0, 1.0]
radius = 0.4
[[obstacles]]
shape = "cylinder"
position = [2.0, 0.3, 1.5]
radius = 0.25
height = 3.0
"""


@pytest.fixture(scope="module")
def short_flight(tmp_path_factory) -> tuple[ControllerSpec, str, FlightRecording]:
    """A random controller's flight of at most 2 s (60 control steps) past a pillar."""
    world = tmp_path_factory.mktemp("world") / "short.toml"
    world.write_text(WORLD)
    spec = _flight_spec()
    return spec, str(world), record_flight(spec, str(world), seed=4)


def test_the_recorded_flight_is_the_flight_spikefly_evaluate_flies(short_flight):
    spec, world, recording = short_flight
    evaluated = evaluate_controller(spec, [world], episodes=1, seed=4, progress=False)["episodes"][0]
    assert recording.outcome == evaluated["outcome"]
    assert round(recording.total_return, 6) == evaluated["return"]
    assert recording.steps == evaluated["steps"]
    assert round(float(recording.time_s[-1]), 6) == evaluated["time_s"]
    assert round(float(recording.rotor_energy_j[-1]), 6) == evaluated["rotor_energy_j"]
    assert int(recording.synaptic_ops[-1]) == evaluated["synaptic_ops"]
    # every neuron's spike at every substep is logged: the log adds up to the kernel's spike counter
    assert int(recording.log.spikes.sum()) == evaluated["spikes"]
    assert recording.log.spikes.shape == (recording.steps, 8, spec.network.n_neurons)
    assert np.isfinite(recording.compute_energy_j[-1]) and recording.compute_energy_j[-1] > 0


@pytest.mark.parametrize("integer", [False, True])
def test_recording_controller_acts_bit_for_bit_like_the_spiking_controller(integer):
    spec = _flight_spec(seed=9)
    if integer:
        spec = ControllerSpec(**{**spec.__dict__, "network": quantize(spec.network, input_fractional_bits=16)})
    plain, recorder = spec.controller(seed=2), recording_controller(spec, seed=2)
    rng = np.random.default_rng(0)
    for _ in range(40):
        observation = rng.uniform(spec.observation_low, spec.observation_high).astype(np.float32)
        np.testing.assert_array_equal(recorder.act(observation), plain.act(observation))
    assert recorder.counts == plain.counts
    assert int(recorder.spike_log().spikes.sum()) == plain.counts.spikes


def test_a_short_flight_renders_to_a_video_with_its_frame_count_and_fps(short_flight, tmp_path):
    from spikefly.envs.render.flight import render_flight

    _, _, recording = short_flight
    stats = render_flight(recording, tmp_path / "flight.mp4")
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "flight.mp4"))
    meta = next(imageio_ffmpeg.read_frames(str(tmp_path / "flight.mp4")))
    assert frames == stats.frames == recording.steps  # one frame per control step
    assert meta["fps"] == pytest.approx(recording.control_hz) and meta["size"] == (640, 480)
    assert seconds == pytest.approx(recording.steps / recording.control_hz, abs=0.05)  # real time, not the peers' speed
    assert not list(tmp_path.glob(".*partial*"))  # nothing half-written left behind


def test_a_gif_keeps_real_time_with_whole_centisecond_delays(short_flight, tmp_path):
    from PIL import Image
    from spikefly.envs.render.flight import render_flight

    _, _, recording = short_flight
    stats = render_flight(recording, tmp_path / "flight.gif", width=320, height=240, renderer="tiny")  # the fallback
    with Image.open(tmp_path / "flight.gif") as gif:
        assert gif.n_frames == stats.frames == recording.steps // 3  # every third step at 30 Hz
        assert gif.info["duration"] == 100  # ms: 3 steps of 1/30 s


def test_a_recording_round_trips_through_npz_and_renders_again(short_flight, tmp_path, capsys):
    _, _, recording = short_flight
    path = save_recording(recording, tmp_path / "flight.npz")
    again = load_recording(path)
    assert again.outcome == recording.outcome and again.world == recording.world
    np.testing.assert_array_equal(again.log.spikes, recording.log.spikes)
    np.testing.assert_array_equal(again.position_m, recording.position_m)
    assert main(["render", str(path), "--out", str(tmp_path / "again.mp4"), "--size", "320x240", "--json", "--quiet"]) == 0
    assert f'"frames": {recording.steps}' in capsys.readouterr().out


def test_an_audio_clip_renders_in_real_time_with_its_sound(tmp_path):
    from spikefly.envs.render.clip import VIDEO_FPS, render_listening

    spec = _audio_spec()
    recording = record_listening(spec, "kitchen", seed=3)
    report = evaluate_audio(spec, ["kitchen"], episodes=1, seed=3)["episodes"][0]
    assert round(recording.total_return, 6) == report["return"]
    assert recording.counts["hits"] == report["hits"] == 1  # the clip's smoke alarm is detected
    assert recording.counts["false_alarms"] == report["false_alarms"]
    assert int(recording.log.spikes.sum()) == report["spikes"] > 0
    stats = render_listening(recording, tmp_path / "clip.mp4")
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "clip.mp4"))
    meta = next(imageio_ffmpeg.read_frames(str(tmp_path / "clip.mp4")))
    assert frames == stats.frames == math.ceil(recording.steps * recording.frame_s * VIDEO_FPS - 1e-9)
    assert meta["fps"] == pytest.approx(VIDEO_FPS)
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "clip.mp4"), "-t", "0", "-f", "null", "-"],
                           check=True, capture_output=True, text=True)
    assert "Audio: aac" in probe.stderr  # the clip itself is the sound track


def test_bad_input_to_render_is_one_clear_line_and_exit_2(tmp_path, capsys):
    assert main(["render", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: no such file" in capsys.readouterr().err
    path = save(_flight_spec(), tmp_path / "controller.json")
    assert main(["render", str(path), "--out", str(tmp_path / "flight.avi")]) == 2
    assert "Fix: name the output .mp4 or .gif" in capsys.readouterr().err
    assert main(["render", str(path), "--size", "650x480"]) == 2
    assert "multiples of 16" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert main(["render", str(tmp_path / "junk.npz"), "--out", str(tmp_path / "x.mp4")]) == 2
    assert "junk.npz: not a recording" in capsys.readouterr().err


def test_the_render_benchmark_prints_its_real_time_and_floor_ratios(tmp_path):
    world = tmp_path / "short.toml"
    world.write_text(WORLD)
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "render.py"
    result = subprocess.run([sys.executable, str(script), "--world", str(world), "--size", "320x240"],
                            capture_output=True, text=True, check=True, timeout=300)
    lines = result.stdout.splitlines()
    video = next(line for line in lines if line.startswith("video 320x240: 60 frames at 30 fps"))
    assert float(video.split("=")[1].split()[0]) > 0.0  # a figure, not a floor: the machines are shared
    assert any("video / floor = " in line for line in lines) and any("TinyRenderer / " in line for line in lines)
