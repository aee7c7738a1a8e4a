"""``spikefly deploy``: the exported controller on an emulated STM32F405, checked bit for bit, measured.

One deployment (:func:`deploy`):

1. the controller's integer network (quantised as ``spikefly export --format c`` does) is
   exported to C and built with the bare-metal harness (:mod:`spikefly.controllers.mcu_build`);
2. one episode is recorded with spikefly's own integer controller: a PyBullet flight for a
   quadrotor controller (:func:`~spikefly.evolution.review.record.record_flight`), a clip for an
   audio detector (:func:`~spikefly.evolution.review.record.record_listening`), giving the
   network's quantised inputs [T, K, C], every neuron's spikes and the actions;
3. the inputs run in QEMU's STM32F405 (:mod:`spikefly.controllers.mcu_run`); every neuron's
   spike, every output membrane and every action decoded from the emulated outputs must equal the
   recording and the integer kernel, bit for bit;
4. measured figures (the controller's flash and RAM in the linked image, instructions per control
   step) are put beside the cost model's (:func:`~spikefly.controllers.cost_model.spiking_cost`).

Measured energy is instructions x the board's energy per cycle: QEMU counts instructions, not
cycles (a Cortex-M4 takes 1-3 cycles per instruction, plus flash wait states at 168 MHz).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spikefly.controllers import ControllerSpec
from spikefly.controllers.boards import McuBoard, load_board
from spikefly.controllers.codec import decode_into, decoder_kernel_args
from spikefly.controllers.cost_fit import Measurement
from spikefly.controllers.cost_model import connected_inputs, spiking_cost
from spikefly.controllers.export_c import export_c
from spikefly.controllers.mcu_build import build_image, find_tools
from spikefly.controllers.mcu_run import compare_with_kernel, run_image, run_kernel
from spikefly.controllers.quantize import quantize_inputs
from spikefly.core import SpikeflyError
from spikefly.envs import AUDIO_EVENT_ID
from spikefly.evolution.board_cost import step_counts
from spikefly.evolution.export import integer_network

EMULATED_BOARDS = {"stm32f405": "QEMU netduinoplus2 (STM32F405, Cortex-M4)"}
"""Boards with an emulator, and the emulated machine."""


class DeployError(SpikeflyError):
    """A controller or board that cannot be deployed as asked: the message says why and the fix."""


@dataclasses.dataclass(frozen=True)
class Recording:
    """One episode of the integer controller: the network's inputs and what it did."""

    world: str
    seed: int
    inputs: np.ndarray
    """int32 [T, K, C]: quantised network inputs."""
    spiked: np.ndarray
    """uint8 [T, K, N]: every neuron's spikes in the episode."""
    actions: np.ndarray
    """float32 [T, A] (flight) or int8 [T] detections (audio)."""
    outcome: str


def record_episode(spec: ControllerSpec, world: str | os.PathLike[str] | None, seed: int) -> Recording:
    """Fly (or listen to) one episode with the integer ``spec`` and keep its inputs, spikes and actions."""
    from spikefly.evolution.review.record import record_flight, record_listening

    world = world or ((spec.metadata or {}).get("worlds") or ["forest"])[0]
    if spec.env_id == AUDIO_EVENT_ID:
        listened = record_listening(spec, world, seed, with_audio=False)
        log, actions, outcome = listened.log, listened.detections, f"return {listened.total_return:.2f}"
    else:
        flown = record_flight(spec, world, seed)
        log, actions, outcome = flown.log, flown.actions, flown.outcome
    return Recording(str(world), int(seed), quantize_inputs(log.inputs, spec.network), log.spikes, actions, outcome)


def decoded_actions(spec: ControllerSpec, out_spikes: np.ndarray, membrane_q: np.ndarray) -> np.ndarray:
    """Actions [T, A] from output spikes [T, K, n_out] and Q.F membranes, as the controller decodes them."""
    code, params = decoder_kernel_args(spec.decoder)
    scale = 1.0 / float(1 << spec.network.fractional_bits)
    actions = np.zeros((out_spikes.shape[0], spec.n_actions), np.float32)
    state = spec.decoder.initial_state(spec.n_actions)  # the episode's decoder state, from its start
    for t in range(out_spikes.shape[0]):
        decode_into(code, params, np.ascontiguousarray(out_spikes[t]), (membrane_q[t] * scale).astype(np.float32), state,
                    actions[t])
    return actions


def _decisions(spec: ControllerSpec, actions: np.ndarray) -> np.ndarray:
    if spec.env_id != AUDIO_EVENT_ID:
        return actions
    from spikefly.envs.audio_env import detected_class

    return np.array([detected_class(action) for action in actions], np.int8)


