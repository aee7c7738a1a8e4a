"""RL baselines: Stable-Baselines3 PPO and sb3-contrib RecurrentPPO on spikefly's own tasks.

The baselines see exactly what an evolved controller sees: the same env, observation and action
spaces, control rate and per-step reward. The quadrotor trains on the fast Numba twin through
:class:`TwinVecEnv` (:mod:`spikefly.evolution.baselines.vec_envs`: an SB3 ``VecEnv`` over
:class:`~spikefly.envs.quadrotor_vec_env.QuadrotorAvoidVecEnv`);
the audio task through SB3's ``DummyVecEnv``. Every env step is counted (``env_steps``).

Selection is on validation episodes only: the same seeds an evolution run with this seed
validates on (:mod:`spikefly.evolution.episodes`, purpose bits VALIDATION). Every
``validation_every_steps`` the current policy flies them deterministically; the best (success,
then mean return) is kept. Training layouts come from the vector env's own seeded stream of
63-bit seeds, so meeting a validation seed or a small test seed (``spikefly evaluate``'s 0..N-1)
has a chance of about one in 10**17 per episode.

Output directory::

    policy.zip     the selected policy, in SB3's own format (``PPO.load`` / ``RecurrentPPO.load``)
    card.json      the controller card (:class:`~spikefly.evolution.baselines.policy_card.PolicyCard`): what ``spikefly evaluate`` reads
    log.jsonl      one line per validation: env_steps, time_s, success_rate, mean_return

Torch runs on one thread by default: on a busy 2-core machine two threads made PPO ~10x slower.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from spikefly.envs import QUADROTOR_AVOID_ID
from spikefly.envs.sim import outcomes
from spikefly.evolution.episodes import VALIDATION, EpisodeSet, episodes_for
from spikefly.evolution.settings import MAX_SEED
from spikefly.evolution.baselines.vec_envs import TwinVecEnvMethods, make_twin_vec_env
from spikefly.evolution.baselines.policy_card import (
    ALGORITHMS, CARD_FILE, CARD_KIND, POLICY_FILE, BaselineError, PolicyCard, PolicyController, actor_size, algorithm_class,
    clip_actions, fly_twin, import_sb3, load_card, space_dict,
)

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

LOG_FILE = "log.jsonl"

__all__ = [
    "ALGORITHMS", "CARD_FILE", "CARD_KIND", "POLICY_FILE", "BaselineError", "BaselineSettings", "PolicyCard", "PolicyController",
    "TwinVecEnvMethods", "fly_policy_twin", "load_card", "make_twin_vec_env", "train_baseline",
]


BASELINE_LIMITS = {"total_steps": 10**10, "validation_every_steps": 10**10, "n_envs": 1_024, "torch_threads": 256,
                   "lstm_hidden_size": 4_096}  # upper bounds of the counts (others: 10^6), beyond any run that finishes


@dataclass(frozen=True)
class BaselineSettings:
    """Everything that shapes one baseline training run."""

    algorithm: str = "ppo"
    """"ppo" (SB3 PPO, MlpPolicy) or "recurrent_ppo" (sb3-contrib RecurrentPPO, MlpLstmPolicy)."""
    env_id: str = QUADROTOR_AVOID_ID
    """Gymnasium id of the task."""
    worlds: tuple[str, ...] = ("forest",)
    """Worlds to train on: one for the quadrotor (its twin vector env flies one world); audio env i listens to world i % W."""
    env_settings: dict[str, Any] = field(default_factory=dict)
    """Keyword settings of the env, as for ``spikefly evolve``."""
    total_steps: int = 200_000
    """Training env steps (validation episodes are counted on top, in ``env_steps``)."""
    seed: int = 0
    """Seeds torch, SB3, the training episodes and the validation episodes (as an evolution run's seed does)."""
    n_envs: int = 8
    """Parallel environments (twin drones) PPO collects from."""
    n_steps: int = 256
    """PPO rollout length per env between updates."""
    batch_size: int = 0
    """PPO minibatch size (0: 256 for PPO; a quarter of the rollout for RecurrentPPO, whose LSTM is stepped
    one time step at a time per minibatch, so few large minibatches are far faster)."""
    n_epochs: int = 5
    """PPO epochs per update."""
    learning_rate: float = 3e-4
    """Adam learning rate."""
    validation_every_steps: int = 20_000
    """Validate the current policy every this many training steps (and at the end)."""
    validation_every_s: float = 0.0
    """If > 0, validate every this many seconds of wall-clock instead (the benchmark's equal-time budget)."""
    validation_episodes: int = 10
    """Validation episodes per world (deterministic actions)."""
    lstm_hidden_size: int = 64
    """RecurrentPPO: LSTM units of the actor; the critic is an MLP on the features. sb3-contrib's defaults
    (256-unit actor and critic LSTMs, minibatches of 256) ran at ~50 env steps/s on the shared 2-core box;
    this, with four minibatches per rollout, at ~700-3,000."""
    board: str = "stm32f405"
    """Board ``spikefly evaluate`` prices the policy on by default (the card's ``board``)."""
    torch_threads: int = 1
    """torch.set_num_threads; two threads on a shared 2-core machine were 1.4-10x slower (benchmarks/rl_speed.py)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "worlds", (self.worlds,) if isinstance(self.worlds, str) else tuple(map(str, self.worlds)))
        if self.algorithm not in ALGORITHMS:
            raise BaselineError(f"algorithm={self.algorithm!r}: choose one of {ALGORITHMS}")
        from spikefly.evolution.tasks import TASKS

        with_baseline = [env_id for env_id, task in TASKS.items() if task.baseline is not None]
        if self.env_id not in with_baseline:
            raise BaselineError(f"env_id={self.env_id!r}: choose one of {with_baseline}")
        if not self.worlds:
            raise BaselineError("worlds: give at least one world")
        for name in ("total_steps", "n_envs", "n_steps", "n_epochs", "validation_every_steps",
                     "validation_episodes", "torch_threads", "lstm_hidden_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BaselineError(f"{name}={value!r}: must be an integer >= 1")
            if value > BASELINE_LIMITS.get(name, 10**6):
                raise BaselineError(f"{name}={value}: at most {BASELINE_LIMITS.get(name, 10**6):,}. Fix: give a smaller value")
        if isinstance(self.validation_every_s, bool) or not isinstance(self.validation_every_s, (int, float)) \
                or not 0 <= self.validation_every_s <= 1e8:
            raise BaselineError(f"validation_every_s={self.validation_every_s!r}: must be seconds from 0 to 1e8 (0: by steps)")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 0:
            raise BaselineError(f"batch_size={self.batch_size!r}: must be an integer >= 0 (0 = the algorithm's default)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise BaselineError(f"seed={self.seed!r}: must be an integer from 0 to {MAX_SEED}")

    @property
    def minibatch_size(self) -> int:
        if self.batch_size:
            return self.batch_size
        rollout = self.n_envs * self.n_steps
        return max(1, rollout // 4) if self.algorithm == "recurrent_ppo" else min(256, rollout)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["worlds"] = list(self.worlds)
        return values


# -- flying a policy ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FlightResults:
    """What a policy did on each episode (arrays [E])."""

    returns: NDArray[np.float64]
    outcomes: NDArray[np.int64]
    steps: NDArray[np.int64]
    time_s: NDArray[np.float64]

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.outcomes == outcomes.GOAL))


def fly_policy_twin(model: BaseAlgorithm, recurrent: bool, episodes: EpisodeSet, env_settings: dict[str, Any]) -> FlightResults:
    """Fly every episode at once on the twin (one drone per episode), deterministic actions."""
    from spikefly.envs.twin.kernels import COUNTER_OUTCOME

    twin, returns = fly_twin(model, recurrent, episodes, env_settings)
    return FlightResults(returns, twin.counters[:, COUNTER_OUTCOME].copy(), twin.steps, twin.time_s)


def listen_policy(model: BaseAlgorithm, recurrent: bool, episodes: EpisodeSet, env_settings: dict[str, Any]):
    """Audio: the policy's actions on each clip, scored; returns (scored results, steps, audio seconds)."""
    from spikefly.envs.audio_env import AudioSettings, episode, hop_s
    from spikefly.envs.audio.scoring import score

    settings = AudioSettings.from_kwargs(**env_settings)
    scored, steps, audio_s = [], 0, 0.0
    for world, seed in zip(episodes.worlds, episodes.seeds):
        clip = episode(world, seed, settings)
        actions = clip_actions(model, recurrent, clip.features)
        scored.append(score(actions, clip.events, clip.classes, hop_s(), settings.reward))
        steps += len(clip.features)
        audio_s += clip.audio_s
    return scored, steps, audio_s


def flight_score(model: BaseAlgorithm, recurrent: bool, episodes: EpisodeSet, env_settings: dict[str, Any]) -> dict[str, Any]:
    """Success rate, mean return and env steps of a policy's twin flights."""
    results = fly_policy_twin(model, recurrent, episodes, env_settings)
    return {"success_rate": results.success_rate, "mean_return": float(results.returns.mean()), "steps": int(results.steps.sum())}


def listening_score(model: BaseAlgorithm, recurrent: bool, episodes: EpisodeSet, env_settings: dict[str, Any]) -> dict[str, Any]:
    """Event F1 (as ``success_rate``), mean return, env steps and false alarms per hour of a policy's clips."""
    from spikefly.envs.audio.scoring import event_metrics

    scored, steps, audio_s = listen_policy(model, recurrent, episodes, env_settings)
    metrics = event_metrics(scored, audio_s)
    return {"success_rate": float(metrics["f1"]), "mean_return": float(np.mean([s.total for s in scored])), "steps": steps,
            "false_alarms_per_hour": float(metrics["false_alarms_per_hour"])}


def validation_score(model: BaseAlgorithm, recurrent: bool, settings: BaselineSettings, episodes: EpisodeSet) -> dict[str, Any]:
    """The task's metric (as ``success_rate``: success rate, event F1), mean return and env steps on ``episodes``."""
    from spikefly.evolution.tasks import task_for

    return task_for(settings.env_id).baseline.score(model, recurrent, episodes, settings.env_settings)


def write_card(out: Path, model: BaseAlgorithm, settings: BaselineSettings, summary: dict[str, Any]) -> Path:
    size = actor_size(model)
    card = {
        "kind": CARD_KIND, "format_version": 1, "algorithm": settings.algorithm,
        "policy_class": type(model.policy).__name__, "policy": POLICY_FILE,
        "env": {"id": settings.env_id, "settings": settings.env_settings,
                "observation_space": space_dict(model.observation_space), "action_space": space_dict(model.action_space)},
        "size": {**size, "counted": "actor path only (features extractor, policy LSTM if any, actor MLP, action head); "
                 "the critic is training-only"},
        "training": {**summary, "settings": settings.to_dict()},
        "board": {"board": settings.board},
        "metadata": {"worlds": list(settings.worlds), "seed": settings.seed},
        "versions": {name: version(name) for name in ("spikefly", "stable_baselines3", "torch", "gymnasium")},
    }
    if settings.algorithm == "recurrent_ppo":
        card["versions"]["sb3_contrib"] = version("sb3_contrib")
    path = out / CARD_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(card, indent=1))
    os.replace(temporary, path)
    return path


