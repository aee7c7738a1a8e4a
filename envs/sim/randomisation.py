"""Domain randomisation of the quadrotor: what each episode's seed draws, and named presets.

Every draw comes from the episode's seed, the same way in the PyBullet env, the Numba twin and
the fused population rollout, so one seed flies the same episode in every engine. The keys are
:class:`~spikefly.envs.quadrotor_settings.QuadrotorSettings` fields (0 switches a kind off):

| key | drawn per episode |
|---|---|
| ``range_noise_std_m`` | Gaussian noise on every range reading, every control step, m |
| ``range_dropout_prob`` | chance that a reading is lost (reads max range), every step |
| ``wind_speed_mps`` | mean horizontal wind: speed uniform in [0, this], heading uniform |
| ``wind_gust_std_mps`` | gusts: an Ornstein-Uhlenbeck process per axis with this std |
| ``wind_gust_time_constant_s`` | correlation time of the gusts (not a switch) |
| ``mass_variation`` | true mass (and inertia, scaled with it) uniform in nominal x (1 +- this) |
| ``thrust_variation`` | true thrust coefficient kf, and torque coefficient km by the same factor |
| ``motor_lag_variation`` | true motor time constant uniform in nominal x (1 +- this) |

Model error (the last three) changes only the drone that is flown; the inner flight controller
keeps the nominal constants, as a real one would not know the true mass.

``PRESETS`` bundle values for ``spikefly evaluate --randomise [NAME_OR_FILE]``;
:func:`load_randomisation` reads a preset name or a JSON / TOML file of these keys.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from spikefly.core import SpikeflyError
from spikefly.envs.sim.drone_model import DroneParams, FlightParams, flight_record
from spikefly.envs.quadrotor_settings import MODEL_VARIATIONS, QuadrotorSettings

RANDOMISATION_KEYS = (
    "range_noise_std_m", "range_dropout_prob", "wind_speed_mps", "wind_gust_std_mps", "wind_gust_time_constant_s",
    *MODEL_VARIATIONS,
)
"""The QuadrotorSettings keys a randomisation file or preset may set."""

PRESETS: dict[str, dict[str, float]] = {
    "off": {
        "range_noise_std_m": 0.0, "range_dropout_prob": 0.0, "wind_speed_mps": 0.0, "wind_gust_std_mps": 0.0,
        "mass_variation": 0.0, "thrust_variation": 0.0, "motor_lag_variation": 0.0,
    },
    "light": {
        "range_noise_std_m": 0.01, "range_dropout_prob": 0.01, "wind_speed_mps": 0.5, "wind_gust_std_mps": 0.15,
        "mass_variation": 0.05, "thrust_variation": 0.05, "motor_lag_variation": 0.1,
    },
    "default": {
        "range_noise_std_m": 0.02, "range_dropout_prob": 0.02, "wind_speed_mps": 1.0, "wind_gust_std_mps": 0.3,
        "mass_variation": 0.1, "thrust_variation": 0.1, "motor_lag_variation": 0.2,
    },
    "strong": {
        "range_noise_std_m": 0.04, "range_dropout_prob": 0.05, "wind_speed_mps": 2.0, "wind_gust_std_mps": 0.5,
        "mass_variation": 0.2, "thrust_variation": 0.2, "motor_lag_variation": 0.4,
    },
}
"""Named randomisations. Each sets every key but the gust time constant, so a preset replaces
whatever randomisation a controller was evolved with; "off" flies clean."""

DEFAULT_PRESET = "default"
"""The preset ``spikefly evaluate --randomise`` uses when given no value."""

MODEL_SCALE_MASS = 0
MODEL_SCALE_THRUST = 1
MODEL_SCALE_MOTOR_LAG = 2
"""Columns of :attr:`Randomisation.model_scale`."""


class RandomisationError(SpikeflyError):
    """A bad randomisation preset or file: the message names the file, the key and the fix."""


def randomisation_on(settings: QuadrotorSettings) -> bool:
    """Whether ``settings`` switch on any per-episode draw (noise, wind or model error)."""
    s = settings
    return (s.range_noise_std_m > 0.0 or s.range_dropout_prob > 0.0 or s.wind_speed_mps > 0.0
            or s.wind_gust_std_mps > 0.0 or model_error_on(s))


def model_error_on(settings: QuadrotorSettings) -> bool:
    """Whether ``settings`` vary the drone itself (mass, thrust or motor lag)."""
    return any(getattr(settings, name) > 0.0 for name in MODEL_VARIATIONS)


def gust_coefficients(settings: QuadrotorSettings) -> tuple[float, float]:
    """(decay, scale) of the per-control-step gust update ``g = decay * g + scale * normal``."""
    decay = math.exp(-1.0 / (settings.control_hz * settings.wind_gust_time_constant_s))
    return decay, settings.wind_gust_std_mps * math.sqrt(1.0 - decay * decay)


class Randomisation(NamedTuple):
    """Per-episode domain randomisation of B drones, drawn before the episode starts."""

    mean_wind: NDArray[np.float64]
    """[B, 3] m/s."""
    gust_noise: NDArray[np.float64]
    """[B, T, 3] standard normals for the gust process ([B, 0, 3] when gusts are off)."""
    range_noise: NDArray[np.float64]
    """[B, T, R] metres added to readings, NaN for a dropout ([B, 0, R] when the sensor is clean)."""
    model_scale: NDArray[np.float64]
    """[B, 3] true / nominal mass, thrust coefficient and motor time constant (``MODEL_SCALE_*``); ones when off."""


def draw_randomisation(
    settings: QuadrotorSettings, n_ranges: int, seeds: list[int], horizon: int, mask: NDArray[np.bool_] | None = None
) -> Randomisation:
    """Wind, sensor noise and model error for each drone from its own seed (rows outside ``mask`` stay off).

    Drawn in Python from ``numpy.random.SeedSequence(seed)``, so compiled loops need no random
    state and a drone's draws do not depend on the batch it flies in. ``horizon`` T: control
    steps of noise to draw (the first T rows never depend on T).
    """
    s, count = settings, len(seeds)
    gusts = s.wind_gust_std_mps > 0.0
    noisy = s.range_noise_std_m > 0.0 or s.range_dropout_prob > 0.0
    variations = np.array([getattr(s, name) for name in MODEL_VARIATIONS])
    mean_wind = np.zeros((count, 3))
    gust_noise = np.zeros((count, horizon if gusts else 0, 3))
    range_noise = np.zeros((count, horizon if noisy else 0, n_ranges))
    model_scale = np.ones((count, 3))
    if not randomisation_on(s):
        return Randomisation(mean_wind, gust_noise, range_noise, model_scale)
    for b in range(count) if mask is None else np.flatnonzero(mask):
        # One stream per kind of draw, so the first T draws of each never depend on the horizon,
        # and the model-error stream (the fifth child) leaves the four older streams as they were.
        wind_rng, gust_rng, noise_rng, dropout_rng, model_rng = (
            np.random.default_rng(child) for child in np.random.SeedSequence(seeds[b]).spawn(5)
        )
        if s.wind_speed_mps > 0.0:
            speed, heading = wind_rng.uniform(0.0, s.wind_speed_mps), wind_rng.uniform(-math.pi, math.pi)
            mean_wind[b] = (speed * math.cos(heading), speed * math.sin(heading), 0.0)
        if gusts:
            gust_noise[b] = gust_rng.standard_normal((horizon, 3))
        if noisy:
            if s.range_noise_std_m > 0.0:
                range_noise[b] = noise_rng.normal(0.0, s.range_noise_std_m, (horizon, n_ranges))
            if s.range_dropout_prob > 0.0:
                range_noise[b][dropout_rng.random((horizon, n_ranges)) < s.range_dropout_prob] = np.nan
        if variations.any():
            # Always three draws, so a seed's mass error is the same whichever other kinds are on.
            model_scale[b] = 1.0 + variations * model_rng.uniform(-1.0, 1.0, 3)
    return Randomisation(mean_wind, gust_noise, range_noise, model_scale)


def plant_params(drone: DroneParams, flight: FlightParams, model_scale: NDArray[np.float64]) -> FlightParams:
    """The flight record of the drone actually flown: ``flight`` with mass, inertia, kf, km and motor lag scaled.

    ``model_scale`` (3,): one row of :attr:`Randomisation.model_scale`. Inertia scales with the
    mass (same shape, heavier build); km with kf (same propeller, different air or pitch). At
    scale 1 every field equals ``flight``'s bit for bit.
    """
    mass, thrust, lag = (float(value) for value in model_scale)
    return flight._replace(
        mass_kg=drone.mass_kg * mass,
        inertia_x=drone.inertia_kgm2[0] * mass,
        inertia_y=drone.inertia_kgm2[1] * mass,
        inertia_z=drone.inertia_kgm2[2] * mass,
        thrust_coefficient=drone.thrust_coefficient * thrust,
        torque_coefficient=drone.torque_coefficient * thrust,
        motor_alpha=1.0 - math.exp(-flight.dt_s / (drone.motor_time_constant_s * lag)),
    )


def flight_records(drone: DroneParams, flight: FlightParams, model_scale: NDArray[np.float64]) -> NDArray[np.void]:
    """[B, 2] structured flight records: ``[b, 0]`` the nominal drone, ``[b, 1]`` drone b as flown.

    Row b is what the compiled flight code takes for drone b (:mod:`spikefly.envs.sim.flight_control`:
    the controller reads the first record, the motors and the rigid body the last).
    ``model_scale`` [B, 3]; rows of ones fly ``flight`` itself.
    """
    records = np.repeat(flight_record(flight)[None, :], len(model_scale), axis=0).repeat(2, axis=1)
    for b in np.flatnonzero(np.any(model_scale != 1.0, axis=1)):
        records[b, 1] = tuple(plant_params(drone, flight, model_scale[b]))
    return records


def contact_thrust_to_weight(thrust_to_weight: float, settings: QuadrotorSettings) -> float:
    """The largest thrust-to-weight ratio a drawn drone can have (bounds how far it can fly between contact tests)."""
    return thrust_to_weight * (1.0 + settings.thrust_variation) / (1.0 - settings.mass_variation)


# -- presets and files ------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainRandomisation:
    """A named set of randomisation settings: a preset or the contents of a file."""

    source: str
    """``"preset NAME"`` or the file's path."""
    settings: dict[str, float] = field(default_factory=dict)
    """QuadrotorSettings keys (only :data:`RANDOMISATION_KEYS`) and their values."""

    def applied_to(self, env_settings: dict[str, object]) -> dict[str, object]:
        """``env_settings`` with these keys overridden (the rest kept)."""
        return {**env_settings, **self.settings}

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "settings": dict(self.settings)}


