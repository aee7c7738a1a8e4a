"""The NIR export read by real readers: snnTorch's and Norse's own importers, simulated on the inputs
of a recorded flight, give spikefly's float kernel's spikes exactly, for the networks they can read
(one layer of LIF neurons, no recurrence; docs/deployment.md lists why recurrent and multi-layer
graphs differ in these readers)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nir
import numpy as np
import pytest

from spikefly.controllers import LIFNetwork, LIFState, load, simulate
from spikefly.controllers.export_nir import export_nir
from spikefly.evolution.export import substep_s
from spikefly.evolution.review.record import record_flight

torch = pytest.importorskip("torch", reason='the NIR readers need torch: pip install -e ".[test]"')
CHAMPION = Path(__file__).resolve().parent / "data" / "champions" / "quadrotor_gdef.json"
SNNTORCH_DT_S = 1e-4
"""snnTorch 1.0's importer simulates every LIF node at this step, whatever the graph was written for."""


@pytest.fixture(scope="module")
def flight_inputs() -> np.ndarray:
    """float32 [T*K, 92]: the population-coded input spikes of the quadrotor champion's flight through the forest."""
    log = record_flight(load(CHAMPION), "forest", 0).log
    return log.inputs.reshape(-1, log.inputs.shape[-1]).astype(np.float32)


def one_layer(n_inputs: int, seed: int = 0) -> LIFNetwork:
    """8 LIF output neurons fed by the inputs: leaks of 1/4, 1/8, 1/16, a shared threshold, no bias."""
    rng = np.random.default_rng(seed)
    pairs = np.argwhere(rng.random((n_inputs, 8)) < 0.15)
    return LIFNetwork.from_edges(n_inputs, 8, list(range(8)), pairs[:, 0], pairs[:, 1], rng.normal(0.35, 0.3, len(pairs)),
                                 threshold=1.0, beta=rng.choice([0.75, 0.875, 0.9375], 8))


def run_reader(module, inputs: np.ndarray) -> np.ndarray:
    """Step a nirtorch module (``output, state = module(x, state)``) through ``inputs`` [T, C]; outputs [T, n]."""
    state, outputs = None, []
    with torch.no_grad():
        for row in inputs:
            output, state = module(torch.from_numpy(row[None, :]), state)
            outputs.append(output.numpy()[0])
    return np.array(outputs)


def test_snntorch_reads_the_exported_graph_and_spikes_like_spikefly(flight_inputs, tmp_path):
    from snntorch.import_nir import import_from_nir

    network = one_layer(flight_inputs.shape[1])
    expected, _ = simulate(network, flight_inputs, LIFState.zeros(network))
    assert expected.sum() > 100  # the comparison is about spikes, not silence
    graph = nir.read(export_nir(network, tmp_path / "net.nir", SNNTORCH_DT_S))
    with contextlib.redirect_stdout(io.StringIO()):  # the importer prints its progress
        module = import_from_nir(graph)
    np.testing.assert_array_equal(run_reader(module, flight_inputs), expected)


def test_norse_reads_the_unit_r_graph_at_the_controllers_dt_and_spikes_like_spikefly(flight_inputs, tmp_path):
    import norse.torch

    network = one_layer(flight_inputs.shape[1], seed=1)
    expected, _ = simulate(network, flight_inputs, LIFState.zeros(network))
    assert expected.sum() > 100
    dt = substep_s(load(CHAMPION))
    graph = nir.read(export_nir(network, tmp_path / "net.nir", dt, unit_r=True))
    module = norse.torch.from_nir(graph, dt=dt)
    np.testing.assert_array_equal(run_reader(module, flight_inputs), expected)
    # with the default r (snnTorch's convention) Norse, which ignores r, scales every input by 1 - beta
    default = norse.torch.from_nir(nir.read(export_nir(network, tmp_path / "default.nir", dt)), dt=dt, ignore_warnings=True)
    assert run_reader(default, flight_inputs).sum() < 0.5 * expected.sum()
