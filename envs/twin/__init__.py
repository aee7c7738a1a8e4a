"""The Numba twin of the quadrotor simulation: hundreds of drones stepped in one compiled call
(:class:`QuadrotorTwin`) on packed worlds (:class:`TwinWorlds`), the same task as the PyBullet env."""

from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds

__all__ = ["QuadrotorTwin", "TwinWorlds"]
