"""The dense int8 MLP the spiking controllers are compared with: its integer arithmetic (a fixed
hand-worked trace), the checks at construction, and its C export on the host compiler."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from spikefly.controllers.dense_mlp import IntegerMLP, export_mlp_c, mlp_forward, quantize_observations, random_mlp

GCC = shutil.which("gcc")


def hand_mlp(activation: str = "hardtanh") -> IntegerMLP:
    """[2, 2, 1]: hidden = clamp((W1 x + b1) >> 1), out = (W2 h + b2) >> 0."""
    return IntegerMLP(
        weights=(np.array([[100, -100], [3, 4]], np.int8), np.array([[2, -1]], np.int8)),
        biases=(np.array([1, -3], np.int32), np.array([5], np.int32)),
        shifts=(1, 0), activation=activation,
    )


def test_the_forward_pass_follows_the_hand_worked_arithmetic():
    x = np.array([[3, 1], [-2, 5]], np.int8)
    # row 0: acc1 = [300 - 100 + 1, 9 + 4 - 3] = [201, 10] >> 1 = [100, 5]; out = 200 - 5 + 5 = 200
    # row 1: acc1 = [-200 - 500 + 1, -6 + 20 - 3] = [-699, 11] >> 1 = [-350, 5] -> clamp [-127, 5]; out = -254 - 5 + 5
    assert mlp_forward(hand_mlp(), x).tolist() == [[200], [-254]]
    # relu clamps the negative hidden value to 0 instead
    assert mlp_forward(hand_mlp("relu"), x).tolist() == [[200], [0]]


def test_a_malformed_mlp_is_refused_with_the_layer_named():
    with pytest.raises(ValueError, match="layer 1's weights"):
        IntegerMLP(weights=(np.zeros((3, 2), np.int8), np.zeros((1, 4), np.int8)),
                   biases=(np.zeros(3, np.int32), np.zeros(1, np.int32)), shifts=(0, 0))
    with pytest.raises(ValueError, match="activation"):
        IntegerMLP(weights=(np.zeros((1, 2), np.int8),), biases=(np.zeros(1, np.int32),), shifts=(0,), activation="tanh")
    with pytest.raises(ValueError, match="shift"):
        IntegerMLP(weights=(np.zeros((1, 2), np.int8),), biases=(np.zeros(1, np.int32),), shifts=(32,))


def test_random_mlps_are_calibrated_to_use_the_int8_range():
    rng = np.random.default_rng(0)
    inputs = rng.integers(-127, 128, (200, 46)).astype(np.int8)
    mlp = random_mlp(np.random.default_rng(1), [46, 64, 64, 4], inputs)
    assert mlp.layer_sizes == [46, 64, 64, 4]
    hidden = mlp_forward(IntegerMLP(mlp.weights[:1], mlp.biases[:1], mlp.shifts[:1]), inputs)
    assert 16 <= hidden.std() <= 80  # neither all saturated nor all zero


def test_observations_map_onto_int8_over_the_observation_space():
    low, high = np.array([0.0, -1.0]), np.array([1.0, 1.0])
    observations = np.array([[0.0, -1.0], [1.0, 1.0], [0.5, 0.0], [2.0, -3.0]])
    assert quantize_observations(observations, low, high).tolist() == [[-127, -127], [127, 127], [0, 0], [127, -127]]


@pytest.mark.skipif(GCC is None, reason="gcc not on PATH: this test compiles the exported C header")
def test_the_c_export_equals_the_numpy_forward_pass_on_the_host(tmp_path):
    rng = np.random.default_rng(5)
    inputs = rng.integers(-127, 128, (40, 12)).astype(np.int8)
    mlp = random_mlp(np.random.default_rng(6), [12, 20, 7, 3], inputs, "relu")
    export = export_mlp_c(mlp, "net")
    export.write(tmp_path / "net.h")
    (tmp_path / "driver.c").write_text("""#include <stdio.h>
#include "net.h"
int main(void) {
    static net_state s;
    int8_t x[NET_N_INPUTS];
    int32_t y[NET_N_OUTPUTS];
    int i;
    while (fread(x, 1, sizeof x, stdin) == sizeof x) {
        net_forward(&s, x, y);
        for (i = 0; i < NET_N_OUTPUTS; ++i) printf("%ld ", (long)y[i]);
        printf("\\n");
    }
    return 0;
}
""")
    built = subprocess.run([GCC, "-std=c99", "-Wall", "-Wextra", "-Werror", "driver.c", "-o", "driver"], cwd=tmp_path,
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    ran = subprocess.run([str(tmp_path / "driver")], input=inputs.tobytes(), capture_output=True, check=True, timeout=60)
    outputs = np.array([[int(v) for v in line.split()] for line in ran.stdout.decode().splitlines()])
    assert np.array_equal(outputs, mlp_forward(mlp, inputs))
    assert export.flash_bytes == 12 * 20 + 20 * 7 + 7 * 3 + 4 * (20 + 7 + 3) + 3 * 3
