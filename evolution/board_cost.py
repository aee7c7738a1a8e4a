"""What a population's networks cost on the run's board, from the op counts their flights measured.

The kernels count four operations (neuron updates, spikes, input events, synaptic ops) over every
episode; :func:`step_counts` turns one genome's totals into means per control step for
:func:`spikefly.controllers.cost_model.spiking_cost`. With an analog encoder (direct or population
current) the input fan-outs are multiply-accumulates, not spike events: the kernels count both in
one synaptic-op counter, so the input share is split off as ``input_events x`` the network's mean
input fan-out and charged as MACs (a board that takes spikes only then rejects the network).

Fitness terms (:data:`BOARD_TERM_NAMES`): ``energy_cost`` = ``-energy_weight x`` energy per
control step in microjoules, ``latency_cost`` = ``-latency_weight x`` latency per control step in
milliseconds. A network the board cannot run (:attr:`CostReport.feasible` false) is ranked below
every feasible one by :func:`rank_infeasible_last`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers.boards import BoardProfile, load_board
from spikefly.controllers.cost_model import CostReport, StepCounts, spiking_cost
from spikefly.controllers.encoders import Encoder
from spikefly.controllers.network import IntegerLIFNetwork, LIFNetwork

BOARD_TERM_NAMES = ("energy_cost", "latency_cost")


def step_counts(network: LIFNetwork | IntegerLIFNetwork, ops: NDArray[np.int64], steps: int, analog_inputs: bool) -> StepCounts:
    """Means per control step of one network's op totals ``ops`` [4] over ``steps`` control steps."""
    steps = max(int(steps), 1)
    neuron_updates, spikes, input_events, synaptic_ops = (float(value) / steps for value in ops)
    macs = 0.0
    if analog_inputs and network.n_inputs:
        input_fan_out = float(network.row_ptr[network.n_inputs] - network.row_ptr[0]) / network.n_inputs
        macs = min(input_events * input_fan_out, synaptic_ops)
        synaptic_ops -= macs
        input_events = 0.0
    return StepCounts(neuron_updates, spikes, input_events, synaptic_ops, macs)


class BoardCharge:
    """The run's board, control rate and weight width; prices networks from their flights."""

    def __init__(self, board: str | BoardProfile, control_hz: float, weight_bits: int, encoder: Encoder, n_obs: int,
                 steps_per_action: int) -> None:
        self.board = board if isinstance(board, BoardProfile) else load_board(board)
        self.control_hz = control_hz
        self.weight_bits = weight_bits
        self.analog_inputs = encoder.cost(n_obs, steps_per_action).analog_inputs > 0

    def reports(self, networks: list, ops: NDArray[np.int64], steps: NDArray[np.int64]) -> list[CostReport]:
        """One report per network from op totals ``ops`` [G, E, 4] over ``steps`` [G, E] control steps."""
        return [
            spiking_cost(network, step_counts(network, ops[g].sum(axis=0), int(steps[g].sum()), self.analog_inputs),
                         self.board, self.control_hz, self.weight_bits)
            for g, network in enumerate(networks)
        ]


def board_terms(reports: list[CostReport], energy_weight: float, latency_weight: float) -> NDArray[np.float64]:
    """Terms [G, 2] in :data:`BOARD_TERM_NAMES` order."""
    energy_uj = np.array([report.energy_j * 1e6 for report in reports])
    latency_ms = np.array([report.latency_s * 1e3 for report in reports])
    return np.stack([-energy_weight * energy_uj, -latency_weight * latency_ms], axis=1)


def rank_infeasible_last(fitness: NDArray[np.float64], feasible: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Fitness with every infeasible genome below the worst feasible one (order among them kept).

    The infeasible block is shifted, not replaced by a huge constant: NEAT's species fitness
    sharing divides by the population's fitness range, which a -1e9 would flatten.
    """
    if feasible.all() or not feasible.any():
        return fitness
    shifted = fitness.copy()
    bad = ~feasible
    shifted[bad] += fitness[feasible].min() - fitness[bad].max() - 1.0
    return shifted
