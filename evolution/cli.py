"""The ``spikefly`` command line. Sub-commands stay thin: they parse, call library code, print."""

from __future__ import annotations

import argparse
import json
import sys
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
    from spikefly.worlds import WorldError

    try:
        return args.run(args)
    except WorldError as error:
        print(f"spikefly: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
