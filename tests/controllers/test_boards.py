"""Board profiles and the cost model: exact figures for hand-counted networks, every feasibility
rejection with its reason, the bundled table's sources, and errors that name the file and key."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from spikefly.controllers import LIFState, quantize, simulate
from spikefly.controllers.boards import ArithmeticReference, BoardError, McuBoard, NeuromorphicBoard, bundled_boards, load_board, load_boards
from spikefly.controllers.cost_model import CostReport, StepCounts, arithmetic_cost, dense_ann_cost, horowitz_bound, spiking_cost
from spikefly.controllers.lif_state import OperationCounts
from spikefly.controllers.network import LIFNetwork

REQUIRED_BOARDS = (
    "stm32f405", "stm32l4r5", "nrf52840", "esp32s3", "rp2040", "gap8", "loihi", "xylo_audio2", "horowitz45nm",
)


ESTIMATED_M4 = {"cycles_per_neuron_update": 25, "cycles_per_spike": 15, "cycles_per_synaptic_op": 10,
                "overhead_cycles_per_step": 100, "cycles_per_input_scan": 0, "cycles_per_int8_mac": 1.5,
                "cycles_per_activation": 25}
"""The project reference's Cortex-M4 estimates, for which the hand-counted figures below were written (a dense
activation was charged as a neuron update)."""


def estimated_m4() -> McuBoard:
    """The STM32F405 with the reference's estimated cycle figures (the bundled ones are measured)."""
    board = load_board("stm32f405")
    assert isinstance(board, McuBoard)
    return dataclasses.replace(board, **ESTIMATED_M4)


def hand_network(beta: float = 0.875, n_inputs: int = 2) -> LIFNetwork:
    """2 inputs, 3 neurons, 6 synapses (max delay 2, max fan-in 2), output neuron 2.

    Hand-counted bytes at 8-bit weights (module docstring of boards.py):
    flash = 6 weights + 6 targets + 6 delays + 6 row pointers (2+3+1, one byte each)
    + 22*3 parameters + 1 output index + 2 indices of the connected inputs = 93; RAM = 10*3 state + 4*(2+2)*3 ring + 4*2 inputs + 4 = 90.
    """
    sources = [0, 0, 1, n_inputs + 0, n_inputs + 1, n_inputs + 2]
    targets = [0, 1, 1, 2, 2, 0]
    delays = [0, 0, 2, 0, 1, 0]
    return LIFNetwork.from_edges(n_inputs, 3, [2], sources, targets, [0.5] * 6, delays, beta=beta)


def wide_input_network(connected: int, n_inputs: int = 40) -> LIFNetwork:
    """``n_inputs`` input channels of which the first ``connected`` have a synapse (to neuron 0)."""
    sources = list(range(connected))
    return LIFNetwork.from_edges(n_inputs, 2, [1], sources + [n_inputs], [0] * connected + [1], [0.5] * (connected + 1),
                                 beta=0.875)


def test_only_connected_input_channels_count_against_a_chips_inputs():
    counts = StepCounts(neuron_updates=20, spikes=1, input_events=3, synaptic_ops=4)
    assert spiking_cost(wide_input_network(16), counts, "xylo_audio2", 100).feasible
    report = spiking_cost(wide_input_network(17), counts, "xylo_audio2", 100)
    assert not report.feasible and "needs 17 input channels > 16" in report.reasons[0]


# Per control step: K = 10 substeps x 3 neurons, 4 spikes, 3 input events, 11 synaptic ops.
HAND_COUNTS = StepCounts(neuron_updates=30, spikes=4, input_events=3, synaptic_ops=11)


def test_mcu_figures_equal_the_formula_exactly():
    board = estimated_m4()
    report = spiking_cost(hand_network(), HAND_COUNTS, board, control_hz=100)
    cycles = 25 * 30 + 15 * (4 + 3) + 10 * 11 + 1.5 * 0 + 100  # = 1065
    assert report.cycles_per_step == cycles == 1065
    assert report.latency_s == cycles / 168e6
    assert report.energy_j == cycles * 786e-12
    assert report.power_w == report.energy_j * 100
    assert (report.flash_bytes, report.ram_bytes) == (93, 90)
    assert report.feasible and report.reasons == ()
    assert not report.energy_is_lower_bound


