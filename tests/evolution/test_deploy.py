"""`spikefly deploy`: the C export on QEMU's STM32F405, bit-exact with the integer kernel on recorded
episodes, with measured flash, RAM and instructions, and a board model that predicts controllers it
was not fitted on; the same for the dense int8 MLP the spiking controllers are compared with.

These tests need Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm. Without
them they are skipped on a workstation, but under CI (CI=true, where .ci/run installs them) they
run and fail with the missing tool named.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikefly.controllers import load, quantize, random_network
from spikefly.controllers.dense_mlp import mlp_forward, random_mlp
from spikefly.controllers.export_c import export_c
from spikefly.controllers.mcu_build import INSTALL_LINE, TOOLS, build_image
from spikefly.controllers.mcu_run import compare_with_kernel, run_image, run_kernel
from spikefly.evolution.cli.commands import main
from spikefly.evolution.deploy import deploy
from spikefly.evolution.deploy_dense import measure_dense, mlp_inputs, record_observations

CHAMPIONS = Path(__file__).resolve().parent / "data" / "champions"
MISSING = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_toolchain = pytest.mark.skipif(
    bool(MISSING) and not os.environ.get("CI"),
    reason=f"{', '.join(MISSING)} missing (not skipped under CI). Install: {INSTALL_LINE}",
)


@needs_toolchain
def test_a_quadrotor_champion_flies_bit_exact_on_the_emulated_stm32f405(tmp_path, capsys):
    keep = tmp_path / "build"
    assert main(["deploy", str(CHAMPIONS / "quadrotor_gdef.json"), "--world", "forest", "--keep", str(keep), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bit_exact"] and report["actions_equal"] and report["differences"] == []
    assert report["episode"]["outcome"] == "goal" and report["episode"]["control_steps"] > 100
    measured = report["measured"]
    assert measured["instructions_per_step"] > 0 and measured["instructions_max"] >= measured["instructions_per_step"]
    assert 0 < measured["flash_bytes"] < measured["image_flash_bytes"] and 0 < measured["ram_bytes"] < measured["image_ram_bytes"]
    # the map file's share of the controller is the export's tables and state plus its buffers
    spec = load(CHAMPIONS / "quadrotor_gdef.json")
    exported = export_c(spec.network)
    assert measured["const_bytes"] == exported.flash_bytes
    n_in, n_out = spec.network.n_inputs, spec.network.n_outputs
    assert measured["ram_bytes"] == exported.ram_bytes + 4 * n_in + 4 * n_out + n_out
    assert {"image.elf", "image.map", "controller.c", "harness.c", "startup.c"} <= {path.name for path in keep.iterdir()}


@needs_toolchain
def test_an_audio_champion_listens_bit_exact_on_the_emulated_stm32f405():
    report = deploy(load(CHAMPIONS / "audio_kitchen.json")).report
    assert report["bit_exact"] and report["actions_equal"]
    assert report["episode"]["world"] == "kitchen" and report["episode"]["control_steps"] > 1000
    assert report["measured"]["instructions_per_step"] > 0 and report["measured"]["ram_bytes"] > 0


def held_out_synthetic():
    """A 40-neuron random network in the quadrotor champion's controller (no controller like it was fitted)."""
    base = load(CHAMPIONS / "quadrotor_gdef.json")
    network = random_network(np.random.default_rng(2026), base.network.n_inputs, 40, base.network.n_outputs, 0.25,
                             max_delay=2, weight_scale=1.2)
    return dataclasses.replace(base, network=quantize(network), steps_per_action=6)


@needs_toolchain
def test_the_fitted_model_predicts_controllers_it_was_not_fitted_on_within_20_percent():
    """docs/make_deployment_table.py fitted boards.toml on other controllers; these were held out."""
    cases = {name: load(CHAMPIONS / f"{name}.json") for name in ("quadrotor_long", "quadrotor_seed1", "audio_kitchen")}
    cases["synthetic_40_k6"] = held_out_synthetic()
    errors = {}
    for name, spec in cases.items():
        report = deploy(spec, world=None if name.startswith("audio") else "forest").report
        assert report["bit_exact"], (name, report["differences"])
        measured = report["measured"]["instructions_per_step"]
        errors[name] = (report["modelled"]["cycles_per_step"] - measured) / measured
    assert all(abs(error) < 0.20 for error in errors.values()), errors


