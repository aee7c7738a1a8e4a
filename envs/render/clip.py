"""Review videos of recorded audio clips: spectrogram, event windows, input spikes, raster, detections.

Reads a :class:`~spikefly.envs.render.recording.ListeningRecording` (arrays). 25 frames per second for
the clip's duration (real time), with the clip itself as the sound track when the recording
holds its samples. Layout (640x480 by default)::

    title
    whole clip: mel features (32 bands), event windows, detections, playhead
    last 3 s: mel features, event strip, input spikes / hidden / output raster, detections
    heads-up line: time, events and detections so far, the clip's final score

Everything is drawn once for the whole clip (numpy) and each frame is a few slices and a
playhead, so a 60 s clip renders in seconds.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.render.recording import ListeningRecording
from spikefly.envs.render.raster import SpikeRaster, label_raster, paste_raster
from spikefly.envs.render.video import BACKGROUND, MUTED, PANEL, TEXT, RenderStats, VideoSink, font, gif_stride, video_kind

VIDEO_FPS = 25.0
"""Frames per second of an audio review video (4 feature frames of 10 ms each per video frame)."""
WINDOW_S = 3.0
TARGET_COLOUR = (90, 220, 120)
DISTRACTOR_COLOUR = (150, 150, 160)
DETECTION_COLOUR = (255, 84, 104)
_LABEL_PX = 34


def _feature_colours(features: NDArray[np.float32]) -> NDArray[np.uint8]:
    """RGB [B, T, 3] of features [T, B], low bands at the bottom (magma over -1 .. 6 log units)."""
    from matplotlib import colormaps

    lut = (colormaps["magma"](np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)
    index = np.clip((features.T[::-1] + 1.0) / 7.0 * 255.0, 0, 255).astype(np.int64)
    return lut[index]


def _triggers(detections: NDArray[np.int8]) -> NDArray[np.int64]:
    """Frames where the action rises to a class (what the scorer counts as a trigger)."""
    previous = np.concatenate([[0], detections[:-1]])
    return np.flatnonzero((detections != 0) & (detections != previous))


def _strip(recording: ListeningRecording, column_px: int, height: int) -> NDArray[np.uint8]:
    """Event windows and detections along the clip [height, T x column_px, 3]: events above, detections below."""
    steps = recording.steps
    strip = np.empty((height, steps * column_px, 3), np.uint8)
    strip[:] = PANEL
    targets = set(recording.classes.tolist())
    half = height // 2
    for onset, offset, label in zip(recording.event_onset_s, recording.event_offset_s, recording.event_label):
        first, last = (round(v / recording.frame_s) * column_px for v in (onset, offset))
        strip[1:half - 1, max(first, 0):max(last, first + 1)] = TARGET_COLOUR if label in targets else DISTRACTOR_COLOUR
    active = np.repeat(recording.detections != 0, column_px)
    strip[half + 1:height - 1, active] = (120, 50, 60)
    for frame in _triggers(recording.detections):
        strip[half:height, frame * column_px:(frame + 1) * column_px + 1] = DETECTION_COLOUR
    return strip


def listening_frames(recording: ListeningRecording, width: int = 640, height: int = 480, stride: int = 1):
    """Review frames uint8[H, W, 3] at ``VIDEO_FPS / stride`` frames per second."""
    from PIL import Image, ImageDraw

    small, regular = font(11), font(13)
    steps, frame_s = recording.steps, recording.frame_s
    inner = width - _LABEL_PX - 6
    # whole clip overview
    overview_h = 96
    overview = _feature_colours(recording.features)
    columns = np.minimum((np.arange(inner) * steps / inner).astype(np.int64), steps - 1)
    overview = np.repeat(overview[:, columns], 3, axis=0)[:overview_h]
    overview_strip = _strip(recording, 1, 12)[:, columns]
    # last WINDOW_S seconds, 2 px per frame when it fits
    window_frames = round(WINDOW_S / frame_s)
    column_px = max(1, inner // window_frames)
    zoom = np.repeat(np.repeat(_feature_colours(recording.features), 3, axis=0), column_px, axis=1)
    zoom_strip = _strip(recording, column_px, 16)
    y_overview, y_zoom = 18, 18 + overview_h + 12 + 22
    y_strip = y_zoom + zoom.shape[0] + 2
    y_raster = y_strip + 16 + 16
    bottom = height - 22
    raster = SpikeRaster(recording.log, window_frames * column_px, bottom - y_raster - 4, column_px=column_px)
    window_px = window_frames * column_px
    n_frames = math.ceil(steps * frame_s * VIDEO_FPS / stride - 1e-9)
    triggers = _triggers(recording.detections)
    targets = set(recording.classes.tolist())
    counts = recording.counts
    final = (f"clip: {counts.get('hits', 0)} hits, {counts.get('misses', 0)} misses, {counts.get('false_alarms', 0)} false alarms, "
             f"return {recording.total_return:.2f}")
    for index in range(n_frames):
        now_s = (index + 1) * stride / VIDEO_FPS
        end = min(steps, round(now_s / frame_s))
        canvas = np.empty((height, width, 3), np.uint8)
        canvas[:] = BACKGROUND
        x0 = _LABEL_PX
        canvas[y_overview:y_overview + overview_h, x0:x0 + inner] = overview
        canvas[y_overview + overview_h + 2:y_overview + overview_h + 14, x0:x0 + inner] = overview_strip
        start = end * column_px - window_px
        for image, top in ((zoom, y_zoom), (zoom_strip, y_strip)):
            part = image[:, max(start, 0):end * column_px]
            canvas[top:top + image.shape[0], x0 + window_px - part.shape[1]:x0 + window_px] = part
        canvas[y_raster - 2:bottom - 2, x0:x0 + window_px] = PANEL
        paste_raster(canvas, raster, end, x0, y_raster)
        playhead = x0 + int(end / steps * inner)
        canvas[y_overview:y_overview + overview_h + 14, min(playhead, x0 + inner - 1)] = (255, 255, 255)
        image = Image.fromarray(canvas)
        draw = ImageDraw.Draw(image)
        draw.text((4, 2), f"{Path(recording.world).stem}, seed {recording.seed}: detecting {', '.join(recording.classes)}   "
                  f"(green: target events, grey: distractors, red: detections)", fill=TEXT, font=small)
        draw.text((2, y_overview + overview_h // 2 - 6), "mel", fill=MUTED, font=small)
        draw.text((x0, y_zoom - 16), f"last {WINDOW_S:g} s", fill=MUTED, font=small)
        draw.text((2, y_zoom + zoom.shape[0] // 2 - 6), "mel", fill=MUTED, font=small)
        draw.text((2, y_strip + 2), "ev/det", fill=MUTED, font=small)
        label_raster(draw, raster, 0, y_raster, _LABEL_PX, small)
        events = int(np.sum(recording.event_onset_s <= end * frame_s))
        hits_so_far = int(np.sum(triggers < end))
        label = "target" if len(targets) == 1 else "events"
        text = f"t {end * frame_s:5.2f} s   {label} events so far {events}   triggers so far {hits_so_far}   "
        draw.text((6, bottom + 4), text, fill=TEXT, font=regular)
        draw.text((6 + draw.textlength(text, font=regular), bottom + 4), final if end == steps else "listening",
                  fill=TARGET_COLOUR if end == steps else MUTED, font=regular)
        yield np.asarray(image)


def render_listening(recording: ListeningRecording, path: str | os.PathLike[str], width: int = 640, height: int = 480,
                     progress: bool = False, audio: bool = True) -> RenderStats:
    """Write the review video of ``recording`` to ``path`` (.mp4 with the clip as sound, or .gif) in real time."""
    kind = video_kind(path)
    stride = gif_stride(VIDEO_FPS) if kind == "gif" else 1
    with tempfile.TemporaryDirectory() as folder:
        audio_path = None
        if audio and kind == "mp4" and recording.audio is not None:
            import soundfile

            audio_path = os.path.join(folder, "clip.wav")
            soundfile.write(audio_path, recording.audio, recording.sample_rate)
        sink = VideoSink(path, width, height, VIDEO_FPS / stride, audio_path=audio_path)
        total = math.ceil(recording.steps * recording.frame_s * VIDEO_FPS / stride - 1e-9)
        return sink.write_all(listening_frames(recording, width, height, stride), total, progress)


__all__ = ["VIDEO_FPS", "listening_frames", "render_listening"]
