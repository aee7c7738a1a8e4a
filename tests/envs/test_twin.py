"""The twin's batched API and its Gymnasium vector env."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from spikefly.envs import QUADROTOR_AVOID_ID, QUADROTOR_AVOID_VEC_ID
from spikefly.envs.quadrotor_vec_env import QuadrotorAvoidVecEnv
from spikefly.envs.twin.batch import QuadrotorTwin
from spikefly.envs.twin.worlds import TwinWorlds

NOISY = {"range_noise_std_m": 0.03, "range_dropout_prob": 0.05, "wind_speed_mps": 0.8, "wind_gust_std_mps": 0.2}


def rollout(twin, actions):
    rows = []
    for action in actions:
        observations, rewards, terminated, truncated = twin.step(action)
        rows.append((observations, rewards, terminated, truncated, twin.position.copy()))
    return rows


def test_a_batch_equals_each_drone_flown_alone():
    worlds = TwinWorlds.draw(["forest", "windows", "slalom"], [1, 2, 3])
    seeds = [10, 11, 12, 13, 14, 15]
    index = np.array([0, 1, 2, 0, 1, 2])
    actions = np.random.default_rng(0).uniform(-1, 1, size=(80, 6, 4))
    batch = QuadrotorTwin(6, **NOISY)
    batch_first = batch.reset(worlds, index, seeds)
    together = rollout(batch, actions)
    for b in range(6):
        alone = QuadrotorTwin(1, **NOISY)
        np.testing.assert_array_equal(alone.reset(worlds, index[b:b + 1], seeds[b:b + 1])[0], batch_first[b])
        for t, row in enumerate(rollout(alone, actions[:, b:b + 1])):
            for mine, theirs in zip(row, together[t]):
                np.testing.assert_array_equal(mine[0], theirs[b])


def test_finished_drones_stay_frozen_until_reset():
    worlds = TwinWorlds.draw(["empty"], [0])
    twin = QuadrotorTwin(2)
    twin.reset(worlds, [0, 0])
    up = np.array([[0, 0, 1, 0], [0, 0, 0, 0]], dtype=np.float32)  # drone 0 climbs out of the 4 m ceiling
    for _ in range(200):
        _, rewards, terminated, _ = twin.step(up)
        if terminated[0]:
            break
    assert twin.outcomes[0] == "out_of_bounds" and twin.outcomes[1] is None
    frozen = twin.position[0].copy()
    _, rewards, terminated, _ = twin.step(up)
    np.testing.assert_array_equal(twin.position[0], frozen)
    assert rewards[0] == 0.0 and terminated[0]
    twin.reset_drones([True, False], [0, 0])
    assert twin.outcomes[0] is None and twin.steps[0] == 0


def test_bad_actions_are_clear_errors():
    twin = QuadrotorTwin(3)
    with pytest.raises(RuntimeError, match="reset"):
        twin.step(np.zeros((3, 4)))
    twin.reset(TwinWorlds.draw(["empty"], [0]))
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        twin.step(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"NaN.*drone\(s\) \[1\]"):
        twin.step(np.array([[0, 0, 0, 0], [np.nan, 0, 0, 0], [0, 0, 0, 0]]))


def test_the_layout_of_a_seed_is_the_pybullet_envs_layout():
    from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
    from spikefly.worlds import pack_obstacles

    env = QuadrotorAvoidEnv("forest")
    env.reset(seed=21)
    expected = pack_obstacles(env.layout)
    env.close()
    worlds = TwinWorlds.draw(["forest"], [21])
    m = int(worlds.count[0])
    np.testing.assert_array_equal(worlds.position[0, :m], expected.position_m)
    np.testing.assert_array_equal(worlds.half_extents[0, :m], expected.half_extents_m)


def test_make_vec_gives_the_twin_with_the_single_env_spaces():
    envs = gymnasium.make_vec(QUADROTOR_AVOID_ID, num_envs=8, world="forest")
    single = gymnasium.make(QUADROTOR_AVOID_ID, world="forest")
    assert isinstance(envs.unwrapped, QuadrotorAvoidVecEnv)
    assert envs.single_observation_space == single.observation_space
    assert envs.single_action_space == single.action_space
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (8, 26) and envs.observation_space.contains(observations)
    envs.close()
    single.close()
    alias = gymnasium.make_vec(QUADROTOR_AVOID_VEC_ID, num_envs=2)
    assert isinstance(alias.unwrapped, QuadrotorAvoidVecEnv)


def test_vector_env_autoresets_next_step_with_a_new_layout_and_is_seeded():
    def run(seed):
        envs = QuadrotorAvoidVecEnv(4, world="forest", **NOISY)
        observations, _ = envs.reset(seed=seed)
        actions = np.random.default_rng(1).uniform(-1, 1, size=(400, 4, 4)).astype(np.float32)
        trace, restarts = [observations], 0
        previous_done = np.zeros(4, bool)
        for action in actions:
            observations, rewards, terminated, truncated, info = envs.step(action)
            # The step after an episode ends is the first of a new one: reward 0, no flags.
            assert np.all(rewards[previous_done] == 0.0) and not np.any((terminated | truncated)[previous_done])
            restarts += int(previous_done.sum())
            previous_done = terminated | truncated
            trace.append(observations)
        return np.array(trace), restarts

    first, restarts = run(5)
    again, _ = run(5)
    other, _ = run(6)
    assert restarts > 0
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_vector_env_with_path_progress_gives_each_new_layout_its_own_field():
    envs = QuadrotorAvoidVecEnv(3, world="slalom", progress_metric="path")
    envs.reset(seed=2)
    fields = envs._worlds.path_values.copy()
    assert envs._worlds.has_path_fields and (envs._worlds.path_dims > 0).all()
    restarted = np.zeros(3, bool)
    for action in np.random.default_rng(0).uniform(-1, 1, size=(300, 3, 4)).astype(np.float32):
        _, rewards, terminated, truncated, _ = envs.step(action)
        assert np.isfinite(rewards).all()
        restarted |= terminated | truncated
    envs.step(np.zeros((3, 4), np.float32))  # restart the finished ones
    for w in np.flatnonzero(restarted):  # a new layout, a new field
        assert not np.array_equal(envs._worlds.path_values[w], fields[w])


@pytest.mark.parametrize("seed", [3, 40, 977])
def test_a_mixed_episode_is_the_same_course_in_pybullet_and_the_twin(seed):
    """The mixed world draws a whole course per episode: bounds, start, heading, goal, time limit and obstacles agree."""
    from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
    from spikefly.worlds import pack_obstacles

    env = QuadrotorAvoidEnv("mixed")
    env.reset(seed=seed)
    course, expected = env.unwrapped.course, pack_obstacles(env.layout)
    env.close()
    worlds = TwinWorlds.draw(["mixed"], [seed])
    m = int(worlds.count[0])
    assert m == len(env.layout) > 0
    np.testing.assert_array_equal(worlds.position[0, :m], expected.position_m)
    np.testing.assert_array_equal(worlds.half_extents[0, :m], expected.half_extents_m)
    np.testing.assert_array_equal(worlds.bounds_min[0], course.bounds_min)
    np.testing.assert_array_equal(worlds.bounds_max[0], course.bounds_max)
    np.testing.assert_array_equal(worlds.start[0], course.start_position)
    np.testing.assert_array_equal(worlds.goal[0], course.goal_position)
    assert worlds.start_yaw[0] == course.start_yaw and worlds.time_limit_s[0] == course.time_limit_s
    # another seed is another course
    assert TwinWorlds.draw(["mixed"], [seed + 1]).goal[0].tolist() != worlds.goal[0].tolist()
