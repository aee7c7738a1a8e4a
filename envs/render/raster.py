"""The spike raster of a recorded episode, drawn once as images and windowed per video frame."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.render.recording import SpikeLog
from spikefly.envs.render.video import HIDDEN_COLOUR, INPUT_COLOUR, MUTED, OUTPUT_COLOUR, PANEL


class SpikeRaster:
    """The whole episode's raster as images (columns: substeps), windowed per frame.

    Three bands, top to bottom: the input channels (brightness = |value|: spikes, or the analog
    currents of a direct encoder), the hidden neurons and the output neurons (a mark per spike).
    Neurons get up to 6 pixel rows each; the inputs share what is left. A band with more rows
    than pixels shows the most active row of each group.
    """

    def __init__(self, log: SpikeLog, width: int, height: int, column_px: int = 1) -> None:
        steps, k, channels = log.inputs.shape
        inputs = np.abs(log.inputs.reshape(steps * k, channels)).T
        inputs = np.clip(inputs / max(float(inputs.max(initial=0.0)), 1e-9), 0.0, 1.0) * 0.6
        spikes = log.spikes.reshape(steps * k, log.n_neurons).T.astype(bool)
        hidden, outputs = log.hidden_index, np.asarray(log.output_index)
        panel = np.array(PANEL, np.float32)
        bands = [("in", (panel * (1 - inputs[..., None]) + INPUT_COLOUR * inputs[..., None]).astype(np.uint8))]
        for name, index, colour in (("hid", hidden, HIDDEN_COLOUR), ("out", outputs, OUTPUT_COLOUR)):
            image = np.empty((len(index), steps * k, 3), np.uint8)
            image[:] = PANEL
            image[spikes[index]] = colour
            bands.append((name, image))
        neurons = len(hidden) + len(outputs)
        neuron_px = min(6 * neurons, int(0.6 * height)) if channels else height
        budgets = {"in": height - neuron_px if channels else 0}
        for name, image in bands[1:]:
            budgets[name] = round(neuron_px * len(image) / max(neurons, 1))
        self.bands: list[tuple[str, NDArray[np.uint8], int]] = []
        for name, image in bands:
            rows, budget = image.shape[0], budgets[name]
            if rows == 0 or budget < 1:
                continue
            group = math.ceil(rows / budget)
            if group > 1:
                image = np.maximum.reduceat(image, np.arange(0, rows, group), axis=0)
            self.bands.append((name, image, max(1, budget // image.shape[0])))
        self.column_px = column_px
        self.substeps = k
        self.window = width // column_px
        self.height = sum(image.shape[0] * row_px + 1 for _, image, row_px in self.bands)

    def window_image(self, end_step: int) -> NDArray[np.uint8]:
        """The ``window`` substeps before the end of control step ``end_step``, scaled to pixels [height, width, 3]."""
        end = end_step * self.substeps
        start = end - self.window
        parts = []
        for _, image, row_px in self.bands:
            part = image[:, max(start, 0):end]
            if start < 0:
                pad = np.empty((image.shape[0], -start, 3), np.uint8)
                pad[:] = PANEL
                part = np.concatenate([pad, part], axis=1)
            parts.append(np.repeat(np.repeat(part, row_px, axis=0), self.column_px, axis=1))
            separator = np.empty((1, parts[-1].shape[1], 3), np.uint8)
            separator[:] = (70, 74, 86)
            parts.append(separator)
        return np.concatenate(parts, axis=0)

    def label_rows(self) -> list[tuple[int, int, str]]:
        """(first pixel row, last pixel row, name) of each band."""
        rows, top = [], 0
        for name, image, row_px in self.bands:
            bottom = top + image.shape[0] * row_px
            rows.append((top, bottom, name))
            top = bottom + 1
        return rows


def paste_raster(canvas: NDArray[np.uint8], raster: SpikeRaster, end_step: int, x: int, y: int) -> None:
    """Copy the raster window ending at control step ``end_step`` into ``canvas`` at (x, y)."""
    window = raster.window_image(end_step)
    canvas[y:y + window.shape[0], x:x + window.shape[1]] = window


def label_raster(draw, raster: SpikeRaster, x: int, y: int, label_px: int, text_font) -> None:
    """Band names left of a raster pasted at (x + label_px, y), and lines between the bands."""
    for top, bottom, name in raster.label_rows():
        if bottom - top >= 9:
            draw.text((x + 2, y + (top + bottom) // 2 - 6), name, fill=MUTED, font=text_font)
