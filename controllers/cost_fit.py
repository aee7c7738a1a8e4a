"""Fit an MCU profile's cycle coefficients to instructions measured on the emulated board.

The cost model's MCU cycles (:mod:`spikefly.controllers.cost_model`) are linear in what the
kernel counted per control step: ``c_nu*NU + c_spk*PE + c_sop*SOP + c_in*IS`` (+ overhead). Given
the instructions the emulated STM32F405 executed in each control step
(:func:`spikefly.controllers.mcu_run.run_image`) and the kernel's counts of the same steps,
:func:`fit_cycles` finds the coefficients by non-negative least squares (``scipy.optimize.nnls``:
a negative cycle count would be meaningless) on relative errors, each controller weighted equally
whatever its size and the length of its recording. The profile's ``overhead_cycles_per_step`` (the caller's loop over the
substeps) is not fitted: the harness times the substep calls only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

COEFFICIENTS = ("cycles_per_neuron_update", "cycles_per_spike", "cycles_per_synaptic_op", "cycles_per_input_scan")
"""The McuBoard fields the fit sets, in the column order of :func:`step_features`."""


@dataclass(frozen=True)
class Measurement:
    """One controller's emulated run: per control step counts and instructions."""

    name: str
    counts: NDArray[np.int64]
    """[T, 4]: neuron updates, spikes, input events, synaptic ops (the kernel's counters)."""
    instructions: NDArray[np.int64]
    """[T]: instructions the emulated MCU executed in the same control steps."""
    connected_inputs: int
    """Input channels with synapses: the ones the C export reads every substep."""
    substeps: int

    def features(self) -> NDArray[np.float64]:
        """[T, 4]: NU, PE = spikes + input events, SOP, input scans = connected inputs x K."""
        counts = self.counts.astype(np.float64)
        steps = counts.shape[0]
        return np.column_stack([counts[:, 0], counts[:, 1] + counts[:, 2], counts[:, 3],
                                np.full(steps, float(self.connected_inputs * self.substeps))])


def fit_cycles(measurements: list[Measurement]) -> dict[str, float]:
    """Coefficients (:data:`COEFFICIENTS`) minimising the squared error over every control step."""
    return _fit_relative(COEFFICIENTS, [(m.features(), m.instructions) for m in measurements])


def _fit_relative(names: tuple[str, ...], rows: list[tuple[NDArray[np.float64], NDArray[np.int64]]]) -> dict[str, float]:
    """Non-negative least squares of instructions [T] on features [T, len(names)], over every
    (features, instructions) pair, each pair weighted to count the same whatever its size and length."""
    try:
        from scipy.optimize import nnls
    except ImportError as error:
        raise ImportError('fitting cycle coefficients needs scipy: pip install "spikefly[deploy]"') from error

    if not rows:
        raise ValueError("fit: no measurements")
    weighted, targets = [], []
    for features, instructions in rows:
        # relative errors, every measurement counting the same whatever its size or recording length
        weight = 1.0 / (np.sqrt(len(instructions)) * max(float(instructions.mean()), 1.0))
        weighted.append(features * weight)
        targets.append(instructions.astype(np.float64) * weight)
    solution, _ = nnls(np.vstack(weighted), np.concatenate(targets))
    return dict(zip(names, (float(value) for value in solution)))


def predict_cycles(coefficients: dict[str, float], measurement: Measurement) -> NDArray[np.float64]:
    """[T]: the cycles the coefficients give for every control step of ``measurement``."""
    return measurement.features() @ np.array([coefficients[name] for name in COEFFICIENTS])


DENSE_COEFFICIENTS = ("cycles_per_int8_mac", "cycles_per_activation")
"""The McuBoard fields :func:`fit_dense_cycles` sets, in the column order of :meth:`DenseMeasurement.features`."""


@dataclass(frozen=True)
class DenseMeasurement:
    """One dense int8 MLP's emulated run (:mod:`spikefly.controllers.mcu_mlp`)."""

    name: str
    layer_sizes: tuple[int, ...]
    """``[inputs, hidden..., outputs]``."""
    instructions: NDArray[np.int64]
    """[T]: instructions of each forward pass."""

    def features(self) -> NDArray[np.float64]:
        """[T, 2]: MACs (sum of products of consecutive sizes) and activations (non-input neurons)."""
        sizes = self.layer_sizes
        macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        return np.tile(np.array([float(macs), float(sum(sizes[1:]))]), (len(self.instructions), 1))


def fit_dense_cycles(measurements: list[DenseMeasurement]) -> dict[str, float]:
    """Coefficients (:data:`DENSE_COEFFICIENTS`) fitted as :func:`fit_cycles` fits the spiking ones."""
    return _fit_relative(DENSE_COEFFICIENTS, [(m.features(), m.instructions) for m in measurements])


def predict_dense_cycles(coefficients: dict[str, float], measurement: DenseMeasurement) -> NDArray[np.float64]:
    """[T]: the cycles the coefficients give for every forward pass of ``measurement``."""
    return measurement.features() @ np.array([coefficients[name] for name in DENSE_COEFFICIENTS])


__all__ = ["COEFFICIENTS", "DENSE_COEFFICIENTS", "DenseMeasurement", "Measurement", "fit_cycles", "fit_dense_cycles",
           "predict_cycles", "predict_dense_cycles"]
