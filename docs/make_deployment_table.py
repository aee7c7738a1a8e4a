"""The deployment tables of docs/deployment.md and the STM32F405 cycle fits behind boards.toml.

    python docs/make_deployment_table.py            # ~1-2 min; needs the Debian cross toolchain and QEMU
    python docs/make_deployment_table.py dense      # the dense int8 MLPs only (~10 s after the flight)

Deploys every controller below on the emulated STM32F405 (``spikefly deploy``: bit-exact check,
measured flash, RAM and instructions per control step), fits the profile's cycle coefficients on
the FIT controllers (non-negative least squares over every control step), and prints the
coefficients, the error of the fitted model on the HELD_OUT controllers, and the markdown table.
The synthetic networks are random integer networks of the given size in the quadrotor
champion's controller (its encoder, decoder and K), flown on the same course.

The dense part (``dense``) runs random calibrated int8 MLPs of the DENSE_FIT and DENSE_HELD_OUT
layer sizes on the quadrotor champion's observations of the same flight (``spikefly evaluate``'s
ANN comparison and PPO's policy cards are such MLPs), checks them bit for bit against numpy,
fits the per-MAC and per-activation figures on DENSE_FIT and prints their table.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from spikefly.controllers import LIFNetwork, load, quantize, random_network
from spikefly.controllers.cost_fit import fit_cycles, fit_dense_cycles, predict_cycles, predict_dense_cycles
from spikefly.evolution.deploy import deploy
from spikefly.evolution.deploy_dense import measure_dense, mlp_inputs, record_observations

CHAMPIONS = Path(__file__).resolve().parents[1] / "tests" / "evolution" / "data" / "champions"
WORLD, SEED = "forest", 0
FIT = ["quadrotor_enc_delta", "quadrotor_enc_level", "quadrotor_nocur", "quadrotor_refine", "synthetic_24", "synthetic_96",
       "synthetic_32_k2", "synthetic_audio_20", "synthetic_9", "synthetic_audio_3", "synthetic_24_in8", "synthetic_40_in30"]
HELD_OUT = ["quadrotor_gdef", "quadrotor_long", "quadrotor_seed1", "audio_kitchen", "synthetic_48", "synthetic_160",
            "synthetic_64_k4", "synthetic_audio_12", "synthetic_32_in16"]

# [inputs, hidden..., outputs], activation; 46 = the quadrotor's observation, 4 its actions
DENSE_FIT = [([46, 32, 4], "hardtanh"), ([46, 128, 128, 4], "hardtanh"), ([64, 16, 4], "hardtanh"),
             ([46, 16, 16, 4], "relu"), ([92, 64, 4], "relu"), ([12, 8, 4], "hardtanh"), ([46, 256, 4], "hardtanh")]
DENSE_HELD_OUT = [([46, 64, 64, 4], "hardtanh"), ([46, 64, 64, 4], "relu"), ([64, 64, 4], "hardtanh"),
                  ([138, 64, 64, 4], "hardtanh"), ([46, 96, 48, 4], "relu"), ([46, 8, 4], "hardtanh")]

ESTIMATE_BEFORE = {"cycles_per_int8_mac": 1.5, "cycles_per_activation": 20.8}
"""The STM32F405's dense figures before this measurement: 1.5 cycles per int8 MAC (CMSIS-NN SIMD, C) and
an activation charged as a spiking neuron update."""


def controller(name: str):
    """A bundled test champion, or ``synthetic[_audio]_N[_inC][_kK]``: a random N-neuron integer network
    (seed N) in the quadrotor (or audio) champion's controller, with synapses from only C input
    channels (spread over all of them) and K substeps if given."""
    if not name.startswith("synthetic_"):
        return load(CHAMPIONS / f"{name}.json")
    parts = name.split("_")[1:]
    base = load(CHAMPIONS / ("audio_kitchen.json" if parts[0] == "audio" else "quadrotor_gdef.json"))
    n = int(parts[1] if parts[0] == "audio" else parts[0])
    substeps = int(parts[-1][1:]) if parts[-1].startswith("k") else base.steps_per_action
    network = random_network(np.random.default_rng(n), base.network.n_inputs, n, base.network.n_outputs, min(0.5, 12.0 / n),
                             max_delay=3, weight_scale=1.5)
    for part in parts:
        if part.startswith("in"):
            network = keep_inputs(network, np.linspace(0, network.n_inputs - 1, int(part[2:])).astype(int))
    return dataclasses.replace(base, network=quantize(network), steps_per_action=substeps)


def keep_inputs(network: LIFNetwork, channels: np.ndarray) -> LIFNetwork:
    """``network`` without the synapses of the input channels not in ``channels``."""
    n_sources = network.n_inputs + network.n_neurons
    source = np.repeat(np.arange(n_sources), np.diff(network.row_ptr))
    keep = (source >= network.n_inputs) | np.isin(source, channels)
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(source[keep], minlength=n_sources))]).astype(network.row_ptr.dtype)
    return network.replace(row_ptr=row_ptr, target=network.target[keep], weight=network.weight[keep], delay=network.delay[keep])


def dense_main() -> None:
    spec = load(CHAMPIONS / "quadrotor_gdef.json")
    observations = record_observations(spec, WORLD, SEED)
    print(f"{len(observations)} observations of quadrotor_gdef on {WORLD}, seed {SEED}")
    runs = {}
    for sizes, activation in DENSE_FIT + DENSE_HELD_OUT:
        inputs = mlp_inputs(observations, spec.observation_low, spec.observation_high, sizes[0])
        run = measure_dense(sizes, inputs, activation, seed=len(runs))
        assert run.report["bit_exact"], (sizes, run.report["differences"])
        runs[(tuple(sizes), activation)] = run
    coefficients = fit_dense_cycles([runs[(tuple(sizes), act)].measurement for sizes, act in DENSE_FIT])
    print("fitted:", {key: round(value, 3) for key, value in coefficients.items()})
    print()
    print("| layer sizes (activation) | MACs / activations | instructions measured | cycles modelled before: estimate "
          "(error) | cycles modelled now (error) | flash, modelled / measured (B) | RAM, modelled / measured (B) "
          "| energy per pass, measured (uJ) |")
    print("|---|---|---|---|---|---|---|---|")
    for group, cases in (("held out", DENSE_HELD_OUT), ("fit", DENSE_FIT)):
        for sizes, activation in cases:
            run = runs[(tuple(sizes), activation)]
            measured, modelled = run.report["measured"], run.report["modelled"]
            macs, activations = run.measurement.features()[0]
            instructions = measured["instructions_per_pass"]
            before = float(predict_dense_cycles(ESTIMATE_BEFORE, run.measurement).mean())
            print(f"| {sizes} ({activation}){' (fit)' if group == 'fit' else ''} | {macs:.0f} / {activations:.0f} "
                  f"| {instructions:.0f} | {before:.0f} ({100 * (before - instructions) / instructions:+.0f} %) "
                  f"| {modelled['cycles_per_step']:.0f} ({100 * (modelled['cycles_per_step'] - instructions) / instructions:+.1f} %) "
                  f"| {modelled['flash_bytes']} / {measured['const_bytes']} tables + {measured['code_bytes']} code "
                  f"| {modelled['ram_bytes']} / {measured['ram_bytes']} | {measured['energy_j'] * 1e6:.2f} |")


def main() -> None:
    deployments = {}
    for name in FIT + HELD_OUT:
        spec = controller(name)
        world = None if "audio" in name else WORLD
        deployments[name] = deploy(spec, "stm32f405", world, SEED)
        report = deployments[name].report
        assert report["bit_exact"], (name, report["differences"])
        print(f"{name}: {report['episode']['control_steps']} control steps, bit-exact, "
              f"{report['measured']['instructions_per_step']:.0f} instructions per step")
    coefficients = fit_cycles([deployments[name].measurement for name in FIT])
    print("fitted:", {key: round(value, 2) for key, value in coefficients.items()})
    for group, names in (("fit", FIT), ("held out", HELD_OUT)):
        for name in names:
            measurement = deployments[name].measurement
            predicted = predict_cycles(coefficients, measurement).mean()
            measured = measurement.instructions.mean()
            print(f"  {group:<8} {name:<22} measured {measured:8.0f}  fitted model {predicted:8.0f}  "
                  f"error {100 * (predicted - measured) / measured:+5.1f} %")
    print()
    print("| controller | neurons / synapses / inputs (connected) / K | flash, modelled / measured (B) | RAM, modelled / measured (B) "
          "| cycles per step, modelled / instructions measured | energy per step, modelled / measured (uJ) |")
    print("|---|---|---|---|---|---|")
    for name in HELD_OUT + FIT:
        report = deployments[name].report
        net, measured, modelled = report["network"], report["measured"], report["modelled"]
        print(f"| {name}{' (fit)' if name in FIT else ''} | {net['neurons']} / {net['synapses']} / {net['inputs']} "
              f"({net['connected_inputs']}) / {net['substeps']} | {modelled['flash_bytes']} / {measured['const_bytes']} tables + {measured['code_bytes']} code "
              f"| {modelled['ram_bytes']} / {measured['ram_bytes']} | {modelled['cycles_per_step']:.0f} / "
              f"{measured['instructions_per_step']:.0f} | {modelled['energy_j'] * 1e6:.2f} / {measured['energy_j'] * 1e6:.2f} |")


if __name__ == "__main__":
    if sys.argv[1:] == ["dense"]:
        dense_main()
    elif sys.argv[1:] == ["spiking"]:
        main()
    else:
        main()
        dense_main()
