"""Plain-Python oracle of :class:`spikefly.envs.audio.band_frontend.BandFrontEnd` that counts its arithmetic.

:func:`count_operations` runs the bank sample by sample on :class:`Counted` numbers, which tally
every multiply, add (or subtract), shift (a multiply by ``2^-k``) and power they take part in.
It is slow (~1 s per 0.1 s of audio) and written for reading: the tests hold its frames equal to
the Numba kernel's, bit for bit, and its operations per frame equal to
:meth:`BandFrontEnd.cost_per_frame`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from spikefly.envs.audio.band_frontend import BandFrontEnd


@dataclass
class Tally:
    """Operation counts by kind (``mults``, ``adds``, ``shifts``, ``powers``, ``divides``)."""

    counts: Counter = field(default_factory=Counter)


class Counted:
    """A float that counts the arithmetic done with it in ``tally`` (only the operations the bank uses)."""

    __slots__ = ("value", "tally")

    def __init__(self, value: float, tally: Tally) -> None:
        self.value = float(value)
        self.tally = tally

    def _other(self, other: Counted | float) -> float:
        return other.value if isinstance(other, Counted) else float(other)

    def _count(self, kind: str, value: float) -> Counted:
        self.tally.counts[kind] += 1
        return Counted(value, self.tally)

    def __add__(self, other: Counted | float) -> Counted:
        return self._count("adds", self.value + self._other(other))

    def __sub__(self, other: Counted | float) -> Counted:
        return self._count("adds", self.value - self._other(other))

    def __mul__(self, other: Counted | float) -> Counted:
        return self._count("mults", self.value * self._other(other))

    def __truediv__(self, other: Counted | float) -> Counted:
        return self._count("divides", self.value / self._other(other))

    def __pow__(self, exponent: float) -> Counted:
        return self._count("powers", self.value ** float(exponent))

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other: float) -> Counted:
        return self._count("adds", float(other) - self.value)

    def shifted(self, scale: float) -> Counted:
        """``self * 2^-k`` (``scale`` is ``2^-k``): an arithmetic shift right in fixed point."""
        return self._count("shifts", self.value * scale)


def count_operations(front_end: BandFrontEnd, audio: NDArray[np.floating]) -> tuple[NDArray[np.float32], list[Counter]]:
    """Frames float32[T, bands] of ``audio`` computed plainly, and the operations counted for each frame.

    Entry ``t`` of the list counts what was done after frame ``t - 1`` was output up to and including
    the output of frame ``t`` (entry 0 includes the samples before the first frame).
    """
    tally = Tally()
    c = front_end.coefficients
    bands, hop, window = front_end.bands, front_end.hop_samples, front_end.window_samples
    interval = hop // front_end.snapshots_per_frame
    smoothing, alpha, delta, root = front_end.pcen_smoothing, front_end.pcen_alpha, front_end.pcen_delta, front_end.pcen_root
    delta_root = delta**root
    delays = front_end.delays
    zero = Counted(0.0, tally)
    x1 = x2 = zero
    outputs = [[zero] * (int(delays.max()) + 1) for _ in range(bands)]  # outputs[b][j] = y[n - j]
    accumulated = [zero] * bands
    smoothed = [zero] * bands
    frame_power = zero
    tonality = front_end.normalisation == "tonality"
    started = False
    frames: list[list[float]] = []
    per_frame: list[Counter] = []
    counted_before = Counter()
    for position, sample in enumerate(np.asarray(audio, dtype=np.float64), start=1):
        x = Counted(sample, tally)
        v = x - x2
        x2, x1 = x1, x
        if tonality and position > window - hop:
            frame_power = frame_power + x * x
        for b in range(bands):
            y1, y2 = outputs[b][0], outputs[b][1]
            y = v + y1 * c["feedback"][b] - y2 + y2.shifted(c["decay_shift"][b])
            outputs[b] = [y, *outputs[b][:-1]]
        if position >= window - hop + interval and (position - (window - hop + interval)) % interval == 0:
            for b in range(bands):
                y, u = outputs[b][0], outputs[b][delays[b]]
                accumulated[b] = accumulated[b] + (y * (y - u * c["envelope_coefficient"][b]) + u * u)
        if position >= window and (position - window) % hop == 0:
            row = []
            if tonality:
                denominator = frame_power * (1.0 / hop) + front_end.tonality_floor
                frame_power = zero
            for b in range(bands):
                energy = accumulated[b] * c["power_scale"][b]
                accumulated[b] = zero
                if tonality:
                    row.append(energy / denominator)
                else:
                    smoothed[b] = smoothed[b] + (energy - smoothed[b]) * smoothing if started else energy
                    row.append((energy * (smoothed[b] + front_end.pcen_floor) ** -alpha + delta) ** root - delta_root)
            started = True
            frames.append([value.value for value in row])
            per_frame.append(tally.counts - counted_before)
            counted_before = Counter(tally.counts)
    return np.array(frames, dtype=np.float32).reshape(len(frames), bands), per_frame
