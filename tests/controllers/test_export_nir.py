"""NIR export: the file round-trips to the same network, its nodes mean what the docstring says
(checked by an independent Euler reading of the graph), and what NIR cannot say is an error."""

from __future__ import annotations

import sys

import nir
import numpy as np
import pytest

from spikefly.controllers.export_nir import export_nir, from_nir, to_nir
from spikefly.controllers.lif_state import LIFState, simulate
from spikefly.controllers.network import RESET_SUBTRACT, LIFNetwork, random_network

DT = 1e-3


def expressible_network(seed: int, *, membrane_readout: bool = True) -> LIFNetwork:
    """Heterogeneous beta/threshold/bias, delays, recurrence, no-leak neurons (IF and I) and
    leaky read-outs (LI); none of the features NIR lacks."""
    rng = np.random.default_rng(seed)
    network = random_network(rng, 6, 24, 4, 0.2, max_delay=2, heterogeneous=False, membrane_readout=membrane_readout, weight_scale=0.8)
    beta = rng.uniform(0.6, 0.99, 24)
    bias = rng.uniform(-0.02, 0.05, 24)
    beta[[2, 9, 23]] = 1.0  # IF neurons, and an I read-out when membrane_readout
    bias[[2, 9, 23]] = 0.0
    return network.replace(beta=beta, bias=bias, threshold=rng.uniform(0.5, 1.5, 24))


