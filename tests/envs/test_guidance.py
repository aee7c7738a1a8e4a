"""The gap-seeking guidance law (``action_mode="gap"``): what it flies, its symmetry, the action added."""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_layout
from spikefly.envs.sim.guidance import GUIDANCE_GAP, GUIDANCE_NONE, gap_setpoint, guidance_code
from spikefly.envs.sim.range_sensor import ray_spacing_rad, sensor_rays
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds

SENSING = {"n_rays": 12, "ray_elevations_deg": (-30.0, 0.0, 30.0), "geofence_rays": True}
# A wall across the way 4 m ahead, with a 1.4 m window to the left of the straight line.
WINDOW_WALL = """name = "window-wall"
kind = "obstacle_course"
time_limit_s = 20.0
[bounds]
min = [-1.0, -5.0, 0.0]
max = [10.0, 5.0, 3.0]
[start]
position = [0.0, 0.0, 1.2]
[goal]
position = [8.0, 0.0, 1.2]
radius = 0.5
[[obstacles]]
shape = "box"
position = [4.0, -2.0, 1.5]
size = [0.2, 6.0, 3.0]
[[obstacles]]
shape = "box"
position = [4.0, 3.6, 1.5]
size = [0.2, 2.8, 3.0]
"""

# A wall across the bounds 5.5 m ahead with one window (y 2.5-4.0 m, z 0.9-2.2 m) on the far side
# of the goal's line, the start turned 31 degrees away from it (a layout of the mixed world's
# window kind, training seed 5006). The law without GAP_JUMP_WEIGHT slid along the wall at the
# wrong height, reversed at the bound and timed out; the window's rays reading far past their
# neighbours draw it through.
WINDOW_BESIDE = """name = "window-beside"
kind = "obstacle_course"
time_limit_s = 20.2
[bounds]
min = [-2.0, -5.85, 0.0]
max = [20.94, 5.85, 4.22]
[start]
position = [0.0, 0.0, 1.96]
yaw = -0.54
[goal]
position = [18.94, 0.57, 2.24]
radius = 0.5
[[obstacles]]
shape = "box"
position = [5.52, -1.66, 2.11]
size = [0.2, 8.37, 4.22]
[[obstacles]]
shape = "box"
position = [5.52, 4.94, 2.11]
size = [0.2, 1.81, 4.22]
[[obstacles]]
shape = "box"
position = [5.52, 3.28, 0.46]
size = [0.2, 1.51, 0.93]
[[obstacles]]
shape = "box"
position = [5.52, 3.28, 3.2]
size = [0.2, 1.51, 2.04]
"""


def law(settings, observation, action=(0.0, 0.0, 0.0, 0.0)):
    return np.array(gap_setpoint(
        np.asarray(action, np.float64), np.asarray(observation, np.float32), sensor_rays(settings), settings.n_rays,
        len(settings.ray_elevations_deg), ray_spacing_rad(settings.n_rays, settings.fov_deg), settings.max_range_m,
        settings.goal_distance_scale_m, settings.velocity_scale_mps, settings.max_yaw_rate_rps,
    ))


def random_observation(settings, rng):
    layout = observation_layout(settings)
    observation = rng.uniform(0.05, 1.0, layout["altitude"].stop).astype(np.float32)
    angle = rng.uniform(-1.5, 1.5)
    observation[layout["goal_bearing_sin"]], observation[layout["goal_bearing_cos"]] = np.sin(angle), np.cos(angle)
    observation[layout["goal_height"]] = rng.uniform(-0.5, 0.5)
    observation[layout["body_velocity"]] = rng.uniform(-0.3, 0.3, 3)
    return observation


def mirrored(settings, observation):
    """The same scene seen in a mirror (left and right swapped)."""
    layout = observation_layout(settings)
    out = observation.copy()
    rows = len(settings.ray_elevations_deg)
    out[: rows * settings.n_rays] = observation[: rows * settings.n_rays].reshape(rows, -1)[:, ::-1].ravel()
    out[layout["goal_bearing_sin"]] *= -1.0
    out[layout["body_velocity"].start + 1] *= -1.0
    return out


def test_the_law_is_mirror_symmetric_and_the_action_is_added_to_its_set_point():
    settings = QuadrotorSettings(action_mode="gap", **SENSING)
    rng = np.random.default_rng(0)
    for _ in range(200):
        observation = random_observation(settings, rng)
        setpoint = law(settings, observation)
        mirror = law(settings, mirrored(settings, observation))
        np.testing.assert_allclose(mirror, setpoint * [1.0, -1.0, 1.0, -1.0], atol=1e-9)
        action = rng.uniform(-0.5, 0.5, 4)
        np.testing.assert_allclose(law(settings, observation, action), np.clip(setpoint + action, -1.0, 1.0), atol=1e-12)


def test_open_space_flies_at_the_goal_and_a_goal_behind_turns_in_place():
    settings = QuadrotorSettings(action_mode="gap", **SENSING)
    layout = observation_layout(settings)
    observation = np.ones(layout["altitude"].stop, np.float32)
    observation[layout["goal_bearing_sin"]], observation[layout["goal_height"]] = 0.0, 0.0
    observation[layout["body_velocity"]] = 0.0
    forward, lateral, vertical, yaw = law(settings, observation)
    assert forward == pytest.approx(1.0) and abs(lateral) < 1e-9 and abs(vertical) < 1e-9 and abs(yaw) < 1e-9
    observation[layout["goal_bearing_sin"]], observation[layout["goal_bearing_cos"]] = 0.6, -0.8  # behind, to the left
    forward, lateral, _, yaw = law(settings, observation)
    assert yaw == 1.0 and abs(forward) <= 0.2 and abs(lateral) <= 0.2


