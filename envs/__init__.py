"""Gymnasium environments and their simulators.

Importing this package registers ``spikefly/QuadrotorAvoid-v0`` (PyBullet; ``gymnasium.make_vec``
on it gives the Numba twin's vector env), ``spikefly/QuadrotorAvoidVec-v0`` (the twin) and
``spikefly/AudioEventDetection-v0`` (streaming sound-event detection on a soundscape).
"""

from __future__ import annotations

import gymnasium

QUADROTOR_AVOID_ID = "spikefly/QuadrotorAvoid-v0"
QUADROTOR_AVOID_VEC_ID = "spikefly/QuadrotorAvoidVec-v0"
AUDIO_EVENT_ID = "spikefly/AudioEventDetection-v0"
_VECTOR_ENTRY_POINT = "spikefly.envs.quadrotor_vec_env:QuadrotorAvoidVecEnv"

if QUADROTOR_AVOID_ID not in gymnasium.registry:
    gymnasium.register(
        id=QUADROTOR_AVOID_ID,
        entry_point="spikefly.envs.quadrotor_env:QuadrotorAvoidEnv",
        vector_entry_point=_VECTOR_ENTRY_POINT,
        # The env ends episodes itself from the world's time_limit_s (truncated = timeout).
        max_episode_steps=None,
    )
if QUADROTOR_AVOID_VEC_ID not in gymnasium.registry:
    gymnasium.register(id=QUADROTOR_AVOID_VEC_ID, vector_entry_point=_VECTOR_ENTRY_POINT)
if AUDIO_EVENT_ID not in gymnasium.registry:
    # Episodes end with their clip (terminated); no step limit of gymnasium's.
    gymnasium.register(id=AUDIO_EVENT_ID, entry_point="spikefly.envs.audio_env:AudioEventDetectionEnv", max_episode_steps=None)

__all__ = ["AUDIO_EVENT_ID", "QUADROTOR_AVOID_ID", "QUADROTOR_AVOID_VEC_ID"]
