"""Gymnasium environments and their simulators.

Importing this package registers ``spikefly/QuadrotorAvoid-v0`` with Gymnasium.
"""

from __future__ import annotations

import gymnasium

QUADROTOR_AVOID_ID = "spikefly/QuadrotorAvoid-v0"

if QUADROTOR_AVOID_ID not in gymnasium.registry:
    gymnasium.register(
        id=QUADROTOR_AVOID_ID,
        entry_point="spikefly.envs.quadrotor_env:QuadrotorAvoidEnv",
        # The env ends episodes itself from the world's time_limit_s (truncated = timeout).
        max_episode_steps=None,
    )

__all__ = ["QUADROTOR_AVOID_ID"]
