"""``spikefly bench``: NEAT-LIF against RL baselines with the same env-step budget, side by side.

Protocol (Salimans et al. 2017; Such et al. 2017): every method trains on the same env, spaces,
control rate and per-step reward, for the same number of env steps (every step counts: all
genomes, all episodes, validation and re-flights for NEAT; rollouts and validation for PPO), over
K seeds. Each selects its controller on validation episodes only (the same seeds for every
method, disjoint from training); the selected controllers are then flown on held-out test
episodes in the reference physics (PyBullet: seeds 0..N-1, which no run trained or selected on)
and on a bundled world none of them trained on.

Output directory::

    <method>/seed-<k>/     the method's own run (an evolution run directory, or a baseline's card)
    <method>/seed-<k>/result.json   what the table is made of (a finished run is not redone)
    bench.json   settings, every result and the aggregates
    bench.md     the table (markdown)
    curves.png   validation success against env steps and against wall-clock
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from spikefly.core import SpikeflyError
from spikefly.envs import QUADROTOR_AVOID_ID

METHODS = ("neat", "ppo", "recurrent_ppo")
LABELS = {"neat": "NEAT-LIF", "ppo": "PPO (MLP)", "recurrent_ppo": "RecurrentPPO (LSTM)"}
THRESHOLDS = (0.5, 0.9)


class BenchError(SpikeflyError):
    """Bad benchmark settings: the message names the setting and the fix."""


@dataclass(frozen=True)
class BenchSettings:
    """Everything that shapes a benchmark."""

    env_id: str = QUADROTOR_AVOID_ID
    """The task."""
    worlds: tuple[str, ...] = ("forest",)
    """Training (and validation) worlds."""
    env_settings: dict[str, Any] = field(default_factory=dict)
    """Env settings every method trains and is tested with (e.g. {"duration_s": 10.0} for short audio clips)."""
    holdout_world: str | None = "corridor"
    """A bundled world none of the methods trains on, flown at test time (None: skip)."""
    budget_steps: int = 1_000_000
    """Env steps each method may spend per seed (training, validation and re-flights all count)."""
    seeds: int = 3
    """Seeds per method (0 .. seeds-1)."""
    methods: tuple[str, ...] = METHODS
    """Which of neat, ppo, recurrent_ppo to run."""
    neat_population: int = 50
    """NEAT genomes per generation (smaller than evolve's 100 so a small budget still buys generations)."""
    neat_episodes: int = 2
    """NEAT training episodes per world per genome per generation."""
    validation_episodes: int = 10
    """Validation episodes per world, the same seeds for every method."""
    validations: int = 20
    """Validate about this many times over the budget (PPO every budget/validations steps; NEAT every
    so many generations that it validates about as often)."""
    test_episodes: int = 20
    """Held-out test episodes per training world (PyBullet, seeds 0..N-1)."""
    holdout_episodes: int = 10
    """Test episodes on ``holdout_world``."""
    board: str = "stm32f405"
    """Board the energy column is priced on."""
    n_envs: int = 16
    """Parallel envs for PPO."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "worlds", tuple(map(str, self.worlds)))
        object.__setattr__(self, "methods", tuple(self.methods))
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown or not self.methods:
            raise BenchError(f"methods={list(self.methods)}: choose from {list(METHODS)}")
        for name in ("budget_steps", "seeds", "neat_population", "neat_episodes", "validation_episodes", "validations",
                     "test_episodes", "holdout_episodes", "n_envs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BenchError(f"{name}={value!r}: must be an integer >= 1")
            limit = {"budget_steps": 10**10, "seeds": 1_000, "n_envs": 1_024}.get(name, 100_000)
            if value > limit:
                raise BenchError(f"{name}={value}: at most {limit:,}. Fix: give a smaller value")
        from spikefly.evolution.tasks import TaskError, task_for

        try:
            task = task_for(self.env_id)
        except TaskError as error:
            raise BenchError(str(error)) from None
        if task.baseline is None:
            raise BenchError(f"env_id={self.env_id!r}: the {task.name} task has no RL baseline to benchmark against")
        if task.baseline.one_world and len(self.worlds) != 1:
            raise BenchError(f"worlds={list(self.worlds)}: the {task.name} benchmark trains on one world (PPO's vector "
                             "env flies one). Fix: pass one --world")
        if self.neat_population < 4:
            raise BenchError(f"neat_population={self.neat_population}: NEAT needs at least 4 genomes")

    @property
    def task(self):
        """The benchmarked task (:class:`spikefly.evolution.tasks.Task`)."""
        from spikefly.evolution.tasks import task_for

        return task_for(self.env_id)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values.update(worlds=list(self.worlds), methods=list(self.methods))
        return values


# -- one run per (method, seed) -----------------------------------------------------------------
def run_neat(settings: BenchSettings, seed: int, out: Path) -> dict[str, Any]:
    """Evolve with the step budget; the curve is the champion's validation score against env steps."""
    from spikefly.controllers import load
    from spikefly.evolution.run import CHAMPION_FILE, LOG_FILE, EvolutionRun, RunError
    from spikefly.evolution.settings import EvolveSettings

    per_generation = settings.neat_population * settings.neat_episodes * len(settings.worlds) * _episode_steps_guess(settings)
    every = max(1, round(settings.budget_steps / settings.validations / per_generation))
    values = {"env_id": settings.env_id, "worlds": settings.worlds, "env_settings": dict(settings.env_settings),
              "population": settings.neat_population,
              "episodes_per_world": settings.neat_episodes, "generations": 10**9, "budget_steps": settings.budget_steps,
              "validation_every": every, "validation_episodes": settings.validation_episodes, "validation_top": 3,
              "pybullet_every": 0, "seed": seed}
    evolve = EvolveSettings.for_env(values, "bench")
    try:
        run = EvolutionRun.resume(out, progress=False) if (out / "settings.json").exists() else EvolutionRun.start(out, evolve, progress=False)
    except RunError as error:
        raise BenchError(str(error)) from error
    summary = run.run()
    curve, best, env_steps = [], -math.inf, 0
    for line in (out / LOG_FILE).read_text().splitlines():
        record = json.loads(line)
        if "validation" in record:
            best = max(best, record["validation"]["success_rate"])
            curve.append({"env_steps": record["env_steps_total"], "time_s": record["time_s"], "success_rate": best})
        if "final_champion" in record:
            env_steps = record["final_champion"]["env_steps_total"]
    spec = load(out / CHAMPION_FILE)
    return {"controller": str(out / CHAMPION_FILE), "curve": curve, "env_steps": env_steps or run.env_steps,
            "wall_clock_s": round(summary.seconds, 3), "spec": spec}


def _episode_steps_guess(settings: BenchSettings) -> int:
    """Env steps of a typical training episode, to space NEAT's validations (a guess; the count itself is exact)."""
    return settings.task.baseline.episode_steps


def run_rl(settings: BenchSettings, method: str, seed: int, out: Path) -> dict[str, Any]:
    from spikefly.evolution.baselines.rl import (
        CARD_FILE,
        LOG_FILE,
        BaselineSettings,
        load_card,
        train_baseline,
    )

    if not (out / CARD_FILE).exists():
        baseline = BaselineSettings(
            algorithm=method, env_id=settings.env_id, worlds=settings.worlds, env_settings=dict(settings.env_settings),
            total_steps=settings.budget_steps, seed=seed, board=settings.board,
            n_envs=settings.n_envs, validation_every_steps=max(1, settings.budget_steps // settings.validations),
            validation_episodes=settings.validation_episodes,
        )
        if out.exists():  # a run killed before its card: start it again
            for name in os.listdir(out):
                (out / name).unlink()
        train_baseline(baseline, out, stop_at_steps=settings.budget_steps)
    card = load_card(out / CARD_FILE)
    curve, best = [], -math.inf
    for line in (out / LOG_FILE).read_text().splitlines():
        record = json.loads(line)
        best = max(best, record["success_rate"])
        curve.append({"env_steps": record["env_steps"], "time_s": record["time_s"], "success_rate": best})
    training = json.loads((out / CARD_FILE).read_text())["training"]
    return {"controller": str(out / CARD_FILE), "curve": curve, "env_steps": training["env_steps"],
            "wall_clock_s": training["wall_clock_s"], "spec": card}


def test_controller(settings: BenchSettings, spec, method: str) -> dict[str, Any]:
    """Held-out test figures of one selected controller (PyBullet / the audio scorer), with its size and board cost."""
    from spikefly.evolution.evaluate import board_costs, evaluate_controller

    report = evaluate_controller(spec, list(settings.worlds), settings.test_episodes, seed=0, physics="pybullet", progress=False)
    cost = board_costs(spec, report, [settings.board])[settings.board]
    summary = report["summary"]
    network = report["network"]
    figures: dict[str, Any] = {"mean_return": summary["mean_return"], **settings.task.baseline.test_figures(report, cost)}
    if method == "neat":
        figures.update(neurons=network["neurons"], synapses=network["synapses"],
                       synaptic_ops_per_step=summary["mean_synaptic_ops_per_step"], macs_per_step=None)
    else:
        figures.update(parameters=network["parameters"], macs_per_step=network["macs_per_step"], synaptic_ops_per_step=None)
    figures["board"] = {key: cost[key] for key in ("energy_j", "latency_s", "power_w", "flash_bytes", "ram_bytes", "feasible")}
    if settings.holdout_world:
        holdout = evaluate_controller(spec, [settings.holdout_world], settings.holdout_episodes, seed=0, physics="pybullet",
                                      progress=False)
        figures["holdout"] = settings.task.baseline.test_figures(holdout, None)["metric"]
    return figures


def run_one(settings: BenchSettings, method: str, seed: int, out: Path) -> dict[str, Any]:
    """Train (or resume), select, test; the result is also written to ``out/result.json``."""
    path = out / "result.json"
    if path.exists():
        return json.loads(path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    trained = run_neat(settings, seed, out) if method == "neat" else run_rl(settings, method, seed, out)
    spec = trained.pop("spec")
    result = {"method": method, "seed": seed, **trained, "test": test_controller(settings, spec, method),
              "bench_s": round(time.perf_counter() - started, 1)}
    for threshold in THRESHOLDS:
        reached = next((point for point in trained["curve"] if point["success_rate"] >= threshold), None)
        result[f"to_{int(threshold * 100)}"] = reached and {"env_steps": reached["env_steps"], "time_s": reached["time_s"]}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(result, indent=1))
    os.replace(temporary, path)
    return result


# -- aggregation and the table ------------------------------------------------------------------
def confidence_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval over seeds (0 for one seed)."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return float(data.mean()) if data.size else math.nan, 0.0
    from scipy import stats

    half = stats.t.ppf(0.5 + level / 2, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size)
    return float(data.mean()), float(half)


FLIGHT_COLUMNS = (("success", "test.success_rate", 1.0), ("collision", "test.collision_rate", 1.0),
                  ("time-out", "test.timeout_rate", 1.0), ("mean return", "test.mean_return", 1.0),
                  ("time to goal (s)", "test.time_to_goal_s", 1.0), ("holdout success", "test.holdout", 1.0))
"""The quadrotor task's columns of the table: (header, key path in a result, scale)."""
FLIGHT_ENERGY = ("energy / s of flight (mJ)", "test.energy_per_flight_s_j", 1e3)
LISTENING_COLUMNS = (("F1", "test.f1", 1.0), ("false alarms / h", "test.false_alarms_per_hour", 1.0),
                     ("holdout F1", "test.holdout", 1.0), ("mean return", "test.mean_return", 1.0))
"""The audio task's columns of the table."""
LISTENING_ENERGY = ("energy / h (J)", "test.energy_per_hour_j", 1.0)


def flight_figures(report: dict[str, Any], cost: dict[str, Any] | None) -> dict[str, Any]:
    """The quadrotor task's test figures of one evaluation report (``metric``: its success rate)."""
    summary = report["summary"]
    goals = [row["time_s"] for row in report["episodes"] if row["outcome"] == "goal"]
    figures = {"metric": summary["success_rate"], "success_rate": summary["success_rate"],
               "collision_rate": summary["collision_rate"], "timeout_rate": summary["timeout_rate"],
               "out_of_bounds_rate": summary["out_of_bounds_rate"], "time_to_goal_s": float(np.mean(goals)) if goals else None}
    if cost is not None:
        figures["energy_per_flight_s_j"] = cost["power_w"]  # J per second of flight = W
    return figures


def listening_figures(report: dict[str, Any], cost: dict[str, Any] | None) -> dict[str, Any]:
    """The audio task's test figures of one evaluation report (``metric``: its event F1)."""
    summary = report["summary"]
    figures = {"metric": summary["f1"], "f1": summary["f1"], "false_alarms_per_hour": summary["false_alarms_per_hour"]}
    if cost is not None:
        figures["energy_per_hour_j"] = cost["per_hour_j"]
    return figures


def table_columns(task) -> list[tuple[str, str, float]]:
    """(header, key path in a result, scale) of the table's numeric columns for ``task``."""
    tail = [("env steps to 50%", "to_50.env_steps", 1e-3), ("env steps to 90%", "to_90.env_steps", 1e-3),
            ("wall-clock to 50% (s)", "to_50.time_s", 1.0), ("wall-clock to 90% (s)", "to_90.time_s", 1.0),
            ("env steps used (k)", "env_steps", 1e-3), ("wall-clock (s)", "wall_clock_s", 1.0),
            ("neurons", "test.neurons", 1.0), ("synapses", "test.synapses", 1.0), ("parameters", "test.parameters", 1.0),
            ("synaptic ops / step", "test.synaptic_ops_per_step", 1.0), ("MACs / step", "test.macs_per_step", 1.0)]
    return [*task.baseline.columns, *tail, task.baseline.energy_column]


def _get(result: dict[str, Any], path: str) -> float | None:
    value: Any = result
    for key in path.split("."):
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return float(value)


def aggregate(results: list[dict[str, Any]], task) -> dict[str, dict[str, Any]]:
    """Per method and column: mean, CI half-width, and how many seeds have a value (thresholds may not be reached)."""
    table: dict[str, dict[str, Any]] = {}
    for method in dict.fromkeys(r["method"] for r in results):
        mine = [r for r in results if r["method"] == method]
        row: dict[str, Any] = {"seeds": len(mine)}
        for header, path, _ in table_columns(task):
            values = [v for v in (_get(r, path) for r in mine) if v is not None]
            mean, half = confidence_interval(values) if values else (None, None)
            row[header] = {"mean": mean, "ci95": half, "n": len(values)}
        table[method] = row
    return table


def markdown_table(aggregates: dict[str, dict[str, Any]], task) -> str:
    columns = table_columns(task)
    threshold_headers = {"env steps to 50%", "env steps to 90%", "wall-clock to 50% (s)", "wall-clock to 90% (s)"}
    lines = ["| method | seeds | " + " | ".join(h.replace("env steps to", "env steps (k) to") for h, _, _ in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for method, row in aggregates.items():
        cells = []
        for header, _, scale in columns:
            entry = row[header]
            if entry["n"] == 0:
                cells.append("not reached" if header in threshold_headers else "—")
                continue
            mean, half = entry["mean"] * scale, entry["ci95"] * scale
            digits = 2 if abs(mean) < 10 else 0
            text = f"{mean:.{digits}f} ± {half:.{digits}f}" if row["seeds"] > 1 else f"{mean:.{digits}f}"
            if header in threshold_headers and entry["n"] < row["seeds"]:
                text += f" ({entry['n']}/{row['seeds']} seeds)"
            cells.append(text)
        lines.append(f"| {LABELS[method]} | {row['seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(results: list[dict[str, Any]], path: Path, task) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4))
    colours = {"neat": "tab:green", "ppo": "tab:blue", "recurrent_ppo": "tab:orange"}
    for result in results:
        curve = [{"env_steps": 0, "time_s": 0.0, "success_rate": 0.0}, *result["curve"]]
        label = LABELS[result["method"]] if result["seed"] == 0 else None
        steps = [p["env_steps"] for p in curve]
        seconds = [p["time_s"] for p in curve]
        scores = [p["success_rate"] for p in curve]
        axes[0].step(steps, scores, where="post", color=colours[result["method"]], alpha=0.8, label=label)
        axes[1].step(seconds, scores, where="post", color=colours[result["method"]], alpha=0.8, label=label)
    metric = f"best validation {task.metric}"
    for axis, xlabel in zip(axes, ("env steps", "wall-clock (s)")):
        axis.set_xlabel(xlabel)
        axis.set_ylabel(metric)
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def hardware() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


OVERSPEND = 1.10
"""A run that used more than this times the budget is named under the table: NEAT stops only between
generations, so a budget smaller than a few generations buys it more steps than the baselines."""


def overspend_note(results: list[dict[str, Any]], budget_steps: int) -> str:
    """Lines under the table naming every run that overspent the budget by more than 10% ("" if none)."""
    over = [f"{r['method']} seed {r['seed']}: {r['env_steps'] / budget_steps:.1f}x" for r in results
            if r["env_steps"] > OVERSPEND * budget_steps]
    if not over:
        return ""
    return ("\n\nOver budget (" + ", ".join(over) + f" of {budget_steps:,} steps): a NEAT generation is not cut short, "
            "nor a PPO rollout, so give a budget of many generations (--budget-steps) or a smaller --neat-population.")


def run_bench(settings: BenchSettings, out: str | os.PathLike[str], progress: bool = True) -> dict[str, Any]:
    """Every (method, seed) run (finished ones are read back), then bench.json, bench.md and curves.png."""
    from spikefly.evolution.run import check_task
    from spikefly.evolution.settings import EvolveSettings
    from tqdm import tqdm

    check_task(EvolveSettings.for_env({"env_id": settings.env_id, "worlds": settings.worlds}))
    if settings.holdout_world:
        check_task(EvolveSettings.for_env({"env_id": settings.env_id, "worlds": (settings.holdout_world,)}))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "settings.json"
    if saved.exists():  # more (or fewer) seeds reuse the runs already done; anything else is another benchmark
        before = {key: value for key, value in json.loads(saved.read_text()).items() if key != "seeds"}
        if before != {key: value for key, value in settings.to_dict().items() if key != "seeds"}:
            raise BenchError(f"{saved}: this directory holds a benchmark with other settings. Fix: pick a new --out "
                             "(only --seeds may change between runs in one directory)")
    saved.write_text(json.dumps(settings.to_dict(), indent=1))
    jobs = [(method, seed) for seed in range(settings.seeds) for method in settings.methods]
    results = []
    for method, seed in tqdm(jobs, desc="bench", unit="run", disable=not progress):
        results.append(run_one(settings, method, seed, out / method / f"seed-{seed}"))
    aggregates = aggregate(results, settings.task)
    table = markdown_table(aggregates, settings.task)
    note = overspend_note(results, settings.budget_steps)
    document = {"settings": settings.to_dict(), "hardware": hardware(), "results": results, "aggregates": aggregates,
                "table": table, "note": note}
    (out / "bench.json").write_text(json.dumps(document, indent=1))
    (out / "bench.md").write_text(table + note + "\n")
    plot_curves(results, out / "curves.png", settings.task)
    return document


# -- command line ----------------------------------------------------------------------------------
def add_bench_parser(commands) -> None:
    from spikefly.evolution.tasks import task_names

    parser = commands.add_parser(
        "bench",
        help="benchmark NEAT-LIF against PPO and RecurrentPPO with the same env-step budget over several seeds",
        description="Run NEAT-LIF and the RL baselines with the same env-step budget (every step counted), each over "
        "--seeds seeds; select on validation episodes, test the selected controllers in PyBullet on held-out layouts and "
        "on a world none trained on, and write OUT/bench.md (a markdown table with 95% confidence intervals over seeds), "
        'OUT/bench.json and OUT/curves.png. A killed benchmark continues where it stopped; run it again with more '
        '--seeds to add seeds. Needs "spikefly[rl]".',
    )
    parser.add_argument("--env", choices=list(task_names()), default="quadrotor", help="task (default: quadrotor)")
    parser.add_argument("--world", action="append", dest="worlds", metavar="NAME_OR_FILE",
                        help="training world, repeatable (default: forest; audio: kitchen and street)")
    parser.add_argument("--holdout", metavar="NAME_OR_FILE",
                        help="a world none of them trains on, flown at test time (default: corridor; audio: office; 'none' to skip)")
    parser.add_argument("--budget-steps", type=int, default=1_000_000, help="env steps per method and seed (default: 1000000)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per method (default: 3)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {','.join(METHODS)} (default: all)")
    parser.add_argument("--neat-population", type=int, default=50, help="NEAT genomes per generation (default: 50)")
    parser.add_argument("--validations", type=int, default=20,
                        help="validate about this many times over the budget, each on 10 episodes that count (default: 20)")
    parser.add_argument("--test-episodes", type=int, default=20, help="held-out test episodes per training world (default: 20)")
    parser.add_argument("--board", default="stm32f405", help="board for the energy column (default: stm32f405)")
    parser.add_argument("--n-envs", type=int, default=16, help="parallel envs for PPO (default: 16)")
    parser.add_argument("--out", metavar="DIR", default="runs/bench", help="output directory (default: runs/bench)")
    parser.add_argument("--json", action="store_true", help="print bench.json's aggregates instead of the table")
    parser.set_defaults(run=run_bench_command)


def run_bench_command(args) -> int:
    from spikefly.controllers.boards import load_board
    from spikefly.evolution.tasks import task_for, task_names

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    env_id = task_names()[args.env]
    baseline = task_for(env_id).baseline
    if baseline is None:
        raise BenchError(f"--env {args.env}: that task has no RL baseline to benchmark against")
    holdout = args.holdout or baseline.holdout_world or "none"
    load_board(args.board)
    settings = BenchSettings(
        env_id=env_id, worlds=tuple(args.worlds or (world for world in baseline.worlds if world != holdout)),
        holdout_world=None if holdout == "none" else holdout, budget_steps=args.budget_steps, seeds=args.seeds,
        methods=tuple(name.strip().replace("-", "_") for name in args.methods.split(",") if name.strip()),
        neat_population=args.neat_population, validations=args.validations, test_episodes=args.test_episodes, board=args.board, n_envs=args.n_envs,
    )
    document = run_bench(settings, args.out, progress=not args.json)
    if args.json:
        print(json.dumps(document["aggregates"], indent=2))
        return 0
    print(document["table"] + document["note"])
    print(f"\n{args.out}/bench.json, {args.out}/bench.md, {args.out}/curves.png; hardware: {document['hardware']}")
    return 0
