"""The path-distance progress potential: Euclidean in the open, the detour behind a wall."""

from __future__ import annotations

import numpy as np
import pytest

from spikefly.envs.sim.path_field import field_value, goal_potential, path_field
from spikefly.worlds import Box, pack_obstacles


def _value(field, point):
    return field_value(field.values, field.low, field.step, np.array(field.values.shape, np.int64), *point)


def test_open_space_path_distance_is_close_to_the_straight_line():
    field = path_field((-2, -5, 0), (22, 5, 4), (18.0, 0.0, 1.5), 0.5, pack_obstacles([]), 0.1)
    for point in [(0.0, 0.0, 1.5), (5.0, 3.0, 1.0), (17.0, -4.0, 3.0)]:
        straight = float(np.linalg.norm(np.subtract((18.0, 0.0, 1.5), point)))
        # 26-connected grid paths run at most ~8% longer than the straight line
        assert straight <= _value(field, point) + 0.15 <= 1.09 * straight + 0.3


def test_behind_a_wall_the_potential_is_the_way_round_through_the_gap():
    # a wall across the course at x = 10 with one gap at y in [3, 4.5]
    wall = [Box(position=(10.0, -2.5, 2.0), size=(0.2, 11.0, 4.0)), Box(position=(10.0, 6.5, 2.0), size=(0.2, 3.0, 4.0))]
    field = path_field((-2, -8, 0), (22, 8, 4), (18.0, 0.0, 1.5), 0.5, pack_obstacles(wall), 0.1)
    start = (6.0, 0.0, 1.5)
    detour = np.linalg.norm(np.subtract((10.0, 3.75, 1.5), start)) + np.linalg.norm(np.subtract((18.0, 0.0, 1.5), (10.0, 3.75, 1.5)))
    assert _value(field, start) == pytest.approx(detour, rel=0.08)
    # sliding toward the gap is progress, although it does not bring the goal closer in a straight line
    assert _value(field, (6.0, 2.0, 1.5)) < _value(field, start) - 0.5
    assert goal_potential(6.0, 0.0, 1.5, np.array([18.0, 0.0, 1.5]), (field.values, field.low, field.step, np.zeros(3, np.int64))) == 12.0
