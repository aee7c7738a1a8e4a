"""The drone constants come from the URDF and match the Crazyflie 2.x figures users compare against."""

from __future__ import annotations

import pytest

from spikefly.envs.sim.drone_model import DEFAULT_URDF, load_drone


def test_crazyflie_constants_match_the_reference_figures():
    drone = load_drone()
    assert drone.mass_kg == 0.027 and drone.arm_m == 0.0397
    assert drone.hover_rpm == pytest.approx(14_468, rel=1e-3)  # gym-pybullet-drones CF2X
    assert drone.max_rpm == pytest.approx(21_703, rel=1e-3)
    assert drone.inertia_kgm2 == (1.4e-5, 1.4e-5, 2.17e-5)
    # Hover power from km * w^2 * w: ~2.5 W per rotor, ~10 W in all (Crazyflie hovers on 7-10 W).
    assert drone.rotor_power_w([drone.hover_rpm] * 4) == pytest.approx(10.09, abs=0.01)


def test_a_urdf_without_drone_constants_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.urdf"
    path.write_text('<robot name="x"><link name="base_link"/></robot>')
    with pytest.raises(ValueError, match=r"plain.urdf.*<spikefly_drone"):
        load_drone(path)


def test_a_missing_or_bad_constant_names_the_attribute(tmp_path):
    text = DEFAULT_URDF.read_text()
    missing = tmp_path / "missing.urdf"
    missing.write_text(text.replace('mass_kg="0.027"', ""))
    with pytest.raises(ValueError, match="mass_kg"):
        load_drone(missing)
    negative = tmp_path / "negative.urdf"
    negative.write_text(text.replace('arm_m="0.0397"', 'arm_m="-1"'))
    with pytest.raises(ValueError, match="arm_m.*positive"):
        load_drone(negative)
    garbled = tmp_path / "garbled.urdf"
    garbled.write_text(text.replace('arm_m="0.0397"', 'arm_m="4cm"'))
    with pytest.raises(ValueError, match=r"garbled.urdf.*arm_m='4cm'"):
        load_drone(garbled)
