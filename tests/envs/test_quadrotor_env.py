"""Behaviour of spikefly/QuadrotorAvoid-v0 that users and later issues rely on."""

from __future__ import annotations

import pickle
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.utils.passive_env_checker import env_render_passive_checker

from spikefly.envs import QUADROTOR_AVOID_ID
from spikefly.envs.quadrotor_settings import observation_layout
from spikefly.envs.sim.reward import TERM_NAMES

FORWARD = np.array([0.5, 0.0, 0.0, 0.0], dtype=np.float32)  # 1 m/s forward
HOVER = np.zeros(4, dtype=np.float32)


def fly(env, action, max_steps: int = 10_000):
    """Hold one action until the episode ends; return the per-step positions and the last step."""
    positions = []
    for _ in range(max_steps):
        observation, reward, terminated, truncated, info = env.step(action)
        positions.append(info["position_m"])
        if terminated or truncated:
            return np.array(positions), (observation, reward, terminated, truncated, info)
    raise AssertionError("episode did not end")


@pytest.mark.parametrize("world", ["forest", "empty"])
def test_passes_gymnasium_env_checker_without_warnings(make_env, world):
    env = make_env(world)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


def test_rgb_array_rendering_passes_the_render_checker(make_env):
    # check_env's own render pass would also open "human" mode, which needs a display.
    env = make_env("forest", render_mode="rgb_array", render_width=96, render_height=64)
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env_render_passive_checker(env)


def test_spaces_meet_stable_baselines3_expectations(make_env):
    env = make_env("forest")
    obs_space, act_space = env.observation_space, env.action_space
    assert isinstance(obs_space, gymnasium.spaces.Box) and obs_space.dtype == np.float32
    assert obs_space.shape == (26,) and np.all(np.isfinite(obs_space.low)) and np.all(np.isfinite(obs_space.high))
    assert isinstance(act_space, gymnasium.spaces.Box) and act_space.dtype == np.float32
    assert act_space.shape == (4,)
    np.testing.assert_array_equal(act_space.low, -1.0)
    np.testing.assert_array_equal(act_space.high, 1.0)
    layout = observation_layout(env.settings)
    assert sum(s.stop - s.start for s in layout.values()) == obs_space.shape[0]


def test_registered_under_both_ids():
    for env_id in (QUADROTOR_AVOID_ID, "spikefly.envs:spikefly/QuadrotorAvoid-v0"):
        env = gymnasium.make(env_id, world="empty")
        observation, _ = env.reset(seed=1)
        assert env.observation_space.contains(observation)
        env.close()


def test_same_seed_gives_identical_trajectories_and_layouts(make_env):
    trajectories = []
    for _ in range(2):
        env = make_env("forest", range_noise_std_m=0.02, wind_speed_mps=0.5, wind_gust_std_mps=0.2)
        observation, _ = env.reset(seed=7)
        actions = np.random.default_rng(3).uniform(-1, 1, size=(60, 4)).astype(np.float32)
        rows = [observation]
        for action in actions:
            observation, reward, terminated, truncated, info = env.step(action)
            rows.append(np.concatenate([observation, info["position_m"], [reward]]))
            if terminated or truncated:
                break
        trajectories.append(rows)
    assert len(trajectories[0]) == len(trajectories[1])
    for a, b in zip(*trajectories):
        np.testing.assert_array_equal(a, b)


def test_procedural_world_draws_a_new_layout_per_seed_and_repeats_it(make_env):
    env = make_env("forest", n_rays=32, fov_deg=360.0)
    first = env.reset(seed=1)[0]
    second = env.reset(seed=2)[0]
    again = env.reset(seed=1)[0]
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


def test_static_world_reset_keeps_the_obstacle_body(make_env, write_world):
    env = make_env(write_world('[[obstacles]]\nshape = "sphere"\nposition = [3.0, 1.0, 1.0]\nradius = 0.3\n'))
    env.reset(seed=0)
    bodies = list(env._sim.obstacle_bodies)
    env.step(FORWARD)
    env.reset(seed=5)
    assert env._sim.obstacle_bodies == bodies and bodies


