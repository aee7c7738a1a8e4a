"""`spikefly export`, `spikefly boards` and `spikefly evaluate --quantize/--prune/--board` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from spikefly.controllers import ControllerSpec, DirectEncoder, RateDecoder, load, quantize, random_network, save
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.evolution.cli.commands import main


def _controller(tmp_path, adaptation: bool = False):
    space = observation_space(QuadrotorSettings())
    network = random_network(np.random.default_rng(5), space.shape[0], 10, 8, 0.3, weight_scale=1.0)
    if not adaptation:
        network = network.replace(adaptation_increment=np.zeros(10, np.float32), refractory_steps=np.zeros(10, np.int32),
                                  reset_mode=np.zeros(10, np.int8))
    spec = ControllerSpec(network=network, encoder=DirectEncoder(signed=True), decoder=RateDecoder(signed_pairs=True),
                          steps_per_action=8, observation_low=space.low, observation_high=space.high, n_actions=4,
                          env_id="spikefly/QuadrotorAvoid-v0", env_settings={}, metadata={"worlds": ["forest"]})
    return save(spec, tmp_path / "controller.json"), spec


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_c_export_writes_a_header_that_compiles_and_reports_its_bytes(tmp_path, capsys):
    path, _ = _controller(tmp_path)
    assert main(["export", str(path), "--format", "c", "--name", "pilot"]) == 0
    printed = capsys.readouterr().out
    header = tmp_path / "controller.h"
    assert f"wrote {header}" in printed and "flash" in printed and "RAM" in printed
    source = tmp_path / "main.c"
    source.write_text('#include "controller.h"\nint main(void) { static pilot_state s; pilot_reset(&s); return 0; }\n')
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-c", str(source), "-o", str(tmp_path / "main.o")], check=True)


def test_nir_export_round_trips_and_unsupported_features_name_the_fix(tmp_path, capsys):
    nir = pytest.importorskip("nir")
    path, spec = _controller(tmp_path)
    assert main(["export", str(path), "--format", "nir", "--out", str(tmp_path / "net.nir")]) == 0
    printed = capsys.readouterr().out
    assert "substep dt = 4.167 ms" in printed and "guided" not in printed
    graph = nir.read(tmp_path / "net.nir")
    from spikefly.controllers.export_nir import from_nir

    back = from_nir(graph, 1.0 / 240.0)
    np.testing.assert_array_equal(back.weight, spec.network.weight)
    (tmp_path / "adaptive").mkdir()
    adaptive, _ = _controller(tmp_path / "adaptive", adaptation=True)
    assert main(["export", str(adaptive), "--format", "nir"]) == 2
    assert "spikefly evolve --nir-ready" in capsys.readouterr().err


def test_nir_export_for_another_step_is_the_same_discrete_network_and_dt_is_nir_only(tmp_path, capsys):
    nir = pytest.importorskip("nir")
    path, spec = _controller(tmp_path)
    assert main(["export", str(path), "--format", "nir", "--dt", "1e-4", "--out", str(tmp_path / "net.nir")]) == 0
    assert "graph written for dt = 0.1 ms" in capsys.readouterr().out
    from spikefly.controllers.export_nir import from_nir

    back = from_nir(nir.read(tmp_path / "net.nir"), 1e-4)  # read at the step it was written for: the same network
    np.testing.assert_allclose(back.beta, spec.network.beta, rtol=1e-6)
    np.testing.assert_array_equal(back.weight, spec.network.weight)
    assert main(["export", str(path), "--format", "c", "--dt", "1e-4", "--out", str(tmp_path / "net.h")]) == 2
    assert "only the NIR export" in capsys.readouterr().err and not (tmp_path / "net.h").exists()
    assert main(["export", str(path), "--format", "nir", "--dt", "0", "--out", str(tmp_path / "zero.nir")]) == 2
    assert "e.g. 1e-4 for snnTorch" in capsys.readouterr().err and not (tmp_path / "zero.nir").exists()


def test_evaluate_reports_float_int8_and_pruned_side_by_side_with_board_costs(tmp_path, capsys):
    path, _ = _controller(tmp_path)
    assert main(["evaluate", str(path), "--physics", "twin", "--episodes", "2", "--quantize", "--prune", "0.5",
                 "--board", "stm32f405", "--board", "loihi", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert list(reports) == ["float", "pruned 50%", "pruned 50% + int8"]
    assert reports["pruned 50%"]["network"]["synapses"] == round(reports["float"]["network"]["synapses"] / 2)
    assert reports["pruned 50% + int8"]["network"]["integer"]
    for report in reports.values():
        assert set(report["boards"]) == {"stm32f405", "loihi"}
        # the direct encoder feeds analog currents, which a spike-input chip cannot take
        assert not report["boards"]["loihi"]["feasible"] and "spike inputs only" in report["boards"]["loihi"]["reasons"][0]
        assert report["boards"]["stm32f405"]["energy_j"] > 0
        # the STM32F405's cycle figures are measured (spikefly deploy), Loihi's are not
        assert "cycles_per_synaptic_op" in report["boards"]["stm32f405"]["measured_figures"]
        assert report["boards"]["loihi"]["measured_figures"] == []


def test_json_export_is_the_int8_controller_and_flies(tmp_path, capsys):
    path, spec = _controller(tmp_path)
    assert main(["export", str(path), "--format", "json"]) == 0
    exported = load(tmp_path / "controller.int8.json")
    assert type(exported.network).__name__ == "IntegerLIFNetwork"
    np.testing.assert_array_equal(exported.network.target, spec.network.target)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "controller.int8.json"), "--physics", "twin", "--episodes", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["network"]["integer"]


def test_quantised_controller_acts_like_the_float_one(tmp_path):
    _, spec = _controller(tmp_path)
    integer = ControllerSpec(**{**spec.__dict__, "network": quantize(spec.network, input_fractional_bits=16)})
    observations = np.random.default_rng(0).uniform(spec.observation_low, spec.observation_high, (200, spec.observation_low.size))
    float_controller, int_controller = spec.controller(), integer.controller()
    differences = np.array([np.abs(float_controller.act(o) - int_controller.act(o)) for o in observations.astype(np.float32)])
    # rate-decoded actions move in steps of 1/K = 0.125: int8 rounding may flip a rare spike, not the behaviour
    assert differences.mean() < 0.05 and np.quantile(differences, 0.99) <= 0.25


def test_boards_lists_the_bundled_profiles_and_checks_a_file(tmp_path, capsys):
    assert main(["boards"]) == 0
    listed = capsys.readouterr().out
    for name in ("stm32f405", "stm32l4r5", "nrf52840", "esp32s3", "rp2040", "gap8", "loihi", "xylo_audio2", "horowitz45nm"):
        assert name in listed
    bad = tmp_path / "board.toml"
    bad.write_text('[boards.mine]\nkind = "mcu"\ntitle = "Mine"\n')
    assert main(["boards", str(bad)]) == 2
    error = capsys.readouterr().err
    assert str(bad) in error and "clock_hz" in error


def test_export_of_a_guided_controller_says_the_flight_stack_runs_the_guidance_law(tmp_path, capsys):
    import dataclasses

    _, spec = _controller(tmp_path)
    path = save(dataclasses.replace(spec, env_settings={"action_mode": "guided"}), tmp_path / "guided.json")
    assert main(["export", str(path), "--format", "json"]) == 0
    assert "guided_setpoint" in capsys.readouterr().out