def every_neuron(network: LIFNetwork, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(spikes bool[T, N], membrane float32[T, N]) of every neuron, stepping the kernel."""
    state = LIFState.zeros(network)
    spikes, membranes = [], []
    for t in range(inputs.shape[0]):
        simulate(network, inputs[t:t + 1], state)
        spikes.append(state.spiked.astype(bool))
        membranes.append(state.membrane.copy())
    return np.array(spikes), np.array(membranes)


def sorted_edges(network: LIFNetwork, *, transmitting_only: bool = False) -> np.ndarray:
    """[S, 4] rows (source, target, delay, weight) by source, target, delay; optionally without the
    synapses of non-spiking read-outs (they never fire, so they carry nothing)."""
    sources, targets, weights, delays = network.edges()
    table = np.stack([sources, targets, delays, weights.astype(np.float64)], axis=1)[np.lexsort((delays, targets, sources))]
    if transmitting_only:
        neuron = table[:, 0].astype(int) - network.n_inputs
        table = table[(neuron < 0) | network.spiking[np.maximum(neuron, 0)]]
    return table


@pytest.mark.parametrize("seed", [0, 1])
def test_file_round_trip_gives_the_same_network_and_spikes(tmp_path, seed):
    network = expressible_network(seed)
    path = export_nir(network, tmp_path / "controller.nir", DT)
    back = from_nir(nir.read(path), DT)
    assert (back.n_inputs, back.n_neurons) == (network.n_inputs, network.n_neurons)
    np.testing.assert_array_equal(back.output_index, network.output_index)
    np.testing.assert_array_equal(back.spiking, network.spiking)
    edges = sorted_edges(network, transmitting_only=True)
    assert edges.shape[0] < network.n_synapses  # the read-outs' synapses are left out ...
    np.testing.assert_array_equal(sorted_edges(back), edges)  # ... the rest is exact (float32 in the file)
    spiking = network.spiking
    np.testing.assert_array_equal(back.threshold[spiking], network.threshold[spiking])
    np.testing.assert_array_max_ulp(back.beta, network.beta, maxulp=1)
    np.testing.assert_allclose(back.bias, network.bias, rtol=2e-7, atol=1e-12)
    inputs = (np.random.default_rng(seed).random((400, 6)) < 0.25).astype(np.float32)
    spikes, membrane = every_neuron(network, inputs)
    back_spikes, back_membrane = every_neuron(back, inputs)
    assert spikes.sum() > 100
    np.testing.assert_array_equal(back_spikes, spikes)
    np.testing.assert_array_equal(back_membrane, membrane)


def test_all_leaky_spiking_neurons_are_one_node_whose_synapses_come_back_through_a_cycle(tmp_path):
    """Hidden layers, recurrence, delays and biases: one ``lif`` node, neuron-to-neuron synapses behind
    the ``relay`` identity (an edge cycle: one step late in any reader), outputs picked by ``select``."""
    rng = np.random.default_rng(3)
    network = random_network(rng, 6, 16, 4, 0.25, max_delay=2, heterogeneous=False, membrane_readout=False, weight_scale=0.8)
    network = network.replace(beta=rng.uniform(0.6, 0.95, 16), bias=rng.uniform(-0.02, 0.05, 16))
    graph = to_nir(network, DT)
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert [name for name, kind in kinds.items() if kind == "LIF"] == ["lif"]
    np.testing.assert_array_equal(graph.nodes["lif"].metadata["spikefly_neuron"], np.arange(16))
    assert ("lif", "relay") in graph.edges and ("relay", "weight_lif_to_lif") in graph.edges
    assert ("weight_lif_to_lif", "lif") in graph.edges and "Delay" in kinds.values()
    np.testing.assert_array_equal(np.argmax(graph.nodes["select"].weight, axis=1), network.output_index)
    back = from_nir(nir.read(export_nir(network, tmp_path / "net.nir", DT)), DT)
    np.testing.assert_array_equal(back.output_index, network.output_index)
    np.testing.assert_array_equal(sorted_edges(back), sorted_edges(network))
    inputs = (rng.random((400, 6)) < 0.25).astype(np.float32)
    spikes, membrane = every_neuron(network, inputs)
    back_spikes, back_membrane = every_neuron(back, inputs)
    assert spikes.sum() > 100
    np.testing.assert_array_equal(back_spikes, spikes)
    np.testing.assert_array_equal(back_membrane, membrane)


def test_nodes_follow_the_documented_mapping():
    network = expressible_network(2)
    graph = to_nir(network, DT)
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    expected = {"input": "Input", "lif": "LIF", "if": "IF", "li_out": "LI", "i_out": "I", "output_li": "Output", "output_i": "Output"}
    assert {name: kinds[name] for name in expected} == expected
    assert "Affine" not in kinds.values() and "Delay" in kinds.values()
    lif = graph.nodes["lif"]
    neurons = lif.metadata["spikefly_neuron"]
    beta, bias = network.beta[neurons].astype(np.float64), network.bias[neurons].astype(np.float64)
    np.testing.assert_allclose(lif.tau, DT / (1 - beta))
    np.testing.assert_allclose(lif.r, 1 / (1 - beta))
    np.testing.assert_allclose(lif.v_leak, bias / (1 - beta))
    np.testing.assert_array_equal(lif.v_threshold, network.threshold[neurons])
    np.testing.assert_array_equal(lif.v_reset, 0.0)
    np.testing.assert_allclose(graph.nodes["if"].r, 1 / DT)
    # Recurrence is an edge cycle through a Linear.
    assert ("lif", "weight_lif_to_lif") in graph.edges and ("weight_lif_to_lif", "lif") in graph.edges
    assert graph.metadata["spikefly_dt_s"] == DT


def euler_reading(graph: nir.NIRGraph, dt: float, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """An independent float64 reading of the graph: Euler steps of ``dt``; a neuron node sees the
    Input of this step and neuron outputs of the previous step, shifted further by each Delay.
    Returns {neuron node: output [T, n]} (spikes, or the membrane for LI/I)."""
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    into: dict[str, list[tuple[str, np.ndarray, int]]] = {name: [] for name in graph.nodes}
    for linear, after in graph.edges:
        if kinds[linear] != "Linear":
            continue
        source = next(s for s, t in graph.edges if t == linear)
        lag, target = (0 if kinds[source] == "Input" else 1), after
        if kinds[after] == "Delay":
            lag += round(float(graph.nodes[after].delay[0]) / dt)
            target = next(t for s, t in graph.edges if s == after)
        into[target].append((source, np.asarray(graph.nodes[linear].weight, np.float64), lag))
    neurons = [name for name, kind in kinds.items() if kind in ("LIF", "IF", "LI", "I")]
    history = {name: np.zeros((inputs.shape[0], graph.nodes[name].r.size)) for name in neurons}
    v = {name: np.zeros(graph.nodes[name].r.size) for name in neurons}
    for t in range(inputs.shape[0]):
        for name in neurons:
            node, current = graph.nodes[name], np.zeros(v[name].size)
            for source, weight, lag in into[name]:
                if t - lag >= 0:
                    current += weight @ (inputs[t - lag] if kinds[source] == "Input" else history[source][t - lag])
            if kinds[name] in ("LIF", "LI"):
                v[name] = v[name] + dt / node.tau * (node.v_leak - v[name] + node.r * current)
            else:
                v[name] = v[name] + dt * node.r * current
            if kinds[name] in ("LIF", "IF"):
                fired = v[name] > node.v_threshold
                v[name] = np.where(fired, node.v_reset, v[name])
                history[name][t] = fired
            else:
                history[name][t] = v[name]
    return history


def test_an_independent_euler_reading_of_the_graph_flies_like_the_network():
    network = expressible_network(3)
    graph = to_nir(network, DT)
    inputs = (np.random.default_rng(3).random((200, 6)) < 0.25).astype(np.float64)
    spikes, membrane = every_neuron(network, inputs.astype(np.float32))
    reading = euler_reading(graph, DT, inputs)
    for name, output in reading.items():
        neurons = graph.nodes[name].metadata["spikefly_neuron"]
        if type(graph.nodes[name]).__name__ in ("LIF", "IF"):
            assert spikes[:, neurons].sum() > 20
            np.testing.assert_array_equal(output.astype(bool), spikes[:, neurons], err_msg=name)
        else:
            np.testing.assert_allclose(output, membrane[:, neurons], rtol=1e-4, atol=1e-5, err_msg=name)


def test_neurons_without_incoming_synapses_stay_reachable_from_the_single_input(tmp_path):
    network = LIFNetwork.from_edges(2, 3, [2], sources=[0, 3], targets=[2, 2], weights=[0.5, 0.7], bias=[0.2, 0.0, 0.0])
    path = export_nir(network, tmp_path / "bias_driven.nir", DT)
    graph = nir.read(path)  # type inference would add an Input before any node without inputs
    assert [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)] == ["input"]
    back = from_nir(graph, DT)
    np.testing.assert_array_equal(sorted_edges(back), sorted_edges(network))


def test_reads_a_graph_from_another_tool():
    """snnTorch-style: Affine into a LIF with r = tau/dt, no spikefly metadata; r = 2 tau/dt
    doubles every current, which lands in the weights and the Affine bias."""
    tau = np.array([0.01, 0.004])
    weight = np.array([[0.5, 0.0, -1.0], [0.25, 2.0, 0.0]], np.float32)
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([3])}),
            "fc": nir.Affine(weight=weight, bias=np.array([0.1, 0.0], np.float32)),
            "lif": nir.LIF(tau=tau, r=np.array([1.0, 2.0]) * tau / DT, v_leak=np.zeros(2), v_threshold=np.array([1.0, 0.8])),
            "out": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")],
    )
    network = from_nir(graph, DT)
    assert (network.n_inputs, network.n_neurons, list(network.output_index)) == (3, 2, [0, 1])
    np.testing.assert_allclose(network.beta, 1 - DT / tau)
    np.testing.assert_allclose(network.bias, [0.1, 0.0], rtol=1e-6)
    np.testing.assert_allclose(sorted_edges(network), [[0, 0, 0, 0.5], [0, 1, 0, 0.5], [1, 1, 0, 4.0], [2, 0, 0, -1.0]])
    np.testing.assert_array_equal(network.threshold, np.float32([1.0, 0.8]))


@pytest.mark.parametrize(("change", "feature"), [
    ({"refractory_steps": 2}, "refractory periods"),
    ({"adaptation_increment": 0.1}, "threshold adaptation"),
    ({"reset_mode": RESET_SUBTRACT}, "reset by subtraction"),
    ({"beta": 1.0, "bias": 0.01}, "bias on a neuron without leak"),
])
def test_what_nir_cannot_express_is_an_error_naming_the_feature(change, feature):
    network = expressible_network(4).replace(**change)
    with pytest.raises(ValueError, match=feature):
        to_nir(network, DT)


def test_read_outs_may_keep_spiking_only_features():
    network = expressible_network(4)
    refractory = np.where(network.spiking, 0, 3)  # a read-out never fires, so never refracts
    to_nir(network.replace(refractory_steps=refractory, reset_mode=np.where(network.spiking, 0, RESET_SUBTRACT)), DT)


def test_unsupported_graphs_and_bad_dt_are_clear_errors():
    network = expressible_network(5)
    with pytest.raises(ValueError, match="dt must be a positive"):
        to_nir(network, 0.0)
    graph = to_nir(network, DT)
    graph.nodes["lif"] = nir.CubaLIF(
        tau_syn=np.ones(3), tau_mem=np.ones(3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3),
    )
    with pytest.raises(ValueError, match="'lif' is a CubaLIF"):
        from_nir(graph, DT)
    graph = to_nir(network, DT)
    graph.nodes["lif"].v_reset = np.full(graph.nodes["lif"].v_reset.shape, -0.5)
    with pytest.raises(ValueError, match="reset to 0"):
        from_nir(graph, DT)
    graph = to_nir(network, DT)
    with pytest.raises(ValueError, match="tau must be >= dt"):
        from_nir(graph, 1.0)  # dt longer than every tau: beta would be negative
    with pytest.raises(TypeError, match="expected a LIFNetwork"):
        to_nir("network", DT)  # type: ignore[arg-type]


def test_missing_nir_package_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)  # import nir now raises ImportError
    with pytest.raises(ImportError, match=r'pip install "spikefly\[nir\]"'):
        to_nir(expressible_network(6), DT)
