"""Run a built STM32F405 image in QEMU (``-M netduinoplus2``) on recorded inputs, and check it.

:func:`run_image` writes the inputs (int32 [T, K, n_inputs], the network's quantised inputs of T
control steps) to ``inputs.bin`` beside the image, starts ``qemu-system-arm`` with semihosting
and ``-icount shift=0`` (one instruction = one virtual nanosecond, which the harness's TIM2
counts), and reads ``records.bin`` back into an :class:`EmulatedRun`. :func:`compare_with_kernel`
replays the same inputs through spikefly's integer kernel (:func:`spikefly.controllers.lif_state.simulate`)
and lists every substep where a spike or an output membrane differs (none, for a correct export).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers.lif_state import LIFState, simulate
from spikefly.controllers.mcu_build import EXIT_CODES, McuBuildError, McuImage, find_tools
from spikefly.controllers.network import IntegerLIFNetwork

QEMU_MACHINE = "netduinoplus2"
"""QEMU's STM32F405 board (Cortex-M4F at 168 MHz, 1 MB flash, 192 KB SRAM)."""


@dataclass(frozen=True)
class NetworkRun:
    """What a network computed on recorded inputs, one row per control step."""

    membrane: NDArray[np.int32]
    """[T, K, n_out]: output membranes, Q.F."""
    out_spikes: NDArray[np.uint8]
    """[T, K, n_out]: output spikes."""
    spiked: NDArray[np.uint8]
    """[T, K, N]: spikes of every neuron."""


@dataclass(frozen=True)
class EmulatedRun(NetworkRun):
    """The run on the emulated STM32F405."""

    instructions: NDArray[np.int64]
    """[T]: instructions executed by the K substep calls of each control step."""


@dataclass(frozen=True)
class KernelRun(NetworkRun):
    """The same inputs through the integer kernel."""

    counts: NDArray[np.int64]
    """[T, 4]: neuron updates, spikes, input events, synaptic ops of each control step."""


def record_dtype(substeps: int, n_neurons: int, n_outputs: int) -> np.dtype:
    """The harness's record struct as a numpy dtype (C layout: ``align=True``)."""
    return np.dtype([("instructions", "<u4"), ("membrane", "<i4", (substeps, n_outputs)),
                     ("out_spikes", "u1", (substeps, n_outputs)), ("spiked", "u1", (substeps, n_neurons))], align=True)


def run_image(image: McuImage, inputs: NDArray[np.int32], timeout_s: float = 600.0) -> EmulatedRun:
    """Feed ``inputs`` int32 [T, K, n_inputs] to ``image`` in QEMU and read every control step's record."""
    inputs = np.asarray(inputs)
    expected = (image.substeps, image.n_inputs)
    if inputs.ndim != 3 or inputs.shape[1:] != expected or inputs.dtype != np.int32:
        raise ValueError(f"run_image: inputs must be int32 [T, {expected[0]}, {expected[1]}], got {inputs.dtype} {inputs.shape}")
    width = max(image.n_inputs, 1)  # the harness reads one padded column when there are no inputs
    padded = np.zeros((inputs.shape[0], image.substeps, width), "<i4")
    padded[:, :, : image.n_inputs] = inputs
    records_path = image.elf.parent / "records.bin"
    data = run_qemu(image.elf, padded.tobytes(), timeout_s)
    dtype = record_dtype(image.substeps, image.n_neurons, image.n_outputs)
    records = np.frombuffer(data, dtype=dtype)
    if records.shape[0] != inputs.shape[0]:
        raise McuBuildError(f"{records_path}: {records.shape[0]} control steps written for {inputs.shape[0]} fed. "
                            "Fix: rebuild the image for this controller")
    return EmulatedRun(membrane=records["membrane"].astype(np.int32), out_spikes=records["out_spikes"].copy(),
                       spiked=records["spiked"].copy(), instructions=records["instructions"].astype(np.int64))


def run_qemu(elf: Path, inputs: bytes, timeout_s: float = 600.0) -> bytes:
    """Write ``inputs`` to ``inputs.bin`` beside ``elf``, run the image in QEMU (``-icount shift=0``)
    and return what its harness wrote to ``records.bin``."""
    qemu = find_tools()["qemu-system-arm"]
    directory = elf.parent
    (directory / "inputs.bin").write_bytes(inputs)
    records_path = directory / "records.bin"
    records_path.unlink(missing_ok=True)
    command = [qemu, "-M", QEMU_MACHINE, "-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,align=off,sleep=off",
               "-kernel", str(elf)]
    try:
        done = subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise McuBuildError(f"{elf}: QEMU did not finish within {timeout_s:g} s. Fix: feed a shorter recording") from None
    if done.returncode != 0:
        reason = EXIT_CODES.get(done.returncode, f"exit code {done.returncode}")
        raise McuBuildError(f"{elf}: the emulated run failed: {reason}. {done.stderr.strip()} "
                            "Fix: rebuild the image (build_image) and check the inputs' shape")
    return records_path.read_bytes()


def run_kernel(network: IntegerLIFNetwork, inputs: NDArray[np.int32]) -> KernelRun:
    """``inputs`` int32 [T, K, n_inputs] through the integer kernel, one substep at a time, from rest."""
    steps, substeps = inputs.shape[:2]
    state = LIFState.zeros(network)
    membrane = np.zeros((steps, substeps, network.n_outputs), np.int32)
    out_spikes = np.zeros((steps, substeps, network.n_outputs), np.uint8)
    spiked = np.zeros((steps, substeps, network.n_neurons), np.uint8)
    counts = np.zeros((steps, 4), np.int64)
    for t in range(steps):
        before = np.array(state.counts(), np.int64)
        for k in range(substeps):
            spikes, outputs = simulate(network, inputs[t, k:k + 1], state)
            out_spikes[t, k], membrane[t, k], spiked[t, k] = spikes[0], outputs[0], state.spiked
        counts[t] = np.array(state.counts(), np.int64) - before
    return KernelRun(membrane=membrane, out_spikes=out_spikes, spiked=spiked, counts=counts)


def compare_with_kernel(emulated: NetworkRun, kernel: NetworkRun) -> list[str]:
    """Every (control step, substep) where the emulated MCU and the kernel differ, first 10, as sentences."""
    differences = []
    for name in ("spiked", "out_spikes", "membrane"):
        mine, theirs = getattr(emulated, name), getattr(kernel, name)
        if mine.shape != theirs.shape:
            return [f"{name}: shape {mine.shape} on the MCU, {theirs.shape} in the kernel"]
        for t, k in np.argwhere(np.any(mine != theirs, axis=2))[:10]:
            differences.append(f"control step {t}, substep {k}: {name} {mine[t, k].tolist()} on the MCU, "
                               f"{theirs[t, k].tolist()} in the kernel")
    return differences


__all__ = ["EmulatedRun", "KernelRun", "NetworkRun", "QEMU_MACHINE", "compare_with_kernel", "record_dtype", "run_image", "run_kernel", "run_qemu"]
