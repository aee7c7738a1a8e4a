"""PPO training speed on the twin's SB3 VecEnv, in env steps per second, against its floors, in one run.

    python benchmarks/rl_speed.py [--steps 32768] [--envs 16]

Forest world, 30 Hz control, SB3 PPO MlpPolicy (spikefly's baseline settings: 256-step rollouts
per env, minibatches of 256, 5 epochs). Figures:
1. the twin's SB3 VecEnv alone, drones hovering (the ceiling PPO's env side allows);
2. PPO learning with 1 torch thread (the default of ``spikefly baseline``);
3. PPO learning with 2 torch threads (on a shared 2-core machine this was ~10x slower);
4. RecurrentPPO (64-unit actor LSTM) with 1 torch thread.
Ratios: PPO / VecEnv (the share of time left to the env), 1 thread / 2 threads, PPO / RecurrentPPO.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from spikefly.evolution.baselines.rl import (
    BaselineSettings,
    make_twin_vec_env,
    train_baseline,
)


def vec_env_rate(envs: int, steps: int) -> float:
    env = make_twin_vec_env(envs, "forest", {}, seed=0)
    env.reset()
    # hovering (zero set-points): episodes run to their time limit, so this times stepping, not resets
    actions = np.zeros((steps // envs, envs, 4), np.float32)
    env.step(actions[0])  # compile / warm
    start = time.perf_counter()
    for action in actions:
        env.step(action)
    return len(actions) * envs / (time.perf_counter() - start)


def learn_rate(algorithm: str, envs: int, steps: int, threads: int) -> float:
    settings = BaselineSettings(algorithm=algorithm, n_envs=envs, total_steps=steps, validation_every_steps=10**9,
                                validation_episodes=1, torch_threads=threads)
    with tempfile.TemporaryDirectory() as out:
        summary = train_baseline(settings, out)
    # train_baseline's clock includes the one final validation (a few hundred steps): a slight underestimate
    return summary.training_steps / summary.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32768, help="training env steps per PPO figure")
    parser.add_argument("--envs", type=int, default=16, help="parallel twin drones")
    args = parser.parse_args()
    learn_rate("ppo", args.envs, args.envs * 256, 1)  # import torch and compile the twin before timing
    env = vec_env_rate(args.envs, max(args.steps, 4096))
    one = learn_rate("ppo", args.envs, args.steps, 1)
    two = learn_rate("ppo", args.envs, args.steps, 2)
    recurrent = learn_rate("recurrent_ppo", args.envs, max(args.envs * 256, args.steps // 8), 1)
    print(f"twin VecEnv, hovering, {args.envs} envs: {env:,.0f} env steps/s")
    print(f"PPO learning, 1 torch thread:  {one:,.0f} env steps/s")
    print(f"PPO learning, 2 torch threads: {two:,.0f} env steps/s")
    print(f"RecurrentPPO learning, 1 torch thread: {recurrent:,.0f} env steps/s")
    print(f"ratio ppo/vecenv: {one / env:.3f}")
    print(f"ratio 1thread/2threads: {one / two:.2f}")
    print(f"ratio ppo/recurrent: {one / recurrent:.1f}")


if __name__ == "__main__":
    main()
