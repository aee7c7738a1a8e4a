"""The gap-seeking guidance law of ``action_mode="gap"``: a reactive set-point from the observation alone.

At every control step it picks, among the range rays, the free direction nearest the goal and
flies along it; the controller's action is then added to that set-point (as in ``"guided"``
mode, whose law flies straight at the goal), so a controller only has to learn where the law
goes wrong. It reads nothing but the observation vector the controller also reads (ranges, goal
bearing, distance and height, body velocity), so PyBullet and the twin, given equal
observations, give equal set-points, and on a drone it is a few dozen lines beside the velocity
controller. Memoryless: the drone's own velocity, which the observation holds, is what keeps it
going one way along a wall rather than dithering.

The law, per control step (every length in metres, every direction in the heading frame):

1. The goal direction ``g``: the bearing, the distance (``goal_distance`` times its scale) and
   the height difference (``goal_height`` times 2 m) make a 3-D unit vector.
2. Each ray of the rows (not the up/down rays) gets an *effective range*: its own reading when
   the opening around it is wide enough for the drone (its two azimuth neighbours' readings,
   capped at its own, times the sine of the ray spacing, add up to at least
   :data:`GAP_MIN_WIDTH_M`), otherwise the smallest of it and its neighbours'.
3. Each ray scores its alignment with ``g`` (the cosine), plus :data:`GAP_OPEN_WEIGHT` times its
   effective range as a fraction of what is needed (the goal distance, at most
   :data:`GAP_LOOKAHEAD_M`), minus 2 if that is under ``min(needed, 1 m)``, plus
   :data:`GAP_MOMENTUM` times its alignment with the current velocity (when faster than 0.2 m/s,
   scaled by the speed up to 1 m/s), plus, for a ray clear for what is needed,
   :data:`GAP_JUMP_WEIGHT` times how far it reads beyond the nearer of its two azimuth
   neighbours (over :data:`GAP_JUMP_M`, at most 1): an opening in a wall is a ray that reads far
   past its neighbours, where the side of a wall that merely runs out of range reads no further
   than the rays beside it. The best ray is the direction of travel; the goal direction itself
   when the ray nearest it (within 14 degrees) is clear for what is needed.
4. Readings nearer than :data:`GAP_REPEL_M` push away: the depth-weighted sum of their
   directions, at most as long as the deepest one, times :data:`GAP_REPEL_GAIN`.
5. Speed: :data:`GAP_CRUISE` of full speed, times the effective range along the direction of
   travel less 0.3 m over 1.5 m (between 0.2 and 1); a goal behind the drone (bearing beyond
   90 degrees) turns it in place at a fifth of that speed.
6. Set-points, in the velocity mode's units: forward and lateral from the horizontal part,
   vertical twice the vertical part, yaw rate toward the direction of travel (toward the goal
   when it is behind) at 2/s per radian; each clipped to [-1, 1].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from spikefly.envs.sim.flight_control import clip_unit

GAP_LOOKAHEAD_M = 3.0
"""How far a direction must be clear to count as fully open (or the goal distance when nearer)."""
GAP_MIN_WIDTH_M = 0.6
"""An opening at least this wide between a ray's neighbours counts as passable on its own."""
GAP_OPEN_WEIGHT = 0.6
"""Weight of openness against alignment with the goal in a ray's score."""
GAP_MOMENTUM = 0.6
"""Weight of alignment with the current velocity: keeps the drone going one way along a wall."""
GAP_JUMP_WEIGHT = 2.0
"""Weight of a clear ray's reading beyond its nearer azimuth neighbour: finds windows and the gaps
of offset walls among rays that only read past the end of the sensor's range."""
GAP_JUMP_M = 1.5
"""The reading beyond the nearer neighbour that earns the whole of :data:`GAP_JUMP_WEIGHT`."""
GAP_REPEL_M = 0.6
"""A reading nearer than this pushes the drone away from it."""
GAP_REPEL_GAIN = 4.0
"""Set-point push per metre inside :data:`GAP_REPEL_M`. The readings inside it push along the sum of
their directions, weighted by depth, but never harder than the closest reading alone: a plain sum
would grow with how many rays see the same wall, and a wall seen by a dozen rays would cancel
the way along it."""
GAP_CRUISE = 1.0
"""Set-point speed in open space, as a fraction of full speed."""
GAP_YAW_GAIN = 2.0
"""Yaw-rate set-point per radian toward the direction of travel, 1/s."""

GUIDANCE_NONE, GUIDANCE_GOAL, GUIDANCE_GAP = 0, 1, 2
"""The guidance law under the action, by ``action_mode``: none ("velocity", "rpm"), the
goal-seeking law ("guided", :func:`spikefly.envs.sim.flight_control.guided_setpoint`) or this
module's gap-seeking law ("gap")."""


def guidance_code(action_mode: str) -> int:
    """The :data:`GUIDANCE_NONE` ... code of an ``action_mode``."""
    return {"guided": GUIDANCE_GOAL, "gap": GUIDANCE_GAP}.get(action_mode, GUIDANCE_NONE)


