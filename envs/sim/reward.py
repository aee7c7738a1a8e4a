"""Reward of the quadrotor task as a sum of named terms — one definition for every backend."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit
from numpy.typing import NDArray

from spikefly.envs.sim import outcomes

TERM_NAMES = ("progress", "goal", "collision", "out_of_bounds", "time", "control_effort", "timeout")


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the reward terms. Each term is reported in ``info["reward_terms"]``."""

    progress_per_m: float = 1.0
    """Reward per metre the distance to the goal shrank this step (negative when it grew)."""
    goal_bonus: float = 10.0
    """Added once when the drone reaches the goal sphere."""
    collision_penalty: float = 10.0
    """Subtracted once when the drone touches an obstacle or the ground."""
    out_of_bounds_penalty: float = 10.0
    """Subtracted once when the drone leaves the world's bounds."""
    time_penalty_per_s: float = 0.1
    """Subtracted per second of flight, so dawdling costs."""
    control_effort_per_s: float = 0.05
    """Times the mean squared action (each in [-1, 1]) per second of flight."""
    timeout_penalty: float = 0.0
    """Subtracted once when the time limit ends the episode short of the goal (0: a time-out costs
    nothing beyond the time spent, so hovering before an obstacle is safer than trying to pass it)."""

    @classmethod
    def from_mapping(cls, values: dict[str, float]) -> RewardWeights:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown reward weight(s) {unknown}; valid names: {sorted(known)}")
        return cls(**values)

    def as_array(self) -> NDArray[np.float64]:
        """The weights in :data:`TERM_NAMES` order, for :func:`compute_reward_terms`."""
        return np.array([
            self.progress_per_m, self.goal_bonus, self.collision_penalty, self.out_of_bounds_penalty,
            self.time_penalty_per_s, self.control_effort_per_s, self.timeout_penalty,
        ])


@njit(cache=True)
def compute_reward_terms(weights, distance_before_m, distance_after_m, outcome, mean_square_action, elapsed_s, out):
    """The reward terms of one control step into ``out`` float64[7], in :data:`TERM_NAMES` order.

    ``weights``: :meth:`RewardWeights.as_array`. The reward is the sum of ``out``.
    """
    out[0] = weights[0] * (distance_before_m - distance_after_m)
    out[1] = weights[1] if outcome == outcomes.GOAL else 0.0
    out[2] = -weights[2] if outcome == outcomes.COLLISION else 0.0
    out[3] = -weights[3] if outcome == outcomes.OUT_OF_BOUNDS else 0.0
    out[4] = -weights[4] * elapsed_s
    out[5] = -weights[5] * mean_square_action * elapsed_s
    out[6] = -weights[6] if outcome == outcomes.TIMEOUT else 0.0


def reward_terms(
    weights: RewardWeights, distance_before_m: float, distance_after_m: float, outcome: int, mean_square_action: float, elapsed_s: float
) -> dict[str, float]:
    """The named reward terms of one control step (the compiled definition, by name)."""
    out = np.empty(len(TERM_NAMES))
    compute_reward_terms(weights.as_array(), distance_before_m, distance_after_m, outcome, mean_square_action, elapsed_s, out)
    return dict(zip(TERM_NAMES, out.tolist()))
