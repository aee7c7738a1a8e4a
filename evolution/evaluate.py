"""``spikefly evaluate``: fly a controller file on worlds and report per-episode outcomes.

Physics defaults to PyBullet, the reference. Episode ``i`` on each world uses seed
``seed + i``; evolution's training and validation seeds carry purpose bits at 2**60 and up,
so small seeds are layouts no run trained or selected on.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

import spikefly.envs  # noqa: F401  (registers the environments)
from spikefly.controllers import ControllerSpec, IntegerLIFNetwork, OperationCounts
from spikefly.controllers.boards import BoardProfile
from spikefly.core import SpikeflyError
from spikefly.envs import AUDIO_EVENT_ID
from spikefly.envs.sim import outcomes
from spikefly.envs.audio_env import hop_s
from spikefly.envs.episode import run_episode
from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
from spikefly.envs.sim.randomisation import DomainRandomisation, effective_randomisation
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds
from spikefly.evolution.episodes import episode_row


class EvaluateError(SpikeflyError):
    """A controller that cannot be flown on the requested task."""


def evaluate_controller(
    spec: ControllerSpec, worlds: list[str | os.PathLike[str]], episodes: int | Sequence[int], seed: int = 0,
    physics: str = "pybullet", progress: bool = True, audio_settings: dict[str, Any] | None = None,
    randomise: DomainRandomisation | None = None,
) -> dict[str, Any]:
    """Fly ``spec`` for ``episodes`` episodes on every world (audio: listen to clips); a JSON-ready report.

    ``episodes`` is one count for every world, or (quadrotor) one count per world, in the order
    of ``worlds`` (``spikefly evaluate --suite`` flies each fixed suite course once by default).

    ``randomise`` overrides the controller's env settings for its keys (domain randomisation:
    noise, wind, model error, drawn from each episode's seed); the report's ``randomisation``
    names the source and every randomisation key's value in force.
    """
    task = task_of(spec)
    if task.evaluator is None:
        raise EvaluateError(f"this controller was evolved for the {task.name} task, which names no evaluation. "
                            "Fix: give its TaskParts an evaluator")
    return task.evaluate(spec, worlds, episodes, seed, physics=physics, progress=progress, audio_settings=audio_settings,
                         randomise=randomise)


def task_of(spec: ControllerSpec):
    """The registered task ``spec`` was evolved for, or an EvaluateError with the fix."""
    from spikefly.evolution.tasks import TaskError, task_for

    try:
        return task_for(spec.env_id)
    except TaskError:
        raise EvaluateError(f"this controller was evolved for {spec.env_id!r} (its env.id), a task this spikefly does not know. "
                            "Fix: register the task (spikefly.evolution.tasks.register_task) before evaluating") from None


def evaluate_flights(
    spec: ControllerSpec, worlds: list[str | os.PathLike[str]], episodes: int | Sequence[int], seed: int = 0, *,
    physics: str = "pybullet", progress: bool = True, audio_settings: dict[str, Any] | None = None,
    randomise: DomainRandomisation | None = None,
) -> dict[str, Any]:
    """The quadrotor task's evaluation (:func:`evaluate_controller` for ``spikefly/QuadrotorAvoid-v0``)."""
    if audio_settings:
        raise EvaluateError("--snr, --background and --stream-minutes apply to audio controllers; for the quadrotor use --randomise")
    source = "controller settings"
    if randomise is not None:
        spec = dataclasses.replace(spec, env_settings=randomise.applied_to(spec.env_settings))
        source = randomise.source
    randomisation = {"source": source, "settings": effective_randomisation(spec.env_settings)}
    rows = []
    for world, count in zip(worlds, episode_counts(episodes, worlds)):
        seeds = [seed + i for i in range(count)]
        flights = _fly_pybullet(spec, world, seeds, progress) if physics == "pybullet" else _fly_twin(spec, world, seeds)
        rows.extend(flights)
    count = len(rows)
    summary = {
        "episodes": count,
        "success_rate": sum(r["outcome"] == "goal" for r in rows) / count,
        "collision_rate": sum(r["outcome"] == "collision" for r in rows) / count,
        "out_of_bounds_rate": sum(r["outcome"] == "out_of_bounds" for r in rows) / count,
        "timeout_rate": sum(r["outcome"] == "timeout" for r in rows) / count,
        "mean_return": float(np.mean([r["return"] for r in rows])),
        "mean_time_s": float(np.mean([r["time_s"] for r in rows])),
        "mean_synaptic_ops_per_step": float(np.mean([r["synaptic_ops"] / max(r["steps"], 1) for r in rows])),
    }
    per_world = {}
    for world in dict.fromkeys(r["world"] for r in rows):
        mine = [r for r in rows if r["world"] == world]
        per_world[world] = {"episodes": len(mine), "success_rate": sum(r["outcome"] == "goal" for r in mine) / len(mine)}
    return {"physics": physics, "seed": seed, "randomisation": randomisation, "episodes": rows, "summary": summary,
            "per_world": per_world, "network": network_summary(spec)}