def test_a_zero_action_finds_the_window_the_goal_seeking_law_flies_into(make_env, tmp_path):
    world = tmp_path / "window-wall.toml"
    world.write_text(WINDOW_WALL)
    outcomes = {}
    for mode in ("gap", "guided"):
        env = make_env(world, action_mode=mode, **SENSING)
        env.reset(seed=0)
        while True:
            *_, terminated, truncated, info = env.step(np.zeros(4, np.float32))
            if terminated or truncated:
                break
        outcomes[mode] = info["outcome"]
    assert outcomes == {"gap": "goal", "guided": "collision"}


def test_the_twin_flies_the_gap_law_as_pybullet_does(make_env, tmp_path):
    world = tmp_path / "window-wall.toml"
    world.write_text(WINDOW_WALL)
    env = make_env(world, action_mode="gap", **SENSING)
    env.reset(seed=0)
    twin = QuadrotorTwin(1, action_mode="gap", **SENSING)
    twin.reset(TwinWorlds.draw([world], [0]))
    assert twin.airframe.guidance == GUIDANCE_GAP and guidance_code("velocity") == GUIDANCE_NONE
    errors = []
    for _ in range(60):  # 2 s, up to the wall
        info = env.step(np.zeros(4, np.float32))[4]
        twin.step(np.zeros((1, 4)))
        errors.append(np.linalg.norm(info["position_m"] - twin.position[0]))
    assert max(errors) < 0.01, max(errors)
    assert twin.position[0][1] > 0.2  # already sliding toward the window


def test_a_wall_seen_by_many_rays_pushes_no_harder_than_its_closest_reading():
    """Beside a wall that 15 rays see at 0.5 m (the right-hand sector, every row), with the goal
    ahead: the drone keeps going along it, pushed off by the closest reading's depth alone. A push
    summed over the rays backed it away from the wall instead of along it."""
    settings = QuadrotorSettings(action_mode="gap", **SENSING)
    layout = observation_layout(settings)
    observation = np.ones(layout["altitude"].stop, np.float32)
    ranges = np.ones((3, settings.n_rays))
    ranges[:, :5] = 0.5 / settings.max_range_m  # azimuths -90 to -25 degrees: the wall on the right
    observation[layout["ranges"]] = ranges.ravel()
    observation[layout["goal_bearing_sin"]], observation[layout["goal_bearing_cos"]] = -0.14, 0.99
    observation[layout["goal_distance"]], observation[layout["goal_height"]] = 0.3, 0.0
    observation[layout["body_velocity"]] = 0.0
    forward, lateral, vertical, _ = law(settings, observation)
    assert forward > 0.5, forward
    # away from the wall (to the left), within the deepest reading's push alone, 4 x (0.6 - 0.5) m; summed over the
    # 15 rays the push was 1.0 (and the forward set-point -0.37)
    assert 0.0 < lateral <= 0.4 + 1e-9 and abs(vertical) < 1e-9


def test_a_ray_reading_far_past_its_neighbours_draws_the_drone_through_a_window_off_its_line(make_env, tmp_path):
    world = tmp_path / "window-beside.toml"
    world.write_text(WINDOW_BESIDE)
    env = make_env(world, action_mode="gap", **SENSING)
    env.reset(seed=0)
    while True:
        *_, terminated, truncated, info = env.step(np.zeros(4, np.float32))
        if terminated or truncated:
            break
    assert info["outcome"] == "goal" and info["time_s"] < 15.0


def test_of_two_clear_rays_equally_far_from_the_goal_the_one_reading_past_its_neighbours_wins():
    settings = QuadrotorSettings(action_mode="gap", **SENSING)
    layout = observation_layout(settings)
    directions = sensor_rays(settings)
    observation = np.full(layout["altitude"].stop, 0.5, np.float32)  # 2 m everywhere: blocked for a goal 6 m away
    # the goal 6 degrees right of ahead: without the reading past the neighbours the right ray would win
    observation[layout["goal_bearing_sin"]], observation[layout["goal_bearing_cos"]] = -0.1, np.sqrt(0.99)
    observation[layout["goal_distance"]] = 6.0 / settings.goal_distance_scale_m
    observation[layout["goal_height"]] = 0.0
    observation[layout["body_velocity"]] = 0.0
    level = settings.n_rays  # the middle row
    azimuth = np.degrees(np.arctan2(directions[level:level + settings.n_rays, 1], directions[level:level + settings.n_rays, 0]))
    left, right = level + int(np.argmin(np.abs(azimuth - 41.0))), level + int(np.argmin(np.abs(azimuth + 41.0)))
    observation[[left, right]] = 1.0  # both read the full 4 m, as far off the goal's line
    observation[[right - 1, right + 1]] = 0.8  # but beside the right one the wall is 3.2 m away
    _, lateral, _, _ = law(settings, observation)
    assert lateral > 0.3  # the left ray: 4 m against 2 m beside it is an opening; 4 m against 3.2 m less of one
    np.testing.assert_allclose(law(settings, mirrored(settings, observation))[1], -lateral, atol=1e-12)
