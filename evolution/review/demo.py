"""The scripted demo flight behind ``spikefly demo`` (and the README's first command until evolution lands)."""

from __future__ import annotations

import gymnasium
from tqdm import tqdm

import spikefly.envs  # noqa: F401  (registers the environments)
from spikefly.envs import QUADROTOR_AVOID_ID
from spikefly.envs.episode import run_episode
from spikefly.envs.pilots import ReactivePilot


def fly_demo(world: str, *, episodes: int = 3, seed: int = 0, progress: bool = True) -> dict:
    """Fly :class:`ReactivePilot` for ``episodes`` episodes (seeds ``seed``, ``seed+1``, ...).

    Returns ``{"world", "episodes": [per-episode dict], "summary": {...}}``, all JSON-ready.
    """
    env = gymnasium.make(QUADROTOR_AVOID_ID, world=world)
    pilot = ReactivePilot(env.unwrapped.settings)
    results = []
    try:
        for index in tqdm(range(episodes), desc="flying", unit="episode", disable=not progress, leave=False):
            flown = run_episode(env, pilot, seed + index)
            total, info = flown.total_return, flown.info
            results.append(
                {
                    "seed": seed + index,
                    "outcome": info["outcome"],
                    "return": round(total, 4),
                    "time_s": round(info["time_s"], 4),
                    "min_clearance_m": round(info["min_clearance_m"], 4),
                    "rotor_energy_j": round(info["rotor_energy_j"], 4),
                }
            )
        world_name = env.unwrapped.course.name
    finally:
        env.close()
    count = len(results)
    return {
        "world": world_name,
        "episodes": results,
        "summary": {
            "success_rate": sum(r["outcome"] == "goal" for r in results) / count,
            "collision_rate": sum(r["outcome"] == "collision" for r in results) / count,
            "out_of_bounds_rate": sum(r["outcome"] == "out_of_bounds" for r in results) / count,
            "timeout_rate": sum(r["outcome"] == "timeout" for r in results) / count,
        },
    }