def test_the_measured_stm32f405_charges_every_connected_input_channel_every_substep():
    board = load_board("stm32f405")
    assert isinstance(board, McuBoard) and board.cycles_per_input_scan > 0
    network = hand_network()  # 2 inputs, both connected; 30 neuron updates of 3 neurons: K = 10 substeps
    cycles = (board.cycles_per_neuron_update * 30 + board.cycles_per_spike * (4 + 3) + board.cycles_per_synaptic_op * 11
              + board.cycles_per_input_scan * 2 * 10 + board.overhead_cycles_per_step)
    report = spiking_cost(network, HAND_COUNTS, board, control_hz=100)
    assert report.cycles_per_step == pytest.approx(cycles)
    # 10 more channels without synapses: the C export never reads them, so they cost no cycles
    unconnected = spiking_cost(hand_network(n_inputs=12), HAND_COUNTS, board, control_hz=100)
    assert unconnected.cycles_per_step == pytest.approx(report.cycles_per_step)
    counts = StepCounts(neuron_updates=20, spikes=1, input_events=3, synaptic_ops=4)  # K = 10 substeps of 2 neurons
    more = spiking_cost(wide_input_network(12), counts, board, 100).cycles_per_step
    assert more - spiking_cost(wide_input_network(2), counts, board, 100).cycles_per_step == pytest.approx(
        board.cycles_per_input_scan * 10 * 10)
    for key in ("cycles_per_neuron_update", "cycles_per_spike", "cycles_per_synaptic_op", "cycles_per_input_scan"):
        assert board.sources[key].confidence == "A" and "QEMU" in board.sources[key].source


def test_mac_cycles_follow_the_weight_width():
    board = estimated_m4()
    with_macs = dataclasses.replace(HAND_COUNTS, macs=8)
    int8 = spiking_cost(hand_network(), with_macs, board, 100, weight_bits=8)
    fp32 = spiking_cost(hand_network(), with_macs, board, 100, weight_bits=32)
    assert int8.cycles_per_step == 1065 + 1.5 * 8
    assert fp32.cycles_per_step == 1065 + 4 * 8
    # Weights 4 bits: ceil(6*4/8) = 3 bytes instead of 6; 32 bits: 24.
    assert spiking_cost(hand_network(), HAND_COUNTS, board, 100, weight_bits=4).flash_bytes == 90
    assert fp32.flash_bytes == 93 - 6 + 24


def test_neuromorphic_figures_equal_the_formula_exactly():
    loihi = spiking_cost(hand_network(), HAND_COUNTS, "loihi", control_hz=100)
    assert loihi.energy_j == 52e-12 * 30 + 23.6e-12 * 11 + 1.7e-12 * (4 + 3) + 0.0 * (1 / 100)
    assert loihi.latency_s == (30 / 3) * 10e-6  # K substeps x the per-timestep figure
    assert loihi.cycles_per_step == 0.0 and loihi.feasible

    xylo = spiking_cost(hand_network(), HAND_COUNTS, "xylo_audio2", control_hz=50)
    assert xylo.energy_j == 22e-12 * 30 + 22e-12 * 11 + 0.0 * (4 + 3) + 0.219e-3 * (1 / 50)
    assert xylo.power_w == xylo.energy_j * 50
    assert xylo.latency_s == 10 * 100e-6
    assert xylo.feasible, xylo.reasons


def test_integer_network_costs_like_its_float_twin():
    float_report = spiking_cost(hand_network(), HAND_COUNTS, "stm32f405", 100)
    integer_report = spiking_cost(quantize(hand_network()), HAND_COUNTS, "stm32f405", 100)
    assert integer_report == float_report


