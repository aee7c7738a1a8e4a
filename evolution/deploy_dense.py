"""The dense int8 MLP that ``spikefly evaluate`` compares with, measured on the emulated STM32F405.

:func:`record_observations` flies one PyBullet episode with a quadrotor controller and keeps the
observations it saw; :func:`measure_dense` builds a random calibrated int8 MLP of the given layer
sizes (:func:`~spikefly.controllers.dense_mlp.random_mlp`), runs it in QEMU on those observations
(quantised to int8 over the observation space, columns repeated when the first layer is wider than
the observation), checks every output against the numpy forward pass and reports the
instructions per forward pass and the MLP's flash and RAM in the linked image beside the cost
model's figures (:func:`~spikefly.controllers.cost_model.dense_ann_cost`). A forward pass of
these loops takes the same instructions whatever the weights and inputs; the recorded inputs
make the bit-exact check meaningful.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers import ControllerSpec
from spikefly.controllers.boards import load_board
from spikefly.controllers.cost_fit import DenseMeasurement
from spikefly.controllers.cost_model import dense_ann_cost
from spikefly.controllers.dense_mlp import quantize_observations, random_mlp
from spikefly.controllers.mcu_mlp import build_mlp_image, compare_with_reference, run_mlp_image


def record_observations(spec: ControllerSpec, world: str | os.PathLike[str], seed: int) -> NDArray[np.float32]:
    """float32 [T, n_obs]: the observations ``spec`` acted on in one PyBullet episode."""
    from spikefly.envs.episode import run_episode
    from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
    from spikefly.evolution.review.record import recording_controller

    controller = recording_controller(spec, seed)
    seen: list[NDArray[np.float32]] = []

    def policy(observation: NDArray[np.float32]) -> NDArray[np.float32]:
        seen.append(np.asarray(observation, np.float32).copy())
        return controller.act(observation)

    env = QuadrotorAvoidEnv(world, **spec.env_settings)
    try:
        run_episode(env, policy, seed)
    finally:
        env.close()
    return np.stack(seen)


def mlp_inputs(observations: NDArray[np.float32], low: NDArray[np.floating], high: NDArray[np.floating],
               width: int) -> NDArray[np.int8]:
    """int8 [T, width]: the observations quantised over [low, high], columns repeated up to ``width``."""
    quantised = quantize_observations(observations, low, high)
    return np.ascontiguousarray(quantised[:, np.arange(width) % quantised.shape[1]])


@dataclass(frozen=True)
class DenseDeployment:
    report: dict[str, object]
    """JSON values: layer sizes, bit_exact, differences, measured and modelled figures."""
    measurement: DenseMeasurement


def measure_dense(layer_sizes: list[int], inputs: NDArray[np.int8], activation: str = "hardtanh", seed: int = 0,
                  board: str = "stm32f405", control_hz: float = 30.0,
                  directory: str | os.PathLike[str] | None = None) -> DenseDeployment:
    """Build a random int8 MLP of ``layer_sizes`` (weights from ``seed``), run it on ``inputs`` int8
    [T, layer_sizes[0]] in QEMU and compare with numpy and with the cost model."""
    mlp = random_mlp(np.random.default_rng(seed), list(layer_sizes), inputs, activation)
    with tempfile.TemporaryDirectory(prefix="spikefly-dense-") as scratch:
        image = build_mlp_image(mlp, Path(directory) if directory is not None else Path(scratch))
        emulated = run_mlp_image(image, inputs)
    differences = compare_with_reference(mlp, inputs, emulated)
    profile = load_board(board)
    modelled = dense_ann_cost(layer_sizes, profile, control_hz)
    instructions = float(emulated.instructions.mean())
    size = image.size
    report = {
        "layer_sizes": list(layer_sizes), "activation": activation, "forward_passes": int(inputs.shape[0]),
        "bit_exact": not differences, "differences": differences,
        "measured": {"instructions_per_pass": instructions, "instructions_max": int(emulated.instructions.max()),
                     "flash_bytes": size.controller_flash_bytes, "code_bytes": size.controller_code_bytes,
                     "const_bytes": size.controller_const_bytes, "ram_bytes": size.controller_ram_bytes,
                     "energy_j": instructions * profile.energy_per_cycle_j},
        "modelled": {"cycles_per_step": modelled.cycles_per_step, "flash_bytes": modelled.flash_bytes,
                     "ram_bytes": modelled.ram_bytes, "energy_j": modelled.energy_j},
    }
    return DenseDeployment(report, DenseMeasurement("x".join(map(str, layer_sizes)), tuple(layer_sizes), emulated.instructions))


__all__ = ["DenseDeployment", "measure_dense", "mlp_inputs", "record_observations"]
