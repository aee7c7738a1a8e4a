"""The deployment table of docs/deployment.md and the STM32F405 cycle fit behind boards.toml.

    python docs/make_deployment_table.py            # ~1-2 min; needs the Debian cross toolchain and QEMU

Deploys every controller below on the emulated STM32F405 (``spikefly deploy``: bit-exact check,
measured flash, RAM and instructions per control step), fits the profile's cycle coefficients on
the FIT controllers (non-negative least squares over every control step), and prints the
coefficients, the error of the fitted model on the HELD_OUT controllers, and the markdown table.
The synthetic networks are random integer networks of the given size in the quadrotor
champion's controller (its encoder, decoder and K), flown on the same course.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from spikefly.controllers import load, quantize, random_network
from spikefly.controllers.cost_fit import fit_cycles, predict_cycles
from spikefly.evolution.deploy import deploy

CHAMPIONS = Path(__file__).resolve().parents[1] / "tests" / "evolution" / "data" / "champions"
WORLD, SEED = "forest", 0
FIT = ["quadrotor_enc_delta", "quadrotor_enc_level", "quadrotor_nocur", "quadrotor_refine", "synthetic_24", "synthetic_96",
       "synthetic_32_k2", "synthetic_audio_20", "synthetic_9", "synthetic_audio_3"]
HELD_OUT = ["quadrotor_gdef", "quadrotor_long", "quadrotor_seed1", "audio_kitchen", "synthetic_48", "synthetic_160",
            "synthetic_64_k4", "synthetic_audio_12"]


def controller(name: str):
    """A bundled test champion, or ``synthetic[_audio]_N[_kK]``: a random N-neuron integer network
    (seed N) in the quadrotor (or audio) champion's controller, with K substeps if given."""
    if not name.startswith("synthetic_"):
        return load(CHAMPIONS / f"{name}.json")
    parts = name.split("_")[1:]
    base = load(CHAMPIONS / ("audio_kitchen.json" if parts[0] == "audio" else "quadrotor_gdef.json"))
    n = int(parts[1] if parts[0] == "audio" else parts[0])
    substeps = int(parts[-1][1:]) if parts[-1].startswith("k") else base.steps_per_action
    network = random_network(np.random.default_rng(n), base.network.n_inputs, n, base.network.n_outputs, min(0.5, 12.0 / n),
                             max_delay=3, weight_scale=1.5)
    return dataclasses.replace(base, network=quantize(network), steps_per_action=substeps)


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
    print("| controller | neurons / synapses / inputs / K | flash, modelled / measured (B) | RAM, modelled / measured (B) "
          "| cycles per step, modelled / instructions measured | energy per step, modelled / measured (uJ) |")
    print("|---|---|---|---|---|---|")
    for name in HELD_OUT + FIT:
        report = deployments[name].report
        net, measured, modelled = report["network"], report["measured"], report["modelled"]
        print(f"| {name}{' (fit)' if name in FIT else ''} | {net['neurons']} / {net['synapses']} / {net['inputs']} / "
              f"{net['substeps']} | {modelled['flash_bytes']} / {measured['const_bytes']} tables + {measured['code_bytes']} code "
              f"| {modelled['ram_bytes']} / {measured['ram_bytes']} | {modelled['cycles_per_step']:.0f} / "
              f"{measured['instructions_per_step']:.0f} | {modelled['energy_j'] * 1e6:.2f} / {measured['energy_j'] * 1e6:.2f} |")


if __name__ == "__main__":
    main()