def test_reset_option_switches_world(make_env):
    env = make_env("empty")
    env.reset(seed=0, options={"world": "windows"})
    assert env.course.name == "windows"
    with pytest.raises(ValueError, match="unknown option"):
        env.reset(options={"wrold": "empty"})


@pytest.mark.parametrize(
    "obstacle",
    [
        'shape = "box"\nposition = [3.0, 0.0, 1.5]\nsize = [0.4, 2.0, 3.0]\nyaw = 0.3',
        'shape = "cylinder"\nposition = [3.0, 0.0, 1.5]\nradius = 0.3\nheight = 3.0',
        'shape = "sphere"\nposition = [3.0, 0.0, 1.0]\nradius = 0.5',
    ],
    ids=["box", "cylinder", "sphere"],
)
def test_collision_with_each_shape_terminates_as_collision(make_env, write_world, obstacle):
    env = make_env(write_world("[[obstacles]]\n" + obstacle))
    env.reset(seed=0)
    positions, (_, reward, terminated, truncated, info) = fly(env, FORWARD)
    assert info["outcome"] == "collision" and terminated and not truncated
    assert info["reward_terms"]["collision"] == -env.settings.reward.collision_penalty
    assert info["min_clearance_m"] <= 0.01
    assert 1.5 < positions[-1][0] < 3.0


def test_reaching_the_goal_terminates_as_goal(make_env, write_world):
    env = make_env(write_world(goal_x=4.0))
    env.reset(seed=0)
    positions, (_, reward, terminated, truncated, info) = fly(env, FORWARD)
    assert info["outcome"] == "goal" and terminated and not truncated
    assert info["reward_terms"]["goal"] == env.settings.reward.goal_bonus
    assert np.linalg.norm(positions[-1] - [4.0, 0.0, 1.0]) <= 0.4 + 1e-9
    assert info["min_clearance_m"] == env.settings.max_range_m  # no obstacles at all


def test_leaving_bounds_terminates_as_out_of_bounds(make_env, write_world):
    env = make_env(write_world(z_max=1.6))
    env.reset(seed=0)
    positions, (_, _, terminated, truncated, info) = fly(env, np.array([0, 0, 1, 0], dtype=np.float32))
    assert info["outcome"] == "out_of_bounds" and terminated and not truncated
    assert positions[-1][2] > 1.6
    assert info["reward_terms"]["out_of_bounds"] == -env.settings.reward.out_of_bounds_penalty


def test_ground_contact_is_a_collision(make_env, write_world):
    env = make_env(write_world(), action_mode="rpm")
    env.reset(seed=0)
    _, (_, _, terminated, _, info) = fly(env, -np.ones(4, dtype=np.float32))
    assert info["outcome"] == "collision" and terminated


def test_time_limit_truncates_as_timeout(make_env, write_world):
    env = make_env(write_world(time_limit=1.0))
    env.reset(seed=0)
    positions, (_, _, terminated, truncated, info) = fly(env, HOVER)
    assert len(positions) == 30  # 1 s at 30 Hz
    assert truncated and not terminated and info["outcome"] == "timeout"
    assert info["time_s"] == pytest.approx(1.0)
    assert info["reward_terms"]["timeout"] == 0.0  # free by default
    with pytest.raises(RuntimeError, match="reset"):
        env.step(HOVER)


def test_a_timeout_penalty_is_charged_once_at_the_time_limit_alike_in_the_twin(make_env, write_world):
    from spikefly.envs.twin.batch import QuadrotorTwin
    from spikefly.envs.twin.worlds import TwinWorlds

    world = write_world(time_limit=1.0)
    env = make_env(world, reward={"timeout_penalty": 7.0})
    env.reset(seed=0)
    rewards = []
    twin = QuadrotorTwin(1, reward={"timeout_penalty": 7.0})
    twin.reset(TwinWorlds.draw([world], [0]))
    for _ in range(30):
        _, reward, _, truncated, info = env.step(HOVER)
        rewards.append(info["reward_terms"]["timeout"])
        twin.step(HOVER[None, :])
    assert truncated and rewards == [0.0] * 29 + [-7.0]
    assert twin.reward_terms()["timeout"][0] == -7.0


