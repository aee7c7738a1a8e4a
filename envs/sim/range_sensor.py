"""Range-sensor geometry and the noise applied to its readings (shared by every backend)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from spikefly.envs.quadrotor_settings import QuadrotorSettings


def ray_directions(
    n_rays: int, fov_deg: float, up_down_rays: bool, elevations_deg: tuple[float, ...] = (0.0,)
) -> NDArray[np.float64]:
    """Unit ray directions in the heading frame, shape (n_rays x len(elevations_deg) [+ 2], 3).

    Each row of ``n_rays`` rays is spread evenly over ``fov_deg`` of azimuth centred on the
    heading (x forward, y left), ordered right to left; with a full circle the last ray does not
    repeat the first. One row per entry of ``elevations_deg`` (tilted up for positive angles),
    rows in the given order. The optional up and down rays come last.
    """
    if fov_deg >= 360.0:
        angles = np.linspace(-math.pi, math.pi, n_rays, endpoint=False)
    elif n_rays == 1:
        angles = np.zeros(1)
    else:
        half = math.radians(fov_deg) / 2.0
        angles = np.linspace(-half, half, n_rays)
    rows = []
    for elevation in np.radians(np.asarray(elevations_deg, dtype=np.float64)):
        rows.append(np.stack([
            math.cos(elevation) * np.cos(angles), math.cos(elevation) * np.sin(angles), np.full(n_rays, math.sin(elevation)),
        ], axis=1))
    directions = np.concatenate(rows)
    if up_down_rays:
        directions = np.concatenate([directions, [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]])
    return directions


def ray_spacing_rad(n_rays: int, fov_deg: float) -> float:
    """The azimuth between neighbouring rays of a row, as :func:`ray_directions` spreads them."""
    if n_rays < 2:
        return 0.0
    if fov_deg >= 360.0:
        return 2.0 * math.pi / n_rays
    return math.radians(fov_deg) / (n_rays - 1)


def sensor_rays(settings: QuadrotorSettings) -> NDArray[np.float64]:
    """The ray directions of ``settings`` (every backend casts these)."""
    return ray_directions(settings.n_rays, settings.fov_deg, settings.up_down_rays, settings.ray_elevations_deg)


def corrupt_ranges(
    ranges_m: NDArray[np.float64], max_range_m: float, noise_std_m: float, dropout_prob: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Gaussian noise and dropouts (a lost reading reads max range), clipped to [0, max_range_m].

    Draws from ``rng`` only for the corruptions that are switched on, so a clean sensor leaves
    the random stream untouched.
    """
    noisy = ranges_m
    if noise_std_m > 0.0:
        noisy = noisy + rng.normal(0.0, noise_std_m, size=noisy.shape)
    if dropout_prob > 0.0:
        noisy = np.where(rng.random(noisy.shape) < dropout_prob, max_range_m, noisy)
    return np.clip(noisy, 0.0, max_range_m)
