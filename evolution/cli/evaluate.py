"""``spikefly evaluate``: fly (or listen with) a controller file on worlds or a benchmark suite and print the outcomes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spikefly.core import SpikeflyError
from spikefly.evolution.cli.args import episode_count, fraction, seed


def add_evaluate_parser(commands) -> None:
    """The ``evaluate`` subcommand on ``commands`` (the subparsers of ``spikefly``)."""
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
    evaluate.add_argument("--episodes", type=episode_count, metavar="N",
                          help="episodes per world (default: 10) and per suite course (default: 1, a suite being a set of "
                          "fixed courses; 10 with --randomise)")
    evaluate.add_argument("--seed", type=seed, default=0, help="seed of the first episode (default: 0)")
    evaluate.add_argument("--physics", choices=["pybullet", "twin"], default="pybullet", help="default: pybullet, the reference")
    evaluate.add_argument("--randomise", nargs="?", const="default", metavar="PRESET_OR_FILE",
                          help="fly with domain randomisation (sensor noise, dropouts, wind, gusts, mass, thrust and motor-lag "
                          "error, drawn from each episode's seed): a preset (off, light, default, strong; alone: default) or "
                          "a JSON/TOML file of those QuadrotorSettings keys, overriding the controller's values for them")
    evaluate.add_argument("--snr", nargs=2, type=float, metavar=("LOW_DB", "HIGH_DB"),
                          help="audio: draw every event's signal-to-noise ratio from this range instead")
    evaluate.add_argument("--background", action="append", dest="backgrounds", metavar="NAME",
                          help="audio: replace the soundscapes' backgrounds by this built-in one or recorded set "
                          "(recordings:speech, recordings:music:heldout, ...), repeatable "
                          "(e.g. speech_babble, which needs Debian's espeak-ng)")
    evaluate.add_argument("--stream-minutes", type=float, metavar="MINUTES",
                          help="audio: join the soundscapes' clips (in turn, seeds SEED, SEED+1, ...) into ONE continuous "
                          "stream of this length and listen without a reset, as MLPerf Tiny's streaming benchmark does; "
                          "reports misses and false alarms per 20 minutes beside F1, latency and energy per hour "
                          "(e.g. --stream-minutes 20; the false-alarm check: --world heldout_no_alarm --stream-minutes 5)")
    evaluate.add_argument("--quantize", action="store_true",
                          help="also fly the int8 fixed-point version (what the C export runs) and report it beside the float one")
    evaluate.add_argument("--prune", type=fraction, metavar="SPARSITY",
                          help="also fly a copy with this fraction of the smallest weights removed (e.g. 0.5)")
    evaluate.add_argument("--board", action="append", dest="boards", metavar="NAME_OR_FILE",
                          help="report latency, energy and memory per control step on this board, repeatable; "
                          "'all' for every bundled board (default: the board the controller was evolved for)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON document")
    evaluate.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from spikefly.controllers.boards import bundled_boards, load_board
    from spikefly.envs.sim.randomisation import load_randomisation
    from spikefly.evolution.evaluate import (
        EvaluateError,
        board_costs,
        controller_variants,
        evaluate_controller,
        load_controller_or_card,
        suite_results,
        task_of,
    )
    from spikefly.evolution.settings import EvolveSettings
    from spikefly.worlds import suite_courses

    controller, named = _evaluate_targets(args, EvaluateError)
    spec = load_controller_or_card(controller)
    suite = [str(path) for path in suite_courses(args.suite)] if args.suite else []
    try:
        task = task_of(spec)
    except EvaluateError as error:
        raise EvaluateError(f"{controller}: {error}") from None
    try:  # e.g. an audio front end this version does not know
        task.check_env_settings(spec.env_settings, "the controller file's env.settings")
    except SpikeflyError as error:
        raise EvaluateError(f"{controller}: {error}") from None
    if suite and not task.suites:
        raise EvaluateError(f"--suite {args.suite}: a suite holds obstacle courses; this controller is a {task.name} "
                            "controller (evaluate it on its own worlds with --world)")
    default_worlds = spec.metadata.get("worlds") or EvolveSettings.of_task(spec.env_id).worlds
    worlds = named if named else ([] if suite else [str(world) for world in default_worlds])
    if not named and not suite and spec.metadata.get("worlds"):  # the worlds the file names must load, named as its key
        try:
            task.check_worlds(worlds)
        except SpikeflyError as error:
            raise EvaluateError(f"{controller}: metadata.worlds: {error}") from None
    randomised = args.randomise not in (None, "off")
    episodes = [args.episodes or 10] * len(worlds) + [args.episodes or (10 if randomised else 1)] * len(suite)
    boards = args.boards or ([spec.board["board"]] if spec.board and spec.board.get("board") else [])
    if "all" in boards:
        boards = [name for name in bundled_boards() if name not in boards] + [name for name in boards if name != "all"]
    for name in boards:  # a bad board name or file stops before anything is flown
        load_board(name)
    # so does a bad randomisation preset or file
    randomise = None if args.randomise is None else load_randomisation(args.randomise)
    variants = controller_variants(spec, args.quantize, args.prune)
    audio = {key: value for key, value in (("snr_db", args.snr), ("backgrounds", args.backgrounds),
                                           ("stream_minutes", args.stream_minutes)) if value is not None}
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
    task.print_reports(controller, reports, physics=args.physics, suite=suite)
    return 0


def print_flights(controller: str, reports: dict, *, physics: str, suite: list[str]) -> None:
    """``spikefly evaluate``'s lines for a quadrotor controller (each report one variant: float, int8, ...)."""
    from spikefly.envs.sim.randomisation import describe_randomisation

    first = next(iter(reports.values()))
    print(f"{controller}: {_size_text(first['network'])}; {physics}")
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
            _print_suite(label, report["suite"], physics)
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
            for board, cost in report["boards"].items():
                if cost["measured_figures"]:
                    print(f"{label}({board}: measured: {', '.join(cost['measured_figures'])} (instructions in QEMU: "
                          "spikefly deploy and docs/deployment.md); modelled: energy per cycle, flash and RAM (the formula; spikefly deploy "
                          "measures the linked image))")


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