def episode_counts(episodes: int | Sequence[int], worlds: Sequence[object]) -> list[int]:
    """Episodes per world: one count for all, or one per world (checked: as many as worlds, each >= 1)."""
    counts = [episodes] * len(worlds) if isinstance(episodes, int) else [int(count) for count in episodes]
    if len(counts) != len(worlds) or any(count < 1 for count in counts):
        raise EvaluateError(f"episodes {episodes!r}: give one count >= 1, or one per world ({len(worlds)} worlds)")
    return counts


def suite_results(report: dict[str, Any], suite: str, courses: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """The part of ``report`` (from :func:`evaluate_controller`) flown on a suite's ``courses``.

    Returns ``{"name", "courses": [...], "summary"}``: per course (in the given order) its file
    name without ``.toml`` (``course``), path (``world``), episodes, outcome counts, success rate,
    mean time and return and least clearance; the summary pools the suite's episodes (rates of
    each outcome) and counts ``courses_reached`` (courses with at least one goal) and
    ``courses_solved`` (every episode a goal).
    """
    per_course, pooled = [], []
    for course in courses:
        world = str(course)
        rows = [row for row in report["episodes"] if row["world"] == world]
        if not rows:
            raise EvaluateError(f"suite {suite!r}: no episodes were flown on {world}")
        pooled.extend(rows)
        goals = sum(row["outcome"] == "goal" for row in rows)
        per_course.append({
            "course": os.path.splitext(os.path.basename(world))[0], "world": world, "episodes": len(rows),
            "outcomes": {name: sum(row["outcome"] == name for row in rows) for name in dict.fromkeys(r["outcome"] for r in rows)},
            "success_rate": goals / len(rows), "mean_time_s": float(np.mean([row["time_s"] for row in rows])),
            "mean_return": float(np.mean([row["return"] for row in rows])),
            "min_clearance_m": float(min(row["min_clearance_m"] for row in rows)),
        })
    count = len(pooled)
    summary = {"courses": len(per_course), "episodes": count,
               "courses_reached": sum(entry["success_rate"] > 0 for entry in per_course),
               "courses_solved": sum(entry["success_rate"] == 1.0 for entry in per_course),
               **{f"{key}_rate": sum(row["outcome"] == name for row in pooled) / count
                  for key, name in (("success", "goal"), ("collision", "collision"), ("out_of_bounds", "out_of_bounds"),
                                    ("timeout", "timeout"))}}
    return {"name": suite, "courses": per_course, "summary": summary}


def is_policy(spec) -> bool:
    """An RL policy card (``spikefly baseline``'s card.json): flown through the same paths as a spiking controller."""
    return getattr(spec, "kind", None) == "sb3_policy"


def network_summary(spec) -> dict[str, Any]:
    if is_policy(spec):
        return spec.network_summary()
    return {"neurons": spec.network.n_neurons, "synapses": spec.network.n_synapses,
            "integer": isinstance(spec.network, IntegerLIFNetwork)}


def load_controller_or_card(path: str | os.PathLike[str]):
    """A spiking controller file, or an RL policy card (a JSON file with ``"kind": "sb3_policy"``)."""
    from spikefly.controllers import load
    from spikefly.evolution.baselines.policy_card import is_card, load_card

    return load_card(path) if is_card(path) else load(path)


DENSE_BASELINE_HIDDEN = (64, 64)
"""Hidden layers of the dense ANN the board table compares with (Stable-Baselines3's default MlpPolicy)."""


def board_costs(spec: ControllerSpec, report: dict[str, Any], boards: list[str], weight_bits: int = 8) -> dict[str, dict[str, Any]]:
    """Cost per control step of ``spec`` on each board, from the op counts its episodes in ``report`` measured.

    Each board's entry also carries ``dense_ann``: the same figures for a dense ANN with the same
    inputs and outputs and :data:`DENSE_BASELINE_HIDDEN` hidden layers. An MCU is also charged the
    fixed multiply-accumulates per step of the task's front end (:meth:`Task.control_rate
    <spikefly.evolution.tasks.Task.control_rate>`: the audio filter bank; a neuromorphic chip has it in
    silicon); ``per_hour_j`` is the energy of an hour of running (of listening, for the audio task). An RL policy card is priced from its MACs
    (:func:`spikefly.evolution.baselines.policy_card.policy_cost`) the same way.
    """
    from dataclasses import replace

    from spikefly.controllers.boards import load_board
    from spikefly.controllers.cost_model import dense_ann_cost, spiking_cost

    from spikefly.evolution.tasks import task_for

    control_hz, front_end_macs = task_for(spec.env_id).control_rate(spec.env_settings)
    n_obs = spec.observation_low.shape[0]
    if is_policy(spec):
        from spikefly.evolution.baselines.policy_card import policy_cost

        def cost_on(board, fixed_macs: int):
            return policy_cost(spec, board, control_hz, fixed_macs, weight_bits, report)
    else:
        from spikefly.evolution.board_cost import step_counts

        rows = report["episodes"]
        totals = np.array([sum(r[key] for r in rows) for key in ("neuron_updates", "spikes", "input_events", "synaptic_ops")])
        analog = spec.encoder.cost(n_obs, spec.steps_per_action).analog_inputs > 0
        counts = step_counts(spec.network, totals, sum(r["steps"] for r in rows), analog)

        def cost_on(board, fixed_macs: int):
            return spiking_cost(spec.network, replace(counts, macs=counts.macs + fixed_macs), board, control_hz, weight_bits)
    layers = [n_obs, *DENSE_BASELINE_HIDDEN, spec.n_actions]
    costs = {}
    for name in boards:
        board = load_board(name)
        fixed = front_end_macs if board.kind == "mcu" else 0
        costs[name] = cost_on(board, fixed).to_dict()
        costs[name]["dense_ann"] = dense_ann_cost(layers, board, control_hz, weight_bits).to_dict()
        costs[name]["per_hour_j"] = costs[name]["power_w"] * 3600.0
        costs[name]["front_end_macs_per_frame"] = fixed
        costs[name]["measured_figures"] = measured_figures(board)
    return costs


def measured_figures(board: BoardProfile) -> list[str]:
    """The board figures that come from a measurement (confidence A, source "measured: ..."), by field name."""
    return [key for key, entry in board.sources.items() if entry.confidence == "A" and entry.source.startswith("measured")]


def controller_variants(spec: ControllerSpec, integer: bool, prune: float | None) -> dict[str, ControllerSpec]:
    """The controller as given, and the deployment variants asked for: pruned, and/or int8."""
    from spikefly.controllers.prune import prune as prune_network

    if is_policy(spec):
        if integer or prune is not None:
            raise EvaluateError("--quantize and --prune apply to spiking controllers, not to an RL policy card")
        return {"policy": spec}
    if isinstance(spec.network, IntegerLIFNetwork):
        return {"integer (as given)": spec}
    variants = {"float": spec}
    base = spec
    if prune is not None:
        base = dataclasses.replace(spec, network=prune_network(spec.network, prune))
        variants[f"pruned {prune:.0%}"] = base
    if integer:
        from spikefly.evolution.export import integer_network

        variants["int8" if prune is None else f"pruned {prune:.0%} + int8"] = dataclasses.replace(base, network=integer_network(base))
    return variants


def _fly_pybullet(spec: ControllerSpec, world, seeds: list[int], progress: bool) -> list[dict[str, Any]]:
    env = QuadrotorAvoidEnv(world, **spec.env_settings)
    if env.observation_space.shape != spec.observation_low.shape:
        env.close()
        raise EvaluateError(
            f"the controller expects {spec.observation_low.shape[0]} observations, the env gives "
            f"{env.observation_space.shape[0]}; its env settings are {spec.env_settings}"
        )
    controller = spec.controller()
    rows = []
    try:
        for seed in tqdm(seeds, desc=f"flying {os.path.basename(str(world))}", unit="episode", disable=not progress, leave=False):
            controller.reset(seed=seed)
            flown = run_episode(env, controller.act, seed)
            rows.append(episode_row(world, seed, flown.info["outcome"], flown.total_return, flown.steps, flown.info,
                                    controller.counts))
    finally:
        env.close()
    return rows


def _fly_twin(spec: ControllerSpec, world, seeds: list[int]) -> list[dict[str, Any]]:
    from spikefly.evolution.fused_rollout import PopulationRollout

    if is_policy(spec):
        from spikefly.evolution.baselines.policy_card import fly_card_twin

        return fly_card_twin(spec, world, seeds)

    twin = QuadrotorTwin(1, **spec.env_settings)
    rollout = PopulationRollout(twin, spec.encoder, spec.decoder, spec.steps_per_action, spec.observation_low, spec.observation_high)
    results = rollout.run([spec.network], TwinWorlds.draw([world] * len(seeds), seeds), seeds)
    rows = []
    for e, seed in enumerate(seeds):
        info = {"time_s": results.time_s[0, e], "min_clearance_m": results.min_clearance_m[0, e], "rotor_energy_j": results.rotor_energy_j[0, e]}
        counts = OperationCounts(*results.ops[0, e].tolist())
        outcome = outcomes.NAMES[int(results.outcomes[0, e])]
        rows.append(episode_row(world, seed, outcome, results.returns[0, e], results.steps[0, e], info, counts))
    return rows


def evaluate_listening(
    spec: ControllerSpec, worlds: list[str | os.PathLike[str]], episodes: int | Sequence[int], seed: int = 0, *,
    physics: str = "pybullet", progress: bool = True, audio_settings: dict[str, Any] | None = None,
    randomise: DomainRandomisation | None = None,
) -> dict[str, Any]:
    """The audio task's evaluation (:func:`evaluate_controller` for ``spikefly/AudioEventDetection-v0``).

    ``audio_settings`` may hold ``stream_minutes``: then the worlds' clips are joined into one
    continuous stream of that many minutes (:func:`spikefly.evolution.audio_stream.evaluate_stream`).
    """
    if randomise is not None:
        raise EvaluateError("--randomise applies to quadrotor controllers; for audio use --snr and --background")
    overrides = dict(audio_settings or {})
    stream_minutes = overrides.pop("stream_minutes", None)
    if stream_minutes is not None:  # one continuous stream instead of separate clips
        return evaluate_stream(spec, worlds, float(stream_minutes), seed, overrides)
    if not isinstance(episodes, int):
        raise EvaluateError("audio: give one episode count for every soundscape")
    return evaluate_audio(spec, worlds, episodes, seed, overrides)


def _listener(spec):
    """What listens for ``spec``: a policy card's own listener, or the compiled population listener."""
    from spikefly.evolution.stream_rollout import PopulationListener

    return spec.listener() if is_policy(spec) else PopulationListener(
        spec.encoder, spec.decoder, spec.steps_per_action, spec.n_actions, spec.observation_low, spec.observation_high)


def _check_features(spec, features, settings) -> None:
    """The front end gives as many features per frame as the controller reads, or an EvaluateError with the fix."""
    if features.shape[1] != spec.observation_low.shape[0]:
        raise EvaluateError(
            f"the controller expects {spec.observation_low.shape[0]} features per frame, the {settings.front_end.kind} "
            f"front end gives {features.shape[1]}; its env settings are {spec.env_settings} (a file without "
            "front_end was evolved with mel). Fix: set env.settings.front_end to the front end it was evolved with")


def _listening_row(world: str, seed: int, result, steps: int, audio_s: float, ops) -> dict[str, Any]:
    """One listened clip (or stream) of a report: its return, event counts, latencies and operation counts."""
    from spikefly.envs.audio.scoring import COUNT_NAMES

    counts = OperationCounts(*ops.tolist())
    return {"world": world, "seed": seed, "return": round(float(result.total), 6), "steps": steps, "audio_s": audio_s,
            **{name: int(result.counts[name]) for name in COUNT_NAMES},
            "latencies_s": [round(float(v), 4) for v in result.latencies_s],
            "synaptic_ops": int(counts.synaptic_ops), "spikes": int(counts.spikes),
            "neuron_updates": int(counts.neuron_updates), "input_events": int(counts.input_events)}


def evaluate_audio(
    spec: ControllerSpec, worlds: list[str | os.PathLike[str]], episodes: int, seed: int = 0,
    audio_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Listen with ``spec`` to ``episodes`` clips of every soundscape (clip i has seed ``seed + i``).

    ``audio_settings`` override the controller's env settings (e.g. ``{"snr_db": [-6, 0]}`` or
    ``{"backgrounds": ["speech_babble"]}``). The summary holds the event metrics pooled over
    every clip: F1, precision, recall, false alarms per hour, median detection latency.
    """
    from spikefly.envs.audio_env import AudioSettings, episode
    from spikefly.envs.audio.scoring import event_metrics, score

    settings = AudioSettings.from_kwargs(**{**spec.env_settings, **(audio_settings or {})})
    listener = _listener(spec)
    rows, scored, audio_s = [], [], 0.0
    for world in worlds:
        seeds = [seed + i for i in range(episodes)]
        clips = [episode(world, s, settings) for s in seeds]
        if clips:
            _check_features(spec, clips[0].features, settings)
        if clips and len(clips[0].classes) != spec.n_actions:
            raise EvaluateError(f"{world}: its soundscape has {len(clips[0].classes)} target classes, the controller "
                                f"{spec.n_actions}; evaluate it on soundscapes with its classes")
        actions, ops, lengths = listener.run([spec.network], [clip.features for clip in clips], seeds)
        for e, (clip, s) in enumerate(zip(clips, seeds)):
            result = score(actions[0, e, : lengths[e]], clip.events, clip.classes, hop_s(), settings.reward)
            scored.append(result)
            audio_s += clip.audio_s
            rows.append(_listening_row(str(world), s, result, int(lengths[e]), clip.audio_s, ops[0, e]))
    metrics = event_metrics(scored, audio_s)
    per_world = {}
    for world in dict.fromkeys(r["world"] for r in rows):
        mine = [i for i, r in enumerate(rows) if r["world"] == world]
        per_world[world] = event_metrics([scored[i] for i in mine], sum(rows[i]["audio_s"] for i in mine))
    summary = {"episodes": len(rows), "audio_hours": audio_s / 3600.0, **metrics,
               "mean_return": float(np.mean([r["return"] for r in rows])),
               "mean_synaptic_ops_per_step": float(np.mean([r["synaptic_ops"] / max(r["steps"], 1) for r in rows]))}
    return {"env": AUDIO_EVENT_ID, "seed": seed, "settings": {"snr_db": settings.snr_db, "backgrounds": settings.backgrounds},
            "episodes": rows, "summary": summary, "per_world": per_world, "network": network_summary(spec)}


def evaluate_stream(spec: ControllerSpec, worlds: Sequence[str | os.PathLike[str]], minutes: float, seed: int = 0,
                    audio_settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Listen with ``spec`` to one stream (:func:`spikefly.evolution.audio_stream.stream_episode`) of ``minutes`` without a reset; a report shaped like ``evaluate_audio``'s.

    ``report["stream"]`` holds :func:`~spikefly.envs.audio.scoring.stream_metrics`: event F1,
    precision, recall, misses and false alarms (counts, per hour, per 20 minutes), median latency.
    """
    from spikefly.envs.audio_env import AudioSettings
    from spikefly.envs.audio.scoring import score, stream_metrics
    from spikefly.evolution.audio_stream import stream_episode

    settings = AudioSettings.from_kwargs(**{**spec.env_settings, **(audio_settings or {})})
    try:
        stream = stream_episode(worlds, minutes, seed, settings)
    except ValueError as error:
        raise EvaluateError(f"--stream-minutes: {error}") from None
    if len(stream.classes) != spec.n_actions:
        raise EvaluateError(f"the soundscapes have {len(stream.classes)} target classes, the controller "
                            f"{spec.n_actions}; evaluate it on soundscapes with its classes")
    _check_features(spec, stream.features, settings)
    actions, ops, lengths = _listener(spec).run([spec.network], [stream.features], [seed])
    result = score(actions[0, 0, : lengths[0]], stream.events, stream.classes, hop_s(), settings.reward)
    metrics = stream_metrics(result, stream.audio_s)
    label = "stream:" + "+".join(os.fspath(world) for world in worlds)
    row = _listening_row(label, seed, result, int(lengths[0]), stream.audio_s, ops[0, 0])
    summary = {"episodes": 1, "audio_hours": stream.audio_s / 3600.0, **metrics, "mean_return": row["return"],
               "mean_synaptic_ops_per_step": row["synaptic_ops"] / max(row["steps"], 1)}
    return {"env": AUDIO_EVENT_ID, "seed": seed, "settings": {"snr_db": settings.snr_db, "backgrounds": settings.backgrounds},
            "episodes": [row], "summary": summary, "per_world": {label: metrics}, "stream": metrics,
            "network": network_summary(spec)}
