"""The gap-seeking guidance law as C: `spikefly export --format c` writes it, and it gives the Python law's set-points."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

import numpy as np
import pytest

from spikefly.controllers import ControllerSpec, DirectEncoder, RateDecoder, random_network, save
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_layout, observation_space
from spikefly.envs.sim.guidance import gap_setpoint
from spikefly.envs.sim.range_sensor import ray_spacing_rad, sensor_rays
from spikefly.evolution.cli.commands import main

GCC = shutil.which("gcc")
SENSING = {"action_mode": "gap", "n_rays": 12, "ray_elevations_deg": [-30.0, 0.0, 30.0], "geofence_rays": True}


def _gap_controller(tmp_path):
    settings = QuadrotorSettings(**SENSING)
    space = observation_space(settings)
    network = random_network(np.random.default_rng(5), space.shape[0], 10, 8, 0.3, weight_scale=1.0)
    network = network.replace(adaptation_increment=np.zeros(10, np.float32), refractory_steps=np.zeros(10, np.int32),
                              reset_mode=np.zeros(10, np.int8))
    spec = ControllerSpec(network=network, encoder=DirectEncoder(signed=True), decoder=RateDecoder(signed_pairs=True),
                          steps_per_action=8, observation_low=space.low, observation_high=space.high, n_actions=4,
                          env_id="spikefly/QuadrotorAvoid-v0", env_settings=dict(SENSING), metadata={"worlds": ["mixed"]})
    return save(spec, tmp_path / "pilot.json"), spec


def _observations(settings, count, rng):
    layout = observation_layout(settings)
    observations = rng.uniform(0.0, 1.0, (count, layout["altitude"].stop)).astype(np.float32)
    angles = rng.uniform(-np.pi, np.pi, count)
    observations[:, layout["goal_bearing_sin"].start] = np.sin(angles)
    observations[:, layout["goal_bearing_cos"].start] = np.cos(angles)
    observations[:, layout["goal_height"].start] = rng.uniform(-1.0, 1.0, count)
    observations[:, layout["body_velocity"]] = rng.uniform(-0.5, 0.5, (count, 3))
    near = rng.random(observations[:, layout["ranges"]].shape) < 0.3  # obstacles near enough to push and to block
    observations[:, layout["ranges"]][near] *= 0.2
    return observations


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
def test_export_writes_the_gap_law_as_c_that_gives_the_python_laws_set_points(tmp_path, capsys):
    path, _ = _gap_controller(tmp_path)
    assert main(["export", str(path), "--format", "c", "--name", "pilot", "--out", str(tmp_path / "new" / "pilot.h")]) == 0
    printed = capsys.readouterr().out  # a folder that does not exist yet is made
    law = tmp_path / "new" / "pilot_guidance.h"
    assert law.exists() and str(law) in printed and "pilot_gap_setpoint" in printed
    settings = QuadrotorSettings(**SENSING)
    rng = np.random.default_rng(3)
    observations = _observations(settings, 300, rng)
    actions = rng.uniform(-0.6, 0.6, (300, 4)).astype(np.float32)
    source = tmp_path / "law.c"
    n_obs = observations.shape[1]
    source.write_text(
        '#include <stdio.h>\n#include "new/pilot.h"\n#include "new/pilot_guidance.h"\n'
        f"int main(void) {{ float o[{n_obs}], a[4]; double c[4];\n"
        f"  while (1) {{ for (int i = 0; i < {n_obs}; i++) if (scanf(\"%a\", &o[i]) != 1) return 0;\n"
        "    for (int i = 0; i < 4; i++) if (scanf(\"%a\", &a[i]) != 1) return 1;\n"
        "    pilot_gap_setpoint(o, a, c); printf(\"%a %a %a %a\\n\", c[0], c[1], c[2], c[3]); } }\n"
    )
    binary = tmp_path / "law"
    subprocess.run([GCC, "-std=c99", "-O2", "-Wall", "-Werror", str(source), "-o", str(binary), "-lm"], check=True)
    lines = [" ".join(float(v).hex() for v in np.concatenate([o, a])) for o, a in zip(observations, actions)]
    out = subprocess.run([str(binary)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True).stdout
    from_c = np.array([[float.fromhex(v) for v in line.split()] for line in out.splitlines()])
    directions = sensor_rays(settings)
    spacing = ray_spacing_rad(settings.n_rays, settings.fov_deg)
    from_python = np.array([gap_setpoint(
        a.astype(np.float64), o, directions, settings.n_rays, 3, spacing, settings.max_range_m,
        settings.goal_distance_scale_m, settings.velocity_scale_mps, settings.max_yaw_rate_rps,
    ) for o, a in zip(observations, actions)])
    assert from_c.shape == (300, 4)
    np.testing.assert_allclose(from_c, from_python, atol=1e-9)
    assert np.ptp(from_python, axis=0).min() > 0.5  # the cases cover the law's range, not one corner of it


def test_export_of_a_gap_controller_but_to_c_names_the_law_the_flight_stack_runs(tmp_path, capsys):
    _, spec = _gap_controller(tmp_path)
    path = save(dataclasses.replace(spec, env_settings=dict(SENSING)), tmp_path / "gap.json")
    assert main(["export", str(path), "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert "spikefly.envs.sim.guidance.gap_setpoint" in printed and "--format c" in printed
    assert not (tmp_path / "spikefly_net_guidance.h").exists()
