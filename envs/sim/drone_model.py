"""The quadrotor's physical constants, read from the one URDF file PyBullet also loads.

Motor layout (X configuration, body frame x forward, y left, z up; seen from above)::

    3 (front-left, CW)    0 (front-right, CCW)
              \\          /
                 body
              /          \\
    2 (rear-left, CCW)    1 (rear-right, CW)

A counter-clockwise rotor pushes a clockwise (negative z) reaction torque on the body.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

GRAVITY_MPS2 = 9.81

DEFAULT_URDF = Path(str(files("spikefly.envs").joinpath("assets/cf2x.urdf")))

#: Sign of each motor's reaction torque about body z: shape (4,).
MOTOR_YAW_SIGN = np.array([-1.0, 1.0, -1.0, 1.0])
#: Unit xy direction of each motor arm in the body frame: shape (4, 2).
MOTOR_DIRECTION_XY = np.array([[1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]]) / math.sqrt(2.0)


@dataclass(frozen=True)
class DroneParams:
    """Physical constants of one quadrotor (SI units, RPM for rotor speed)."""

    mass_kg: float
    """Take-off mass."""
    arm_m: float
    """Distance from the centre of mass to each rotor axis."""
    thrust_coefficient: float
    """kf: rotor thrust in newtons per RPM squared."""
    torque_coefficient: float
    """km: rotor reaction torque in newton-metres per RPM squared."""
    thrust_to_weight: float
    """Maximum total thrust divided by weight; sets the maximum RPM."""
    inertia_kgm2: tuple[float, float, float]
    """Diagonal of the inertia tensor in the body frame."""
    motor_time_constant_s: float
    """First-order lag from commanded to actual rotor speed."""
    drag_coefficients: tuple[float, float, float]
    """Linear drag in the body frame, newtons per (m/s) of air-relative velocity (x, y, z)."""
    collision_radius_m: float
    """Radius of the sphere used for collisions and clearance."""
    urdf_path: str
    """The URDF these constants were read from (PyBullet loads the same file)."""

    @property
    def weight_n(self) -> float:
        return self.mass_kg * GRAVITY_MPS2

    @property
    def hover_rpm(self) -> float:
        return math.sqrt(self.weight_n / (4.0 * self.thrust_coefficient))

    @property
    def max_rpm(self) -> float:
        return math.sqrt(self.thrust_to_weight * self.weight_n / (4.0 * self.thrust_coefficient))

    def rotor_power_w(self, rpm: ArrayLike) -> float:
        """Mechanical power the rotors absorb at speeds ``rpm`` (4,), W (see ``flight_control.rotor_power_w``)."""
        from spikefly.envs.sim.flight_control import rotor_power_w

        return float(rotor_power_w(np.asarray(rpm, dtype=np.float64), self.torque_coefficient))


def load_drone(urdf_path: str | Path = DEFAULT_URDF) -> DroneParams:
    """Read the ``<spikefly_drone>`` element of a URDF file."""
    path = Path(urdf_path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        raise ValueError(f"{path}: cannot read the drone URDF ({error}).") from error
    element = root.find("spikefly_drone")
    if element is None:
        raise ValueError(
            f"{path}: no <spikefly_drone .../> element. Fix: add one with the drone constants "
            f"(see {DEFAULT_URDF} for every attribute)."
        )

    def number(key: str) -> float:
        text = element.get(key)
        if text is None:
            raise ValueError(f"{path}: <spikefly_drone> lacks attribute {key!r}. Fix: add {key}=\"...\".")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0.0:
            raise ValueError(f"{path}: <spikefly_drone> {key}={text!r} must be a positive number.")
        return value

    hover_rpm_sum = 4.0 * math.sqrt(number("mass_kg") * GRAVITY_MPS2 / (4.0 * number("thrust_coefficient")))
    drag_xy = number("drag_xy_per_rpm") * hover_rpm_sum
    return DroneParams(
        mass_kg=number("mass_kg"),
        arm_m=number("arm_m"),
        thrust_coefficient=number("thrust_coefficient"),
        torque_coefficient=number("torque_coefficient"),
        thrust_to_weight=number("thrust_to_weight"),
        inertia_kgm2=(number("inertia_xx"), number("inertia_yy"), number("inertia_zz")),
        motor_time_constant_s=number("motor_time_constant_s"),
        drag_coefficients=(drag_xy, drag_xy, number("drag_z_per_rpm") * hover_rpm_sum),
        collision_radius_m=number("collision_radius_m"),
        urdf_path=str(path),
    )


class FlightParams(NamedTuple):
    """Everything the compiled flight code needs, as plain floats (Numba-friendly)."""

    mass_kg: float
    gravity_mps2: float
    arm_xy_m: float  # arm projected on x or y: arm / sqrt(2)
    thrust_coefficient: float
    torque_coefficient: float
    max_rpm: float
    inertia_x: float
    inertia_y: float
    inertia_z: float
    motor_alpha: float  # 1 - exp(-dt / tau): motor lag per physics step
    drag_x: float
    drag_y: float
    drag_z: float
    dt_s: float  # physics step
    velocity_gain_xy: float  # 1/s
    velocity_gain_z: float  # 1/s
    velocity_integral_gain: float  # 1/s^2
    integral_band_mps: float  # velocity errors beyond this are not integrated
    max_tilt_rad: float
    attitude_gain: float  # 1/s
    yaw_rate_gain: float  # 1/s
    rate_gain: float  # 1/s
    max_speed_xy_mps: float  # velocity set-point at action +-1
    max_speed_z_mps: float
    max_yaw_rate_rps: float


def flight_record(params: FlightParams) -> NDArray[np.void]:
    """``params`` as a 1-element structured array: what the compiled kernels take.

    Numba dispatches on a structured array in ~0.2 us but on a 25-field NamedTuple in ~2 us, and
    the kernels run once per physics step. Kernels read fields by name (``params[0].mass_kg``).
    """
    dtype = np.dtype([(name, np.float64) for name in FlightParams._fields])
    return np.array([tuple(params)], dtype=dtype)


def flight_params(
    drone: DroneParams,
    physics_hz: float,
    *,
    max_speed_xy_mps: float = 2.0,
    max_speed_z_mps: float = 1.0,
    max_yaw_rate_rps: float = 1.5,
    max_tilt_rad: float = 0.5,
) -> FlightParams:
    """Pack the drone constants, physics step and controller gains for the compiled code."""
    dt = 1.0 / physics_hz
    return FlightParams(
        mass_kg=drone.mass_kg,
        gravity_mps2=GRAVITY_MPS2,
        arm_xy_m=drone.arm_m / math.sqrt(2.0),
        thrust_coefficient=drone.thrust_coefficient,
        torque_coefficient=drone.torque_coefficient,
        max_rpm=drone.max_rpm,
        inertia_x=drone.inertia_kgm2[0],
        inertia_y=drone.inertia_kgm2[1],
        inertia_z=drone.inertia_kgm2[2],
        motor_alpha=1.0 - math.exp(-dt / drone.motor_time_constant_s),
        drag_x=drone.drag_coefficients[0],
        drag_y=drone.drag_coefficients[1],
        drag_z=drone.drag_coefficients[2],
        dt_s=dt,
        velocity_gain_xy=6.0,
        velocity_gain_z=5.0,
        velocity_integral_gain=4.0,
        integral_band_mps=0.1,
        max_tilt_rad=max_tilt_rad,
        attitude_gain=14.0,
        yaw_rate_gain=6.0,
        rate_gain=60.0,
        max_speed_xy_mps=max_speed_xy_mps,
        max_speed_z_mps=max_speed_z_mps,
        max_yaw_rate_rps=max_yaw_rate_rps,
    )
