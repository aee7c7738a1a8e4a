"""Reward of the quadrotor task as a sum of named terms — one definition for every backend."""

from __future__ import annotations

from dataclasses import dataclass, fields

from spikefly.envs import outcomes

TERM_NAMES = ("progress", "goal", "collision", "out_of_bounds", "time", "control_effort")


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

    @classmethod
    def from_mapping(cls, values: dict[str, float]) -> RewardWeights:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown reward weight(s) {unknown}; valid names: {sorted(known)}")
        return cls(**values)


def reward_terms(
    weights: RewardWeights, distance_before_m: float, distance_after_m: float, outcome: int, mean_square_action: float, elapsed_s: float
) -> dict[str, float]:
    """The named reward terms of one control step; the reward is their sum."""
    return {
        "progress": weights.progress_per_m * (distance_before_m - distance_after_m),
        "goal": weights.goal_bonus if outcome == outcomes.GOAL else 0.0,
        "collision": -weights.collision_penalty if outcome == outcomes.COLLISION else 0.0,
        "out_of_bounds": -weights.out_of_bounds_penalty if outcome == outcomes.OUT_OF_BOUNDS else 0.0,
        "time": -weights.time_penalty_per_s * elapsed_s,
        "control_effort": -weights.control_effort_per_s * mean_square_action * elapsed_s,
    }
