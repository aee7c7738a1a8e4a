"""Recorded episodes as plain arrays: what rendering reads (never a controller object).

A :class:`FlightRecording` holds one quadrotor flight: the drone's states after reset and after
every control step, what the range sensor read, the actions, and the spiking network's log
(the input channels and every neuron's spike at every LIF substep). A
:class:`ListeningRecording` holds one audio clip's feature frames, events, detections and the
same network log. ``spikefly.evolution.review.record`` fills them by flying a controller exactly as
``spikefly evaluate`` does; :mod:`spikefly.envs.render.flight` draws them. Both save to and load from
NPZ (arrays only, no pickle).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from spikefly.core import SpikeflyError


class RecordingError(SpikeflyError):
    """A recording file that cannot be read: the message names the file and the fix."""


@dataclass(frozen=True, eq=False)
class SpikeLog:
    """The network's activity over an episode of T control steps of K LIF substeps each."""

    inputs: NDArray[np.float32]
    """float32[T, K, C]: the encoder's output per substep (1.0 per spike, or an analog current)."""
    spikes: NDArray[np.uint8]
    """uint8[T, K, N]: 1 where neuron j fired at that substep (hidden and output neurons alike)."""
    output_index: NDArray[np.int32]
    """int32[O]: the neurons read by the decoder, in action order."""

    @property
    def n_neurons(self) -> int:
        return int(self.spikes.shape[2])

    @property
    def hidden_index(self) -> NDArray[np.int64]:
        """Neurons that are not outputs, ascending."""
        return np.setdiff1d(np.arange(self.n_neurons), self.output_index)


@dataclass(frozen=True, eq=False)
class FlightRecording:
    """One quadrotor flight of T control steps (state arrays have T + 1 rows: after reset, then each step)."""

    world: str
    seed: int
    outcome: str
    """goal, collision, out_of_bounds or timeout."""
    total_return: float
    control_hz: float
    urdf_path: str
    max_range_m: float
    ray_directions: NDArray[np.float64]
    """float64[R, 3]: unit ray directions in the heading frame (x forward, y left)."""
    bounds_min: NDArray[np.float64]
    bounds_max: NDArray[np.float64]
    goal_position: NDArray[np.float64]
    goal_radius_m: float
    obstacle_shape: NDArray[np.int32]
    """int32[M]: the episode's obstacles (``spikefly.worlds.ObstacleArrays``), static and generated."""
    obstacle_position_m: NDArray[np.float64]
    obstacle_half_extents_m: NDArray[np.float64]
    obstacle_yaw_rad: NDArray[np.float64]
    position_m: NDArray[np.float64]
    """float64[T + 1, 3]."""
    quaternion: NDArray[np.float64]
    """float64[T + 1, 4]: orientation, xyzw."""
    velocity_mps: NDArray[np.float64]
    """float64[T + 1, 3]."""
    time_s: NDArray[np.float64]
    """float64[T + 1]: simulated time (the last step may end early, at a collision or the goal)."""
    min_clearance_m: NDArray[np.float64]
    """float64[T + 1]: smallest clearance so far."""
    rotor_energy_j: NDArray[np.float64]
    """float64[T + 1]: mechanical rotor energy so far."""
    compute_energy_j: NDArray[np.float64]
    """float64[T + 1]: the network's energy so far on the controller's board (NaN without a board)."""
    synaptic_ops: NDArray[np.int64]
    """int64[T + 1]: synaptic operations so far."""
    ranges_m: NDArray[np.float64]
    """float64[T + 1, R]: the range readings the controller saw."""
    actions: NDArray[np.float32]
    """float32[T, 4]: the controller's actions in [-1, 1]."""
    rewards: NDArray[np.float64]
    """float64[T]."""
    log: SpikeLog

    @property
    def steps(self) -> int:
        return int(self.actions.shape[0])


@dataclass(frozen=True, eq=False)
class ListeningRecording:
    """One audio clip of T feature frames (10 ms each) heard by a detector."""

    world: str
    seed: int
    frame_s: float
    """Seconds per frame."""
    features: NDArray[np.float32]
    """float32[T, B]: the gain-controlled mel band features the controller heard."""
    event_onset_s: NDArray[np.float64]
    """float64[V]: event onsets on the frame clock (frame t at t x frame_s)."""
    event_offset_s: NDArray[np.float64]
    event_label: NDArray[np.str_]
    """str[V]: class names."""
    classes: NDArray[np.str_]
    """str[C]: target classes; detection c means ``classes[c - 1]``."""
    detections: NDArray[np.int8]
    """int8[T]: the action per frame (0 = nothing)."""
    total_return: float
    counts: dict[str, int]
    """Scorer counts: hits, misses, false alarms, ..."""
    log: SpikeLog
    audio: NDArray[np.float32] | None = None
    """float32[S]: the clip's samples at ``sample_rate`` Hz (muxed into the video when present)."""
    sample_rate: int = 16000

    @property
    def steps(self) -> int:
        return int(self.detections.shape[0])


Recording = TypeVar("Recording", FlightRecording, ListeningRecording)


def save_recording(recording: FlightRecording | ListeningRecording, path: str | os.PathLike[str]) -> Path:
    """Write ``recording`` as an NPZ file (arrays and scalars only)."""
    arrays: dict[str, Any] = {"kind": np.str_(type(recording).__name__)}
    for item in fields(recording):
        value = getattr(recording, item.name)
        if isinstance(value, SpikeLog):
            for sub in fields(SpikeLog):
                arrays[f"log.{sub.name}"] = getattr(value, sub.name)
        elif isinstance(value, dict):
            arrays["counts.names"] = np.array(list(value), dtype=np.str_)
            arrays["counts.values"] = np.array(list(value.values()), dtype=np.int64)
        elif value is not None:
            arrays[item.name] = np.asarray(value)
    path = Path(path)
    with open(path, "wb") as stream:
        np.savez_compressed(stream, **arrays)
    return path


def load_recording(path: str | os.PathLike[str]) -> FlightRecording | ListeningRecording:
    """Read a recording written by :func:`save_recording`; anything else raises :class:`RecordingError`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as error:
        raise RecordingError(f"{path}: not a recording NPZ ({error}). Fix: record it again with spikefly render") from error
    kinds = {"FlightRecording": FlightRecording, "ListeningRecording": ListeningRecording}
    kind = str(arrays.pop("kind", ""))
    if kind not in kinds:
        raise RecordingError(f"{path}: no recording kind in the file. Fix: record it again with spikefly render")
    cls = kinds[kind]
    values: dict[str, Any] = {}
    log = SpikeLog(**{sub.name: arrays.pop(f"log.{sub.name}") for sub in fields(SpikeLog)})
    for item in fields(cls):
        if item.name == "log":
            values["log"] = log
        elif item.name == "counts":
            values["counts"] = dict(zip(arrays["counts.names"].tolist(), arrays["counts.values"].tolist()))
        elif item.name in arrays:
            value = arrays[item.name]
            values[item.name] = value.item() if value.ndim == 0 else value
    return cls(**values)
