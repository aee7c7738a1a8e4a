"""Offscreen camera views of a PyBullet scene (rendering kept out of the env class)."""

from __future__ import annotations

import math

import numpy as np
from spikefly.envs.sim.pybullet_client import pybullet
from numpy.typing import NDArray


def chase_view(
    client: int,
    target_m,
    yaw_rad: float,
    width: int,
    height: int,
    *,
    distance_m: float = 0.9,
    pitch_deg: float = -18.0,
    fov_deg: float = 70.0,
) -> NDArray[np.uint8]:
    """An RGB frame (height, width, 3) from a camera behind and above ``target_m``, looking along the heading.

    Uses PyBullet's CPU TinyRenderer, so it works on any headless machine.
    """
    view = pybullet.computeViewMatrixFromYawPitchRoll(
        cameraTargetPosition=list(target_m),
        distance=distance_m,
        yaw=math.degrees(yaw_rad) - 90.0,
        pitch=pitch_deg,
        roll=0.0,
        upAxisIndex=2,
        physicsClientId=client,
    )
    projection = pybullet.computeProjectionMatrixFOV(
        fov=fov_deg, aspect=width / height, nearVal=0.05, farVal=60.0, physicsClientId=client
    )
    _, _, rgba, _, _ = pybullet.getCameraImage(
        width,
        height,
        view,
        projection,
        renderer=pybullet.ER_TINY_RENDERER,
        flags=pybullet.ER_NO_SEGMENTATION_MASK,
        shadow=0,
        physicsClientId=client,
    )
    return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