def load_randomisation(preset_or_file: str | os.PathLike[str]) -> DomainRandomisation:
    """A preset by name (:data:`PRESETS`), or a JSON / TOML file of randomisation keys, checked.

    A file sets only the keys it lists. Raises :class:`RandomisationError` naming the file, the
    key and the fix for an unknown preset or file, a parse error, an unknown key or a bad value.
    """
    text = str(preset_or_file)
    if text in PRESETS:
        return DomainRandomisation(f"preset {text}", dict(PRESETS[text]))
    path = Path(text)
    if not path.is_file():
        raise RandomisationError(
            f"{text}: neither a randomisation preset nor a file. Fix: name a preset ({', '.join(PRESETS)}) or "
            f"give a .json or .toml file of settings such as {{\"mass_variation\": 0.1}}."
        )
    try:
        if path.suffix.lower() == ".toml":
            values = tomllib.loads(path.read_text())
        elif path.suffix.lower() == ".json":
            values = json.loads(path.read_text())
        else:
            raise RandomisationError(f"{path}: unknown file type {path.suffix!r}. Fix: use a .json or .toml file.")
    except RecursionError:
        raise RandomisationError(f"{path}: nested too deeply to read. Fix: write a flat table of settings.") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        if isinstance(error, RandomisationError):
            raise
        raise RandomisationError(f"{path}: cannot read it ({error}). Fix: write valid {path.suffix[1:].upper()}.") from error
    if not isinstance(values, dict):
        raise RandomisationError(f"{path}: expected a table of settings, got {type(values).__name__}. "
                                 "Fix: write an object such as {\"mass_variation\": 0.1}.")
    for key, value in values.items():
        if key not in RANDOMISATION_KEYS:
            close = difflib.get_close_matches(key, RANDOMISATION_KEYS, 1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise RandomisationError(
                f"{path}: unknown key {key!r}. Fix: {hint}a randomisation file sets only {', '.join(RANDOMISATION_KEYS)}."
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RandomisationError(f"{path}: {key} = {value!r} is not a number. Fix: give {key} a number, e.g. 0.1.")
        try:
            QuadrotorSettings(**{key: value})
        except ValueError as error:
            raise RandomisationError(f"{path}: {error}. Fix: set {key} within that range.") from None
    return DomainRandomisation(str(path), {key: float(value) for key, value in values.items()})


def effective_randomisation(env_settings: dict[str, object]) -> dict[str, float]:
    """Every randomisation key's value in ``env_settings`` (defaults filled in), for reports."""
    settings = QuadrotorSettings.from_kwargs(**env_settings)
    return {key: float(getattr(settings, key)) for key in RANDOMISATION_KEYS}


def describe_randomisation(source: str, values: dict[str, float]) -> str:
    """One line naming the randomisation in force, e.g. ``"preset default: mass_variation=0.1, ..."``.

    ``values``: :func:`effective_randomisation`'s mapping; keys at 0 are left out ("off" when all are).
    """
    shown = [f"{key}={value:g}" for key, value in values.items()
             if value > 0.0 and (key != "wind_gust_time_constant_s" or values.get("wind_gust_std_mps", 0.0) > 0.0)]
    return f"{source}: {', '.join(shown)}" if shown else f"{source}: off"
