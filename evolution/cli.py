"""The ``spikefly`` command line. Sub-commands stay thin: they parse, call library code, print."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from importlib.metadata import version

from spikefly.core import SpikeflyError
from spikefly.evolution.settings import AUDIO_ENV_ID, EvolveSettings
from spikefly.evolution.tasks import task_names

DESCRIPTION = (
    "Evolve spiking neural network controllers for edge devices: NEAT-grown LIF networks that fly a "
    "PyBullet quadrotor through obstacles, or listen for sound events, priced on embedded boards."
)


def build_parser() -> argparse.ArgumentParser:
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
    evolve.add_argument("--env", choices=list(task_names()),
                        help="task: quadrotor obstacle avoidance (default), audio event detection, or a registered task")
    evolve.add_argument("--world", action="extend", nargs="+", dest="worlds", metavar="NAME_OR_FILE",
                        help="world(s) to train on: several after one --world, or the flag repeated (default: "
                        f"{', '.join(EvolveSettings.worlds)}; audio: kitchen, street, office). Never a course of a benchmark suite (worlds/suites/)")
    evolve.add_argument("--population", type=_positive_int, help="genomes per generation (default: 150)")
    evolve.add_argument("--generations", type=_positive_int, help=f"generations at most (default: {EvolveSettings.generations})")
    evolve.add_argument("--time-budget", type=float, metavar="SECONDS", help="stop after this much wall-clock time")
    evolve.add_argument("--budget-steps", type=_positive_int, metavar="STEPS",
                        help="stop once this many env steps were flown (training, validation and re-flights all count)")
    evolve.add_argument("--episodes", type=_positive_int, dest="episodes_per_world", help="training episodes per world per genome (default: 4)")
    evolve.add_argument("--physics", choices=["twin", "pybullet"], help="where genomes fly (default: twin)")
    evolve.add_argument("--evaluator", choices=["serial", "pool", "ray"],
                        help="in-process, a process pool, or actors on a Ray cluster (default: serial)")
    evolve.add_argument("--workers", type=_workers, metavar="N|ray",
                        help="pool processes (default: one per core), or 'ray': evaluate on Ray actors, one per CPU of "
                        "the cluster (pip install \"spikefly[ray]\")")
    evolve.add_argument("--ray-address", metavar="HOST:PORT",
                        help="join the Ray cluster whose head is here (ray start --head prints it; ray://HOST:PORT for "
                        "Ray Client; auto) instead of starting a local Ray")
    evolve.add_argument("--islands", type=_positive_int, metavar="N",
                        help="evolve N populations (islands) as Ray actors, each in RUN_DIR/island-K with its own seed, "
                        "passing their best genomes round a ring (see --migrate-every); resume with --resume RUN_DIR")
    evolve.add_argument("--migrate-every", type=_positive_int, metavar="G",
                        help="islands: send migrants every G generations, right after a checkpoint (default: 5)")
    evolve.add_argument("--migrants", type=_positive_int, metavar="K",
                        help="islands: the best K genomes each island sends to the next (default: 2)")
    evolve.add_argument("--split-worlds", action="store_true", default=None,
                        help="islands: deal the --world list out among the islands (island K trains on worlds K, K+N, ...) "
                        "instead of every island training on all of them")
    evolve.add_argument("--seed", type=int, help="run seed (default: 0)")
    evolve.add_argument("--early-stop", type=int, metavar="N", dest="early_stop_validations",
                        help="stop when validation has not improved for N validations (default: never)")
    evolve.add_argument("--refine-every", type=int, metavar="G", dest="refine_every",
                        help="every G generations, tune the best genome's weights with CMA-ES "
                        f"(default: {EvolveSettings.refine_every or 'off'}; 0 = off)")
    evolve.add_argument("--board", metavar="NAME_OR_FILE",
                        help="board whose energy and latency the fitness charges (default: stm32f405; see spikefly boards)")
    evolve.add_argument("--energy-weight", type=float, metavar="PER_UJ",
                        help="fitness cost per microjoule per control step on the board (default: 0.02)")
    evolve.add_argument("--latency-weight", type=float, metavar="PER_MS",
                        help="fitness cost per millisecond of compute per control step (default: 0)")
    evolve.add_argument("--integer", action=argparse.BooleanOptionalAction, default=None,
                        help="score the int8 fixed-point network the C export runs (the default), or with "
                             "--no-integer the float one")
    evolve.add_argument("--nir-ready", action=argparse.BooleanOptionalAction, default=None,
                        help="evolve only what NIR expresses: no threshold adaptation or refractory period "
                             "(the default for the quadrotor; --no-nir-ready lifts it)")
    evolve.add_argument("--settings", metavar="FILE", help="a JSON file of run settings (see settings.json in a run directory)")
    evolve.add_argument("--neat-config", metavar="FILE", help="a neat-python config for LIFGenome (default: the bundled one)")
    evolve.add_argument("--out", metavar="DIR", help="run directory (default: runs/<world>-seed<seed>)")
    evolve.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    evolve.add_argument("--quiet", action="store_true", help="no progress bar")
    evolve.add_argument("--json", action="store_true", help="print the summary as JSON")
    evolve.set_defaults(run=_run_evolve)

    evaluate = commands.add_parser(
        "evaluate",
        help="fly (or listen with) a controller file on worlds or a benchmark suite (--suite heldout) and print "
        "per-episode or per-course outcomes and a summary",
        usage="%(prog)s CONTROLLER [--world NAME_OR_FILE ...] [--suite NAME] [--episodes N] [options]",
        description="Fly a controller (a champion.json) on bundled worlds or any world file, in PyBullet by default. "
        "Episode i on each world uses seed SEED + i. Give the controller first: --world takes every name after it "
        "(spikefly evaluate champion.json --world forest windows my.toml). --suite heldout flies every course of the "
        "bundled held-out benchmark, fixed courses no run trains or selects on, and prints success per course and "
        "overall (spikefly evaluate champion.json --suite heldout); it may be combined with --world.",
    )
    evaluate.add_argument("controller", nargs="?", metavar="CONTROLLER", help="controller file (.json); give it first")
    evaluate.add_argument("--world", action="extend", nargs="+", dest="worlds", metavar="NAME_OR_FILE",
                          help="world(s) to fly: several after one --world, or the flag repeated (default: the worlds it "
                          "was trained on, unless --suite is given)")
    evaluate.add_argument("--suite", metavar="NAME_OR_FOLDER",
                          help="also fly every course of this benchmark suite (bundled: heldout; or a folder of world files) "
                          "and report success per course and overall")
    evaluate.add_argument("--episodes", type=_positive_int, metavar="N",
                          help="episodes per world (default: 10) and per suite course (default: 1, a suite being a set of "
                          "fixed courses; 10 with --randomise)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the first episode (default: 0)")
    evaluate.add_argument("--physics", choices=["pybullet", "twin"], default="pybullet", help="default: pybullet, the reference")
    evaluate.add_argument("--randomise", nargs="?", const="default", metavar="PRESET_OR_FILE",
                          help="fly with domain randomisation (sensor noise, dropouts, wind, gusts, mass, thrust and motor-lag "
                          "error, drawn from each episode's seed): a preset (off, light, default, strong; alone: default) or "
                          "a JSON/TOML file of those QuadrotorSettings keys, overriding the controller's values for them")
    evaluate.add_argument("--snr", nargs=2, type=float, metavar=("LOW_DB", "HIGH_DB"),
                          help="audio: draw every event's signal-to-noise ratio from this range instead")
    evaluate.add_argument("--background", action="append", dest="backgrounds", metavar="NAME",
                          help="audio: replace the soundscapes' backgrounds by this built-in one, repeatable "
                          "(e.g. speech_babble, which needs Debian's espeak-ng)")
    evaluate.add_argument("--quantize", action="store_true",
                          help="also fly the int8 fixed-point version (what the C export runs) and report it beside the float one")
    evaluate.add_argument("--prune", type=_fraction, metavar="SPARSITY",
                          help="also fly a copy with this fraction of the smallest weights removed (e.g. 0.5)")
    evaluate.add_argument("--board", action="append", dest="boards", metavar="NAME_OR_FILE",
                          help="report latency, energy and memory per control step on this board, repeatable; "
                          "'all' for every bundled board (default: the board the controller was evolved for)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON document")
    evaluate.set_defaults(run=_run_evaluate)

    export = commands.add_parser(
        "export",
        help="export a controller's network as a header-only C file, a NIR graph or an int8 controller file",
        description="Export the network of a controller file. --format c: a header-only C99 file (no malloc, no float) "
        "with int8 weights and the integer LIF update, bit-exact with spikefly's integer mode; a float controller is "
        "quantised first. --format nir: a NIR graph (pip install 'spikefly[nir]') at the controller's substep dt, "
        "which NIR does not store and is printed here. --format json: the controller file with its network quantised "
        "to int8 (what the C export runs), for spikefly evaluate.",
    )
    export.add_argument("controller", help="controller file (.json)")
    export.add_argument("--format", choices=["c", "nir", "json"], required=True,
                        help="c, nir, or json (the controller file with its int8 network)")
    export.add_argument("--out", metavar="FILE", help="output file (default: the controller's name with .h, .nir or .int8.json)")
    export.add_argument("--name", default="spikefly_net", help="C identifier prefix (default: spikefly_net)")
    export.set_defaults(run=_run_export)

    from spikefly.evolution.render_cli import add_render_parser
    from spikefly.evolution.report import add_report_parser

    add_render_parser(commands)
    add_report_parser(commands)

    from spikefly.evolution.bench import add_bench_parser
    from spikefly.evolution.rl_baseline import add_baseline_parser

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
    worlds.add_argument("--layouts", type=_positive_int, default=5, help="generated layouts to check per file (default: 5)")
    worlds.set_defaults(run=_run_worlds)
    return parser


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _workers(text: str) -> int | str:
    if text == "ray":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a number of processes or 'ray', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


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
    from spikefly.evolution.settings import DEFAULT_SENSING, QUADROTOR_ENV_ID, EvolveSettings

    from spikefly.evolution.islands import ARCHIPELAGO_FILE, run_islands

    if args.resume and (Path(args.resume) / ARCHIPELAGO_FILE).is_file():
        return run_islands(args, None, args.resume)
    if args.resume:
        run = EvolutionRun.resume(args.resume, progress=not args.quiet)
    else:
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
        if args.env:
            flags["env_id"] = task_names()[args.env]
        values.update({key: value for key, value in flags.items() if value is not None})
        if values.get("env_id", QUADROTOR_ENV_ID) == QUADROTOR_ENV_ID and isinstance(values.get("env_settings"), dict):
            values["env_settings"] = {**DEFAULT_SENSING, **values["env_settings"]}  # a file's keys change the default's
        settings = EvolveSettings.for_env(values, "command line")
        out = args.out or f"runs/{Path(settings.worlds[0]).stem}-seed{settings.seed}"
        if args.islands or args.migrate_every or args.migrants or args.split_worlds:
            return run_islands(args, settings, out)
        if settings.evaluator == "ray":  # join (or start) Ray before anything is written: a bad address leaves no run
            from spikefly.evolution.ray_evaluator import connect

            connect(settings.ray_address)
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
    if summary.pybullet_success is None:  # audio: success is event F1
        print(f"  validation event F1: {summary.validation_success:.2f}")
        print(f"  hear it on unseen clips: spikefly evaluate {summary.champion} --episodes 60 --seed 0")
        return 0
    print(f"  validation success rate (twin): {summary.validation_success:.2f}; in PyBullet: {summary.pybullet_success:.2f}")
    worlds = " ".join(summary.worlds)
    print(f"  fly it on unseen layouts: spikefly evaluate {summary.champion} --world {worlds} --episodes 50 --seed 0")
    print(f"  on held-out courses no run trains on: spikefly evaluate {summary.champion} --suite heldout")
    print(f"  with noise, wind and model error: spikefly evaluate {summary.champion} --suite heldout --randomise")
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from spikefly.controllers.boards import bundled_boards, load_board
    from spikefly.envs.randomisation import describe_randomisation, load_randomisation
    from spikefly.evolution.evaluate import (
        EvaluateError,
        board_costs,
        controller_variants,
        evaluate_controller,
        load_controller_or_card,
        suite_results,
    )
    from spikefly.worlds import suite_courses

    controller, named = _evaluate_targets(args, EvaluateError)
    spec = load_controller_or_card(controller)
    suite = [str(path) for path in suite_courses(args.suite)] if args.suite else []
    if suite and spec.env_id == AUDIO_ENV_ID:
        raise EvaluateError(f"--suite {args.suite}: a suite holds obstacle courses; this controller listens for sound "
                            "events (evaluate it on soundscapes with --world)")
    worlds = named if named else ([] if suite else list(spec.metadata.get("worlds", ["forest"])))
    randomised = args.randomise not in (None, "off")
    episodes = [args.episodes or 10] * len(worlds) + [args.episodes or (10 if randomised else 1)] * len(suite)
    boards = args.boards or ([spec.board["board"]] if spec.board else [])
    if "all" in boards:
        boards = [name for name in bundled_boards() if name not in boards] + [name for name in boards if name != "all"]
    for name in boards:  # a bad board name or file stops before anything is flown
        load_board(name)
    # so does a bad randomisation preset or file
    randomise = None if args.randomise is None else load_randomisation(args.randomise)
    variants = controller_variants(spec, args.quantize, args.prune)
    audio = {key: value for key, value in (("snr_db", args.snr), ("backgrounds", args.backgrounds)) if value}
    reports = {}
    for name, variant in variants.items():
        report = evaluate_controller(variant, worlds + suite, episodes if suite else args.episodes or 10, args.seed,
                                     args.physics, progress=not args.json, audio_settings=audio, randomise=randomise)
        if suite:
            report["suite"] = suite_results(report, args.suite, suite)
        report["boards"] = board_costs(variant, report, boards)
        reports[name] = report
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else next(iter(reports.values())), indent=2))
        return 0
    first = next(iter(reports.values()))
    if first.get("env") == AUDIO_ENV_ID:
        return _print_audio(controller, reports)
    print(f"{controller}: {_size_text(first['network'])}; {args.physics}")
    print(f"randomisation: {describe_randomisation(first['randomisation']['source'], first['randomisation']['settings'])}")
    in_suite = set(suite)
    if len(reports) == 1:
        for row in first["episodes"]:
            if row["world"] in in_suite:  # the suite's table below lists its courses
                continue
            print(
                f"  {Path(row['world']).stem:<10} seed {row['seed']:>5}: {row['outcome']:<13} return {row['return']:7.2f}  "
                f"time {row['time_s']:5.1f} s  min clearance {row['min_clearance_m']:5.2f} m  energy {row['rotor_energy_j']:6.1f} J  "
                f"synaptic ops {row['synaptic_ops']}"
            )
    for name, report in reports.items():
        summary = report["summary"]
        label = f"[{name}] " if len(reports) > 1 else ""
        for world, figures in report["per_world"].items():
            if world not in in_suite:
                print(f"{label}{Path(world).stem}: success rate {figures['success_rate']:.2f} over {figures['episodes']} episodes")
        if "suite" in report:
            _print_suite(label, report["suite"], args.physics)
        print(f"{label}success rate {summary['success_rate']:.2f}, collision rate {summary['collision_rate']:.2f}, "
              f"out of bounds {summary['out_of_bounds_rate']:.2f}, timeout {summary['timeout_rate']:.2f}, "
              f"synaptic ops per step {summary['mean_synaptic_ops_per_step']:.1f}")
        if report["boards"]:
            print(f"{label}{'board':<12} {'latency':>10} {'energy/step':>12} {'power':>10} {'flash':>8} {'RAM':>7} "
                  f"{'ANN 64x64':>11}  feasible")
            for board, cost in report["boards"].items():
                bound = " (lower bound)" if cost["energy_is_lower_bound"] else ""
                verdict = "yes" if cost["feasible"] else "no: " + "; ".join(cost["reasons"])
                print(f"{label}{board:<12} {cost['latency_s'] * 1e6:>8.1f} us {cost['energy_j'] * 1e6:>9.3f} uJ "
                      f"{cost['power_w'] * 1e3:>7.3f} mW {cost['flash_bytes']:>6} B {cost['ram_bytes']:>5} B "
                      f"{cost['dense_ann']['energy_j'] * 1e6:>8.3f} uJ  {verdict}{bound}")
            print(f"{label}(ANN 64x64: a dense network with the same inputs and outputs, the size of SB3's default "
                  "MlpPolicy, energy per step on the same board)")
    return 0


def _evaluate_targets(args: argparse.Namespace, error: type[Exception]) -> tuple[str, list[str]]:
    """The controller file and the --world list of ``spikefly evaluate``.

    ``--world`` takes every name after it, so ``--world a b champion.json`` swallows the
    controller: a trailing ``.json`` there (never a world file) is taken as the controller.
    """
    worlds = list(args.worlds or [])
    controller = args.controller
    if controller is None and worlds and worlds[-1].lower().endswith(".json"):
        controller = worlds.pop()
    if controller is None:
        raise error("no controller file given. Fix: put it first, e.g. spikefly evaluate champion.json --world forest "
                    "windows, or spikefly evaluate champion.json --suite heldout")
    for world in worlds:
        if world.lower().endswith(".json"):
            raise error(f"--world {world}: a .json file is a controller, not a world. Fix: give one controller, first: "
                        f"spikefly evaluate {controller} --world WORLD ...")
    return controller, worlds


def _print_suite(label: str, suite: dict, physics: str) -> None:
    """The per-course table of a benchmark suite and its overall line."""
    courses = suite["courses"]
    width = max(len("course"), *(len(entry["course"]) for entry in courses))
    each = {entry["episodes"] for entry in courses}
    episodes = f"{next(iter(each))} episode{'s' if each != {1} else ''} each" if len(each) == 1 else "episodes vary"
    print(f"{label}suite {suite['name']}: {len(courses)} courses, {episodes} ({physics})")
    print(f"{label}  {'course':<{width}}  {'outcome':<24} {'success':>7} {'time s':>7} {'min clearance m':>15}")
    for entry in courses:
        outcome = ", ".join(name if count == 1 and entry["episodes"] == 1 else f"{name} {count}"
                            for name, count in entry["outcomes"].items())
        print(f"{label}  {entry['course']:<{width}}  {outcome:<24} {entry['success_rate']:>7.2f} {entry['mean_time_s']:>7.1f} "
              f"{entry['min_clearance_m']:>15.2f}")
    m = suite["summary"]
    print(f"{label}suite {suite['name']} overall: goal reached on {m['courses_reached']} of {m['courses']} courses; "
          f"success rate {m['success_rate']:.2f}, collision rate {m['collision_rate']:.2f}, "
          f"out of bounds {m['out_of_bounds_rate']:.2f}, timeout {m['timeout_rate']:.2f} over {m['episodes']} episodes")


def _size_text(network: dict) -> str:
    """A controller's size: neurons and synapses, or an RL policy's parameters and MACs per step."""
    if network.get("kind") == "sb3_policy":
        return f"{network['algorithm']} policy, {network['parameters']} parameters, {network['macs_per_step']} MACs per step"
    return f"{network['neurons']} neurons, {network['synapses']} synapses"


def _print_audio(controller: str, reports: dict) -> int:
    first = next(iter(reports.values()))
    summary = first["summary"]
    print(f"{controller}: {_size_text(first['network'])}; "
          f"{summary['episodes']} clips, {summary['audio_hours']:.2f} h of audio")
    for name, report in reports.items():
        label = f"[{name}] " if len(reports) > 1 else ""
        for world, m in report["per_world"].items():
            print(f"{label}{Path(world).stem}: F1 {m['f1']:.3f}, precision {m['precision']:.3f}, recall {m['recall']:.3f}, "
                  f"false alarms/h {m['false_alarms_per_hour']:.1f}")
        m = report["summary"]
        print(f"{label}all: F1 {m['f1']:.3f}, precision {m['precision']:.3f}, recall {m['recall']:.3f}, false alarms/h "
              f"{m['false_alarms_per_hour']:.1f}, median latency {m['median_latency_s']:.2f} s, "
              f"synaptic ops per frame {m['mean_synaptic_ops_per_step']:.1f}")
        for board, cost in report["boards"].items():
            verdict = "feasible" if cost["feasible"] else "NOT feasible: " + "; ".join(cost["reasons"])
            print(f"{label}{board}: {cost['per_hour_j']:.3f} J per hour ({cost['power_w'] * 1e6:.1f} uW), "
                  f"latency {cost['latency_s'] * 1e6:.1f} us per frame; {verdict}")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from spikefly.controllers import load
    from spikefly.evolution.export import export_controller

    spec = load(args.controller)
    out = args.out or str(Path(args.controller).with_suffix({"c": ".h", "nir": ".nir", "json": ".int8.json"}[args.format]))
    result = export_controller(spec, args.format, out, args.name)
    print(f"wrote {result.path} ({args.format}); substep dt = {result.dt_s * 1e3:.4g} ms")
    if result.flash_bytes is not None:
        print(f"  flash {result.flash_bytes} B of const tables (code not counted), RAM {result.ram_bytes} B of state")
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
        blocked = [seed for seed in range(layouts)
                   if not free_path_exists(*course.episode(np.random.default_rng(seed)))]
        if blocked:
            print(f"FAIL {path}: no free path from start to goal in layout seed(s) {blocked}. Fix: widen gaps or lower density.")
            failures += 1
        else:
            print(f"ok   {path}: {course.name}, {layouts} layout(s) with a free path")
    return 1 if failures else 0


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
