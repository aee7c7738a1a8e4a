"""Benchmark scripts still run (a smoke run with tiny counts; the figures themselves are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_env_step_benchmark_prints_the_ratio_line():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "env_step.py"), "--steps", "60", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    lines = result.stdout.splitlines()
    ratio = next(line for line in lines if line.startswith("ratio env/floor: "))
    assert float(ratio.split()[2]) >= 0.0  # a figure, not a floor: the machines are shared
    assert any(line.startswith("reset, new layout") for line in lines)


def test_lif_kernel_benchmark_prints_the_numpy_ratio_line():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lif_kernel.py"), "--quick"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    ratio = next(line for line in result.stdout.splitlines() if line.startswith("ratio numba/numpy: "))
    assert float(ratio.split()[2]) >= 0.0  # a figure, not a floor: the machines are shared


def test_twin_benchmark_prints_both_ratio_lines():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "twin.py"), "--drones", "16", "--steps", "30", "--genomes", "4", "--episodes", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    lines = result.stdout.splitlines()
    assert float(next(line for line in lines if line.startswith("ratio twin/pybullet: ")).split()[2]) >= 0.0  # a figure, not a floor
    assert any(line.startswith("fused rollout with spiking controllers") for line in lines)


def test_generation_benchmark_prints_the_split():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generation.py"), "--population", "20", "--episodes", "1", "--generations", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    out = result.stdout
    assert "evaluation:" in out and "compilation" in out and "neat-python bookkeeping" in out and "ratio total/target:" in out
    assert "neat-python's own on the same species" in out and "head node: compile" in out


def test_audio_baselines_benchmark_prints_all_three_rows(tmp_path):
    import numpy as np

    from spikefly.controllers import ControllerSpec, LevelEncoder, RateDecoder, quantize, random_network, save
    from spikefly.evolution.audio_task import ENCODER_HIGH, ENCODER_LOW

    network = quantize(random_network(np.random.default_rng(0), 64, 3, 1, 0.2, weight_scale=2.0))
    spec = ControllerSpec(network=network, encoder=LevelEncoder(n_levels=2), decoder=RateDecoder(), steps_per_action=4,
                          observation_low=np.full(32, ENCODER_LOW, np.float32), observation_high=np.full(32, ENCODER_HIGH, np.float32),
                          n_actions=1, env_id="spikefly/AudioEventDetection-v0", env_settings={})
    path = save(spec, tmp_path / "detector.json")
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "audio_baselines.py"), str(path), "--clips", "1", "--train-clips", "2"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == [
        "evolved LIF (spikefly)", "MLP on the same features", "Goertzel band rule (raw audio)"]
    conditions = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "audio_baselines.py"), str(path), "--clips", "1", "--train-clips", "1",
         "--conditions", "stationary", "no-alarm"], capture_output=True, text=True, check=True, timeout=600)
    rows = [line.split("|")[1:4] for line in conditions.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [(condition.strip(), method.strip()) for condition, method, _ in rows[1:]] == [
        (condition, method) for condition in ("stationary", "no-alarm")
        for method in ("evolved LIF (spikefly)", "MLP on the same features", "Goertzel band rule (raw audio)")]
    assert all(float(f1) == 0.0 for condition, _, f1 in rows[1:] if condition.strip() == "no-alarm")  # nothing to hit


def test_ablation_runs_each_variant_on_the_same_step_budget_and_keeps_finished_runs(tmp_path):
    import json

    command = [sys.executable, str(ROOT / "benchmarks" / "ablation.py"), "--out", str(tmp_path), "--seeds", "1",
               "--budget-steps", "60000", "--test-episodes", "1", "--variants", "default", "no-curriculum"]
    first = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600).stdout
    rows = [line.split("|")[1].strip() for line in first.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == ["variant", "default", "no-curriculum"]
    results = [json.loads((tmp_path / name / "seed0" / "result.json").read_text()) for name in ("default", "no-curriculum")]
    assert all(60_000 <= result["env_steps"] for result in results) and 0.0 <= results[0]["suite"] <= 1.0
    settings = json.loads((tmp_path / "no-curriculum" / "seed0" / "settings.json").read_text())
    assert settings["curriculum_start"] == 0 and settings["budget_steps"] == 60_000
    again = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600).stdout
    assert again == first  # finished runs are read back, not run again


def test_validation_benchmark_flies_the_kept_set_to_the_same_results():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "validation.py"), "--episodes", "4", "--candidates", "1", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr  # the script asserts the later validations equal the first
    assert "ratio first / later: " in result.stdout and "(randomisation default)" in result.stdout
