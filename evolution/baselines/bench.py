"""``spikefly bench``: NEAT-LIF against RL baselines with the same env-step or wall-clock budget, side by side.

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
import time
import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spikefly.core import SpikeflyError
from spikefly.envs import QUADROTOR_AVOID_ID
from spikefly.evolution.baselines.bench_table import (
    aggregate, hardware, markdown_table, overspend_note, plot_curves,
)

METHODS = ("neat", "ppo", "recurrent_ppo", "spiking_ppo")
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
    budget_seconds: float = 0.0
    """If > 0, each method gets this many seconds of wall-clock per seed instead (validations included;
    each uses the machine its own best way) and ``budget_steps`` is not used."""
    suite: str | None = None
    """A bundled held-out suite (``spikefly evaluate --suite``) flown at test time, each course once (None: skip)."""
    seeds: int = 3
    """Seeds per method (0 .. seeds-1)."""
    methods: tuple[str, ...] = METHODS
    """Which of neat, ppo, recurrent_ppo to run."""
    neat_population: int = 50
    """NEAT genomes per generation (smaller than evolve's 100 so a small budget still buys generations;
    0: the task's ``spikefly evolve`` default)."""
    neat_episodes: int = 2
    """NEAT training episodes per world per genome per generation (0: the ``spikefly evolve`` default)."""
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
            least = 0 if name in ("neat_population", "neat_episodes") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise BenchError(f"{name}={value!r}: must be an integer >= {least}")
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
        if 0 < self.neat_population < 4:
            raise BenchError(f"neat_population={self.neat_population}: NEAT needs at least 4 genomes")
        if isinstance(self.budget_seconds, bool) or not isinstance(self.budget_seconds, (int, float)) \
                or not 0 <= self.budget_seconds <= 1e7:
            raise BenchError(f"budget_seconds={self.budget_seconds!r}: give seconds from 0 to 1e7 (0: the step budget)")
        if self.suite is not None:
            from spikefly.worlds.suites import SuiteError, suite_courses

            if not task.suites:
                raise BenchError(f"suite={self.suite!r}: the {task.name} task has no course suites. Fix: drop --suite")
            try:
                suite_courses(self.suite)
            except SuiteError as error:
                raise BenchError(str(error)) from None

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
    """Evolve with the step (or time) budget; the curve is the champion's validation score against env steps."""
    from spikefly.controllers import load
    from spikefly.evolution.run import CHAMPION_FILE, LOG_FILE, EvolutionRun, RunError
    from spikefly.evolution.settings import EvolveSettings

    values: dict[str, Any] = {
        "env_id": settings.env_id, "worlds": settings.worlds, "env_settings": dict(settings.env_settings),
        "generations": 10**9, "validation_episodes": settings.validation_episodes, "validation_top": 3, "pybullet_every": 0,
        "seed": seed,
        # validated as PPO is (clean, the best so far wins): the curves compare the two searches
        "validation_randomise": None, "champion_margin": 0.0, "baseline_champion": False, "confirmation_episodes": 0}
    if settings.neat_population:
        values["population"] = settings.neat_population
    if settings.neat_episodes:
        values["episodes_per_world"] = settings.neat_episodes
    if settings.budget_seconds:
        values["time_budget_s"] = settings.budget_seconds  # validations as often as `spikefly evolve` validates
    else:
        default = EvolveSettings.of_task(settings.env_id)
        per_generation = (settings.neat_population or default.population) * (settings.neat_episodes or default.episodes_per_world) \
            * len(settings.worlds) * _episode_steps_guess(settings)
        values.update(budget_steps=settings.budget_steps,
                      validation_every=max(1, round(settings.budget_steps / settings.validations / per_generation)))
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
        timed = settings.budget_seconds > 0
        baseline = BaselineSettings(
            algorithm=method, env_id=settings.env_id, worlds=settings.worlds, env_settings=dict(settings.env_settings),
            total_steps=10**10 if timed else settings.budget_steps, seed=seed, board=settings.board,
            n_envs=settings.n_envs, validation_every_steps=max(1, settings.budget_steps // settings.validations),
            validation_every_s=settings.budget_seconds / settings.validations if timed else 0.0,
            validation_episodes=settings.validation_episodes,
        )
        if out.exists():  # a run killed before its card: start it again
            for name in os.listdir(out):
                (out / name).unlink()
        if timed:
            train_baseline(baseline, out, stop_at_seconds=settings.budget_seconds)
        else:
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
    if settings.suite:
        from spikefly.worlds.suites import suite_courses

        courses = [str(course) for course in suite_courses(settings.suite)]
        flown = evaluate_controller(spec, courses, 1, seed=0, physics="pybullet", progress=False)
        figures["suite"] = settings.task.baseline.test_figures(flown, None)["metric"]
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


def run_bench(settings: BenchSettings, out: str | os.PathLike[str], progress: bool = True) -> dict[str, Any]:
    """Every (method, seed) run (finished ones are read back), then bench.json, bench.md and curves.png."""
    from spikefly.evolution.run import check_task
    from spikefly.evolution.settings import EvolveSettings
    from tqdm import tqdm

    check_task(EvolveSettings.for_env({"env_id": settings.env_id, "worlds": settings.worlds}))
    if settings.holdout_world:
        check_task(EvolveSettings.for_env({"env_id": settings.env_id, "worlds": (settings.holdout_world,)}))
    check_task(EvolveSettings.for_env({"env_id": settings.env_id, "worlds": settings.worlds, "env_settings": settings.env_settings}))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "settings.json"
    if saved.exists():  # other seeds or methods reuse the runs already done; anything else is another benchmark
        before = {key: value for key, value in json.loads(saved.read_text()).items() if key not in ("seeds", "methods")}
        if before != {key: value for key, value in settings.to_dict().items() if key not in ("seeds", "methods")}:
            raise BenchError(f"{saved}: this directory holds a benchmark with other settings. Fix: pick a new --out "
                             "(only --seeds and --methods may change between runs in one directory)")
    saved.write_text(json.dumps(settings.to_dict(), indent=1))
    jobs = [(method, seed) for seed in range(settings.seeds) for method in settings.methods]
    results = []
    for method, seed in tqdm(jobs, desc="bench", unit="run", disable=not progress):
        results.append(run_one(settings, method, seed, out / method / f"seed-{seed}"))
    aggregates = aggregate(results, settings.task)
    table = markdown_table(aggregates, settings.task)
    timed = settings.budget_seconds > 0
    note = overspend_note(results, settings.budget_seconds if timed else settings.budget_steps, seconds=timed)
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
        help="benchmark NEAT-LIF against PPO, RecurrentPPO and spiking PPO with the same env-step or wall-clock "
        "budget over several seeds",
        description="Run NEAT-LIF and the RL baselines with the same env-step budget (every step counted) or the same "
        "wall-clock (--budget-seconds), each over "
        "--seeds seeds; select on validation episodes, test the selected controllers in PyBullet on held-out layouts and "
        "on a world none trained on, and write OUT/bench.md (a markdown table with 95% confidence intervals over seeds), "
        'OUT/bench.json and OUT/curves.png. A killed benchmark continues where it stopped; run it again with more '
        '--seeds or --methods to add seeds or methods. Needs "spikefly[rl]".',
    )
    parser.add_argument("--env", choices=list(task_names()), default="quadrotor", help="task (default: quadrotor)")
    parser.add_argument("--world", action="append", dest="worlds", metavar="NAME_OR_FILE",
                        help="training world, repeatable (default: forest; audio: kitchen and street)")
    parser.add_argument("--holdout", metavar="NAME_OR_FILE",
                        help="a world none of them trains on, flown at test time (default: corridor; audio: office; 'none' to skip)")
    parser.add_argument("--budget-steps", type=int, default=1_000_000, help="env steps per method and seed (default: 1000000)")
    parser.add_argument("--budget-seconds", type=float, default=0.0, metavar="S",
                        help="equal wall-clock instead: S seconds per method and seed, validations included, each method "
                        "using the machine its own best way. The defaults then follow `spikefly evolve` (its world, env "
                        "settings, population and episodes) and the test adds the task's held-out suite")
    parser.add_argument("--suite", metavar="NAME_OR_FOLDER",
                        help="a course suite flown at test time, each course once (default: heldout with --budget-seconds, "
                        "else none; 'none' to skip)")
    parser.add_argument("--env-settings", metavar="FILE|default|none",
                        help="env settings every method trains and is tested with: a JSON file of them, 'default' (those "
                        "of `spikefly evolve`) or 'none' (the env's own defaults). Default: 'default' with "
                        "--budget-seconds, else 'none'")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per method (default: 3)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {','.join(METHODS)} (default: all)")
    parser.add_argument("--neat-population", type=int,
                        help="NEAT genomes per generation (default: 50; with --budget-seconds that of spikefly evolve)")
    parser.add_argument("--neat-episodes", type=int,
                        help="NEAT training episodes per genome (default: 2; with --budget-seconds that of spikefly evolve)")
    parser.add_argument("--validations", type=int, default=20,
                        help="validate about this many times over the budget, each on 10 episodes that count (default: 20)")
    parser.add_argument("--test-episodes", type=int, default=20, help="held-out test episodes per training world (default: 20)")
    parser.add_argument("--board", default="stm32f405", help="board for the energy column (default: stm32f405)")
    parser.add_argument("--n-envs", type=int, default=16, help="parallel envs for PPO (default: 16)")
    parser.add_argument("--out", metavar="DIR", default="runs/bench", help="output directory (default: runs/bench)")
    parser.add_argument("--json", action="store_true", help="print bench.json's aggregates instead of the table")
    parser.set_defaults(run=run_bench_command)


def bench_env_settings(choice: str, evolve_default) -> dict[str, Any]:
    """``--env-settings``: 'default' (``spikefly evolve``'s), 'none' ({}), or a JSON file's object."""
    if choice == "default":
        return dict(evolve_default.env_settings)
    if choice == "none":
        return {}
    try:
        values = json.loads(Path(choice).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BenchError(f"--env-settings {choice}: cannot read it ({error}). Fix: give a JSON file holding an object of "
                         'env settings, e.g. {"action_mode": "guided"}, or \'default\' or \'none\'') from None
    if not isinstance(values, dict):
        raise BenchError(f"--env-settings {choice}: expected a JSON object of env settings, got {type(values).__name__}")
    from spikefly.evolution.run import check_task

    try:
        check_task(dataclasses.replace(evolve_default, env_settings=values))
    except SpikeflyError as error:
        raise BenchError(f"--env-settings {choice}: {error}") from None
    return values


def run_bench_command(args) -> int:
    from spikefly.controllers.boards import load_board
    from spikefly.evolution.settings import EvolveSettings
    from spikefly.evolution.tasks import task_for, task_names

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    env_id = task_names()[args.env]
    baseline = task_for(env_id).baseline
    if baseline is None:
        raise BenchError(f"--env {args.env}: that task has no RL baseline to benchmark against")
    timed = args.budget_seconds > 0
    task = task_for(env_id)
    evolve_default = EvolveSettings.of_task(env_id)
    holdout = args.holdout or ("none" if timed else baseline.holdout_world) or "none"
    suite = args.suite or ("heldout" if timed and task.suites else "none")
    load_board(args.board)
    worlds = args.worlds or (evolve_default.worlds if timed else [world for world in baseline.worlds if world != holdout])
    settings = BenchSettings(
        env_id=env_id, worlds=tuple(worlds), env_settings=bench_env_settings(args.env_settings or ("default" if timed else "none"),
                                                                              evolve_default),
        holdout_world=None if holdout == "none" else holdout, budget_steps=args.budget_steps,
        budget_seconds=args.budget_seconds, suite=None if suite == "none" else suite, seeds=args.seeds,
        methods=tuple(name.strip().replace("-", "_") for name in args.methods.split(",") if name.strip()),
        neat_population=args.neat_population if args.neat_population is not None else (0 if timed else 50),
        neat_episodes=args.neat_episodes if args.neat_episodes is not None else (0 if timed else 2),
        validations=args.validations, test_episodes=args.test_episodes, board=args.board, n_envs=args.n_envs,
    )
    document = run_bench(settings, args.out, progress=not args.json)
    if args.json:
        print(json.dumps(document["aggregates"], indent=2))
        return 0
    print(document["table"] + document["note"])
    print(f"\n{args.out}/bench.json, {args.out}/bench.md, {args.out}/curves.png; hardware: {document['hardware']}")
    return 0
