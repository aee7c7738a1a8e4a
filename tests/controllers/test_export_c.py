"""The C export compiles warning-free and runs bit-exact with the integer kernel.

Every test compiles a generated header with a small driver (gcc, C99, -Werror) that replays
recorded inputs and writes, at every step, the spike and membrane of every neuron and the
outputs; these must equal the Python integer simulator (``simulate`` on the
IntegerLIFNetwork, stepped one step at a time) exactly.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from spikefly.controllers.export_c import CExport, export_c
from spikefly.controllers.lif_state import LIFState, simulate
from spikefly.controllers.network import (
    DECAY_Q15,
    DECAY_SHIFT,
    INT32_MAX,
    INT32_MIN,
    RESET_SUBTRACT,
    RESET_ZERO,
    IntegerLIFNetwork,
    LIFNetwork,
    random_network,
)
from spikefly.controllers.quantize import quantize, quantize_inputs

GCC = shutil.which("gcc")
pytestmark = pytest.mark.skipif(GCC is None, reason="gcc not on PATH: these tests compile the exported C header")
# The required flags, plus the stricter ones embedded projects often use.
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-pedantic", "-Wconversion", "-Wsign-conversion", "-Wshadow"]
N_STEPS = 300


def tiny_network() -> LIFNetwork:
    """3 neurons by hand: delays, a self-loop, adaptation, refractoriness, both resets, both decays."""
    return LIFNetwork.from_edges(
        n_inputs=2, n_neurons=3, output_index=[2],
        sources=[0, 1, 2, 2, 3, 4], targets=[0, 1, 1, 2, 0, 2],
        weights=[0.8, -0.5, 0.6, 0.9, 0.3, -0.2], delays=[0, 1, 0, 2, 0, 0],
        threshold=[0.5, 0.4, 1.0], beta=[0.9, 0.75, 1.0], bias=[0.01, 0.0, -0.01],
        adaptation_increment=[0.2, 0.0, 0.0], adaptation_decay=[0.9, 1.0, 1.0], refractory_steps=[0, 2, 0],
        reset_mode=[RESET_ZERO, RESET_SUBTRACT, RESET_SUBTRACT],
    )


def saturating_network() -> LIFNetwork:
    """Weights near the Q8.24 limit and inputs that count several spikes: contributions, ring
    cells and membranes all saturate."""
    return LIFNetwork.from_edges(
        n_inputs=2, n_neurons=3, output_index=[1, 2],
        sources=[0, 0, 1, 2, 3], targets=[0, 1, 0, 1, 2], weights=[100.0, -100.0, 90.0, 100.0, 100.0],
        threshold=[120.0, 120.0, 1.0], beta=[1.0, 0.5, 0.99], spiking=[True, True, False],
        reset_mode=[RESET_SUBTRACT, RESET_ZERO, RESET_ZERO],
    )


def threshold_tie_network() -> LIFNetwork:
    """Membranes land exactly on the threshold (Q16: weight 127 x multiplier 128 plus bias
    16512 is 32768 = 0.5): a spike needs ``v >= threshold``, not ``>``."""
    weight, bias = 127 * 128 / 65536, 16512 / 65536
    return LIFNetwork.from_edges(
        n_inputs=1, n_neurons=2, output_index=[1], sources=[0, 1], targets=[0, 1], weights=[weight, weight],
        threshold=0.5, beta=0.0, bias=bias,
    )


def spike_inputs(seed: int, network: IntegerLIFNetwork, rate: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((N_STEPS, network.n_inputs)) < rate).astype(np.int32)


def case(name: str) -> tuple[IntegerLIFNetwork, np.ndarray]:
    """(integer network, int32 inputs [T, n_inputs]) of a named test case."""
    rng = np.random.default_rng(sum(map(ord, name)))  # a fixed seed per case
    if name == "recurrent_delays_mixed_decay":
        network = random_network(rng, 6, 24, 4, 0.15, max_delay=3)
        beta = network.beta.copy()
        beta[[3, 7]] = 1.0  # no leak: the exact Q15 identity beside shift decay
        integer = quantize(network.replace(beta=beta), decay="shift")
        return integer, spike_inputs(1, integer)
    if name == "q15_membrane_readout":
        integer = quantize(random_network(rng, 5, 20, 3, 0.2, max_delay=2, membrane_readout=True), decay="q15")
        return integer, spike_inputs(2, integer)
    if name == "homogeneous_no_delay":  # every parameter shared: the specialised code path
        integer = quantize(random_network(rng, 4, 16, 2, 0.25, heterogeneous=False, weight_scale=1.2))
        return integer, spike_inputs(3, integer, rate=0.3)
    if name == "analog_inputs":
        network = random_network(rng, 4, 12, 2, 0.3, max_delay=1)
        integer = quantize(network, decay="q15", input_fractional_bits=12)
        currents = np.random.default_rng(4).normal(0.3, 1.0, (N_STEPS, 4))
        currents[np.random.default_rng(5).random(currents.shape) < 0.3] = 0.0
        return integer, quantize_inputs(currents, integer)
    if name == "tiny":
        integer = quantize(tiny_network())
        return integer, spike_inputs(6, integer, rate=0.4)
    if name == "saturating":
        integer = quantize(saturating_network(), fractional_bits=24)
        counts = np.random.default_rng(7).integers(0, 4, (N_STEPS, 2)).astype(np.int32)
        return integer, counts
    if name == "threshold_ties":
        integer = quantize(threshold_tie_network())
        assert list(integer.weight_multiplier) == [128, 128] and list(integer.bias) == [16512, 16512]
        return integer, spike_inputs(8, integer, rate=0.5)
    raise KeyError(name)


CASES = ["recurrent_delays_mixed_decay", "q15_membrane_readout", "homogeneous_no_delay", "analog_inputs", "tiny", "saturating", "threshold_ties"]


def python_trace(network: IntegerLIFNetwork, inputs: np.ndarray) -> np.ndarray:
    """int64 [T, 2N + 2 n_out]: spikes and membranes of every neuron, output spikes and membranes."""
    state = LIFState.zeros(network)
    rows = []
    for t in range(inputs.shape[0]):
        out_spikes, out_membrane = simulate(network, inputs[t:t + 1], state)
        rows.append(np.concatenate([state.spiked, state.membrane, out_spikes[0], out_membrane[0]]))
    return np.array(rows, dtype=np.int64)


def driver_block(export: CExport, network: IntegerLIFNetwork, inputs: np.ndarray) -> tuple[str, str]:
    """(file-scope C, main-body C) replaying ``inputs`` through one exported network."""
    name, n, n_out = export.name, network.n_neurons, network.n_outputs
    width = 2 * n + 2 * n_out
    padded = np.pad(inputs, ((0, 0), (0, int(network.n_inputs == 0))))  # C has no empty arrays
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in row) + "}" for row in padded)
    globals_ = f'#include "{name}.h"\nstatic const int32_t {name}_recorded[{padded.shape[0]}][{padded.shape[1]}] = {{\n{rows}\n}};\n'
    body = f"""
    {{
        static {name}_state s;
        int32_t row[{width}];
        uint8_t spikes[{max(n_out, 1)}];
        int32_t outputs[{max(n_out, 1)}];
        int t, j;
        {name}_reset(&s);
        for (t = 0; t < {inputs.shape[0]}; ++t) {{
            {name}_step(&s, {name}_recorded[t], spikes, outputs);
            for (j = 0; j < {n}; ++j) {{ row[j] = s.spiked[j]; row[{n} + j] = s.membrane[j]; }}
            for (j = 0; j < {n_out}; ++j) {{ row[{2 * n} + j] = spikes[j]; row[{2 * n + n_out} + j] = outputs[j]; }}
            if (fwrite(row, sizeof row[0], {width}, out) != {width}) return 1;
        }}
        printf("{name} %u %u\\n", (unsigned)sizeof s, (unsigned)({" + ".join(f"sizeof {table}" for table in export.tables)}));
    }}"""
    return globals_, body


def compile_and_run(tmp_path: Path, items: list[tuple[CExport, IntegerLIFNetwork, np.ndarray]]) -> tuple[list[np.ndarray], dict[str, tuple[int, int]]]:
    """Build one program running every network; returns their traces and {name: (ram, flash)} from sizeof."""
    blocks = [driver_block(*item) for item in items]
    for export, _, _ in items:
        export.write(tmp_path / f"{export.name}.h")
    program = "#include <stdio.h>\n" + "".join(g for g, _ in blocks) + (
        "int main(int argc, char **argv)\n{\n    FILE *out;\n    if (argc != 2) return 2;\n"
        '    out = fopen(argv[1], "wb");\n    if (!out) return 3;\n'
        + "".join(b for _, b in blocks) + "\n    return fclose(out) == 0 ? 0 : 4;\n}\n"
    )
    (tmp_path / "driver.c").write_text(program)
    built = subprocess.run([GCC, *CFLAGS, "driver.c", "-o", "driver"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    ran = subprocess.run([str(tmp_path / "driver"), str(tmp_path / "trace.bin")], capture_output=True, text=True, check=False, timeout=60)
    assert ran.returncode == 0, ran.stderr
    flat = np.fromfile(tmp_path / "trace.bin", dtype=np.int32).astype(np.int64)
    traces, offset = [], 0
    for _, network, inputs in items:
        size = inputs.shape[0] * (2 * network.n_neurons + 2 * network.n_outputs)
        traces.append(flat[offset:offset + size].reshape(inputs.shape[0], -1))
        offset += size
    assert offset == flat.size
    sizes = {name: (int(ram), int(flash)) for name, ram, flash in (line.split() for line in ran.stdout.splitlines())}
    return traces, sizes


@pytest.mark.parametrize("name", CASES)
def test_c_run_equals_the_integer_kernel_spike_for_spike(tmp_path, name):
    network, inputs = case(name)
    export = export_c(network, name=name)
    (c_trace,), sizes = compile_and_run(tmp_path, [(export, network, inputs)])
    expected = python_trace(network, inputs)
    n = network.n_neurons
    spiking_neurons = network.spiking.astype(bool)
    assert expected[:, :n][:, spiking_neurons].sum() >= 20, "test network too quiet to check anything"
    np.testing.assert_array_equal(c_trace[:, :n], expected[:, :n], err_msg="spikes of every neuron")
    np.testing.assert_array_equal(c_trace[:, n:2 * n], expected[:, n:2 * n], err_msg="membrane of every neuron")
    np.testing.assert_array_equal(c_trace[:, 2 * n:], expected[:, 2 * n:], err_msg="output spikes and membranes")
    assert sizes[name] == (export.ram_bytes, export.flash_bytes)
    if name == "saturating":
        assert np.any(np.isin(expected[:, n:2 * n], [INT32_MAX, INT32_MIN])), "saturation not exercised"


DEGENERATE = {
    "all_read_outs": LIFNetwork.from_edges(2, 2, [0, 1], [0, 1, 2], [0, 1, 0], [0.5, -0.5, 0.3], spiking=False, beta=[0.9, 1.0]),
    "no_inputs": LIFNetwork.from_edges(0, 2, [1], [0], [1], [0.5], bias=0.1, threshold=0.35),
    "no_synapses": LIFNetwork.from_edges(2, 2, [1], [], [], [], bias=[0.0, 0.1], threshold=0.35),
    "no_outputs": LIFNetwork.from_edges(1, 2, [], [0, 1], [1, 0], [0.5, 0.4]),
    # inputs 0, 2, 3 and 5 have no synapses: the C reads only inputs 1 and 4
    "unconnected_inputs": LIFNetwork.from_edges(6, 3, [2], [1, 4, 6, 7], [0, 1, 2, 2], [0.6, 0.7, 0.5, 0.5], threshold=0.35),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_networks_compile_and_match(tmp_path, name):
    network = quantize(DEGENERATE[name])
    inputs = spike_inputs(9, network, rate=0.5)
    export = export_c(network, name=name)
    (c_trace,), sizes = compile_and_run(tmp_path, [(export, network, inputs)])
    np.testing.assert_array_equal(c_trace, python_trace(network, inputs))
    assert sizes[name] == (export.ram_bytes, export.flash_bytes)
    if name == "unconnected_inputs":
        assert f"#define {name.upper()}_N_CONNECTED_INPUTS 2" in export.source
        assert "= {\n    1, 4\n};" in export.source  # the connected channels' indices
        assert python_trace(network, inputs)[:, :3].sum() >= 10, "test network too quiet to check anything"


def test_two_networks_live_in_one_program(tmp_path):
    first, first_inputs = case("tiny")
    second, second_inputs = case("q15_membrane_readout")
    items = [(export_c(first, "left_wing"), first, first_inputs), (export_c(second, "right_wing"), second, second_inputs)]
    traces, _ = compile_and_run(tmp_path, items)
    np.testing.assert_array_equal(traces[0], python_trace(first, first_inputs))
    np.testing.assert_array_equal(traces[1], python_trace(second, second_inputs))


def test_header_included_but_unused_compiles_without_warnings(tmp_path):
    network, _ = case("recurrent_delays_mixed_decay")
    export_c(network).write(tmp_path / "spikefly_net.h")
    (tmp_path / "unused.c").write_text('#include "spikefly_net.h"\nint unused_marker(void);\nint unused_marker(void) { return 0; }\n')
    built = subprocess.run([GCC, *CFLAGS, "-c", "unused.c"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr


def test_flash_and_ram_equal_a_hand_count_for_the_tiny_network():
    integer = quantize(tiny_network())
    assert list(integer.decay_mode) == [DECAY_SHIFT, DECAY_SHIFT, DECAY_Q15]
    export = export_c(integer, "tiny")
    # Tables (uint8 unless noted): row_ptr 6 sources + 1 = 6, connected_input (both inputs) 2,
    # target 6, weight (int8) 6, output_index 1, delay 6; per neuron (3): weight_multiplier 413/310/465 uint16 6,
    # bias 655/0/-655 int16 6, decay_mode 3, decay_shift (k=3, 2) 3, threshold 32768/26214/65536
    # int32 12, reset_mode 3, adaptation_increment 13107/0/0 uint16 6, adaptation_decay_q15
    # 29491/32768/32768 uint16 6, refractory_steps 3. beta_q15 (only neuron 2 uses it) and
    # spiking (all 1) are constants in the code.
    assert export.flash_bytes == 6 + 2 + 6 + 6 + 1 + 6 + 6 + 6 + 3 + 3 + 12 + 3 + 6 + 6 + 3 == 75
    assert "tiny_beta_q15" not in export.source and "tiny_spiking" not in export.source
    # State: membrane 3 x 4, adaptation 3 x 4, ring (max delay 2 + 2 = 4 rows) 4 x 3 x 4, slot 4,
    # refractory 3 x uint8, spiked 3 x uint8 = 82, rounded up to the 4-byte alignment.
    assert export.ram_bytes == 12 + 12 + 48 + 4 + 3 + 3 + 2 == 84
    assert "#define TINY_FLASH_BYTES 75" in export.source and "#define TINY_RAM_BYTES 84" in export.source


def test_header_has_no_float_malloc_or_other_libc():
    network, _ = case("analog_inputs")
    source = export_c(network).source
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("/*", "*")))
    for word in ("float", "double", "malloc", "free(", "printf"):
        assert word not in code
    assert [line for line in source.splitlines() if line.startswith("#include")] == ["#include <stdint.h>", "#include <string.h>"]
    assert "4 inputs, 12 neurons" in source and "Q.F, 1.0 = 65536" in source


def test_bad_name_and_float_network_are_clear_errors():
    network, _ = case("tiny")
    with pytest.raises(ValueError, match="not a C identifier"):
        export_c(network, name="2fast")
    with pytest.raises(TypeError, match="quantize it first"):
        export_c(tiny_network())  # type: ignore[arg-type]
