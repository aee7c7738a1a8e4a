"""The NIR export read by real readers: snnTorch's and Norse's own importers, simulated on the inputs
of a recorded flight, give spikefly's float kernel's spikes exactly, for the networks they can read:
snnTorch any graph of leaky spiking neurons with one threshold and no bias (hidden layers and
recurrence included), Norse one layer (docs/deployment.md lists what each reader cannot read)."""

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


def layered(n_inputs: int, seed: int = 0, recurrent: bool = False) -> LIFNetwork:
    """4 output neurons fed by 8 hidden ones (and a few inputs directly); optionally hidden and output recurrence."""
    rng = np.random.default_rng(seed)
    outputs, hidden = np.arange(4), np.arange(4, 12)
    edges = [(i, n, rng.normal(0.5, 0.25)) for i in range(n_inputs) for n in hidden if rng.random() < 0.12]
    edges += [(i, n, rng.normal(0.4, 0.2)) for i in range(n_inputs) for n in outputs if rng.random() < 0.03]
    edges += [(n_inputs + h, n, rng.normal(0.7, 0.3)) for h in hidden for n in outputs if rng.random() < 0.5]
    if recurrent:
        edges += [(n_inputs + 5, 6, 0.5), (n_inputs + 6, 5, 0.5), (n_inputs + 1, 9, -0.6), (n_inputs + 2, 2, 0.3)]
    sources, targets, weights = (np.array(column) for column in zip(*edges))
    return LIFNetwork.from_edges(n_inputs, 12, outputs, sources.astype(np.int64), targets.astype(np.int64), weights,
                                 threshold=1.0, beta=rng.choice([0.75, 0.875, 0.9375], 12))


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


@pytest.mark.parametrize("recurrent", [False, True], ids=["hidden-layer", "recurrent"])
def test_snntorch_reads_hidden_layers_and_recurrence_spike_for_spike(flight_inputs, tmp_path, recurrent):
    """All neurons are one node whose spikes come back through an edge cycle (``relay``), so every
    neuron-to-neuron synapse is one step late in snnTorch as in spikefly, the C export and NIR's own convention."""
    from snntorch.import_nir import import_from_nir

    network = layered(flight_inputs.shape[1], seed=2, recurrent=recurrent)
    expected, _ = simulate(network, flight_inputs, LIFState.zeros(network))
    hidden_spikes, _ = simulate(_read_at_hidden(network), flight_inputs, LIFState.zeros(network))
    assert expected.sum() > 100 and hidden_spikes.sum() > 100  # spikes pass through the hidden layer
    graph = nir.read(export_nir(network, tmp_path / "net.nir", SNNTORCH_DT_S))
    assert {"relay", "select"} <= set(graph.nodes)
    with contextlib.redirect_stdout(io.StringIO()):
        module = import_from_nir(graph)
    np.testing.assert_array_equal(run_reader(module, flight_inputs), expected)


def _read_at_hidden(network: LIFNetwork) -> LIFNetwork:
    """The same network read out at its hidden neurons."""
    sources, targets, weights, delays = network.edges()
    return LIFNetwork.from_edges(network.n_inputs, network.n_neurons, np.arange(4, 12), sources, targets, weights, delays,
                                 threshold=network.threshold, beta=network.beta)


@pytest.fixture(scope="module")
def snntorch_ready_champion(tmp_path_factory, wired_neat_config):
    """A champion evolved with nir_reader "snntorch" (a short run)."""
    from spikefly.evolution.run import CHAMPION_FILE, EvolutionRun
    from spikefly.evolution.settings import EvolveSettings

    out = tmp_path_factory.mktemp("snntorch-ready")
    # energy_weight 0.02: a short run at the default 0.2 can shed every hidden neuron, and this test needs a
    # network of more than one layer; baseline_champion off: the quiet network has none either
    settings = EvolveSettings(population=16, generations=3, episodes_per_world=1, validation_episodes=2, validation_top=2,
                              pybullet_episodes=1, nir_reader="snntorch", energy_weight=0.02, baseline_champion=False,
                              neat_config=str(wired_neat_config))
    EvolutionRun.start(out, settings, progress=False).run()
    return load(out / CHAMPION_FILE)


def test_a_champion_evolved_for_snntorch_flies_the_same_spikes_in_snntorch(snntorch_ready_champion, tmp_path):
    from snntorch.import_nir import import_from_nir

    from spikefly.controllers.quantize import dequantize
    from spikefly.evolution.export import export_controller

    spec = snntorch_ready_champion
    network = dequantize(spec.network)
    assert network.n_neurons > len(network.output_index)  # hidden neurons: more than one layer
    inputs = record_flight(spec, "forest", 0).log.inputs
    inputs = inputs.reshape(-1, inputs.shape[-1]).astype(np.float32)
    expected, _ = simulate(network, inputs, LIFState.zeros(network))
    assert expected.sum() > 50
    graph = nir.read(export_controller(spec, "nir", tmp_path / "champion.nir", dt_s=SNNTORCH_DT_S).path)  # --dt 1e-4
    with contextlib.redirect_stdout(io.StringIO()):
        module = import_from_nir(graph)
    np.testing.assert_array_equal(run_reader(module, inputs), expected)


def test_norse_does_not_run_the_cycle_that_carries_hidden_spikes(flight_inputs, tmp_path):
    """Documented limit: Norse 1.1 loads graphs with nirtorch's deprecated executor, which runs no edge cycle."""
    import norse.torch

    network = layered(flight_inputs.shape[1], seed=2)
    expected, _ = simulate(network, flight_inputs, LIFState.zeros(network))
    dt = substep_s(load(CHAMPION))
    module = norse.torch.from_nir(nir.read(export_nir(network, tmp_path / "net.nir", dt, unit_r=True)), dt=dt,
                                  ignore_warnings=True)
    got = run_reader(module, flight_inputs)
    assert got.shape != expected.shape or not np.array_equal(got, expected)  # 1.1: 12 columns of membrane-like values
