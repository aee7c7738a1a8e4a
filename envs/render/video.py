"""Writing review videos: MP4 through imageio-ffmpeg (with an optional sound track) or GIF through Pillow.

Shared by the flight video (:mod:`spikefly.envs.render.flight`) and the audio video
(:mod:`spikefly.envs.render.clip`): the file kinds, GIF's frame stride, the colours and font of
the frames, and the errors. Optional packages (``pip install "spikefly[render]"``) are imported
where they are used.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.core import SpikeflyError

INSTALL_HINT = 'review videos need imageio, imageio-ffmpeg and pillow. Fix: pip install "spikefly[render]"'
BACKGROUND = (24, 26, 32)
PANEL = (34, 37, 45)
TEXT = (226, 230, 236)
MUTED = (150, 156, 168)
INPUT_COLOUR = np.array([90, 160, 255], np.float32)
HIDDEN_COLOUR = np.array([255, 176, 60], np.uint8)
OUTPUT_COLOUR = np.array([255, 84, 104], np.uint8)
OUTCOME_COLOURS = {"goal": (90, 220, 120), "collision": (255, 90, 90), "out_of_bounds": (255, 170, 60), "timeout": (220, 220, 90)}


class RenderError(SpikeflyError):
    """A video that cannot be written as asked: the message says why and the fix."""


@dataclass(frozen=True)
class RenderStats:
    path: Path
    frames: int
    fps: float
    seconds: float
    """Wall-clock seconds the rendering took."""


def require_render_dependencies() -> None:
    """Raise :class:`RenderError` with the install hint when an optional package is missing."""
    try:
        import imageio  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
        import PIL  # noqa: F401
    except ImportError as error:
        raise RenderError(f"{INSTALL_HINT} ({error})") from error


def video_kind(path: str | os.PathLike[str]) -> str:
    """``"mp4"`` or ``"gif"`` from the file name; anything else is a :class:`RenderError`."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise RenderError(f"{path}: unknown video type {suffix or '(none)'!r}. Fix: name the output .mp4 or .gif")
    return suffix[1:]


def gif_stride(fps: float, max_fps: float = 10.0) -> int:
    """The smallest step stride n with a frame delay n / fps of whole centiseconds (GIF's unit) and at most
    ``max_fps`` frames per second (GIFs are big): 3 at 30 Hz (10 fps), 3 at 25 fps (12 cs per frame)."""
    for stride in range(1, 101):
        delay_cs = 100.0 * stride / fps
        if abs(delay_cs - round(delay_cs)) < 1e-6 and fps / stride <= max_fps + 1e-9:
            return stride
    return max(1, round(fps / max_fps))


class VideoSink:
    """Frames in, a video file out, at ``fps`` frames per second.

    MP4: frames stream to ffmpeg (imageio-ffmpeg's ``write_frames``, H.264, yuv420p), with an
    optional audio track muxed in. GIF: Pillow, each frame reduced to a 256-colour palette as it
    arrives (the GIF writer needs every frame at the end; palette frames take a third of RGB's memory).
    """

    def __init__(self, path: str | os.PathLike[str], width: int, height: int, fps: float, audio_path: str | None = None) -> None:
        require_render_dependencies()
        if width % 16 or height % 16 or width < 320 or height < 240:
            raise RenderError(f"size {width}x{height}: width and height must be multiples of 16, at least 320x240. Fix: e.g. 640x480")
        self.path, self.kind, self.fps = Path(path), video_kind(path), float(fps)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.frames = 0
        self._temporary = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        if self.kind == "mp4":
            import imageio_ffmpeg

            audio = {"audio_path": audio_path, "audio_codec": "aac"} if audio_path else {}
            self._writer = imageio_ffmpeg.write_frames(
                str(self._temporary), (width, height), fps=self.fps, quality=7, macro_block_size=16, ffmpeg_log_level="error",
                output_params=["-shortest"] if audio_path else None, **audio,
            )
            self._writer.send(None)
        else:
            self._gif_frames: list = []

    def write(self, frame: NDArray[np.uint8]) -> None:
        if self.kind == "mp4":
            self._writer.send(np.ascontiguousarray(frame))
        else:
            from PIL import Image

            self._gif_frames.append(Image.fromarray(frame).quantize(256, method=Image.Quantize.FASTOCTREE))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file (written under a temporary name, renamed when complete)."""
        if self.kind == "mp4":
            self._writer.close()
        else:
            first, *rest = self._gif_frames
            first.save(self._temporary, format="GIF", save_all=True, append_images=rest, duration=round(1000.0 / self.fps), loop=0)
        os.replace(self._temporary, self.path)
        return self.path

    def abort(self) -> None:
        if self.kind == "mp4":
            with contextlib.suppress(Exception):  # cleaning up after another error, which is the one to report
                self._writer.close()
        self._temporary.unlink(missing_ok=True)

    def write_all(self, frames, total: int, progress: bool = False) -> RenderStats:
        """Write every frame of the iterable ``frames`` (``total`` of them, for the progress bar) and close the
        file; on any error the partial file is removed. The stats time the drawing and the encoding."""
        started = time.perf_counter()
        try:
            if progress:
                from tqdm import tqdm

                frames = tqdm(frames, total=total, desc="rendering", unit="frame", leave=False)
            for frame in frames:
                self.write(frame)
            written = self.close()
        except BaseException:
            self.abort()
            raise
        return RenderStats(written, self.frames, self.fps, time.perf_counter() - started)


def font(size: int = 12):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def distance_colours(fraction: NDArray[np.float64]) -> NDArray[np.uint8]:
    """RGB [..., 3] for distances as fractions of the maximum range: red (touching) -> yellow -> green (clear)."""
    stops = np.array([0.0, 0.35, 0.7, 1.0])
    colours = np.array([[255, 50, 50], [255, 160, 40], [240, 230, 70], [80, 210, 110]], np.float64)
    f = np.clip(fraction, 0.0, 1.0)
    return np.stack([np.interp(f, stops, colours[:, c]) for c in range(3)], axis=-1).astype(np.uint8)
