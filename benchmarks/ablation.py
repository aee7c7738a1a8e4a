"""The search, piece by piece: `spikefly evolve`'s default against one change at a time, same budget, same seeds.

    python benchmarks/ablation.py [--out runs/ablation] [--seeds 3] [--budget-steps 23000000]
                                  [--variants default no-curriculum ...] [--test-episodes 30]

Every run spends the same env steps (training, validation and PyBullet re-flights all count; the
default command spends ~23.3 M in its 60 generations), so the table does not depend on how busy
the machine was. Each champion is then flown in PyBullet on unseen mixed layouts (seeds 0..N-1,
which no run trains or validates on) and on the held-out suite, each course once. Finished runs
are kept in ``--out`` and not run again; a killed run resumes from its checkpoint.

Prints one row per variant: mean ± the 95 % interval's half-width over the seeds, each seed's figure, and the seconds each run took
(for scale only: the machine is shared).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-curriculum": {"curriculum_start": 0},
    "cma-es refinement": {"refine_every": 5},
    "population 200 x 4 episodes": {"population": 200, "episodes_per_world": 4},
    "population 50 x 16 episodes": {"population": 50, "episodes_per_world": 16},
    "novelty 0.1": {"novelty_weight": 0.1},
    "reinsert champion": {"reinsert_champion": True},
}


def run_variant(name: str, seed: int, budget_steps: int, test_episodes: int, out: Path) -> dict[str, Any]:
    from spikefly.evolution.evaluate import evaluate_controller
    from spikefly.evolution.run import CHAMPION_FILE, EvolutionRun
    from spikefly.evolution.settings import EvolveSettings
    from spikefly.controllers import load
    from spikefly.worlds.suites import suite_courses

    result_file = out / "result.json"
    if result_file.exists():
        return json.loads(result_file.read_text())
    values = {**EvolveSettings().to_dict(), **VARIANTS[name], "generations": 10**6, "budget_steps": budget_steps, "seed": seed}
    if (out / "settings.json").exists():
        run = EvolutionRun.resume(out, progress=False)
    else:
        run = EvolutionRun.start(out, EvolveSettings.for_env(values, "ablation"), progress=False)
    summary = run.run()
    spec = load(out / CHAMPION_FILE)
    mixed = evaluate_controller(spec, ["mixed"], test_episodes, seed=0, physics="pybullet", progress=False)
    courses = [str(course) for course in suite_courses("heldout")]
    suite = evaluate_controller(spec, courses, 1, seed=0, physics="pybullet", progress=False)
    result = {"variant": name, "seed": seed, "seconds": round(summary.seconds, 1), "env_steps": run.env_steps,
              "mixed": mixed["summary"]["success_rate"], "suite": suite["summary"]["success_rate"],
              "neurons": mixed["network"]["neurons"], "synapses": mixed["network"]["synapses"]}
    result_file.write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/ablation", help="where the runs and results go (resumable)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget-steps", type=int, default=23_000_000, help="env steps per run")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME",
                        help=f"which rows (default: all): {', '.join(VARIANTS)}")
    parser.add_argument("--test-episodes", type=int, default=30, help="unseen mixed layouts per champion (PyBullet)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.budget_steps < 1 or args.test_episodes < 1:
        parser.error("--seeds, --budget-steps and --test-episodes must be >= 1")

    from spikefly.evolution.baselines.bench_table import confidence_interval

    out = Path(args.out)
    print(f"{args.budget_steps:,} env steps per run, seeds 0-{args.seeds - 1}; test: {args.test_episodes} unseen mixed "
          "layouts and the 22 held-out courses, PyBullet\n")
    print("| variant | unseen mixed | held-out suite | neurons, synapses | seconds per run |")
    print("|---|---|---|---|---|")
    for name in args.variants:
        results = [run_variant(name, seed, args.budget_steps, args.test_episodes, out / name.replace(" ", "_") / f"seed{seed}")
                   for seed in range(args.seeds)]
        cells = []
        for key in ("mixed", "suite"):
            values = [r[key] for r in results]
            mean, half = confidence_interval(values)
            cells.append(f"{mean:.2f} ± {half:.2f} ({', '.join(f'{v:.2f}' for v in values)})")
        size = ", ".join(f"{r['neurons']}/{r['synapses']}" for r in results)
        seconds = sum(r["seconds"] for r in results) / len(results)
        print(f"| {name} | {cells[0]} | {cells[1]} | {size} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