@dataclasses.dataclass(frozen=True)
class Deployment:
    report: dict[str, Any]
    """JSON values: episode, network, bit_exact, differences, counts per step, measured and modelled figures."""
    measurement: Measurement
    """Per control step counts and instructions, for fitting the board's coefficients."""


def deploy(spec: ControllerSpec, board: str = "stm32f405", world: str | os.PathLike[str] | None = None, seed: int = 0,
           directory: str | os.PathLike[str] | None = None) -> Deployment:
    """Build, run and check ``spec`` on the emulated ``board`` (module docstring)."""
    if board not in EMULATED_BOARDS:
        raise DeployError(f"--board {board}: no emulator for it. Fix: use one of {', '.join(EMULATED_BOARDS)} "
                          "(QEMU's netduinoplus2 is the Crazyflie's STM32F405)")
    profile = load_board(board)
    if not isinstance(profile, McuBoard):  # only an edited boards.toml gets here
        raise DeployError(f"{board}: not an MCU profile. Fix: restore controllers/boards.toml")
    find_tools()  # a missing toolchain stops before the episode is flown
    spec = dataclasses.replace(spec, network=integer_network(spec))
    network = spec.network
    recording = record_episode(spec, world, seed)
    with tempfile.TemporaryDirectory(prefix="spikefly-deploy-") as scratch:
        build_dir = Path(directory) if directory is not None else Path(scratch)
        image = build_image(export_c(network, "spikefly_net"), spec.steps_per_action, network.n_inputs, network.n_neurons,
                            network.n_outputs, build_dir)
        emulated = run_image(image, recording.inputs)
    kernel = run_kernel(network, recording.inputs)
    differences = compare_with_kernel(emulated, kernel)
    if not np.array_equal(emulated.spiked, recording.spiked):
        differences.append("the emulated spikes differ from the recorded episode's")
    actions = _decisions(spec, decoded_actions(spec, emulated.out_spikes, emulated.membrane))
    actions_equal = np.array_equal(actions, recording.actions)
    if not actions_equal:
        differences.append("the actions decoded from the emulated outputs differ from the recorded episode's")

    from spikefly.evolution.tasks import task_for

    control_hz, _ = task_for(spec.env_id).control_rate(spec.env_settings)
    steps = recording.inputs.shape[0]
    analog = spec.encoder.cost(spec.observation_low.shape[0], spec.steps_per_action).analog_inputs > 0
    modelled = spiking_cost(network, step_counts(network, kernel.counts.sum(axis=0), steps, analog), profile, control_hz)
    instructions = float(emulated.instructions.mean())
    size = image.size
    report = {
        "board": board, "machine": EMULATED_BOARDS[board], "control_hz": control_hz,
        "episode": {"world": recording.world, "seed": recording.seed, "control_steps": steps, "outcome": recording.outcome},
        "network": {"inputs": network.n_inputs, "connected_inputs": connected_inputs(network), "neurons": network.n_neurons, "outputs": network.n_outputs,
                    "synapses": network.n_synapses, "substeps": spec.steps_per_action, "max_delay": network.max_delay},
        "bit_exact": not differences, "actions_equal": bool(actions_equal), "differences": differences,
        "counts_per_step": dict(zip(("neuron_updates", "spikes", "input_events", "synaptic_ops"),
                                    (float(value) for value in kernel.counts.mean(axis=0)))),
        "measured": {
            "instructions_per_step": instructions, "instructions_max": int(emulated.instructions.max()),
            "flash_bytes": size.controller_flash_bytes, "code_bytes": size.controller_code_bytes,
            "const_bytes": size.controller_const_bytes, "ram_bytes": size.controller_ram_bytes,
            "image_flash_bytes": size.image_flash_bytes, "image_ram_bytes": size.image_ram_bytes,
            "latency_s": instructions / profile.clock_hz, "energy_j": instructions * profile.energy_per_cycle_j,
        },
        "modelled": {"cycles_per_step": modelled.cycles_per_step, "flash_bytes": modelled.flash_bytes,
                     "ram_bytes": modelled.ram_bytes, "latency_s": modelled.latency_s, "energy_j": modelled.energy_j},
    }
    return Deployment(report, Measurement(recording.world, kernel.counts, emulated.instructions, connected_inputs(network),
                                          spec.steps_per_action))


__all__ = ["EMULATED_BOARDS", "DeployError", "Deployment", "Recording", "decoded_actions", "deploy", "record_episode"]
