"""Settings of the quadrotor environment: one frozen dataclass, a docstring per field."""

from __future__ import annotations

from collections.abc import Mapping

import math
from dataclasses import dataclass, field, fields

from spikefly.envs.sim.reward import RewardWeights

ACTION_MODES = ("velocity", "guided", "gap", "rpm")
MODEL_VARIATIONS = ("mass_variation", "thrust_variation", "motor_lag_variation")
"""The model-error settings: per-episode variation of the true drone, as a fraction of nominal."""
MAX_VARIATION = 0.5
"""Model variations must stay below this (at 0.5 a drone could weigh 1.5x and lift 0.5x nominal)."""
PROGRESS_METRICS = ("euclidean", "path")


MAX_SCALE = 1e6
"""No rate, speed, range or time constant of the quadrotor env goes beyond this (in SI units)."""
MAX_RAYS = 1_024
MAX_RAY_ROWS = 32


@dataclass(frozen=True)
class QuadrotorSettings:
    """Everything that shapes ``spikefly/QuadrotorAvoid-v0`` apart from the world."""

    action_mode: str = "velocity"
    """``"velocity"``: forward, lateral, vertical velocity and yaw-rate set-points tracked by the
    inner controller; ``"guided"``: the same set-points added to a goal-seeking guidance law's
    (action 0 flies straight at the goal); ``"gap"``: the same set-points added to a gap-seeking
    law's, which flies toward the free direction nearest the goal (:mod:`spikefly.envs.sim.guidance`);
    ``"rpm"``: normalised per-motor commands."""
    physics_hz: float = 240.0
    """Physics steps per second."""
    control_hz: float = 30.0
    """Control steps (env steps) per second; ``physics_hz / control_hz`` must be an integer."""
    n_rays: int = 16
    """Horizontal range-sensor rays, evenly spread over ``fov_deg``."""
    fov_deg: float = 180.0
    """Horizontal field of view of the rays, centred on the heading; 360 for all round."""
    ray_elevations_deg: tuple[float, ...] = (0.0,)
    """One row of ``n_rays`` rays per elevation, degrees above the horizontal plane of the heading
    (e.g. ``(-30, 0, 30)`` to see openings above and below); rows in this order."""
    up_down_rays: bool = False
    """Add one ray straight up and one straight down."""
    max_range_m: float = 4.0
    """Range-sensor reach; readings are distance / max_range in [0, 1]."""
    geofence_rays: bool = False
    """Rays also stop at the world's bounds, as if its faces were walls: a geofence the drone knows
    from its own position, so leaving the bounds is seen like any obstacle, and open air above a
    gate (outside the bounds) no longer reads as a way through."""
    max_speed_xy_mps: float = 2.0
    """Horizontal velocity set-point at action +-1 (velocity mode)."""
    max_speed_z_mps: float = 1.0
    """Vertical velocity set-point at action +-1 (velocity mode)."""
    max_yaw_rate_rps: float = 1.5
    """Yaw-rate set-point at action +-1 (velocity mode), rad/s."""
    range_noise_std_m: float = 0.0
    """Gaussian noise on each range reading (domain randomisation; 0 = off)."""
    range_dropout_prob: float = 0.0
    """Chance that a reading is lost and reported as max range (0 = off)."""
    wind_speed_mps: float = 0.0
    """Upper bound of the mean horizontal wind, drawn per episode (0 = off)."""
    wind_gust_std_mps: float = 0.0
    """Standard deviation of wind gusts, an Ornstein-Uhlenbeck process per axis (0 = off)."""
    wind_gust_time_constant_s: float = 1.5
    """Correlation time of the gusts."""
    mass_variation: float = 0.0
    """Model error: each episode's true mass (and inertia, scaled with it) is drawn uniformly in
    nominal x (1 +- this), e.g. 0.1 for +-10 %; the inner controller keeps the nominal value (0 = off)."""
    thrust_variation: float = 0.0
    """Model error: each episode's rotor thrust coefficient kf is drawn uniformly in nominal x (1 +- this),
    and the torque coefficient km scales by the same draw (a propeller's thrust and drag torque both
    follow air density and blade pitch); the inner controller keeps the nominal values (0 = off)."""
    motor_lag_variation: float = 0.0
    """Model error: each episode's motor time constant is drawn uniformly in nominal x (1 +- this)
    (0 = off)."""
    goal_distance_scale_m: float = 20.0
    """Goal distances at or beyond this read as 1 in the observation."""
    velocity_scale_mps: float = 4.0
    """Body velocities are divided by this (and clipped to [-1, 1]) in the observation."""
    progress_metric: str = "euclidean"
    """Potential of the progress reward: ``"euclidean"``, the straight-line distance to the goal, or
    ``"path"``, the length of the shortest obstacle-free path (so flying toward an opening in a
    wall is progress; :mod:`spikefly.envs.sim.path_field`, ~20 ms per new layout)."""
    path_cell_m: float = 0.25
    """Grid cell of the path-distance field, m (``progress_metric="path"``)."""
    render_width: int = 640
    """Width of ``render()`` frames in ``rgb_array`` mode, pixels."""
    render_height: int = 480
    """Height of ``render()`` frames in ``rgb_array`` mode, pixels."""
    urdf_path: str | None = None
    """Drone URDF with a ``<spikefly_drone>`` element; None for the bundled Crazyflie 2.x."""
    reward: RewardWeights = field(default_factory=RewardWeights)
    """Weights of the named reward terms (a RewardWeights or a dict of its fields)."""

    def __post_init__(self) -> None:
        if isinstance(self.reward, dict):
            object.__setattr__(self, "reward", RewardWeights.from_mapping(self.reward))
        if self.action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode={self.action_mode!r}: choose one of {ACTION_MODES}")
        if self.progress_metric not in PROGRESS_METRICS:
            raise ValueError(f"progress_metric={self.progress_metric!r}: choose one of {PROGRESS_METRICS}")
        for name in ("path_cell_m", "physics_hz", "control_hz", "max_range_m", "max_speed_xy_mps", "max_speed_z_mps",
                     "max_yaw_rate_rps", "wind_gust_time_constant_s", "goal_distance_scale_m", "velocity_scale_mps"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name}={value!r}: must be a positive finite number")
            if value > MAX_SCALE:
                raise ValueError(f"{name}={value!r}: at most {MAX_SCALE:g}")
        for name in ("range_noise_std_m", "wind_speed_mps", "wind_gust_std_mps"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= MAX_SCALE):
                raise ValueError(f"{name}={value!r}: must be a finite number from 0 to {MAX_SCALE:g}")
        for name in MODEL_VARIATIONS:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < MAX_VARIATION):
                raise ValueError(
                    f"{name}={value!r}: must be a fraction in [0, {MAX_VARIATION:g}) of the nominal value "
                    f"(0.1 draws each episode's value within +-10 %; 0 = off)"
                )
        if not 0.0 <= self.range_dropout_prob < 1.0:
            raise ValueError(f"range_dropout_prob={self.range_dropout_prob!r}: must be in [0, 1)")
        ratio = self.physics_hz / self.control_hz
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(
                f"physics_hz / control_hz = {self.physics_hz} / {self.control_hz} = {ratio:g} is not a whole number "
                f"of physics steps per control step. Fix: pick control_hz dividing physics_hz, e.g. 240 / 30."
            )
        elevations = self.ray_elevations_deg
        if not isinstance(elevations, (list, tuple)) or not all(
                isinstance(value, (int, float)) and not isinstance(value, bool) for value in elevations):
            raise ValueError(f"ray_elevations_deg={self.ray_elevations_deg!r}: must be a list of angles in degrees")
        elevations = tuple(float(value) for value in elevations)
        if len(elevations) > MAX_RAY_ROWS:
            raise ValueError(f"ray_elevations_deg: {len(elevations)} rows of rays, at most {MAX_RAY_ROWS}")
        if not elevations or not all(-90.0 < value < 90.0 for value in elevations):
            raise ValueError(f"ray_elevations_deg={self.ray_elevations_deg!r}: give at least one angle, each in (-90, 90) degrees")
        object.__setattr__(self, "ray_elevations_deg", elevations)
        if not (isinstance(self.n_rays, int) and not isinstance(self.n_rays, bool) and 1 <= self.n_rays <= MAX_RAYS):
            raise ValueError(f"n_rays={self.n_rays!r}: must be an integer from 1 to {MAX_RAYS}")
        if not 0.0 < self.fov_deg <= 360.0:
            raise ValueError(f"fov_deg={self.fov_deg!r}: must be in (0, 360]")
        if not isinstance(self.geofence_rays, bool):
            raise ValueError(f"geofence_rays={self.geofence_rays!r}: must be true or false")
        for name in ("render_width", "render_height"):
            if not (isinstance(getattr(self, name), int) and 16 <= getattr(self, name) <= 4096):
                raise ValueError(f"{name}={getattr(self, name)!r}: must be an integer from 16 to 4096")

    @property
    def physics_steps_per_control(self) -> int:
        return round(self.physics_hz / self.control_hz)

    @classmethod
    def from_kwargs(cls, **values: object) -> QuadrotorSettings:
        """Build from keyword arguments; a misspelled name is an error that lists the valid ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            import difflib

            hints = [f"{name!r} (did you mean {difflib.get_close_matches(name, known, 1)[0]!r}?)"
                     if difflib.get_close_matches(name, known, 1) else repr(name) for name in unknown]
            raise TypeError(f"unknown QuadrotorAvoid setting(s): {', '.join(hints)}. Valid: {sorted(known)}")
        return cls(**values)  # type: ignore[arg-type]


def control_rate(env_settings: Mapping[str, object]) -> tuple[float, int]:
    """Control steps per second of a quadrotor controller with these env settings, and no fixed MACs."""
    return QuadrotorSettings.from_kwargs(**env_settings).control_hz, 0


def observation_layout(settings: QuadrotorSettings) -> dict[str, slice]:
    """Where each named part of the observation vector lives (see the env's observation table)."""
    n_ranges = settings.n_rays * len(settings.ray_elevations_deg) + (2 if settings.up_down_rays else 0)
    names_and_sizes = [
        ("ranges", n_ranges),
        ("goal_bearing_sin", 1),
        ("goal_bearing_cos", 1),
        ("goal_distance", 1),
        ("goal_height", 1),
        ("body_velocity", 3),
        ("roll", 1),
        ("pitch", 1),
        ("altitude", 1),
    ]
    layout, start = {}, 0
    for name, size in names_and_sizes:
        layout[name] = slice(start, start + size)
        start += size
    return layout


def observation_space(settings: QuadrotorSettings):
    """The observation Box (float32, R + 10 elements) of both backends; bounds as in the env's table."""
    import numpy as np
    from gymnasium import spaces

    layout = observation_layout(settings)
    low = np.zeros(layout["altitude"].stop, np.float32)
    high = np.ones_like(low)
    for name in ("goal_bearing_sin", "goal_bearing_cos", "goal_height", "body_velocity", "roll", "pitch"):
        low[layout[name]] = -1.0
    return spaces.Box(low, high, dtype=np.float32)
