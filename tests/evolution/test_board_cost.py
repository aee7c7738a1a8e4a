"""The board model inside evolution: fitness terms, infeasible genomes ranked last, the run's records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikefly.controllers import DirectEncoder, RateEncoder, load, random_network
from spikefly.controllers.boards import load_board
from spikefly.controllers.cost_model import StepCounts, spiking_cost
from spikefly.evolution.board_cost import BoardCharge, board_terms, rank_infeasible_last, step_counts
from spikefly.evolution.cli.commands import main
from spikefly.evolution.settings import EvolveSettings, SettingsError


def test_infeasible_genomes_rank_below_every_feasible_one_in_their_own_order():
    fitness = np.array([5.0, 40.0, -3.0, 12.0, 30.0])
    feasible = np.array([True, False, True, False, True])
    ranked = rank_infeasible_last(fitness, feasible)
    assert ranked[~feasible].max() < ranked[feasible].min()
    np.testing.assert_array_equal(ranked[feasible], fitness[feasible])
    assert ranked[1] > ranked[3]  # 40 stays ahead of 12
    np.testing.assert_array_equal(rank_infeasible_last(fitness, np.ones(5, bool)), fitness)


def test_analog_inputs_are_charged_as_macs_and_spike_inputs_as_events():
    network = random_network(np.random.default_rng(0), 6, 5, 2, 0.5)
    fan_out = (network.row_ptr[6] - network.row_ptr[0]) / 6
    totals = np.array([400, 30, 60, 500])  # over 10 control steps
    spiking = step_counts(network, totals, 10, analog_inputs=False)
    assert (spiking.neuron_updates, spiking.spikes, spiking.input_events, spiking.synaptic_ops, spiking.macs) == (40, 3, 6, 50, 0)
    analog = step_counts(network, totals, 10, analog_inputs=True)
    assert analog.macs == pytest.approx(min(6 * fan_out, 50))
    assert analog.synaptic_ops == pytest.approx(50 - analog.macs) and analog.input_events == 0


def test_energy_and_latency_terms_follow_the_board_report():
    network = random_network(np.random.default_rng(1), 4, 6, 2, 0.5)
    charge = BoardCharge("nrf52840", 30.0, 8, RateEncoder(), 4, 8)
    ops = np.array([[[480, 40, 20, 300], [480, 20, 10, 100]]])
    steps = np.array([[10, 10]])
    [report] = charge.reports([network], ops, steps)
    expected = spiking_cost(network, StepCounts(48.0, 3.0, 1.5, 20.0), load_board("nrf52840"), 30.0)
    assert report == expected
    terms = board_terms([report], energy_weight=2.0, latency_weight=0.5)
    np.testing.assert_allclose(terms, [[-2.0 * report.energy_j * 1e6, -0.5 * report.latency_s * 1e3]])
    assert not BoardCharge("nrf52840", 30.0, 8, RateEncoder(), 4, 8).analog_inputs
    assert BoardCharge("nrf52840", 30.0, 8, DirectEncoder(), 4, 8).analog_inputs


def test_board_settings_are_checked():
    with pytest.raises(SettingsError, match="weight_bits=12"):
        EvolveSettings(weight_bits=12)
    with pytest.raises(SettingsError, match="energy_weight=-1"):
        EvolveSettings(energy_weight=-1)


def test_an_unknown_board_is_one_clear_line_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["evolve", "--board", "stm32f999", "--generations", "1", "--population", "8", "--quiet", "--out", str(out)]) == 2
    assert "stm32f999" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("integer", [False, True])
def test_the_log_and_the_champion_carry_the_board_figures(tmp_path, capsys, integer):
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"validation_every": 2, "validation_episodes": 2, "pybullet_episodes": 1, "validation_top": 2,
                                    "pybullet_every": 0}))
    out = tmp_path / "run"
    flags = ["--integer"] if integer else ["--no-integer"]
    assert main(["evolve", "--population", "10", "--generations", "2", "--episodes", "1", "--quiet", "--board", "nrf52840",
                 "--energy-weight", "0.5", "--settings", str(settings), "--out", str(out), *flags]) == 0
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if '"generation"' in line]
    board = lines[0]["best_board"]
    assert board["board"] == "nrf52840" and board["energy_uj_per_step"] > 0 and board["flash_bytes"] > 0
    assert lines[0]["best_terms"]["energy_cost"] == pytest.approx(-0.5 * board["energy_uj_per_step"], rel=1e-3, abs=1e-4)
    spec = load(out / "champion.json")
    assert spec.board["board"] == "nrf52840" and spec.board["feasible"] in (True, False)
    assert type(spec.network).__name__ == ("IntegerLIFNetwork" if integer else "LIFNetwork")
    capsys.readouterr()
    assert main(["evaluate", str(out / "champion.json"), "--episodes", "1", "--physics", "twin", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["boards"]) == {"nrf52840"} and "dense_ann" in report["boards"]["nrf52840"]


def test_evaluate_rejects_an_unknown_board_before_flying(tmp_path, capsys, monkeypatch):
    from spikefly.controllers import ControllerSpec, RateDecoder, save
    from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
    from spikefly.evolution import evaluate

    space = observation_space(QuadrotorSettings())
    network = random_network(np.random.default_rng(1), space.shape[0], 10, 8, 0.3)
    spec = ControllerSpec(network=network, encoder=DirectEncoder(signed=True), decoder=RateDecoder(signed_pairs=True),
                          steps_per_action=8, observation_low=space.low, observation_high=space.high, n_actions=4,
                          env_id="spikefly/QuadrotorAvoid-v0")
    path = save(spec, tmp_path / "c.json")
    monkeypatch.setattr(evaluate, "evaluate_controller", lambda *args, **kwargs: pytest.fail("flew before checking the board"))
    assert main(["evaluate", str(path), "--board", "stm32f999", "--episodes", "1"]) == 2
    assert "stm32f999" in capsys.readouterr().err