@njit(cache=True)
def gap_setpoint(action, observation, directions, n_rays, n_rows, ray_spacing_rad, max_range_m, goal_distance_scale_m,
                 velocity_scale_mps, max_yaw_rate_rps):
    """``action_mode="gap"``: the velocity-mode set-point (a 4-tuple) for ``action`` (4,) in [-1, 1].

    ``observation`` float32: the observation the controller read this step (its layout:
    :func:`spikefly.envs.quadrotor_settings.observation_layout`); ``directions`` (R, 3) the ray
    directions in the heading frame, rows of ``n_rays`` first (``n_rows`` of them), then any
    up/down rays; ``ray_spacing_rad`` the azimuth between neighbours in a row. The law is the
    module docstring's; ``action`` is added to its set-points, each then clipped to [-1, 1].
    """
    n_ranges = directions.shape[0]
    count = n_rays * n_rows
    ranges = np.empty(count)
    for i in range(count):
        ranges[i] = np.float64(observation[i]) * max_range_m
    sin_b = np.float64(observation[n_ranges])
    cos_b = np.float64(observation[n_ranges + 1])
    distance = np.float64(observation[n_ranges + 2]) * goal_distance_scale_m
    dz = np.float64(observation[n_ranges + 3]) * 2.0
    horizontal = math.sqrt(max(distance * distance - dz * dz, 1e-6))
    gx, gy, gz = horizontal * cos_b, horizontal * sin_b, dz
    norm = math.sqrt(gx * gx + gy * gy + gz * gz) + 1e-9
    gx, gy, gz = gx / norm, gy / norm, gz / norm
    vx = np.float64(observation[n_ranges + 4]) * velocity_scale_mps
    vy = np.float64(observation[n_ranges + 5]) * velocity_scale_mps
    vz = np.float64(observation[n_ranges + 6]) * velocity_scale_mps
    speed = math.sqrt(vx * vx + vy * vy + vz * vz)
    needed = min(distance, GAP_LOOKAHEAD_M)
    blocked = min(needed, 1.0)
    spacing = math.sin(ray_spacing_rad)
    effective = np.empty(count)
    beyond = np.empty(count)  # how far each ray reads past the nearer of its neighbours
    for row in range(n_rows):
        for k in range(n_rays):
            i = row * n_rays + k
            own = ranges[i]
            narrowest = own
            width = 0.0
            if k > 0:
                narrowest = min(narrowest, ranges[i - 1])
                width += min(ranges[i - 1], own) * spacing
            if k < n_rays - 1:
                narrowest = min(narrowest, ranges[i + 1])
                width += min(ranges[i + 1], own) * spacing
            effective[i] = own if width >= GAP_MIN_WIDTH_M else narrowest
            beyond[i] = own - narrowest
    best, best_score, nearest, nearest_cos = 0, -1e30, 0, -2.0
    for i in range(count):
        alignment = directions[i, 0] * gx + directions[i, 1] * gy + directions[i, 2] * gz
        score = alignment + GAP_OPEN_WEIGHT * min(effective[i], needed) / needed
        if effective[i] < blocked:
            score -= 2.0
        elif effective[i] >= needed:
            score += GAP_JUMP_WEIGHT * min(1.0, beyond[i] / GAP_JUMP_M)
        if speed > 0.2:
            score += GAP_MOMENTUM * min(speed, 1.0) * (
                directions[i, 0] * vx + directions[i, 1] * vy + directions[i, 2] * vz) / speed
        if score > best_score:
            best, best_score = i, score
        if alignment > nearest_cos:
            nearest, nearest_cos = i, alignment
    dx, dy, dzt = directions[best, 0], directions[best, 1], directions[best, 2]
    if effective[nearest] >= needed and nearest_cos > 0.97:
        dx, dy, dzt = gx, gy, gz
    px = py = pz = deepest = 0.0
    for i in range(count):
        if ranges[i] < GAP_REPEL_M:
            depth = GAP_REPEL_M - ranges[i]
            deepest = max(deepest, depth)
            px -= depth * directions[i, 0]
            py -= depth * directions[i, 1]
            pz -= depth * directions[i, 2]
    total = math.sqrt(px * px + py * py + pz * pz)
    if total > deepest:  # one surface seen by many rays pushes as hard as its closest reading
        px, py, pz = px * deepest / total, py * deepest / total, pz * deepest / total
    px, py, pz = GAP_REPEL_GAIN * px, GAP_REPEL_GAIN * py, GAP_REPEL_GAIN * pz
    front, front_cos = 0.0, -2.0
    for i in range(count):
        alignment = directions[i, 0] * dx + directions[i, 1] * dy + directions[i, 2] * dzt
        if alignment > front_cos:
            front, front_cos = effective[i], alignment
    scale = min(1.0, max(0.2, (front - 0.3) / 1.5))
    if cos_b <= 0.0:
        scale *= 0.2
        yaw_target = math.atan2(sin_b, cos_b)
    else:
        yaw_target = math.atan2(dy, dx)
    return (
        clip_unit(clip_unit((GAP_CRUISE * dx + px) * scale) + action[0]),
        clip_unit(clip_unit((GAP_CRUISE * dy + py) * scale) + action[1]),
        clip_unit(clip_unit(2.0 * (GAP_CRUISE * dzt + pz)) + action[2]),
        clip_unit(clip_unit(GAP_YAW_GAIN * yaw_target / max_yaw_rate_rps) + action[3]),
    )
