from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import spikefly.envs  # noqa: F401  (registers the environments)
from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv

HEADER = """
name = "{name}"
kind = "obstacle_course"
time_limit_s = {time_limit}
[bounds]
min = [-2.0, -3.0, 0.0]
max = [{x_max}, 3.0, {z_max}]
[start]
position = [0.0, 0.0, 1.0]
yaw = 0.0
[goal]
position = [{goal_x}, 0.0, 1.0]
radius = 0.4
"""


@pytest.fixture
def write_world(tmp_path: Path) -> Callable[..., Path]:
    """Write a small straight course (start at the origin, goal on +x) with extra TOML appended."""

    def write(
        extra: str = "", *, name: str = "test", time_limit: float = 10.0, goal_x: float = 8.0, z_max: float = 3.0
    ) -> Path:
        text = HEADER.format(name=name, time_limit=time_limit, x_max=goal_x + 2.0, z_max=z_max, goal_x=goal_x)
        path = tmp_path / f"{name}.toml"
        path.write_text(text + textwrap.dedent(extra))
        return path

    return write


@pytest.fixture
def make_env() -> Callable[..., QuadrotorAvoidEnv]:
    """Build envs and close them after the test."""
    made: list[QuadrotorAvoidEnv] = []

    def make(world: object = "empty", **kwargs: object) -> QuadrotorAvoidEnv:
        env = QuadrotorAvoidEnv(world=world, **kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


OPEN_SKY = """
name = "open-sky"
kind = "obstacle_course"
time_limit_s = 30.0
[bounds]
min = [-40.0, -40.0, -10.0]
max = [40.0, 40.0, 30.0]
[start]
position = [0.0, 0.0, 10.0]
[goal]
position = [35.0, 35.0, 25.0]
radius = 0.3
"""
"""A world with nothing to hit: free flight for the twin-versus-PyBullet comparisons."""


@pytest.fixture
def open_sky(tmp_path: Path) -> Path:
    path = tmp_path / "open_sky.toml"
    path.write_text(OPEN_SKY)
    return path