# -- training ------------------------------------------------------------------------------------
@dataclass
class TrainSummary:
    out: Path
    card: Path
    env_steps: int
    """Training plus validation env steps."""
    training_steps: int
    seconds: float
    validations: list[dict[str, Any]]
    best: dict[str, Any]


def _check_task(settings: BaselineSettings) -> None:
    """Worlds load as the task's kind of world and the env settings are valid, or a one-line error."""
    from spikefly.evolution.tasks import task_for

    task = task_for(settings.env_id)
    if task.baseline.one_world and len(settings.worlds) > 1:
        raise BaselineError(f"worlds={list(settings.worlds)}: the {task.name} baseline trains on one world (its vector env "
                            "flies one). Fix: pass one --world")
    task.check(settings)


def train_baseline(settings: BaselineSettings, out: str | os.PathLike[str], progress: bool = False,
                   stop_at_steps: int | None = None, stop_at_seconds: float | None = None) -> TrainSummary:
    """Train, validate every ``validation_every_steps``, keep the best validated policy, write the card.

    ``stop_at_steps``: stop as soon as training plus validation env steps reach it (the
    benchmark's equal budget); by default training runs ``total_steps`` training steps.
    ``stop_at_seconds``: stop at the first env step after this much wall-clock since training
    began, validations included (the benchmark's equal-time budget); a last validation follows.
    """
    _, torch = import_sb3()
    from spikefly.evolution.tasks import task_for
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm import tqdm

    out = Path(out)
    if (out / CARD_FILE).exists():
        raise BaselineError(f"{out}: already holds a trained baseline. Fix: pick a new --out")
    _check_task(settings)  # bad worlds or env settings are errors before anything is written
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(settings.torch_threads)
    algorithm = algorithm_class(settings.algorithm)
    recurrent = settings.algorithm == "recurrent_ppo"
    env = task_for(settings.env_id).baseline.vec_env(settings)
    validation = episodes_for(settings.worlds, settings.validation_episodes, settings.seed, VALIDATION)
    extra = {"policy_kwargs": {"lstm_hidden_size": settings.lstm_hidden_size, "enable_critic_lstm": False}} if recurrent else {}
    policy: Any = "MlpLstmPolicy" if recurrent else "MlpPolicy"
    if settings.algorithm == "spiking_ppo":
        from spikefly.evolution.baselines.spiking_policy import build_classes

        policy = build_classes()[1]
    model = algorithm(
        policy, env, n_steps=settings.n_steps, batch_size=settings.minibatch_size,
        n_epochs=settings.n_epochs, learning_rate=settings.learning_rate, seed=settings.seed, device="cpu", verbose=0, **extra,
    )
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))  # SB3's default logger leaves an empty /tmp/SB3-* folder per run
    log_path = out / LOG_FILE
    log_path.write_text("")
    started = time.perf_counter()
    state: dict[str, Any] = {"validation_steps": 0, "validations": [], "best": None, "next": settings.validation_every_steps,
                             "next_s": settings.validation_every_s}

    def validate() -> None:
        figures = validation_score(model, recurrent, settings, validation)
        state["validation_steps"] += figures.pop("steps")
        record = {"training_steps": int(model.num_timesteps), "env_steps": env.env_steps + state["validation_steps"],
                  "time_s": round(time.perf_counter() - started, 3), **figures}
        state["validations"].append(record)
        with open(log_path, "a") as log:
            log.write(json.dumps(record) + "\n")
        key = (record["success_rate"], record["mean_return"])
        if state["best"] is None or key > (state["best"]["success_rate"], state["best"]["mean_return"]):
            state["best"] = record
            model.save(out / POLICY_FILE)

    total = settings.total_steps if stop_at_steps is None else max(settings.total_steps, stop_at_steps)
    bar = tqdm(total=total, desc=settings.algorithm, unit="step", disable=not progress, dynamic_ncols=True)

    class Validation(BaseCallback):
        def _on_step(self) -> bool:
            bar.update(self.training_env.num_envs)
            elapsed = time.perf_counter() - started
            if (elapsed >= state["next_s"]) if settings.validation_every_s else (self.num_timesteps >= state["next"]):
                state["next"] += settings.validation_every_steps
                state["next_s"] += settings.validation_every_s
                validate()
                bar.set_postfix_str(f"validation {state['validations'][-1]['success_rate']:.2f}")
            if stop_at_seconds is not None and elapsed >= stop_at_seconds:
                return False
            return stop_at_steps is None or env.env_steps + state["validation_steps"] < stop_at_steps

    try:
        model.learn(total_timesteps=total, callback=Validation())
    finally:
        bar.close()
    if not state["validations"] or state["validations"][-1]["training_steps"] != model.num_timesteps:
        validate()
    seconds = time.perf_counter() - started
    summary = {"training_steps": int(model.num_timesteps), "env_steps": env.env_steps + state["validation_steps"],
               "wall_clock_s": round(seconds, 3), "selected": state["best"], "torch_threads": settings.torch_threads}
    env.close()
    best_model = algorithm.load(out / POLICY_FILE, device="cpu")
    card = write_card(out, best_model, settings, summary)
    return TrainSummary(out, card, summary["env_steps"], summary["training_steps"], seconds, state["validations"], state["best"])