def test_actions_outside_the_box_are_clipped(make_env):
    runs = []
    for action in ([1.0, -1.0, 0.2, 1.0], [7.0, -3.0, 0.2, 40.0]):
        env = make_env("empty")
        env.reset(seed=0)
        runs.append([env.step(np.array(action, dtype=np.float32))[4]["position_m"] for _ in range(10)])
    np.testing.assert_array_equal(runs[0], runs[1])


def test_nan_action_is_a_clear_error(make_env):
    env = make_env("empty")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.array([np.nan, 0, 0, 0], dtype=np.float32))
    with pytest.raises(ValueError, match="4 elements"):
        env.step(np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize("seed", range(4))
def test_velocity_mode_holds_hover_within_5_cm_for_5_s_in_light_gusts(make_env, seed):
    # Velocity mode holds velocity, not position: stronger gusts (0.1 m/s std) drift 10-20 cm.
    env = make_env("empty", wind_gust_std_mps=0.03)
    env.reset(seed=seed)
    start = env.course.start_position
    errors = [np.linalg.norm(env.step(HOVER)[4]["position_m"] - start) for _ in range(150)]
    assert max(errors) < 0.05, max(errors)
    assert max(errors) > 0.002  # the gusts did push the drone


def test_velocity_mode_tracks_a_1_mps_set_point(make_env):
    env = make_env("empty")
    env.reset(seed=0)
    velocities = np.array([env.step(FORWARD)[4]["velocity_mps"] for _ in range(120)])
    settled = velocities[60:]  # after 2 s
    assert np.all(np.abs(settled[:, 0] - 1.0) < 0.05), settled[:, 0]
    assert np.all(np.abs(settled[:, 1:]) < 0.05)


def test_reward_is_the_sum_of_its_named_terms(make_env):
    env = make_env("forest")
    _, info = env.reset(seed=0)
    assert set(info["reward_terms"]) == set(TERM_NAMES)
    for _ in range(20):
        _, reward, _, _, info = env.step(FORWARD)
        assert set(info["reward_terms"]) == set(TERM_NAMES)
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
    assert info["reward_terms"]["progress"] > 0.0
    assert info["rotor_energy_j"] > 0.0


def test_settings_errors_name_the_setting_and_the_fix():
    from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv

    with pytest.raises(ValueError, match="whole number.*240 / 30"):
        QuadrotorAvoidEnv("empty", physics_hz=240.0, control_hz=50.0)
    with pytest.raises(TypeError, match="did you mean 'n_rays'"):
        QuadrotorAvoidEnv("empty", n_ray=8)
    with pytest.raises(ValueError, match="action_mode"):
        QuadrotorAvoidEnv("empty", action_mode="thrust")


def test_settable_rates_rays_and_up_down_rays(make_env):
    env = make_env("empty", physics_hz=200.0, control_hz=50.0, n_rays=8, up_down_rays=True, max_range_m=2.0)
    observation, _ = env.reset(seed=0)
    assert observation.shape == (20,)
    layout = observation_layout(env.settings)
    up, down = observation[layout["ranges"]][-2:]
    assert up == 1.0  # nothing within 2 m above (ceiling is not a body)
    assert down == pytest.approx(1.0 / 2.0, abs=1e-3)  # ground 1 m below
    assert env.step(HOVER)[4]["time_s"] == pytest.approx(1 / 50)


def test_elevation_rows_see_the_ground_where_trigonometry_says(make_env):
    env = make_env("empty", n_rays=8, ray_elevations_deg=[-30, 0, 30])
    observation, _ = env.reset(seed=0)
    assert observation.shape == (8 * 3 + 10,)
    rows = observation[observation_layout(env.settings)["ranges"]].reshape(3, 8)
    # start 1 m up: a ray 30 degrees down meets the ground 2 m away; level and upward rays see nothing
    np.testing.assert_allclose(rows[0] * env.settings.max_range_m, 2.0, atol=2e-3)
    assert (rows[1:] == 1.0).all()


@pytest.mark.parametrize("bad", [[], [90.0], ["up"], [-95.0, 0.0]])
def test_bad_ray_elevations_are_a_clear_error(bad):
    from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv

    with pytest.raises(ValueError, match="ray_elevations_deg"):
        QuadrotorAvoidEnv("empty", ray_elevations_deg=bad)


def test_pickle_round_trip_rebuilds_an_equivalent_env(make_env):
    env = make_env("forest", n_rays=12)
    clone = pickle.loads(pickle.dumps(env))
    try:
        np.testing.assert_array_equal(env.reset(seed=4)[0], clone.reset(seed=4)[0])
    finally:
        clone.close()


def test_rgb_array_frames_show_the_scene(make_env):
    env = make_env("forest", render_mode="rgb_array", render_width=160, render_height=120)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 20  # not a blank image


def test_human_mode_without_a_display_is_a_clear_error(monkeypatch):
    from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv

    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="DISPLAY.*rgb_array"):
        QuadrotorAvoidEnv("empty", render_mode="human")


