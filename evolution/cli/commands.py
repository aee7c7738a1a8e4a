"""The ``spikefly`` command line. Sub-commands stay thin: they parse, call library code, print."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from importlib.metadata import version

from spikefly.core import SpikeflyError
from spikefly.core.outputs import check_output_file
from spikefly.evolution.settings import EvolveSettings, SettingsError
from spikefly.evolution.cli.args import episode_count, positive_int, seed, workers
from spikefly.evolution.cli.deploy import add_deploy_parser
from spikefly.evolution.cli.evaluate import add_evaluate_parser
from spikefly.evolution.tasks import task_for, task_names

DESCRIPTION = (
    "Evolve spiking neural network controllers for edge devices: NEAT-grown LIF networks that fly a "
    "PyBullet quadrotor through obstacles, or listen for sound events, priced on embedded boards."
)


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors on one line (and exit 2), like every other error of ours."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", argparse.HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}. Fix: see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="spikefly", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"spikefly {version('spikefly')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    demo = commands.add_parser(
        "demo",
        help="fly the scripted reactive pilot through a world and print each episode's outcome",
        description="Fly the hand-written potential-field pilot (no learning) through a world: a quick check "
        "that the simulator, the world and the sensors work. Prints one line per episode and a summary.",
    )
    demo.add_argument("--world", default="forest", help="bundled world name or path to a world TOML file (default: forest)")
    demo.add_argument("--episodes", type=episode_count, default=3, help="episodes to fly (default: 3)")
    demo.add_argument("--seed", type=seed, default=0, help="seed of the first episode; episode i uses seed + i (default: 0)")
    demo.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    demo.set_defaults(run=_run_demo)

    evolve = commands.add_parser(
        "evolve",
        help="evolve a spiking controller headless (NEAT over LIF networks) and print where the champion is",
        description="Evolve LIF network controllers with NEAT on the fast Numba twin, select the champion on "
        "validation layouts never used for training, re-fly it in PyBullet, and write a run directory "
        "(settings, log.jsonl, checkpoint.json, champion.json). A killed run resumes with --resume.",
    )
    evolve.add_argument("--env", choices=list(task_names()),
                        help="task: quadrotor obstacle avoidance (default), audio event detection, or a registered task")
    evolve.add_argument("--world", action="extend", nargs="+", dest="worlds", metavar="NAME_OR_FILE",
                        help="world(s) to train on: several after one --world, or the flag repeated (default: "
                        f"{', '.join(EvolveSettings.worlds)}; audio: kitchen, street, office). Never a course of a benchmark suite (worlds/suites/)")
    evolve.add_argument("--population", type=positive_int, help="genomes per generation (default: 100; audio: 150)")
    evolve.add_argument("--generations", type=positive_int, help=f"generations at most (default: {EvolveSettings.generations}; audio: 240)")
    evolve.add_argument("--time-budget", type=float, metavar="SECONDS", help="stop after this much wall-clock time")
    evolve.add_argument("--budget-steps", type=positive_int, metavar="STEPS",
                        help="stop once this many env steps were flown (training, validation and re-flights all count)")
    evolve.add_argument("--episodes", type=positive_int, dest="episodes_per_world", help="training episodes per world per genome (default: 8; audio: 4)")
    evolve.add_argument("--physics", choices=["twin", "pybullet"], help="where genomes fly (default: twin)")
    evolve.add_argument("--evaluator", choices=["serial", "pool", "ray"],
                        help="in-process, a process pool, or actors on a Ray cluster (default: serial)")
    evolve.add_argument("--workers", type=workers, metavar="N|ray",
                        help="pool processes (default: one per core), or 'ray': evaluate on Ray actors, one per CPU of "
                        "the cluster (pip install \"spikefly[ray]\")")
    evolve.add_argument("--ray-address", metavar="HOST:PORT",
                        help="join the Ray cluster whose head is here (ray start --head prints it; ray://HOST:PORT for "
                        "Ray Client; auto) instead of starting a local Ray")
    evolve.add_argument("--islands", type=positive_int, metavar="N",
                        help="evolve N populations (islands) as Ray actors, each in RUN_DIR/island-K with its own seed, "
                        "passing their best genomes round a ring (see --migrate-every); resume with --resume RUN_DIR")
    evolve.add_argument("--migrate-every", type=positive_int, metavar="G",
                        help="islands: send migrants every G generations, right after a checkpoint (default: 5)")
    evolve.add_argument("--migrants", type=positive_int, metavar="K",
                        help="islands: the best K genomes each island sends to the next (default: 2)")
    evolve.add_argument("--split-worlds", action="store_true", default=None,
                        help="islands: deal the --world list out among the islands (island K trains on worlds K, K+N, ...) "
                        "instead of every island training on all of them")
    evolve.add_argument("--seed", type=seed, help="run seed (default: 0)")
    evolve.add_argument("--early-stop", type=int, metavar="N", dest="early_stop_validations",
                        help="stop when validation has not improved for N validations (default: never)")
    evolve.add_argument("--refine-every", type=int, metavar="G", dest="refine_every",
                        help="every G generations, tune the best genome's weights with CMA-ES "
                        f"(default: {EvolveSettings.refine_every or 'off'}; 0 = off)")
    evolve.add_argument("--board", metavar="NAME_OR_FILE",
                        help="board whose energy and latency the fitness charges (default: stm32f405; see spikefly boards)")
    evolve.add_argument("--energy-weight", type=float, metavar="PER_UJ",
                        help="fitness cost per microjoule per control step on the board (default: 0.2; audio: 0.05)")
    evolve.add_argument("--latency-weight", type=float, metavar="PER_MS",
                        help="fitness cost per millisecond of compute per control step (default: 0)")
    evolve.add_argument("--integer", action=argparse.BooleanOptionalAction, default=None,
                        help="score the int8 fixed-point network the C export runs (the default), or with "
                             "--no-integer the float one")
    evolve.add_argument("--nir-ready", action=argparse.BooleanOptionalAction, default=None,
                        help="evolve only what NIR expresses: no threshold adaptation or refractory period "
                             "(the default for the quadrotor; --no-nir-ready lifts it)")
    _add_setting_flags(evolve)
    evolve.add_argument("--settings", metavar="FILE", help="a JSON file of run settings (see settings.json in a run directory)")
    evolve.add_argument("--neat-config", metavar="FILE", help="a neat-python config for LIFGenome (default: the bundled one)")
    evolve.add_argument("--out", metavar="DIR", help="run directory (default: runs/<world>-seed<seed>)")
    evolve.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    evolve.add_argument("--quiet", action="store_true", help="no progress bar")
    evolve.add_argument("--check", action="store_true",
                        help="check every input (settings, worlds, board, NEAT config), say what would run, write nothing")
    evolve.add_argument("--json", action="store_true", help="print the summary as JSON")
    evolve.set_defaults(run=_run_evolve)

    add_evaluate_parser(commands)
    add_deploy_parser(commands)

    export = commands.add_parser(
        "export",
        help="export a controller's network as a header-only C file, a NIR graph or an int8 controller file",
        description="Export the network of a controller file. --format c: a header-only C99 file (no malloc, no float) "
        "with int8 weights and the integer LIF update, bit-exact with spikefly's integer mode; a float controller is "
        "quantised first; beside it, the gap law of a gap-mode pilot (NAME_guidance.h) and the decision rule of an "
        "audio detector (NAME_detect.h: rate decoding, hold, class). --format nir: a NIR graph (pip install 'spikefly[nir]') at the controller's substep dt, "
        "which NIR does not store and is printed here. --format json: the controller file with its network quantised "
        "to int8 (what the C export runs), for spikefly evaluate.",
    )
    export.add_argument("controller", help="controller file (.json)")
    export.add_argument("--format", choices=["c", "nir", "json"], required=True,
                        help="c, nir, or json (the controller file with its int8 network)")
    export.add_argument("--out", metavar="FILE", help="output file (default: the controller's name with .h, .nir or .int8.json)")
    export.add_argument("--name", default="spikefly_net", help="C identifier prefix (default: spikefly_net)")
    export.add_argument("--unit-r", action="store_true",
                        help="nir: write r = 1 on every neuron node and fold the input gain into the weights, for readers "
                        "that ignore r (Norse 1.1); snnTorch's importer wants the default (docs/deployment.md)")
    export.add_argument("--dt", type=float, metavar="SECONDS",
                        help="nir: write the graph for this step instead of the controller's substep (the same discrete "
                        "network: tau = dt / (1 - beta)). snnTorch 1.0's importer steps every node at 1e-4 s: give --dt 1e-4")
    export.set_defaults(run=_run_export)

    from spikefly.evolution.cli.render import add_render_parser
    from spikefly.evolution.review.report import add_report_parser

    add_render_parser(commands)
    add_report_parser(commands)

    from spikefly.evolution.baselines.bench import add_bench_parser
    from spikefly.evolution.baselines.rl import add_baseline_parser

    add_baseline_parser(commands)
    add_bench_parser(commands)

    boards = commands.add_parser(
        "boards",
        help="list the bundled embedded-board profiles, or check a board file",
        description="List the bundled board profiles the cost model knows (MCUs, neuromorphic chips and the 45 nm "
        "arithmetic reference) with their key figures, or load and check a user board TOML file.",
    )
    boards.add_argument("file", nargs="?", help="a board TOML file to check")
    boards.set_defaults(run=_run_boards)

    worlds = commands.add_parser(
        "worlds",
        help="list the bundled worlds, or check world files",
        description="Without arguments, list the bundled worlds. With files, load and check each one "
        "(schema, geometry, and for procedural worlds a few generated layouts) and report problems.",
    )
    worlds.add_argument("files", nargs="*", help="world files to check")
    worlds.add_argument("--layouts", type=positive_int, default=5, help="generated layouts to check per file (default: 5)")
    worlds.set_defaults(run=_run_worlds)
    return parser


HAND_WRITTEN_SETTINGS = {
    "env_id", "worlds", "population", "generations", "time_budget_s", "budget_steps", "episodes_per_world", "physics",
    "evaluator", "workers", "ray_address", "seed", "early_stop_validations", "refine_every", "board", "energy_weight",
    "latency_weight", "integer", "nir_ready", "neat_config",
}
"""EvolveSettings fields with a flag written above (often a shorter name); every other scalar field gets
a generated flag, and the table-valued ones (env_settings, encoder, decoder) come from --settings."""


def setting_flags() -> dict[str, str]:
    """The generated ``evolve`` flag of every scalar setting without a hand-written one, by field name."""
    from dataclasses import MISSING, fields

    return {field.name: "--" + field.name.replace("_", "-") for field in fields(EvolveSettings)
            if field.name not in HAND_WRITTEN_SETTINGS and field.default is not MISSING
            and isinstance(field.default, (bool, int, float, str))}


def _add_setting_flags(evolve: argparse.ArgumentParser) -> None:
    docs = EvolveSettings.field_docs()
    group = evolve.add_argument_group("every other setting", "the EvolveSettings fields without a flag above "
                                      "(tables such as encoder and decoder: --settings FILE)")
    for name, flag in setting_flags().items():
        default = getattr(EvolveSettings, name)
        first = docs.get(name, "").split(". ")[0].rstrip(".")
        common = {"dest": name, "default": None, "help": f"{first} (default: {default})"}
        if isinstance(default, bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
        else:
            group.add_argument(flag, type=type(default), metavar=type(default).__name__.upper(), **common)


def _run_demo(args: argparse.Namespace) -> int:
    from spikefly.evolution.review.demo import fly_demo

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
    from spikefly.evolution.islands import ARCHIPELAGO_FILE, run_islands

    if args.resume and (Path(args.resume) / ARCHIPELAGO_FILE).is_file():
        return run_islands(args, None, args.resume)
    if args.resume:
        run = EvolutionRun.resume(args.resume, progress=not args.quiet)
    else:
        try:
            values = {}
            if args.settings:
                values.update(EvolveSettings.read_values(args.settings))
            flags = {
                "worlds": args.worlds, "population": args.population, "generations": args.generations,
                "time_budget_s": args.time_budget, "budget_steps": args.budget_steps,
                "episodes_per_world": args.episodes_per_world, "physics": args.physics,
                "evaluator": "ray" if args.workers == "ray" or (args.islands and not args.evaluator) else args.evaluator,
                "workers": None if args.workers == "ray" else args.workers, "ray_address": args.ray_address,
                "seed": args.seed, "neat_config": args.neat_config,
                "early_stop_validations": args.early_stop_validations, "refine_every": args.refine_every, "board": args.board,
                "energy_weight": args.energy_weight, "latency_weight": args.latency_weight, "integer": args.integer,
                "nir_ready": args.nir_ready,
            }
            flags.update({name: getattr(args, name) for name in setting_flags()})
            if args.env:
                flags["env_id"] = task_names()[args.env]
            values.update({key: value for key, value in flags.items() if value is not None})
            if isinstance(values.get("env_settings"), dict):  # a file's keys change the task's default env settings
                default = EvolveSettings.of_task(values.get("env_id", EvolveSettings.env_id)).env_settings
                values["env_settings"] = {**default, **values["env_settings"]}
            settings = EvolveSettings.for_env(values, "command line")
            out = args.out or f"runs/{Path(settings.worlds[0]).stem}-seed{settings.seed}"
            prepared = EvolutionRun.prepare(out, settings, progress=False)  # every input checked, nothing written
            if args.check:
                print(f"ok: would evolve {prepared.config.pop_size} genomes of the {task_for(settings.env_id).name} task on "
                      f"{', '.join(settings.worlds)} for {settings.generations} generations into {out}")
                return 0
        except SpikeflyError as error:
            named = str(error).split(": ", 1)[0]  # an error about another file (a world, a NEAT config) names it first
            if args.settings and str(args.settings) not in str(error) and not Path(named).is_file():
                raise SettingsError(f"{args.settings}: {error}") from None  # the file the bad value came from
            raise
        if args.islands or args.migrate_every or args.migrants or args.split_worlds:
            return run_islands(args, settings, out)
        if settings.evaluator == "ray":  # join (or start) Ray before anything is written: a bad address leaves no run
            from spikefly.evolution.ray_evaluator import connect

            connect(settings.ray_address)
        run = EvolutionRun.start(out, settings, progress=not args.quiet, prepared=prepared)
    summary = run.run()
    report = {
        "run_dir": str(summary.run_dir), "champion": str(summary.champion) if summary.champion else None,
        "generations": summary.generations, "seconds": round(summary.seconds, 1),
        "validation_success_rate": summary.validation_success, "pybullet_success_rate": summary.pybullet_success,
        "quiet_champion": summary.quiet_champion,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"run directory: {summary.run_dir} ({summary.generations} generations in {summary.seconds:.0f} s)")
    if summary.champion is None:
        print("no champion yet: the run stopped before its first validation")
        return 0
    print(f"champion: {summary.champion}")
    task = task_for(summary.env_id)
    line = f"  validation {task.metric}"
    if summary.validation_randomise is not None:
        line += f" with randomisation {summary.validation_randomise}"
    if summary.pybullet_success is None:
        print(f"{line}: {summary.validation_success:.2f}")
    else:
        print(f"{line} (twin): {summary.validation_success:.2f}; in PyBullet: {summary.pybullet_success:.2f}")
    if summary.quiet_champion:
        print(f"  {task.quiet_champion}")
    for hint in task.next_steps(str(summary.champion), tuple(summary.worlds)):
        print(f"  {hint}")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from spikefly.controllers import load
    from spikefly.evolution.export import export_controller

    spec = load(args.controller)
    out = args.out or str(Path(args.controller).with_suffix({"c": ".h", "nir": ".nir", "json": ".int8.json"}[args.format]))
    check_output_file(out)
    result = export_controller(spec, args.format, out, args.name, unit_r=args.unit_r, dt_s=args.dt)
    print(f"wrote {result.path} ({args.format}); {'graph written for' if args.dt else 'substep'} dt = {result.dt_s * 1e3:.4g} ms")
    if result.flash_bytes is not None:
        print(f"  flash {result.flash_bytes} B of const tables (code not counted), RAM {result.ram_bytes} B of state")
    if spec.env_settings.get("action_mode") == "guided":
        print("  its actions are added to the guided mode's goal-seeking set-points: run that law in the flight stack "
              "(spikefly.envs.sim.flight_control.guided_setpoint)")
    if result.law_path is not None:
        print(f"  its actions are added to the gap-seeking guidance law's set-points: wrote that law as C to "
              f"{result.law_path} (call {args.name}_gap_setpoint each control step, then fly its set-points)")
    elif spec.env_settings.get("action_mode") == "gap":
        print("  its actions are added to the gap-seeking guidance law's set-points: run that law in the flight stack "
              "(spikefly.envs.sim.guidance.gap_setpoint; `--format c` also writes it as C)")
    if result.detect_path is not None:
        hold = f"a {spec.decoder.hold_steps}-frame hold" if spec.decoder.hold_steps else "no hold"
        print(f"  its decision rule (rate decoding, {hold}, the detected class) as C: "
              f"{result.detect_path} (call {args.name}_detect with each frame's output spikes)")
    return 0


def _run_boards(args: argparse.Namespace) -> int:
    from spikefly.controllers.boards import bundled_boards, load_boards

    boards = load_boards(args.file) if args.file else bundled_boards()
    for name, board in boards.items():
        figures = ", ".join(
            f"{key} {entry.value:g} ({entry.confidence})" for key, entry in list(board.sources.items())[:4]
        )
        print(f"{name:<12} {board.kind:<12} {board.title}: {figures}")
    if args.file:
        print(f"ok   {args.file}: {len(boards)} board(s)")
    return 0


def _run_worlds(args: argparse.Namespace) -> int:
    from spikefly.worlds import bundled_worlds, load_world

    if not args.files:
        for name in bundled_worlds():
            course = load_world(name)
            kind = "procedural" if course.is_procedural else "static"
            print(f"{name:<10} {kind:<10} {len(course.obstacles):>3} static obstacles, time limit {course.time_limit_s:g} s")
        return 0
    failures = 0
    for path in args.files:
        try:
            print(f"ok   {path}: {_check_world_file(path, args.layouts)}")
        except SpikeflyError as error:
            print(f"spikefly: error: {error}", file=sys.stderr)
            failures += 1
    return 2 if failures else 0


def _check_world_file(path: str, layouts: int) -> str:
    """What a good world or soundscape file holds, or a WorldError (an obstacle course must have a free path)."""
    import numpy as np

    from spikefly.worlds import WorldError, free_path_exists, load_world
    from spikefly.worlds.soundscape import load_soundscape

    try:
        course = load_world(path)
    except WorldError as error:
        if "this is a soundscape" not in str(error):
            raise
        soundscape = load_soundscape(path)
        return f"soundscape {soundscape.name}, {soundscape.duration_s:g} s clips"
    layouts = layouts if course.is_procedural else 1
    blocked = [seed for seed in range(layouts) if not free_path_exists(*course.episode(np.random.default_rng(seed)))]
    if blocked:
        raise WorldError(f"{path}: no free path from start to goal in layout seed(s) {blocked}. Fix: widen gaps or lower density")
    return f"{course.name}, {layouts} layout(s) with a free path"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except SpikeflyError as error:  # bad input, named: file, key and fix
        print(f"spikefly: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
