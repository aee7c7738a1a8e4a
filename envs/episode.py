"""The one Gymnasium episode loop: reset with a seed, step a policy until the episode ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gymnasium


@dataclass(frozen=True)
class Episode:
    """What one episode gave: its return, its control steps and the last step's info."""

    total_return: float
    steps: int
    info: dict[str, Any]


def run_episode(
    env: gymnasium.Env,
    policy: Callable[[Any], Any],
    seed: int | None,
    on_step: Callable[[Any, Any, float, dict[str, Any]], None] | None = None,
    on_reset: Callable[[Any, dict[str, Any]], None] | None = None,
) -> Episode:
    """Reset ``env`` with ``seed`` and step ``policy(observation)`` until terminated or truncated.

    For recordings: ``on_reset(observation, info)`` is called after the reset and
    ``on_step(action, observation, reward, info)`` after every step.
    """
    observation, info = env.reset(seed=seed)
    if on_reset is not None:
        on_reset(observation, info)
    total, steps = 0.0, 0
    while True:
        action = policy(observation)
        observation, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        steps += 1
        if on_step is not None:
            on_step(action, observation, float(reward), info)
        if terminated or truncated:
            return Episode(total, steps, info)