# -- command line ----------------------------------------------------------------------------------
def add_baseline_parser(commands) -> None:
    """``spikefly baseline ppo|recurrent-ppo ...``."""
    from spikefly.evolution.cli.args import seed
    from spikefly.evolution.tasks import task_names

    parser = commands.add_parser(
        "baseline",
        help="train an RL baseline (Stable-Baselines3 PPO, RecurrentPPO, or PPO with a spiking LIF actor) on the same "
        "task and write a controller card",
        description="Train PPO (MlpPolicy), RecurrentPPO (MlpLstmPolicy, sb3-contrib) or spiking PPO (an actor of LIF "
        "neurons trained with surrogate gradients, snnTorch) on the same env, spaces, control "
        "rate and per-step reward an evolved controller gets (the quadrotor on the fast twin), select the policy on "
        "validation episodes, and write OUT/policy.zip (SB3's format), OUT/card.json (what spikefly evaluate flies) and "
        'OUT/log.jsonl. Needs pip install torch==2.13.0 "spikefly[rl]".',
    )
    parser.add_argument("algorithm", choices=["ppo", "recurrent-ppo", "spiking-ppo"], help="ppo, recurrent-ppo or spiking-ppo")
    parser.add_argument("--env", choices=list(task_names()), default="quadrotor", help="task (default: quadrotor)")
    parser.add_argument("--world", action="append", dest="worlds", metavar="NAME_OR_FILE",
                        help="world to train on, repeatable (default: forest; audio: kitchen, street, office)")
    parser.add_argument("--steps", type=int, default=200_000, help="training env steps (default: 200000)")
    parser.add_argument("--seed", type=seed, default=0, help="seed (default: 0)")
    parser.add_argument("--n-envs", type=int, default=8, help="parallel environments (default: 8)")
    parser.add_argument("--validate-every", type=int, default=20_000, metavar="STEPS",
                        help="validate the policy every this many training steps (default: 20000)")
    parser.add_argument("--validation-episodes", type=int, default=10, help="validation episodes per world (default: 10)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads (default: 1; more were slower on 2 cores)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: runs/<algorithm>-<world>-seed<seed>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run_baseline)


def run_baseline(args) -> int:
    from spikefly.evolution.tasks import task_for, task_names

    algorithm = args.algorithm.replace("-", "_")
    env_id = task_names()[args.env]
    baseline = task_for(env_id).baseline
    if baseline is None:
        raise BaselineError(f"--env {args.env}: that task has no RL baseline. Fix: choose one of "
                            f"{[name for name, id_ in task_names().items() if task_for(id_).baseline is not None]}")
    worlds = tuple(args.worlds or baseline.worlds)
    settings = BaselineSettings(
        algorithm=algorithm, env_id=env_id, worlds=worlds, total_steps=args.steps, seed=args.seed, n_envs=args.n_envs,
        validation_every_steps=args.validate_every, validation_episodes=args.validation_episodes, torch_threads=args.torch_threads,
    )
    out = args.out or f"runs/{args.algorithm}-{Path(worlds[0]).stem}-seed{args.seed}"
    summary = train_baseline(settings, out, progress=not (args.quiet or args.json))
    best = summary.best
    report = {"out": str(summary.out), "card": str(summary.card), "training_steps": summary.training_steps,
              "env_steps": summary.env_steps, "seconds": round(summary.seconds, 1), "selected": best}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    metric = task_for(env_id).metric
    print(f"{settings.algorithm}: {summary.training_steps} training steps, {summary.env_steps} env steps with validation, "
          f"{summary.seconds:.0f} s")
    print(f"selected policy (at {best['training_steps']} steps): validation {metric} {best['success_rate']:.2f}, "
          f"mean return {best['mean_return']:.2f}")
    print(f"card: {summary.card}")
    print(f"  fly it on unseen layouts: spikefly evaluate {summary.card} --episodes 20 --seed 0")
    return 0
