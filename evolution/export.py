"""``spikefly export``: a controller file -> a header-only C file, a NIR graph, or the int8 controller file.

The C export is the integer network (a float controller is quantised first: int8 weights with one
multiplier per receiving neuron, shift decay), bit-exact with the project's integer mode. The
NIR export is the float network at the controller's substep ``dt = 1 / (control_hz x K)``, which
NIR itself does not store. Both cover the network; the encoder and decoder named in the
controller file run beside it, and so does the guidance law of a ``guided`` or ``gap``
controller (the C export of a ``gap`` one also writes that law, :mod:`export_guidance`) and a
detector's decision rule (the C export of an audio controller also writes its rate decoding,
hold and class choice, :mod:`export_detection`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

from spikefly.controllers import ControllerSpec, IntegerLIFNetwork, RateDecoder, quantize, save
from spikefly.controllers.quantize import dequantize
from spikefly.core import SpikeflyError
from spikefly.envs import AUDIO_EVENT_ID
from spikefly.envs.quadrotor_settings import QuadrotorSettings

FORMATS = ("c", "nir", "json")
NIR_FIX = "evolve a NIR-ready controller (spikefly evolve --nir-ready), or export to C, which runs every feature"


class ExportError(SpikeflyError):
    """A controller that cannot be exported as asked: the message says why and the fix."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    flash_bytes: int | None
    """C: bytes of the const tables (code not included); None for NIR."""
    ram_bytes: int | None
    """C: ``sizeof`` the state struct; None for NIR."""
    dt_s: float
    """Substep the network runs at (NIR stores no dt: a reader must be told)."""
    law_path: Path | None = None
    """C export of an ``action_mode="gap"`` controller: the guidance law its actions are added to,
    written as C beside the network (``NAME_guidance.h``); None otherwise."""
    detect_path: Path | None = None
    """C export of a detector (audio task, rate decoder): its decision rule, written as C beside the
    network (``NAME_detect.h``); None otherwise."""


def substep_s(spec: ControllerSpec) -> float:
    """Seconds per LIF substep: the control period (the task's: 20 ms flying, a 10 ms frame listening)
    divided by ``steps_per_action``."""
    from spikefly.evolution.tasks import task_for

    control_hz, _ = task_for(spec.env_id).control_rate(spec.env_settings)
    return 1.0 / (control_hz * spec.steps_per_action)


def integer_network(spec: ControllerSpec) -> IntegerLIFNetwork:
    """The network the C export runs: ``spec``'s own when integer, else quantised (int8 weights,
    shift decay; 16 input fractional bits for an analog encoder, 0 for spikes)."""
    if isinstance(spec.network, IntegerLIFNetwork):
        return spec.network
    analog = spec.encoder.cost(spec.observation_low.shape[0], spec.steps_per_action).analog_inputs > 0
    return quantize(spec.network, input_fractional_bits=16 if analog else 0)


def export_controller(spec: ControllerSpec, format: str, out: str | os.PathLike[str], name: str = "spikefly_net",
                      unit_r: bool = False, dt_s: float | None = None) -> ExportResult:
    """Write ``spec``'s network to ``out`` in ``format`` ("c" or "nir"; ``unit_r``: see
    :func:`~spikefly.controllers.export_nir.to_nir`; ``dt_s``: NIR only, the step the graph is written
    for instead of the controller's substep, the same discrete network)."""
    if format not in FORMATS:
        raise ExportError(f"format {format!r}: choose one of {FORMATS}")
    out = Path(out)
    if dt_s is not None and format != "nir":
        raise ExportError(f"dt {dt_s!r}: only the NIR export is written for a step in seconds; drop it for {format}")
    if dt_s is not None and not (isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and 0 < dt_s <= 1.0):
        raise ExportError(f"dt {dt_s!r}: give the step in seconds, > 0 and at most 1 (e.g. 1e-4 for snnTorch 1.0)")
    dt = dt_s if dt_s is not None else substep_s(spec)
    network = integer_network(spec) if format in ("c", "json") else spec.network
    out.parent.mkdir(parents=True, exist_ok=True)  # a new folder is fine (the CLI checked it can be made)
    if format == "json":
        save(dataclasses.replace(spec, network=network), out)
        return ExportResult(out, format, None, None, dt)
    if format == "c":
        from spikefly.controllers.export_c import export_c

        try:
            exported = export_c(network, name)
        except ValueError as error:
            raise ExportError(f"C export: {error}") from error
        exported.write(out)
        law = None
        if spec.env_settings.get("action_mode") == "gap":
            from spikefly.evolution.export_guidance import write_gap_law_c

            law = write_gap_law_c(QuadrotorSettings(**spec.env_settings), name, out)
        detect = None
        if spec.env_id == AUDIO_EVENT_ID and isinstance(spec.decoder, RateDecoder):
            from spikefly.evolution.export_detection import write_detection_rule_c

            detect = write_detection_rule_c(spec.decoder, spec.n_actions, spec.steps_per_action, name, out)
        return ExportResult(out, format, exported.flash_bytes, exported.ram_bytes, dt, law, detect)
    from spikefly.controllers.export_nir import export_nir

    network = dequantize(spec.network) if isinstance(spec.network, IntegerLIFNetwork) else spec.network
    try:
        export_nir(network, out, dt, unit_r)
    except ImportError as error:
        raise ExportError(str(error)) from error
    except ValueError as error:
        raise ExportError(f"{error}. Fix: {NIR_FIX}") from error
    return ExportResult(out, format, None, None, dt)
