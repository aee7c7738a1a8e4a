"""Control steps per second of spikefly/QuadrotorAvoid-v0 against a raw-PyBullet floor, in one run.

    python benchmarks/env_step.py [--steps 3000] [--world forest]

The floor does only what any PyBullet quadrotor env must: per control step, 8 physics steps and
one batch of 16 rays, on the same world built the same way (one compound obstacle body). The env
adds the inner controller, motor model, drag, contact and bounds checks, clearance, the
observation and the reward. Target: ratio env/floor >= 0.6. Absolute figures move 2x on a shared
machine; the ratio, measured in the same run, is the figure to compare.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from spikefly.envs.sim.pybullet_client import pybullet

import spikefly.envs  # noqa: F401
from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
from spikefly.worlds import pack_obstacles

PEER_RANDOM_WITH_RESET = 303  # gym-pybullet-drones hover env, random actions, auto-reset (anchors.md)
PEER_NO_RESET = 1327  # gym-pybullet-drones hover env, no reset (anchors.md)


def hover_ish_actions(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.05, size=(count, 4)).astype(np.float32)


def env_steps_per_second(world: str, steps: int) -> float:
    """Timed env.step calls only; resets (when an episode ends) are excluded from the clock."""
    env = QuadrotorAvoidEnv(world)
    env.reset(seed=0)
    actions = hover_ish_actions(steps)
    env.step(actions[0])  # warm the compiled controller
    elapsed, done_steps = 0.0, 0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        elapsed += time.perf_counter() - start
        done_steps += 1
        if terminated or truncated:
            env.reset(seed=0)
    env.close()
    return done_steps / elapsed


def floor_steps_per_second(world: str, steps: int) -> float:
    """Raw PyBullet on the same scene: 8 stepSimulation + one 16-ray batch per control step."""
    env = QuadrotorAvoidEnv(world)  # builds the identical scene (drone, ground, compound obstacles)
    env.reset(seed=0)
    sim = env._sim
    client, body = sim.client, sim.drone_body
    pybullet.setGravity(0, 0, 0, physicsClientId=client)  # the floor does not fly; keep the drone in place
    angles = np.linspace(-np.pi / 2, np.pi / 2, 16)
    starts = np.zeros((16, 3))
    ends = np.zeros((16, 3))
    physics_steps = env.settings.physics_steps_per_control
    start = time.perf_counter()
    for _ in range(steps):
        for _ in range(physics_steps):
            pybullet.stepSimulation(physicsClientId=client)
        position = pybullet.getBasePositionAndOrientation(body, physicsClientId=client)[0]
        starts[:] = position
        ends[:, 0] = position[0] + 4.0 * np.cos(angles)
        ends[:, 1] = position[1] + 4.0 * np.sin(angles)
        ends[:, 2] = position[2]
        pybullet.rayTestBatch(starts.tolist(), ends.tolist(), physicsClientId=client)
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def random_with_reset_steps_per_second(world: str, steps: int) -> tuple[float, int]:
    """Uniform random actions, auto-reset on every episode end, resets on the clock (the peers' figure)."""
    env = QuadrotorAvoidEnv(world)
    env.reset(seed=0)
    actions = np.random.default_rng(1).uniform(-1, 1, size=(steps, 4)).astype(np.float32)
    episodes = 0
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episodes += 1
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed, episodes


def reset_times_ms(static_world: str, procedural_world: str, count: int) -> tuple[float, float]:
    """Median reset time for a static world (drone state only) and a procedural one (new layout)."""
    medians = []
    for world in (static_world, procedural_world):
        env = QuadrotorAvoidEnv(world)
        env.reset(seed=0)
        times = []
        for seed in range(1, count + 1):
            env.step(np.zeros(4, dtype=np.float32))
            start = time.perf_counter()
            env.reset(seed=seed)
            times.append((time.perf_counter() - start) * 1e3)
        medians.append(statistics.median(times))
        env.close()
    return medians[0], medians[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000, help="control steps per measurement (default 3000)")
    parser.add_argument("--world", default="forest", help="world for the step measurements (default forest)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the best of each is kept (default 3)")
    args = parser.parse_args(argv)

    obstacles = len(pack_obstacles(QuadrotorAvoidEnv(args.world).course.layout(np.random.default_rng(0))).shape)
    env_rates, floor_rates = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        env_rates.append(env_steps_per_second(args.world, args.steps))
        floor_rates.append(floor_steps_per_second(args.world, args.steps))
    env_rate, floor_rate = max(env_rates), max(floor_rates)
    random_rate, episodes = random_with_reset_steps_per_second(args.world, args.steps)
    same_ms, layout_ms = reset_times_ms("empty", args.world, 50)

    print(f"world: {args.world} (~{obstacles} obstacles in layout 0), 30 Hz control, 240 Hz physics, 16 rays")
    print(f"env steps/s (hover-ish actions, no resets): {env_rate:,.0f}")
    print(f"floor steps/s (raw PyBullet: 8 physics steps + 16 rays): {floor_rate:,.0f}")
    print(f"ratio env/floor: {env_rate / floor_rate:.2f}   (target >= 0.60)")
    print(f"ratio env/gym-pybullet-drones hover env (no reset, {PEER_NO_RESET}/s in anchors.md): {env_rate / PEER_NO_RESET:.2f}")
    print(f"env steps/s (random actions, auto-reset, {episodes} episodes): {random_rate:,.0f}   (peer ~{PEER_RANDOM_WITH_RESET})")
    print(f"reset, same world (drone state only): {same_ms:.3f} ms median   (target < 1 ms)")
    print(f"reset, new layout ({args.world}): {layout_ms:.2f} ms median   (target < 20 ms)")


if __name__ == "__main__":
    main()