@needs_toolchain
def test_the_check_catches_an_image_that_differs_from_the_kernel(tmp_path):
    spec = load(CHAMPIONS / "quadrotor_gdef.json")
    network = spec.network
    image = build_image(export_c(network), spec.steps_per_action, network.n_inputs, network.n_neurons, network.n_outputs, tmp_path)
    inputs = (np.random.default_rng(0).random((60, spec.steps_per_action, network.n_inputs)) < 0.3).astype(np.int32)
    emulated = run_image(image, inputs)
    assert compare_with_kernel(emulated, run_kernel(network, inputs)) == []
    louder = dataclasses.replace(network, weight_multiplier=network.weight_multiplier * 2)  # what a wrong export would compute
    differences = compare_with_kernel(emulated, run_kernel(louder, inputs))
    assert differences and "on the MCU" in differences[0]


def test_a_missing_toolchain_is_one_error_naming_the_install_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    keep = tmp_path / "build"
    assert main(["deploy", str(CHAMPIONS / "quadrotor_gdef.json"), "--keep", str(keep)]) == 2
    error = capsys.readouterr().err
    assert "arm-none-eabi-gcc" in error and INSTALL_LINE in error and error.count("\n") == 1
    assert not keep.exists()


def test_only_an_emulated_board_is_accepted(capsys):
    assert main(["deploy", str(CHAMPIONS / "quadrotor_gdef.json"), "--board", "nrf52840"]) == 2
    assert "no emulator" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The dense int8 MLP that `spikefly evaluate` and PPO's policy cards are priced as


@pytest.fixture(scope="module")
def flight_inputs():
    spec = load(CHAMPIONS / "quadrotor_gdef.json")
    observations = record_observations(spec, "forest", 0)
    assert observations.shape[1] == 46 and len(observations) > 100
    return lambda width: mlp_inputs(observations, spec.observation_low, spec.observation_high, width)


@needs_toolchain
def test_a_64x64_mlp_runs_bit_exact_on_the_emulated_stm32f405(flight_inputs, tmp_path):
    inputs = flight_inputs(46)
    run = measure_dense([46, 64, 64, 4], inputs, "hardtanh", seed=3, directory=tmp_path)
    report = run.report
    assert report["bit_exact"] and report["differences"] == [] and report["forward_passes"] == len(inputs)
    assert np.unique(inputs).size > 50  # the flight's observations, not a constant
    measured = report["measured"]
    # the loops do not branch on data: every forward pass takes the same instructions
    assert measured["instructions_max"] == measured["instructions_per_pass"] > 7296
    assert measured["const_bytes"] == report["modelled"]["flash_bytes"] and measured["ram_bytes"] == report["modelled"]["ram_bytes"]


@needs_toolchain
def test_the_dense_model_predicts_shapes_it_was_not_fitted_on_within_20_percent(flight_inputs):
    """docs/make_deployment_table.py fitted boards.toml on other shapes; none of these was among them."""
    errors = {}
    for sizes, activation in (([46, 48, 24, 4], "relu"), ([80, 40, 4], "hardtanh"), ([46, 200, 4], "relu")):
        run = measure_dense(sizes, flight_inputs(sizes[0]), activation, seed=7)
        assert run.report["bit_exact"], (sizes, run.report["differences"])
        measured = run.report["measured"]["instructions_per_pass"]
        errors[str(sizes)] = (run.report["modelled"]["cycles_per_step"] - measured) / measured
    assert all(abs(error) < 0.20 for error in errors.values()), errors


def test_a_wrong_mlp_is_caught_by_the_numpy_check(flight_inputs):
    """What compare_with_reference relies on: a changed weight changes the outputs on the flight's inputs."""
    inputs = flight_inputs(46)
    mlp = random_mlp(np.random.default_rng(0), [46, 16, 4], inputs)
    weights = mlp.weights[0].copy()
    weights[0, 0] = -weights[0, 0] if weights[0, 0] else 1
    changed = type(mlp)((weights, mlp.weights[1]), mlp.biases, mlp.shifts, mlp.activation)
    assert not np.array_equal(mlp_forward(mlp, inputs), mlp_forward(changed, inputs))
