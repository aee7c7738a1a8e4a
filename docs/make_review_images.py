"""The README's review pictures from a run: python docs/make_review_images.py RUN_DIR [--world forest --seed 3 --step 150].

Writes docs/review_frame.png (one frame of the champion's review video) and docs/report_fitness.png,
docs/report_trajectories.png (plots of ``spikefly report RUN_DIR``). Needs ``pip install "spikefly[render]"``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from spikefly.controllers import load
from spikefly.envs.render.flight import frame_at
from spikefly.evolution.review.record import record_flight
from spikefly.evolution.review.report import build_report

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--world", default="forest")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--step", type=int, default=150, help="control step of the frame")
    args = parser.parse_args()
    import imageio.v3 as iio

    recording = record_flight(load(Path(args.run_dir) / "champion.json"), args.world, args.seed)
    iio.imwrite(HERE / "review_frame.png", frame_at(recording, min(args.step, recording.steps)))
    with tempfile.TemporaryDirectory() as folder:
        build_report(args.run_dir, folder, flights=2)
        shutil.copyfile(Path(folder) / "fitness.png", HERE / "report_fitness.png")
        shutil.copyfile(Path(folder) / "trajectories.png", HERE / "report_trajectories.png")
    print(f"wrote {HERE / 'review_frame.png'}, {HERE / 'report_fitness.png'}, {HERE / 'report_trajectories.png'}")


if __name__ == "__main__":
    main()