def test_bad_world_file_is_a_clear_error(make_env, tmp_path):
    from spikefly.worlds import WorldError

    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nkind = "obstacle_course"\n')
    with pytest.raises(WorldError, match="broken.toml"):
        make_env(path)


def test_periodic_scene_reset_keeps_layouts_and_collisions_identical(make_env, write_world, monkeypatch):
    # PyBullet leaks a compound shape per layout rebuild, so the scene is re-created every N
    # rebuilds; episodes must not notice.
    import spikefly.envs.sim.pybullet_quadrotor as backend

    reference = make_env("forest")
    expected = [reference.reset(seed=seed)[0] for seed in range(6)]
    monkeypatch.setattr(backend, "_SCENE_RESET_EVERY", 2)
    env = make_env("forest")
    for seed in range(6):
        np.testing.assert_array_equal(env.reset(seed=seed)[0], expected[seed])
    env.reset(seed=0, options={"world": write_world('[[obstacles]]\nshape = "sphere"\nposition = [3.0, 0.0, 1.0]\nradius = 0.5\n')})
    _, (_, _, terminated, _, info) = fly(env, FORWARD)
    assert info["outcome"] == "collision" and terminated


def test_guided_mode_flies_to_the_goal_on_a_zero_action_and_adds_the_action_to_its_set_point(make_env, tmp_path):
    # Start turned 120 degrees away from a goal 8 m off and 1 m higher: action 0 turns, climbs and arrives.
    world = tmp_path / "turned.toml"
    world.write_text(
        'name = "turned"\nkind = "obstacle_course"\ntime_limit_s = 15.0\n[bounds]\nmin = [-6.0, -6.0, 0.0]\n'
        'max = [6.0, 10.0, 3.0]\n[start]\nposition = [0.0, 0.0, 1.0]\nyaw = 2.1\n[goal]\nposition = [0.0, 8.0, 2.0]\n'
        'radius = 0.4\n'
    )
    env = make_env(world, action_mode="guided")
    env.reset(seed=0)
    positions, (_, _, terminated, _, info) = fly(env, HOVER)
    assert info["outcome"] == "goal" and terminated, info["outcome"]
    assert info["time_s"] < 10.0
    assert positions[:, 2].max() > 1.5  # it climbed toward the goal's height
    # The same zero action in velocity mode hovers where it started.
    hover = make_env(world, action_mode="velocity")
    hover.reset(seed=0)
    assert fly(hover, HOVER)[1][4]["outcome"] == "timeout"
    # The action is added to the guidance: forward -GUIDED_CRUISE cancels the cruise once facing the goal.
    from spikefly.envs.sim.flight_control import GUIDED_CRUISE

    held = make_env(world, action_mode="guided")
    held.reset(seed=0)
    stay = np.array([-GUIDED_CRUISE, 0.0, 0.0, 0.0], dtype=np.float32)
    drift = [np.linalg.norm(held.step(stay)[4]["position_m"][:2]) for _ in range(150)]
    assert max(drift) < 0.1, max(drift)
