"""``spikefly deploy``: run a controller's C export on an emulated STM32F405 and check it bit for bit."""

from __future__ import annotations

import argparse
import json

from spikefly.evolution.cli.args import seed


def add_deploy_parser(commands) -> None:
    """The ``deploy`` subcommand on ``commands`` (the subparsers of ``spikefly``)."""
    deploy = commands.add_parser(
        "deploy",
        help="build the C export for the STM32F405, run it in QEMU on a recorded episode, check it bit for bit "
        "against the integer kernel and print measured beside modelled flash, RAM and instructions per step",
        description="Export the controller's integer network to C, compile it with arm-none-eabi-gcc for Cortex-M4 "
        "(Thumb-2, -Os, no float, no malloc) with a bare-metal test harness, and run it in QEMU's STM32F405 machine "
        "(netduinoplus2) on the inputs of one recorded episode: a PyBullet flight for a quadrotor controller, a clip "
        "for an audio detector. Every neuron's spike, every output membrane and every action must equal spikefly's "
        "integer kernel (exit code 1 otherwise). Prints the controller's flash and RAM in the linked image and the "
        "instructions per control step (QEMU -icount) beside the board model's figures. Needs Debian's "
        "gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm.",
    )
    deploy.add_argument("controller", metavar="CONTROLLER", help="controller file (.json)")
    deploy.add_argument("--board", default="stm32f405", help="emulated board (default and only one: stm32f405)")
    deploy.add_argument("--world", metavar="NAME_OR_FILE",
                        help="world (or soundscape) of the recorded episode (default: the first it was trained on)")
    deploy.add_argument("--seed", type=seed, default=0, help="episode seed (default: 0)")
    deploy.add_argument("--keep", metavar="DIR", help="keep the build (C sources, image.elf, image.map, inputs, records) in DIR")
    deploy.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    deploy.set_defaults(run=run_deploy)


def run_deploy(args: argparse.Namespace) -> int:
    from spikefly.controllers import load
    from spikefly.controllers.boards import load_board
    from spikefly.evolution.deploy import DeployError, deploy

    if args.keep is not None:
        from pathlib import Path

        if Path(args.keep).exists() and not Path(args.keep).is_dir():
            raise DeployError(f"--keep {args.keep}: exists and is not a folder. Fix: give a folder (it is created if missing)")
    spec = load(args.controller)
    from spikefly.core import SpikeflyError
    from spikefly.evolution.tasks import task_for

    try:  # e.g. an audio front end this version does not know, before anything is built
        task_for(spec.env_id).check_env_settings(spec.env_settings, "the controller file's env.settings")
    except SpikeflyError as error:
        raise DeployError(f"{args.controller}: {error}") from None
    report = deploy(spec, args.board, args.world, args.seed, args.keep).report
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if report["bit_exact"] else 1
    net, episode, measured, modelled = report["network"], report["episode"], report["measured"], report["modelled"]
    print(f"controller: {args.controller} ({net['neurons']} neurons, {net['synapses']} synapses, {net['inputs']} inputs, "
          f"K = {net['substeps']})")
    print(f"episode: {episode['world']} seed {episode['seed']}, {episode['control_steps']} control steps ({episode['outcome']})")
    substeps = episode["control_steps"] * net["substeps"]
    if report["bit_exact"]:
        print(f"emulated on {report['machine']}: bit-exact with the integer kernel (every spike of {net['neurons']} neurons "
              f"in {substeps} substeps, every output membrane, all {episode['control_steps']} actions)")
    else:
        print(f"emulated on {report['machine']}: DIFFERS from the integer kernel:")
        for line in report["differences"]:
            print(f"  {line}")
    epc = load_board(args.board).energy_per_cycle_j
    print(f"{'per control step':<22} {'modelled':>12} {'measured':>12}")
    print(f"{'flash, tables':<22} {modelled['flash_bytes']:>10} B {measured['const_bytes']:>10} B   "
          f"(+ {measured['code_bytes']} B code)")
    print(f"{'RAM':<22} {modelled['ram_bytes']:>10} B {measured['ram_bytes']:>10} B")
    print(f"{'cycles / instructions':<22} {modelled['cycles_per_step']:>12.0f} {measured['instructions_per_step']:>12.0f}   "
          f"(max {measured['instructions_max']})")
    print(f"{'latency':<22} {modelled['latency_s'] * 1e6:>9.1f} us {measured['latency_s'] * 1e6:>9.1f} us")
    print(f"{'energy':<22} {modelled['energy_j'] * 1e6:>9.3f} uJ {measured['energy_j'] * 1e6:>9.3f} uJ")
    print(f"(measured: flash and RAM are the controller's share of the linked image (map file), instructions are counted "
          f"by QEMU -icount; latency and energy take one cycle per instruction at {epc * 1e12:.0f} pJ, the board's figure)")
    return 0 if report["bit_exact"] else 1
