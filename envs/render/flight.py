"""Review videos of recorded flights: chase camera, top-down map, spike raster, actions, heads-up line.

Rendering reads a :class:`~spikefly.envs.render.recording.FlightRecording` (arrays), never a
controller: the flight is recorded first (``spikefly.evolution.review.record``), then drawn. One
frame per control step, written at the control rate, so the video plays in real time (an MP4
through imageio-ffmpeg; a GIF through Pillow, whose frame delays are whole centiseconds, so a
GIF keeps every n-th step with n the smallest stride that makes the delay exact at no more than
10 frames per second: every third at 30 Hz). Writing is :mod:`spikefly.envs.render.video`, the raster
:mod:`spikefly.envs.render.raster`.

Frame layout (``width x height``, 640x480 by default, both multiples of 16)::

    +----------------------+----------------------+
    | chase camera         | top-down map: trail, |
    | (PyBullet, rays)     | rays, goal, obstacles|
    +----------------------+----------------------+
    | spike raster: input, | action bars,         |
    | hidden, output rows  | ray colour scale     |
    +----------------------+----------------------+
    | heads-up line: time, speed, clearance, outcome, energy so far |

Cost per frame (measured, ``benchmarks/render.py``): the chase view is a PyBullet camera at a
quarter of the frame's pixels, through PyBullet's eglRenderer plugin when it loads (Mesa
llvmpipe here: 10-20 ms in the forest at 320x240 on a shared 2-core machine, TinyRenderer, the
fallback, 2-2.5x that); the top-down map is ONE overhead PyBullet render (the scene is
static) on which each frame draws the trail, the rays and the drone; raster, bars and text are
numpy and PIL, never matplotlib.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.render.recording import FlightRecording
from spikefly.envs.render.raster import SpikeRaster, label_raster, paste_raster
from spikefly.envs.render.video import (
    BACKGROUND,
    MUTED,
    OUTCOME_COLOURS,
    PANEL,
    TEXT,
    RenderError,
    RenderStats,
    VideoSink,
    distance_colours,
    font,
    gif_stride,
    require_render_dependencies,
    video_kind,
)

_HUD_HEIGHT = 22
_TITLE_HEIGHT = 14
_RAY_GAP_M = 0.12


# -- the quadrotor flight ----------------------------------------------------------------------
class _Camera:
    """A PyBullet view and projection, and the projection of world points into its image."""

    def __init__(self, view, projection, width: int, height: int) -> None:
        self.view, self.projection = view, projection
        self.matrix = np.array(projection).reshape(4, 4).T @ np.array(view).reshape(4, 4).T
        self.width, self.height = width, height

    def clip(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(points, float) @ self.matrix[:, :3].T + self.matrix[:, 3]

    def pixels(self, clip: NDArray[np.float64]) -> NDArray[np.float64]:
        ndc = clip[..., :2] / clip[..., 3:4]
        return np.stack([(ndc[..., 0] + 1.0) * 0.5 * self.width, (1.0 - ndc[..., 1]) * 0.5 * self.height], axis=-1)

    def segment(self, start: NDArray[np.float64], end: NDArray[np.float64], near_w: float = 0.06):
        """Pixel end points of the segment, cut where it passes behind the camera; None if wholly behind."""
        a, b = self.clip(start), self.clip(end)
        if a[3] < near_w and b[3] < near_w:
            return None
        if a[3] < near_w or b[3] < near_w:
            t = (near_w - a[3]) / (b[3] - a[3])
            cut = a + t * (b - a)
            a, b = (cut, b) if a[3] < near_w else (a, cut)
        pa, pb = self.pixels(a), self.pixels(b)
        return (float(pa[0]), float(pa[1])), (float(pb[0]), float(pb[1]))


@contextlib.contextmanager
def _quiet(*descriptors: int):
    """Silence C-level output on ``descriptors`` (PyBullet's EGL plugin prints its GL details to stdout
    and stderr), so ``--json`` output stays JSON and a user sees no driver chatter."""
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = [os.dup(fd) for fd in descriptors]
    try:
        for fd in descriptors:
            os.dup2(devnull, fd)
        yield
    finally:
        for fd, copy in zip(descriptors, saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


RENDERERS = ("auto", "egl", "tiny")


class _Scene:
    """The recorded world rebuilt in a DIRECT PyBullet client with the env's own scene code.

    ``renderer``: ``"egl"`` loads PyBullet's eglRenderer plugin (OpenGL through EGL, here Mesa's
    llvmpipe: ~2x faster than TinyRenderer on the forest at 320x240, measured), ``"tiny"`` keeps
    the CPU TinyRenderer, ``"auto"`` tries EGL and falls back to TinyRenderer.
    """

    def __init__(self, recording: FlightRecording, renderer: str = "auto") -> None:
        from spikefly.envs.sim.drone_model import flight_params, load_drone
        from spikefly.envs.sim.pybullet_quadrotor import PyBulletQuadrotor
        from spikefly.worlds import ObstacleArrays

        if renderer not in RENDERERS:
            raise RenderError(f"renderer {renderer!r}: choose one of {RENDERERS}")
        drone = load_drone(recording.urdf_path)
        self.sim = PyBulletQuadrotor(drone, flight_params(drone, 240.0), recording.ray_directions, recording.max_range_m)
        self.renderer = "tiny"
        if renderer != "tiny" and self._load_egl():
            self.renderer = "egl"
            with _quiet(1, 2):
                self.sim._reset_scene()  # bodies made before the plugin loaded are invisible to it: make them again
        elif renderer == "egl":
            self.sim.close()
            raise RenderError("PyBullet's eglRenderer plugin could not be loaded here. Fix: use --renderer tiny (or auto)")
        self.sim.set_ground(float(recording.bounds_min[2]), visual=True)
        self.sim.set_task(recording.bounds_min, recording.bounds_max, recording.goal_position, recording.goal_radius_m, visual=True)
        self.sim.set_obstacles(ObstacleArrays(recording.obstacle_shape, recording.obstacle_position_m,
                                              recording.obstacle_half_extents_m, recording.obstacle_yaw_rad), visual=True)

    def _load_egl(self) -> bool:
        import pkgutil

        from spikefly.envs.sim.pybullet_client import pybullet

        loader = pkgutil.get_loader("eglRenderer")
        if loader is None:
            return False
        with _quiet(1, 2):
            plugin = pybullet.loadPlugin(loader.get_filename(), "_eglRendererPlugin", physicsClientId=self.sim.client)
        return plugin >= 0

    def pose(self, position, quaternion) -> None:
        from spikefly.envs.sim.pybullet_client import pybullet

        pybullet.resetBasePositionAndOrientation(self.sim.drone_body, list(position), list(quaternion), physicsClientId=self.sim.client)

    def image(self, camera: _Camera) -> NDArray[np.uint8]:
        from spikefly.envs.sim.pybullet_client import pybullet

        with _quiet(1):
            _, _, rgba, _, _ = pybullet.getCameraImage(
                camera.width, camera.height, camera.view, camera.projection,
                renderer=pybullet.ER_BULLET_HARDWARE_OPENGL if self.renderer == "egl" else pybullet.ER_TINY_RENDERER,
                flags=pybullet.ER_NO_SEGMENTATION_MASK, shadow=0, physicsClientId=self.sim.client,
            )
        return np.asarray(rgba, np.uint8).reshape(camera.height, camera.width, 4)[:, :, :3]

    def chase_camera(self, position, yaw_rad: float, width: int, height: int) -> _Camera:
        from spikefly.envs.sim.pybullet_client import pybullet

        c = self.sim.client
        view = pybullet.computeViewMatrixFromYawPitchRoll(list(position), 0.9, math.degrees(yaw_rad) - 90.0, -18.0, 0.0, 2, physicsClientId=c)
        projection = pybullet.computeProjectionMatrixFOV(70.0, width / height, 0.05, 60.0, physicsClientId=c)
        return _Camera(view, projection, width, height)

    def top_camera(self, bounds_min, bounds_max, width: int, height: int) -> _Camera:
        """An overhead camera far above the world with a narrow field of view (nearly orthographic)."""
        from spikefly.envs.sim.pybullet_client import pybullet

        c = self.sim.client
        centre = (np.asarray(bounds_min, float) + np.asarray(bounds_max, float)) / 2.0
        half_x, half_y = (bounds_max[0] - bounds_min[0]) / 2.0, (bounds_max[1] - bounds_min[1]) / 2.0
        altitude = 200.0
        half_height = 1.04 * max(half_y, half_x * height / width)
        fov = 2.0 * math.degrees(math.atan(half_height / (altitude - bounds_max[2])))
        view = pybullet.computeViewMatrix([centre[0], centre[1], altitude], [centre[0], centre[1], 0.0], [0.0, 1.0, 0.0], physicsClientId=c)
        projection = pybullet.computeProjectionMatrixFOV(fov, width / height, altitude - bounds_max[2] - 5.0, altitude + 10.0, physicsClientId=c)
        return _Camera(view, projection, width, height)

    def overhead_image(self, camera: _Camera) -> NDArray[np.uint8]:
        """The obstacles and the goal seen from above, without the ground plane and the drone."""
        from spikefly.envs.sim.pybullet_client import pybullet

        c, sim = self.sim.client, self.sim
        ground, _ = pybullet.getBasePositionAndOrientation(sim.ground, physicsClientId=c)
        pybullet.resetBasePositionAndOrientation(sim.ground, [0.0, 0.0, -1000.0], [0, 0, 0, 1], physicsClientId=c)
        self.pose([0.0, 0.0, -1000.0], [0.0, 0.0, 0.0, 1.0])
        image = self.image(camera).copy()
        pybullet.resetBasePositionAndOrientation(sim.ground, ground, [0, 0, 0, 1], physicsClientId=c)
        return image

    def close(self) -> None:
        with _quiet(1, 2):
            self.sim.close()


def _yaw(quaternion: NDArray[np.float64]) -> float:
    x, y, z, w = quaternion
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def _ray_ends(recording: FlightRecording, step: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """World end points [R, 3] of the rays at state ``step`` and their distance fractions [R]."""
    yaw = _yaw(recording.quaternion[step])
    c, s = math.cos(yaw), math.sin(yaw)
    d = recording.ray_directions
    world = np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1], d[:, 2]], axis=1)
    ranges = recording.ranges_m[step]
    return recording.position_m[step] + world * ranges[:, None], ranges / recording.max_range_m


ACTION_LABELS = {4: ("forward", "left", "up", "yaw")}


def flight_frames(recording: FlightRecording, width: int = 640, height: int = 480, steps: Iterable[int] | None = None,
                  renderer: str = "auto") -> Iterator[NDArray[np.uint8]]:
    """Review frames uint8[H, W, 3] of the states after control steps ``steps`` (default: every step 1..T)."""
    from PIL import Image, ImageDraw

    half_w, half_h = width // 2, height // 2
    bottom = height - _HUD_HEIGHT
    small, regular = font(11), font(13)
    scene = _Scene(recording, renderer)
    try:
        top = scene.top_camera(recording.bounds_min, recording.bounds_max, half_w, half_h)
        map_image = scene.overhead_image(top)
        trail = [tuple(p) for p in top.pixels(top.clip(recording.position_m))]
        corners = top.pixels(top.clip(np.array([[recording.bounds_min[0], recording.bounds_min[1], 0.0],
                                                [recording.bounds_max[0], recording.bounds_max[1], 0.0]])))
        level = np.abs(recording.ray_directions[:, 2]) < 1e-6
        level = level if level.any() else np.ones(len(level), bool)
        raster = SpikeRaster(recording.log, half_w - 34, bottom - half_h - _TITLE_HEIGHT - 6)
        raster_y = half_h + _TITLE_HEIGHT + 2
        speed = np.linalg.norm(recording.velocity_mps, axis=1)
        labels = ACTION_LABELS.get(recording.actions.shape[1], tuple(f"a{i}" for i in range(recording.actions.shape[1])))
        scale = distance_colours(np.linspace(0.0, 1.0, 128))
        goal = top.pixels(top.clip(recording.goal_position[None]))[0]
        goal_px = max(3.0, recording.goal_radius_m / (recording.bounds_max[0] - recording.bounds_min[0]) * (corners[1][0] - corners[0][0]))
        for step in steps if steps is not None else range(1, recording.steps + 1):
            position, quaternion = recording.position_m[step], recording.quaternion[step]
            yaw = _yaw(quaternion)
            ends, fractions = _ray_ends(recording, step)
            colours = [tuple(int(v) for v in colour) for colour in distance_colours(fractions)]
            # chase camera with every ray
            scene.pose(position, quaternion)
            chase = scene.chase_camera(position, yaw, half_w, half_h)
            chase_panel = Image.fromarray(scene.image(chase))
            draw = ImageDraw.Draw(chase_panel)
            for end, colour, fraction in zip(ends, colours, fractions):
                # from just outside the airframe, so the drone stays visible; rays that hit something drawn bolder
                start = position + _RAY_GAP_M * (end - position) / max(float(np.linalg.norm(end - position)), 1e-9)
                segment = chase.segment(start, end)
                if segment:
                    draw.line(segment, fill=colour, width=2 if fraction < 0.999 else 1)
            _label(draw, (4, 2), "chase camera", small)
            # top view: bounds, trail, the level row of rays, goal, drone
            map_panel = Image.fromarray(map_image)
            draw = ImageDraw.Draw(map_panel)
            draw.rectangle([corners[0][0], corners[1][1], corners[1][0], corners[0][1]], outline=(120, 126, 140))
            here = trail[step]
            for pixel, colour, keep in zip(top.pixels(top.clip(ends)), colours, level):
                if keep:
                    draw.line([here, tuple(pixel)], fill=colour, width=1)
            draw.line(trail[: step + 1], fill=(40, 110, 230), width=2)
            draw.ellipse([goal[0] - goal_px, goal[1] - goal_px, goal[0] + goal_px, goal[1] + goal_px], outline=(30, 170, 60), width=2)
            nose = (here[0] + 9.0 * math.cos(yaw), here[1] - 9.0 * math.sin(yaw))
            draw.ellipse([here[0] - 3, here[1] - 3, here[0] + 3, here[1] + 3], fill=(20, 20, 20))
            draw.line([here, nose], fill=(20, 20, 20), width=2)
            _label(draw, (4, 2), f"{Path(recording.world).stem}, seed {recording.seed}: top view", small)
            # compose
            canvas = np.empty((height, width, 3), np.uint8)
            canvas[:] = BACKGROUND
            canvas[half_h:bottom] = PANEL
            canvas[:half_h, :half_w] = np.asarray(chase_panel)
            canvas[:half_h, half_w:] = np.asarray(map_panel)
            paste_raster(canvas, raster, step, 34, raster_y)
            image = Image.fromarray(canvas)
            draw = ImageDraw.Draw(image)
            draw.text((4, half_h + 2), f"spikes: last {raster.window // raster.substeps} control steps x {raster.substeps} substeps",
                      fill=MUTED, font=small)
            label_raster(draw, raster, 0, raster_y, 34, small)
            draw.line([(half_w, half_h), (half_w, bottom)], fill=BACKGROUND, width=2)
            _draw_actions(draw, recording.actions[step - 1], labels, half_w + 10, half_h + 4, half_w - 20, small)
            _draw_scale(image, draw, scale, recording.max_range_m, half_w + 10, bottom - 32, half_w - 20, small)
            _draw_hud(draw, recording, step, speed[step], 6, bottom + 4, regular)
            yield np.asarray(image)
    finally:
        scene.close()


def _label(draw, position: tuple[int, int], text: str, text_font) -> None:
    """Text on a dark box, readable on any picture."""
    left, top, right, bottom = draw.textbbox(position, text, font=text_font)
    draw.rectangle([left - 2, top - 2, right + 2, bottom + 2], fill=(20, 22, 28))
    draw.text(position, text, fill=TEXT, font=text_font)


def _draw_actions(draw, action: NDArray[np.float32], labels, x: int, y: int, width: int, text_font) -> None:
    draw.text((x, y), "actions", fill=MUTED, font=text_font)
    bar_x, bar_w = x + 62, width - 110
    centre = bar_x + bar_w // 2
    for i, (value, label) in enumerate(zip(action.tolist(), labels)):
        top = y + 18 + i * 22
        draw.text((x, top), label, fill=TEXT, font=text_font)
        draw.rectangle([bar_x, top + 2, bar_x + bar_w, top + 14], outline=(80, 84, 96))
        end = centre + value * bar_w / 2
        draw.rectangle([min(centre, end), top + 3, max(centre, end), top + 13], fill=(90, 200, 255) if value >= 0 else (255, 140, 90))
        draw.line([(centre, top), (centre, top + 16)], fill=(200, 200, 200))
        draw.text((bar_x + bar_w + 6, top), f"{value:+.2f}", fill=TEXT, font=text_font)


def _draw_scale(image, draw, scale: NDArray[np.uint8], max_range_m: float, x: int, y: int, width: int, text_font) -> None:
    from PIL import Image

    strip = np.repeat(np.repeat(scale[None], 8, axis=0), max(1, width // len(scale)) + 1, axis=1)[:, :width]
    image.paste(Image.fromarray(np.ascontiguousarray(strip)), (x, y + 14))
    draw.text((x, y), "ray distance", fill=MUTED, font=text_font)
    draw.text((x + width - 48, y), f"{max_range_m:g} m", fill=MUTED, font=text_font)


def _draw_hud(draw, recording: FlightRecording, step: int, speed: float, x: int, y: int, text_font) -> None:
    final = step == recording.steps
    outcome = recording.outcome if final else "flying"
    energy = recording.compute_energy_j[step]
    compute = f"network {energy * 1e3:.3f} mJ" if math.isfinite(energy) else f"{int(recording.synaptic_ops[step])} syn ops"
    text = (f"t {recording.time_s[step]:5.2f} s   speed {speed:4.2f} m/s   clearance {recording.min_clearance_m[step]:4.2f} m   "
            f"rotors {recording.rotor_energy_j[step]:6.1f} J   {compute}   ")
    draw.text((x, y), text, fill=TEXT, font=text_font)
    width = draw.textlength(text, font=text_font)
    draw.text((x + width, y), outcome.upper() if final else outcome, fill=OUTCOME_COLOURS.get(outcome, MUTED), font=text_font)


def render_flight(recording: FlightRecording, path: str | os.PathLike[str], width: int = 640, height: int = 480,
                  progress: bool = False, renderer: str = "auto") -> RenderStats:
    """Write the review video of ``recording`` to ``path`` (.mp4 or .gif) at the control rate."""
    kind = video_kind(path)
    stride = gif_stride(recording.control_hz) if kind == "gif" else 1
    sink = VideoSink(path, width, height, recording.control_hz / stride)
    frames = flight_frames(recording, width, height, range(stride, recording.steps + 1, stride), renderer)
    return sink.write_all(frames, recording.steps // stride, progress)


def frame_at(recording: FlightRecording, step: int, width: int = 640, height: int = 480, renderer: str = "auto") -> NDArray[np.uint8]:
    """One review frame (the state after control step ``step``), e.g. for a README picture."""
    if not 1 <= step <= recording.steps:
        raise RenderError(f"step {step}: the flight has steps 1..{recording.steps}")
    return next(flight_frames(recording, width, height, [step], renderer))


__all__ = ["RENDERERS", "RenderError", "RenderStats", "flight_frames", "frame_at", "render_flight", "require_render_dependencies",
           "video_kind"]