def print_listening(controller: str, reports: dict, **_: object) -> None:
    """``spikefly evaluate``'s lines for an audio controller."""
    first = next(iter(reports.values()))
    summary = first["summary"]
    heard = "one continuous stream" if "stream" in first else f"{summary['episodes']} clips"
    print(f"{controller}: {_size_text(first['network'])}; {heard}, {summary['audio_hours']:.2f} h of audio")
    for name, report in reports.items():
        label = f"[{name}] " if len(reports) > 1 else ""
        for world, m in report["per_world"].items():
            print(f"{label}{Path(world).stem}: F1 {m['f1']:.3f}, precision {m['precision']:.3f}, recall {m['recall']:.3f}, "
                  f"false alarms/h {m['false_alarms_per_hour']:.1f}")
        m = report["summary"]
        if "stream" in report:
            print(f"{label}stream of {m['stream_minutes']:.1f} min: {int(m['misses'])} misses and {int(m['false_alarms'])} "
                  f"false alarms ({m['misses_per_20_min']:.1f} and {m['false_alarms_per_20_min']:.1f} per 20 min) "
                  f"against {int(m['events'])} alarms")
        print(f"{label}all: F1 {m['f1']:.3f}, precision {m['precision']:.3f}, recall {m['recall']:.3f}, false alarms/h "
              f"{m['false_alarms_per_hour']:.1f}, median latency {m['median_latency_s']:.2f} s, "
              f"synaptic ops per frame {m['mean_synaptic_ops_per_step']:.1f}")
        for board, cost in report["boards"].items():
            verdict = "feasible" if cost["feasible"] else "NOT feasible: " + "; ".join(cost["reasons"])
            print(f"{label}{board}: {cost['per_hour_j']:.3f} J per hour ({cost['power_w'] * 1e6:.1f} uW), "
                  f"latency {cost['latency_s'] * 1e6:.1f} us per frame; {verdict}")
