"""``spikefly evaluate``: fly a controller file on worlds and report per-episode outcomes.

Physics defaults to PyBullet, the reference. Episode ``i`` on each world uses seed
``seed + i``; evolution's training and validation seeds carry purpose bits at 2**60 and up,
so small seeds are layouts no run trained or selected on.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
from tqdm import tqdm

import spikefly.envs  # noqa: F401  (registers the environments)
from spikefly.controllers import ControllerSpec, IntegerLIFNetwork, OperationCounts, quantize
from spikefly.envs import QUADROTOR_AVOID_ID, outcomes
from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
from spikefly.envs.twin import QuadrotorTwin
from spikefly.envs.twin_worlds import TwinWorlds


class EvaluateError(ValueError):
    """A controller that cannot be flown on the requested task."""


def evaluate_controller(
    spec: ControllerSpec, worlds: list[str | os.PathLike[str]], episodes: int, seed: int = 0, physics: str = "pybullet",
    progress: bool = True,
) -> dict[str, Any]:
    """Fly ``spec`` for ``episodes`` episodes on every world; returns a JSON-ready report."""
    if spec.env_id != QUADROTOR_AVOID_ID:
        raise EvaluateError(
            f"this controller was evolved for {spec.env_id!r}; spikefly evaluate flies {QUADROTOR_AVOID_ID!r} controllers here"
        )
    rows = []
    for world in worlds:
        seeds = [seed + i for i in range(episodes)]
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
    return {"physics": physics, "seed": seed, "episodes": rows, "summary": summary, "per_world": per_world,
            "network": {"neurons": spec.network.n_neurons, "synapses": spec.network.n_synapses,
                        "integer": isinstance(spec.network, IntegerLIFNetwork)}}


DENSE_BASELINE_HIDDEN = (64, 64)
"""Hidden layers of the dense ANN the board table compares with (Stable-Baselines3's default MlpPolicy)."""


def board_costs(spec: ControllerSpec, report: dict[str, Any], boards: list[str], weight_bits: int = 8) -> dict[str, dict[str, Any]]:
    """Cost per control step of ``spec`` on each board, from the op counts its flights in ``report`` measured.

    Each board's entry also carries ``dense_ann``: the same figures for a dense ANN with the same
    inputs and outputs and :data:`DENSE_BASELINE_HIDDEN` hidden layers.
    """
    from spikefly.controllers.boards import dense_ann_cost, spiking_cost
    from spikefly.envs.quadrotor_settings import QuadrotorSettings
    from spikefly.evolution.board_cost import step_counts

    rows = report["episodes"]
    totals = np.array([[sum(r[key] for r in rows) for key in ("neuron_updates", "spikes", "input_events", "synaptic_ops")]])
    steps = sum(r["steps"] for r in rows)
    n_obs = spec.observation_low.shape[0]
    analog = spec.encoder.cost(n_obs, spec.steps_per_action).analog_inputs > 0
    counts = step_counts(spec.network, totals[0], steps, analog)
    control_hz = QuadrotorSettings.from_kwargs(**spec.env_settings).control_hz
    layers = [n_obs, *DENSE_BASELINE_HIDDEN, spec.n_actions]
    costs = {}
    for board in boards:
        costs[board] = spiking_cost(spec.network, counts, board, control_hz, weight_bits).to_dict()
        costs[board]["dense_ann"] = dense_ann_cost(layers, board, control_hz, weight_bits).to_dict()
    return costs


def controller_variants(spec: ControllerSpec, integer: bool, prune: float | None) -> dict[str, ControllerSpec]:
    """The controller as given, and the deployment variants asked for: pruned, and/or int8."""
    from spikefly.controllers.prune import prune as prune_network

    if isinstance(spec.network, IntegerLIFNetwork):
        return {"integer (as given)": spec}
    variants = {"float": spec}
    base = spec
    if prune is not None:
        base = dataclasses.replace(spec, network=prune_network(spec.network, prune))
        variants[f"pruned {prune:.0%}"] = base
    if integer:
        analog = spec.encoder.cost(spec.observation_low.shape[0], spec.steps_per_action).analog_inputs > 0
        network = quantize(base.network, input_fractional_bits=16 if analog else 0)
        variants["int8" if prune is None else f"pruned {prune:.0%} + int8"] = dataclasses.replace(base, network=network)
    return variants


def _row(world: str, seed: int, outcome: str, total: float, steps: int, info: dict[str, Any], counts) -> dict[str, Any]:
    return {
        "world": str(world), "seed": seed, "outcome": outcome, "return": round(float(total), 6), "steps": int(steps),
        "time_s": round(float(info["time_s"]), 6), "min_clearance_m": round(float(info["min_clearance_m"]), 6),
        "rotor_energy_j": round(float(info["rotor_energy_j"]), 6), "synaptic_ops": int(counts.synaptic_ops),
        "spikes": int(counts.spikes), "neuron_updates": int(counts.neuron_updates), "input_events": int(counts.input_events),
    }


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
            observation, info = env.reset(seed=seed)
            total, steps = 0.0, 0
            while True:
                observation, reward, terminated, truncated, info = env.step(controller.act(observation))
                total += reward
                steps += 1
                if terminated or truncated:
                    break
            rows.append(_row(world, seed, info["outcome"], total, steps, info, controller.counts))
    finally:
        env.close()
    return rows


def _fly_twin(spec: ControllerSpec, world, seeds: list[int]) -> list[dict[str, Any]]:
    from spikefly.evolution.fused_rollout import PopulationRollout

    twin = QuadrotorTwin(1, **spec.env_settings)
    rollout = PopulationRollout(twin, spec.encoder, spec.decoder, spec.steps_per_action, spec.observation_low, spec.observation_high)
    results = rollout.run([spec.network], TwinWorlds.draw([world] * len(seeds), seeds), seeds)
    rows = []
    for e, seed in enumerate(seeds):
        info = {"time_s": results.time_s[0, e], "min_clearance_m": results.min_clearance_m[0, e], "rotor_energy_j": results.rotor_energy_j[0, e]}
        counts = OperationCounts(*results.ops[0, e].tolist())
        outcome = outcomes.NAMES[int(results.outcomes[0, e])]
        rows.append(_row(world, seed, outcome, results.returns[0, e], results.steps[0, e], info, counts))
    return rows
