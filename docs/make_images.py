"""Render the README's pictures: python docs/make_images.py (needs `pip install imageio`)."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np

import spikefly.envs  # noqa: F401
from spikefly.envs import QUADROTOR_AVOID_ID
from spikefly.envs.pilots import ReactivePilot

HERE = Path(__file__).resolve().parent


def forest_frame(seed: int = 1, seconds: float = 6.0) -> np.ndarray:
    """A chase-camera frame after ``seconds`` of the reactive pilot's flight through the forest."""
    env = gymnasium.make(QUADROTOR_AVOID_ID, world="forest", render_mode="rgb_array")
    pilot = ReactivePilot(env.unwrapped.settings)
    observation, _ = env.reset(seed=seed)
    for _ in range(int(seconds * env.unwrapped.settings.control_hz)):
        observation, *_ = env.step(pilot(observation))
    frame = env.render()
    env.close()
    return frame


def main() -> None:
    try:
        import imageio.v3 as iio
    except ImportError as error:
        raise SystemExit("docs/make_images.py needs imageio: pip install imageio") from error
    iio.imwrite(HERE / "forest_chase.png", forest_frame())
    print(f"wrote {HERE / 'forest_chase.png'}")


if __name__ == "__main__":
    main()