def test_worked_example_of_the_reference():
    """24 neurons, 122 synapses, K = 10, 100 Hz: STM32F405 ~54 us ~7.1 uJ, nRF52840 ~141 us ~1.4 uJ,
    GAP8 ~10 us ~0.66 uJ (project reference, C).

    The example states no op counts. Implied ones: 7.1 uJ / 786 pJ per cycle ~ 9030 Cortex-M4
    cycles; less 240 neuron updates x 25 and 100 overhead leaves ~2930 cycles = 15*SP + 10*SOP,
    i.e. every source fires with probability r ~ 0.185 per substep: SP = r*24*10 = 44.4 spikes,
    SOP = r*122*10 = 225.7 synaptic ops (input spikes folded in; no input events counted).
    Tolerance: the example prints 2-3 significant digits, so each figure may be off by half a
    unit in its last digit; we allow that plus 1% for r, which is backed out of rounded figures
    and for GAP8 (M4 cycles / 5 here, / 5.06 in the example).
    """
    rng = np.random.default_rng(0)
    pairs = rng.permutation(30 * 24)[:122]  # 122 distinct (source, target) pairs, 6 inputs
    network = LIFNetwork.from_edges(6, 24, [20, 21, 22, 23], pairs // 24, pairs % 24, np.ones(122))
    assert (network.n_neurons, network.n_synapses) == (24, 122)
    rate = 0.185
    counts = StepCounts(neuron_updates=240, spikes=rate * 240, input_events=0, synaptic_ops=rate * 1220)
    expected = {"stm32f405": (54e-6, 1e-6, 7.1e-6, 0.1e-6), "nrf52840": (141e-6, 1e-6, 1.4e-6, 0.1e-6),
                "gap8": (10e-6, 1e-6, 0.66e-6, 0.01e-6)}
    for name, (latency_s, latency_unit, energy_j, energy_unit) in expected.items():
        # the example predates the input-scan term; the Cortex-M4 boards now carry the STM32F405's measured figures
        estimates = ESTIMATED_M4 if name != "gap8" else {"cycles_per_input_scan": 0}
        report = spiking_cost(network, counts, dataclasses.replace(load_board(name), **estimates), control_hz=100)
        assert abs(report.latency_s - latency_s) <= 0.5 * latency_unit + 0.01 * latency_s, (name, report.latency_s)
        assert abs(report.energy_j - energy_j) <= 0.5 * energy_unit + 0.01 * energy_j, (name, report.energy_j)
        assert report.feasible


# ---------------------------------------------------------------------------------------------
# Feasibility: each rejection alone, with its reason


def fan_in_network(fan_in: int) -> LIFNetwork:
    """Neuron 0 receives from neurons 1..fan_in; one input drives neuron 1."""
    n = fan_in + 1
    sources = [0] + [1 + j for j in range(1, n)]
    targets = [1] + [0] * fan_in
    return LIFNetwork.from_edges(1, n, [0], sources, targets, np.ones(n), beta=0.5)


def per_substep(network: LIFNetwork, substeps: int = 10) -> StepCounts:
    return StepCounts(neuron_updates=network.n_neurons * substeps, spikes=1, input_events=1, synaptic_ops=2)


@pytest.mark.parametrize(("network", "reason"), [
    (fan_in_network(70), "fan-in 70 > 63 (Xylo Audio 2)"),
    (LIFNetwork.from_edges(1, 1200, [0], [], [], [], beta=0.5), "needs 1200 neurons > 1000 (Xylo Audio 2)"),
    (hand_network(beta=0.9), "decay not on the shift grid (beta = 1 - 2^-k) of Xylo Audio 2: 3 of 3 neurons"),
    (wide_input_network(18), "needs 18 input channels > 16 (Xylo Audio 2)"),
    (LIFNetwork.from_edges(1, 9, list(range(9)), [0], [0], [1.0], beta=0.5), "needs 9 outputs > 8 (Xylo Audio 2)"),
])
def test_xylo_rejects_what_it_cannot_hold(network: LIFNetwork, reason: str):
    report = spiking_cost(network, per_substep(network), "xylo_audio2", control_hz=100)
    assert not report.feasible
    assert report.reasons == (reason,)


def test_decay_grid_of_integer_networks():
    on_grid = quantize(hand_network(beta=0.9), decay="shift")  # nearest 1 - 2^-k
    off_grid = quantize(hand_network(beta=0.9), decay="q15")
    assert spiking_cost(on_grid, HAND_COUNTS, "xylo_audio2", 100).feasible
    assert spiking_cost(off_grid, HAND_COUNTS, "xylo_audio2", 100).reasons == (
        "decay not on the shift grid (beta = 1 - 2^-k) of Xylo Audio 2: 3 of 3 neurons",
    )
    assert spiking_cost(hand_network(beta=1.0), HAND_COUNTS, "xylo_audio2", 100).feasible  # no decay


def test_neuromorphic_rejects_synapses_weight_bits_and_analog_inputs():
    xylo = load_board("xylo_audio2")
    assert isinstance(xylo, NeuromorphicBoard)
    small = dataclasses.replace(xylo, max_synapses=5)
    assert spiking_cost(hand_network(), HAND_COUNTS, small, 100).reasons == ("needs 6 synapses > 5 (Xylo Audio 2)",)
    assert spiking_cost(hand_network(), HAND_COUNTS, xylo, 100, weight_bits=16).reasons == (
        "16-bit weights > 8 bits (Xylo Audio 2)",
    )
    analog = dataclasses.replace(HAND_COUNTS, macs=5)
    assert spiking_cost(hand_network(), analog, xylo, 100).reasons == (
        "5 analog MACs per step: Xylo Audio 2 takes spike inputs only",
    )


def test_mcu_rejects_slow_or_oversized_networks():
    board = estimated_m4()
    slow = dataclasses.replace(board, clock_hz=1065 / 1.2e-3)  # 1065 cycles take 1.2 ms
    assert spiking_cost(hand_network(), HAND_COUNTS, slow, control_hz=30).feasible
    assert spiking_cost(hand_network(), HAND_COUNTS, slow, control_hz=1000).reasons == (
        "latency 1.2 ms exceeds the 1 ms control period (STM32F405)",
    )
    tight = dataclasses.replace(board, flash_bytes=64, sram_bytes=80)
    assert spiking_cost(hand_network(), HAND_COUNTS, tight, 100).reasons == (
        "flash 93 B > 64 B (STM32F405)", "RAM 90 B > 80 B (STM32F405)",
    )
    # [1024, 2048, 16]: 2,129,920 int8 weights + 2064 x 4 B biases + 2 layers x (two uint16 sizes + a shift)
    # = 2,138,186 B of flash. Cycles: 25 x 2064 + 1.5 x 2,129,920 + 100 = 3,246,580, i.e. 19.3 ms at 168 MHz.
    big = dense_ann_cost([1024, 2048, 16], board, control_hz=100)
    assert big.flash_bytes == 2_138_186
    assert big.reasons == (
        "flash 2.04 MB > 1 MB (STM32F405)", "latency 19.3 ms exceeds the 10 ms control period (STM32F405)",
    )
    assert dense_ann_cost([1024, 2048, 16], board, control_hz=30).reasons == ("flash 2.04 MB > 1 MB (STM32F405)",)


# ---------------------------------------------------------------------------------------------
# Dense ANN and the arithmetic lower bound


def test_dense_ann_figures_equal_the_formula_exactly():
    sizes = [18, 64, 64, 4]
    macs, activations = 18 * 64 + 64 * 64 + 64 * 4, 64 + 64 + 4  # 5504, 132
    int8 = dense_ann_cost(sizes, estimated_m4(), control_hz=100)
    assert int8.cycles_per_step == 25 * activations + 15 * 0 + 10 * 0 + 1.5 * macs + 100
    assert int8.latency_s == int8.cycles_per_step / 168e6
    assert int8.energy_j == int8.cycles_per_step * 786e-12
    # what the exported C links (docs/deployment.md): weights, int32 biases, 3 B per layer; input, two hidden
    # buffers, int32 outputs
    assert (int8.flash_bytes, int8.ram_bytes) == (macs + 4 * activations + 3 * 3, 18 + 2 * 64 + 4 * 4)
    fp32 = dense_ann_cost(sizes, estimated_m4(), control_hz=100, weight_bits=32)
    assert fp32.cycles_per_step == 25 * activations + 4 * macs + 100
    assert (fp32.flash_bytes, fp32.ram_bytes) == (4 * macs + 4 * activations + 3 * 3, 4 * (18 + 2 * 64) + 4 * 4)
    assert int8.feasible and fp32.feasible


def test_the_measured_stm32f405_prices_a_dense_mlp_per_mac_and_per_activation():
    board = load_board("stm32f405")
    assert isinstance(board, McuBoard)
    for key in ("cycles_per_int8_mac", "cycles_per_activation"):
        assert board.sources[key].confidence == "A" and "QEMU" in board.sources[key].source
    report = dense_ann_cost([46, 64, 64, 4], board, control_hz=30)
    assert report.cycles_per_step == pytest.approx(board.cycles_per_int8_mac * 7296 + board.cycles_per_activation * 132)
    # docs/deployment.md: 40357 instructions measured for this shape; the estimate it replaces gave 13690
    assert report.cycles_per_step == pytest.approx(40357, rel=0.05)


def test_dense_ann_does_not_run_on_a_neuromorphic_chip():
    report = dense_ann_cost([8, 16, 4], "loihi", control_hz=100)
    assert not report.feasible
    assert report.reasons == ("a dense ANN (multi-bit activations) does not run on Loihi: it needs spiking neurons",)
    assert report.energy_j == 52e-12 * 20 + 23.6e-12 * (8 * 16 + 16 * 4) + 1.7e-12 * 0 + 0.0 * 0.01


def test_horowitz_bound_is_arithmetic_only():
    assert horowitz_bound(1000, 100) == 0.9e-12 * 1000 + 4.6e-12 * 100
    reference = load_board("horowitz45nm")
    assert isinstance(reference, ArithmeticReference)
    assert "lower bound" in reference.title.lower() and "arithmetic only" in reference.notes.lower()
    snn = spiking_cost(hand_network(), dataclasses.replace(HAND_COUNTS, macs=7), reference, 100)
    assert snn.energy_j == horowitz_bound(11, 7)
    assert snn.energy_is_lower_bound and snn.latency_s == 0.0 and snn.feasible
    assert dense_ann_cost([18, 64, 4], reference, 100).energy_j == horowitz_bound(0, 18 * 64 + 64 * 4)


# ---------------------------------------------------------------------------------------------
# Counts and reports


def test_step_counts_are_means_over_control_steps():
    totals = OperationCounts(neuron_updates=300, spikes=40, input_events=30, synaptic_ops=110)
    assert StepCounts.from_totals(totals, n_control_steps=10) == HAND_COUNTS
    with pytest.raises(ValueError, match="n_control_steps"):
        StepCounts.from_totals(totals, 0)
    with pytest.raises(ValueError, match="StepCounts.spikes"):
        StepCounts(neuron_updates=1, spikes=-1, input_events=0, synaptic_ops=0)


def test_kernel_counts_feed_the_cost_model():
    network = hand_network()
    inputs = (np.random.default_rng(3).random((50, 2)) < 0.3).astype(np.float32)  # 5 control steps, K = 10
    state = LIFState.zeros(network)
    simulate(network, inputs, state)
    counts = StepCounts.from_totals(state.counts(), n_control_steps=5)
    assert counts.neuron_updates == 3 * 10 and counts.input_events == np.count_nonzero(inputs) / 5
    report = spiking_cost(network, counts, "loihi", control_hz=100)
    assert report.latency_s == 10 * 10e-6
    assert report.energy_j == 52e-12 * 30 + 23.6e-12 * counts.synaptic_ops + 1.7e-12 * (counts.spikes + counts.input_events) + 0.0 * 0.01


def test_report_to_dict_is_plain_json():
    report = spiking_cost(hand_network(), HAND_COUNTS, "xylo_audio2", 100, weight_bits=16)
    values = report.to_dict()
    assert json.loads(json.dumps(values)) == values
    assert values["reasons"] == list(report.reasons) and values["board"] == "xylo_audio2"
    assert {type(value) for value in values.values()} <= {float, int, str, bool, list}
    assert CostReport(**{**values, "reasons": tuple(values["reasons"])}) == report


@pytest.mark.parametrize(("keyword", "value", "match"), [
    ("control_hz", 0, "control_hz"), ("control_hz", math.inf, "control_hz"), ("weight_bits", 0, "weight_bits"),
    ("weight_bits", 33, "weight_bits"),
])
def test_bad_cost_arguments_raise(keyword: str, value: float, match: str):
    arguments = {"control_hz": 100, "weight_bits": 8, keyword: value}
    with pytest.raises(ValueError, match=match):
        spiking_cost(hand_network(), HAND_COUNTS, "stm32f405", **arguments)


# ---------------------------------------------------------------------------------------------
# Bundled profiles


def test_bundled_profiles_load_and_every_value_has_a_source():
    boards = bundled_boards()
    assert set(REQUIRED_BOARDS) <= set(boards)
    for name, board in boards.items():
        assert board.name == name
        numbers = [f.name for f in dataclasses.fields(board) if "rule" in f.metadata and getattr(board, f.name) is not None]
        assert numbers and set(numbers) == set(board.sources), name
        for key, entry in board.sources.items():
            assert entry.value == getattr(board, key), (name, key)
            assert entry.source.strip() and entry.confidence in ("A", "B", "C"), (name, key)
    assert "marginal energy" in boards["stm32f405"].notes
    xylo = boards["xylo_audio2"]
    assert isinstance(xylo, NeuromorphicBoard) and xylo.decay_grid == "shift"
    assert all(xylo.sources[key].confidence == "C" and "derived" in xylo.sources[key].source for key in ("e_sop_j", "e_neuron_update_j"))


def test_unknown_board_name_lists_the_valid_names():
    with pytest.raises(BoardError) as caught:
        load_board("stm32f450")
    message = str(caught.value)
    assert "did you mean 'stm32f405'?" in message
    assert all(name in message for name in REQUIRED_BOARDS)
    assert isinstance(caught.value, ValueError)
    assert str(pickle.loads(pickle.dumps(caught.value))) == message


# ---------------------------------------------------------------------------------------------
# User profile files


def entry(value: float | str, confidence: str = "C") -> dict[str, float | str]:
    return {"value": value, "source": "test bench measurement", "confidence": confidence}


def mcu_table() -> dict[str, object]:
    numbers = {
        "clock_hz": 64e6, "sram_bytes": 65536, "flash_bytes": 262144, "energy_per_cycle_j": 100e-12,
        "cycles_per_neuron_update": 20, "cycles_per_spike": 10, "cycles_per_synaptic_op": 8,
        "cycles_per_int8_mac": 2, "cycles_per_fp32_mac": 5, "overhead_cycles_per_step": 50,
    }
    return {"kind": "mcu", "title": "Bench MCU", **{key: entry(value) for key, value in numbers.items()}}


def write_boards(tmp_path: Path, **boards: dict[str, object]) -> Path:
    path = tmp_path / "my_boards.toml"
    path.write_text(tomli_w.dumps({"boards": boards}), encoding="utf-8")
    return path


def test_user_file_with_one_or_several_boards(tmp_path: Path):
    one = write_boards(tmp_path, mine=mcu_table())
    board = load_board(one)
    assert isinstance(board, McuBoard) and board.clock_hz == 64e6 and board.path == str(one)
    assert spiking_cost(hand_network(), HAND_COUNTS, str(one), 100).cycles_per_step == 20 * 30 + 10 * 7 + 8 * 11 + 50
    several = write_boards(tmp_path, first=mcu_table(), second={**mcu_table(), "title": "Second"})
    assert load_board(several, board_name="second").title == "Second"
    assert set(load_boards(several)) == {"first", "second"}
    with pytest.raises(BoardError, match="board_name"):
        load_board(several)
    with pytest.raises(BoardError, match="did you mean 'second'"):
        load_board(several, board_name="secnd")


def without(table: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in table.items() if k != key}


@pytest.mark.parametrize(("table", "key", "problem"), [
    (without(mcu_table(), "clock_hz"), "boards.mine.clock_hz", "missing key"),
    ({**mcu_table(), "clock_hz": entry("fast")}, "boards.mine.clock_hz.value", "expected a finite number"),
    ({**mcu_table(), "energy_per_cycle_j": entry(-1e-12)}, "boards.mine.energy_per_cycle_j.value", "expected a positive number"),
    ({**mcu_table(), "cycles_per_spike": entry(-3)}, "boards.mine.cycles_per_spike.value", "expected a number >= 0"),
    ({**mcu_table(), "sram_bytes": entry(1.5)}, "boards.mine.sram_bytes.value", "expected a whole number"),
    ({**mcu_table(), "kind": "fpga"}, "boards.mine.kind", "unknown kind 'fpga'"),
    (without(mcu_table(), "kind"), "boards.mine.kind", "missing key"),
    ({**mcu_table(), "clock_hz": 64e6}, "boards.mine.clock_hz", "expected a table with value, source and confidence"),
    ({**mcu_table(), "clock_hx": entry(1.0)}, "boards.mine.clock_hx", "did you mean 'clock_hz'?"),
    ({**mcu_table(), "clock_hz": entry(64e6, confidence="D")}, "boards.mine.clock_hz.confidence", "expected A, B or C"),
    ({**mcu_table(), "clock_hz": without(entry(64e6), "source")}, "boards.mine.clock_hz.source", "missing key"),
    (without(mcu_table(), "title"), "boards.mine.title", "missing key"),
])
def test_bad_user_profile_names_file_and_key(tmp_path: Path, table: dict[str, object], key: str, problem: str):
    path = write_boards(tmp_path, mine=table)
    with pytest.raises(BoardError) as caught:
        load_board(path)
    assert caught.value.path == str(path) and caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ") and problem in str(caught.value)
    assert "Fix: " in str(caught.value)


def test_bad_neuromorphic_grid_names_the_key(tmp_path: Path):
    xylo = tomli_w.dumps({"boards": {"x": {
        "kind": "neuromorphic", "title": "X", "decay_grid": entry("log"),
        **{key: entry(1) for key in ("e_sop_j", "e_neuron_update_j", "e_route_j", "static_power_w",
                                     "timestep_latency_s", "max_neurons", "weight_bits")},
    }}})
    path = tmp_path / "x.toml"
    path.write_text(xylo, encoding="utf-8")
    with pytest.raises(BoardError, match=r"boards\.x\.decay_grid\.value: expected one of"):
        load_board(path)


def test_toml_syntax_error_names_file_and_line(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text('[boards.mine]\nkind = "mcu"\nclock_hz = { value = 64e6, source = "x" confidence = "A" }\n', encoding="utf-8")
    with pytest.raises(BoardError) as caught:
        load_board(path)
    assert caught.value.path == str(path) and caught.value.key == "line 3"
    assert "TOML syntax error" in str(caught.value)


def test_missing_file_and_empty_file(tmp_path: Path):
    with pytest.raises(BoardError, match="cannot read the file"):
        load_board(tmp_path / "nowhere.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(BoardError, match="no boards in the file"):
        load_board(empty)


def test_arithmetic_cost_charges_macs_only():
    board = load_board("nrf52840")
    report = arithmetic_cost(1441, board, 100, flash_bytes=64, ram_bytes=32)
    assert report.cycles_per_step == board.cycles_per_int8_mac * 1441 + board.overhead_cycles_per_step
    assert report.energy_j == pytest.approx(report.cycles_per_step * 155e-12)
    assert (report.flash_bytes, report.ram_bytes) == (64, 32) and report.feasible
    assert not arithmetic_cost(10, "xylo_audio2", 100).feasible
