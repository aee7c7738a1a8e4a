"""The ``spikefly`` command line. Sub-commands stay thin: they parse, call library code, print."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from importlib.metadata import version

DESCRIPTION = (
    "Evolve spiking neural network controllers for edge devices: NEAT-grown LIF networks that fly a "
    "PyBullet quadrotor through obstacles."
)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikefly", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"spikefly {version('spikefly')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="fly the scripted reactive pilot through a world and print each episode's outcome",
        description="Fly the hand-written potential-field pilot (no learning) through a world: a quick check "
        "that the simulator, the world and the sensors work. Prints one line per episode and a summary.",
    )
    demo.add_argument("--world", default="forest", help="bundled world name or path to a world TOML file (default: forest)")
    demo.add_argument("--episodes", type=_positive_int, default=3, help="episodes to fly (default: 3)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the first episode; episode i uses seed + i (default: 0)")
    demo.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    demo.set_defaults(run=_run_demo)

    evolve = commands.add_parser(
        "evolve",
        help="evolve a spiking controller headless (NEAT over LIF networks) and print where the champion is",
        description="Evolve LIF network controllers with NEAT on the fast Numba twin, select the champion on "
        "validation layouts never used for training, re-fly it in PyBullet, and write a run directory "
        "(settings, log.jsonl, checkpoint.json, champion.json). A killed run resumes with --resume.",
    )
    evolve.add_argument("--world", action="append", dest="worlds", metavar="NAME_OR_FILE",
                        help="world to train on, repeatable (default: forest)")
    evolve.add_argument("--population", type=_positive_int, help="genomes per generation (default: 150)")
    evolve.add_argument("--generations", type=_positive_int, help="generations at most (default: 160)")
    evolve.add_argument("--time-budget", type=float, metavar="SECONDS", help="stop after this much wall-clock time")
    evolve.add_argument("--episodes", type=_positive_int, dest="episodes_per_world", help="training episodes per world per genome (default: 4)")
    evolve.add_argument("--physics", choices=["twin", "pybullet"], help="where genomes fly (default: twin)")
    evolve.add_argument("--evaluator", choices=["serial", "pool"], help="in-process or a process pool (default: serial)")
    evolve.add_argument("--workers", type=int, help="pool processes (default: one per core)")
    evolve.add_argument("--seed", type=int, help="run seed (default: 0)")
    evolve.add_argument("--early-stop", type=int, metavar="N", dest="early_stop_validations",
                        help="stop when validation has not improved for N validations (default: never)")
    evolve.add_argument("--settings", metavar="FILE", help="a JSON file of run settings (see settings.json in a run directory)")
    evolve.add_argument("--neat-config", metavar="FILE", help="a neat-python config for LIFGenome (default: the bundled one)")
    evolve.add_argument("--out", metavar="DIR", help="run directory (default: runs/<world>-seed<seed>)")
    evolve.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    evolve.add_argument("--quiet", action="store_true", help="no progress bar")
    evolve.add_argument("--json", action="store_true", help="print the summary as JSON")
    evolve.set_defaults(run=_run_evolve)

    evaluate = commands.add_parser(
        "evaluate",
        help="fly a controller file and print per-episode outcomes and a summary",
        description="Fly a controller (a champion.json) on bundled worlds or any world file, in PyBullet by default. "
        "Episode i on each world uses seed SEED + i.",
    )
    evaluate.add_argument("controller", help="controller file (.json)")
    evaluate.add_argument("--world", action="append", dest="worlds", metavar="NAME_OR_FILE",
                          help="world to fly, repeatable (default: the worlds it was trained on)")
    evaluate.add_argument("--episodes", type=_positive_int, default=10, help="episodes per world (default: 10)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the first episode (default: 0)")
    evaluate.add_argument("--physics", choices=["pybullet", "twin"], default="pybullet", help="default: pybullet, the reference")
    evaluate.add_argument("--json", action="store_true", help="print one JSON document")
    evaluate.set_defaults(run=_run_evaluate)

    worlds = commands.add_parser(
        "worlds",
        help="list the bundled worlds, or check world files",
        description="Without arguments, list the bundled worlds. With files, load and check each one "
        "(schema, geometry, and for procedural worlds a few generated layouts) and report problems.",
    )
    worlds.add_argument("files", nargs="*", help="world files to check")
    worlds.add_argument("--layouts", type=_positive_int, default=5, help="generated layouts to check per file (default: 5)")
    worlds.set_defaults(run=_run_worlds)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _run_demo(args: argparse.Namespace) -> int:
    from spikefly.evolution.demo import fly_demo

    report = fly_demo(args.world, episodes=args.episodes, seed=args.seed, progress=not args.json)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"world {report['world']}: reactive pilot (scripted, no learning), {len(report['episodes'])} episode(s)")
    for episode in report["episodes"]:
        print(
            f"  seed {episode['seed']:>4}: {episode['outcome']:<13} return {episode['return']:7.2f}  "
            f"time {episode['time_s']:5.1f} s  min clearance {episode['min_clearance_m']:.2f} m  "
            f"rotor energy {episode['rotor_energy_j']:.1f} J"
        )
    summary = report["summary"]
    print(f"success rate {summary['success_rate']:.2f}, collision rate {summary['collision_rate']:.2f}")
    return 0


def _run_evolve(args: argparse.Namespace) -> int:
    from spikefly.evolution.run import EvolutionRun
    from spikefly.evolution.settings import EvolveSettings

    if args.resume:
        run = EvolutionRun.resume(args.resume, progress=not args.quiet)
    else:
        values = {}
        if args.settings:
            values.update(EvolveSettings.read(args.settings).to_dict())
        flags = {
            "worlds": args.worlds, "population": args.population, "generations": args.generations,
            "time_budget_s": args.time_budget, "episodes_per_world": args.episodes_per_world, "physics": args.physics,
            "evaluator": args.evaluator, "workers": args.workers, "seed": args.seed, "neat_config": args.neat_config,
            "early_stop_validations": args.early_stop_validations,
        }
        values.update({key: value for key, value in flags.items() if value is not None})
        settings = EvolveSettings.from_dict(values, "command line")
        out = args.out or f"runs/{Path(settings.worlds[0]).stem}-seed{settings.seed}"
        run = EvolutionRun.start(out, settings, progress=not args.quiet)
    summary = run.run()
    report = {
        "run_dir": str(summary.run_dir), "champion": str(summary.champion) if summary.champion else None,
        "generations": summary.generations, "seconds": round(summary.seconds, 1),
        "validation_success_rate": summary.validation_success, "pybullet_success_rate": summary.pybullet_success,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"run directory: {summary.run_dir} ({summary.generations} generations in {summary.seconds:.0f} s)")
    if summary.champion is None:
        print("no champion yet: the run stopped before its first validation")
        return 0
    print(f"champion: {summary.champion}")
    print(f"  validation success rate (twin): {summary.validation_success:.2f}; in PyBullet: {summary.pybullet_success:.2f}")
    print(f"  fly it on unseen layouts: spikefly evaluate {summary.champion} --world forest --episodes 50 --seed 0")
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from spikefly.controllers import load
    from spikefly.evolution.evaluate import evaluate_controller

    spec = load(args.controller)
    worlds = args.worlds or list(spec.metadata.get("worlds", ["forest"]))
    report = evaluate_controller(spec, worlds, args.episodes, args.seed, args.physics, progress=not args.json)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.controller}: {report['network']['neurons']} neurons, {report['network']['synapses']} synapses; {args.physics}")
    for row in report["episodes"]:
        print(
            f"  {Path(row['world']).stem:<10} seed {row['seed']:>5}: {row['outcome']:<13} return {row['return']:7.2f}  "
            f"time {row['time_s']:5.1f} s  min clearance {row['min_clearance_m']:5.2f} m  energy {row['rotor_energy_j']:6.1f} J  "
            f"synaptic ops {row['synaptic_ops']}"
        )
    summary = report["summary"]
    for world, figures in report["per_world"].items():
        print(f"{Path(world).stem}: success rate {figures['success_rate']:.2f} over {figures['episodes']} episodes")
    print(f"success rate {summary['success_rate']:.2f}, collision rate {summary['collision_rate']:.2f}, "
          f"out of bounds {summary['out_of_bounds_rate']:.2f}, timeout {summary['timeout_rate']:.2f}")
    return 0


def _run_worlds(args: argparse.Namespace) -> int:
    from spikefly.worlds import WorldError, bundled_worlds, load_world

    if not args.files:
        for name in bundled_worlds():
            course = load_world(name)
            kind = "procedural" if course.is_procedural else "static"
            print(f"{name:<10} {kind:<10} {len(course.obstacles):>3} static obstacles, time limit {course.time_limit_s:g} s")
        return 0
    import numpy as np

    from spikefly.worlds import free_path_exists

    failures = 0
    for path in args.files:
        try:
            course = load_world(path)
        except WorldError as error:
            print(f"FAIL {error}")
            failures += 1
            continue
        layouts = args.layouts if course.is_procedural else 1
        blocked = [seed for seed in range(layouts) if not free_path_exists(course, course.layout(np.random.default_rng(seed)))]
        if blocked:
            print(f"FAIL {path}: no free path from start to goal in layout seed(s) {blocked}. Fix: widen gaps or lower density.")
            failures += 1
        else:
            print(f"ok   {path}: {course.name}, {layouts} layout(s) with a free path")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except _user_errors() as error:
        print(f"spikefly: error: {error}", file=sys.stderr)
        return 2


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors that describe bad input (named file, key and fix): printed in one line, exit 2."""
    from spikefly.controllers import ControllerFileError
    from spikefly.worlds import WorldError

    errors: list[type[Exception]] = [WorldError, ControllerFileError]
    try:
        from spikefly.evolution.checkpoint import CheckpointError
        from spikefly.evolution.evaluate import EvaluateError
        from spikefly.evolution.neat_config import NeatConfigError
        from spikefly.evolution.run import RunError
        from spikefly.evolution.settings import SettingsError

        errors += [CheckpointError, EvaluateError, NeatConfigError, RunError, SettingsError]
    except ImportError:  # pragma: no cover - a broken install still reports world and controller errors
        pass
    return tuple(errors)


if __name__ == "__main__":
    sys.exit(main())
