"""NIR export and import of float LIF networks (Neuromorphic Intermediate Representation).

Needs the optional ``nir`` package (``pip install "spikefly[nir]"``), imported when called.

Mapping (``dt`` is the simulation step in seconds; NIR stores no dt, so pass the same one back)
------------------------------------------------------------------------------------------------
NIR neurons are continuous: ``tau dv/dt = (v_leak - v) + r I``. One Euler step of length ``dt``
is our discrete update ``v <- beta v + bias + current`` when (snnTorch's convention)::

    tau = dt / (1 - beta),   r = 1 / (1 - beta),   v_leak = bias / (1 - beta)

so a synaptic current ``I`` adds exactly ``I`` per step, and the bias becomes the leak target
``v_leak``, the membrane that the bias alone settles at (no extra node). Neurons become:

- spiking, ``beta < 1``: ``nir.LIF(tau, r, v_leak, v_threshold=threshold, v_reset=0)``;
- spiking, ``beta == 1`` (no leak, tau would be infinite): ``nir.IF(r=1/dt, v_threshold, v_reset=0)``
  (``dv/dt = r I``: Euler adds ``I`` per step);
- non-spiking read-outs: ``nir.LI(tau, r, v_leak)``, or ``nir.I(r=1/dt)`` when ``beta == 1``.
  Their NIR output is the membrane; a spiking neuron's NIR output is its spikes.

In spikefly a spike reaches other neurons one step later; NIR readers pass a feed-forward edge
within the step and an edge cycle one step later. So when every neuron spikes with a leak (the
usual controller) the graph is **one population**: a ``lif`` node of all neurons in neuron order,
``input -> weight_input_to_lif -> lif``, and every neuron-to-neuron synapse on the cycle
``lif -> relay -> weight_lif_to_lif -> lif`` (``relay`` an identity ``nir.Linear``: with it the
cycle has three nodes, which snnTorch 1.0's importer runs with nirtorch's cycle handling instead
of mis-wiring it as a two-node RNN); ``lif -> select -> output`` picks the outputs in action order
(``select`` a 0/1 ``nir.Linear``). Hidden layers and recurrence then read one step late, as here.

Otherwise (no-leak IF neurons, non-spiking read-outs) neurons are grouped into one node per
(model, hidden or output): ``lif``, ``if``, ``li``, ``i`` for hidden neurons, ``lif_out`` ... for
outputs (in action order), each output node feeding a ``nir.Output`` (``output``, or
``output_lif`` ... when outputs are of several models); recurrence is an edge cycle (node ->
Linear -> node), and an edge from a hidden node to an output node is feed-forward, which readers
pass within the step. Node metadata ``spikefly_neuron`` lists the network's neuron indices, and
each Output node's ``spikefly_action`` the action positions, so :func:`from_nir` restores the exact
numbering. Weights are ``nir.Linear`` nodes (not Affine: nirtorch 2.6 drops Affine biases), one per
(source node, target node, delay), dense ``[n_target, n_source]`` float32. A delay of ``d`` extra
steps is a ``nir.Delay`` of ``d * dt`` seconds after the Linear (few readers implement Delay).
A neuron node with no incoming synapse gets an all-zero Linear from the Input, because NIR's
type inference adds a second Input in front of any node without incoming edges.

What NIR cannot express raises ``ValueError`` naming the feature and the neurons (never a silent
approximation): refractory periods, threshold adaptation, reset by subtraction (NIR resets to
``v_reset``), and a bias on a neuron without leak (``nir.IF``/``nir.I`` have no ``v_leak``).
Non-spiking read-outs may have them (they never fire). Their outgoing synapses carry nothing
in spikefly, so they are left out of the graph (in NIR they would carry the membrane).

Known differences: NIR fires on ``v > v_threshold``, we on ``v >= threshold`` (only an exact tie
differs); a synapse of weight 0 is dropped on the way back (a dense matrix cannot tell it from
no synapse).

:func:`from_nir` also reads graphs from other tools: general ``r`` (a current ``I`` then adds
``r (1 - beta) I`` per step, folded into the weights), ``nir.Affine`` biases that feed a neuron
node directly (added to its bias), and neuron numbering in node order when metadata is missing.
"""

from __future__ import annotations

import types
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from spikefly.controllers.network import RESET_ZERO, LIFNetwork

if TYPE_CHECKING:
    import nir

_INSTALL_HINT = 'the NIR export needs the optional package nir: pip install "spikefly[nir]"'
_NEURON_META = "spikefly_neuron"
_ACTION_META = "spikefly_action"


def _import_nir() -> types.ModuleType:
    try:
        import nir
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    return nir


def _check_dt(dt: float) -> float:
    if not (isinstance(dt, (int, float, np.floating)) and np.isfinite(dt) and dt > 0):
        raise ValueError(f"NIR export: dt must be a positive number of seconds, got {dt!r}")
    return float(dt)


def _check_expressible(network: LIFNetwork) -> None:
    """Raise for features NIR has no node for (only on spiking neurons: read-outs never fire)."""
    spiking = network.spiking
    problems = {
        "refractory periods (refractory_steps > 0)": spiking & (network.refractory_steps > 0),
        "threshold adaptation (adaptation_increment > 0)": spiking & (network.adaptation_increment > 0),
        "reset by subtraction (reset_mode = RESET_SUBTRACT; NIR resets to v_reset)": spiking & (network.reset_mode != RESET_ZERO),
        "a bias on a neuron without leak (beta == 1; nir.IF and nir.I have no v_leak)": (network.beta == 1.0) & (network.bias != 0.0),
    }
    for feature, where in problems.items():
        if np.any(where):
            raise ValueError(
                f"to_nir: NIR cannot express {feature}, used by neurons {np.flatnonzero(where).tolist()}; "
                "remove it from the network (network.replace(...)) if the approximation is acceptable"
            )


def _input_gain(network: LIFNetwork, dt: float) -> NDArray[np.float64]:
    """[N]: the ``r`` of each neuron's node in the default mapping (1 / (1 - beta), or 1 / dt without leak)."""
    beta = network.beta.astype(np.float64)
    return np.where(beta < 1.0, 1.0 / np.where(beta < 1.0, 1.0 - beta, 1.0), 1.0 / dt)


def _neuron_node(nir_module: types.ModuleType, network: LIFNetwork, neurons: NDArray[np.int64], kind: str, dt: float,
                 unit_r: bool) -> nir.NIRNode:
    beta = network.beta[neurons].astype(np.float64)
    threshold = network.threshold[neurons].astype(np.float64)
    meta = {_NEURON_META: neurons.astype(np.int64)}
    if kind in ("if", "i"):
        r = np.full(neurons.size, 1.0 if unit_r else 1.0 / dt)
        if kind == "if":
            return nir_module.IF(r=r, v_threshold=threshold, v_reset=np.zeros(neurons.size), metadata=meta)
        return nir_module.I(r=r, metadata=meta)
    tau, r = dt / (1.0 - beta), np.ones(neurons.size) if unit_r else 1.0 / (1.0 - beta)
    v_leak = network.bias[neurons].astype(np.float64) / (1.0 - beta)
    if kind == "lif":
        return nir_module.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=threshold, v_reset=np.zeros(neurons.size), metadata=meta)
    return nir_module.LI(tau=tau, r=r, v_leak=v_leak, metadata=meta)


def to_nir(network: LIFNetwork, dt: float, unit_r: bool = False) -> nir.NIRGraph:
    """The NIR graph of ``network`` simulated at step ``dt`` seconds (mapping: module docstring).

    ``unit_r``: every neuron node gets ``r = 1`` and the default ``r`` is folded into the weights
    of its incoming Linear nodes instead (readers that ignore ``r``, such as Norse 1.1, then
    simulate the same network; snnTorch's importer wants the default).
    """
    nir_module = _import_nir()
    if not isinstance(network, LIFNetwork):
        raise TypeError(f"to_nir: expected a LIFNetwork, got {type(network).__name__} (dequantize an integer network first)")
    dt = _check_dt(dt)
    _check_expressible(network)
    if network.n_neurons and bool(np.all(network.spiking & (network.beta < 1.0))):
        return _population_graph(nir_module, network, dt, unit_r)
    n = network.n_neurons
    is_output = np.zeros(n, bool)
    is_output[network.output_index] = True
    kind_of = np.where(network.spiking, np.where(network.beta < 1.0, "lif", "if"), np.where(network.beta < 1.0, "li", "i"))
    nodes: dict[str, nir.NIRNode] = {"input": nir_module.Input(input_type={"input": np.array([network.n_inputs])})}
    edges: list[tuple[str, str]] = []
    node_of = np.empty(n, object)  # neuron -> node name
    local = np.empty(n, np.int64)  # neuron -> position in its node
    output_groups = []
    action_of = {int(neuron): position for position, neuron in enumerate(network.output_index)}
    for kind in ("lif", "if", "li", "i"):
        for output in (False, True):
            if output:
                neurons = network.output_index[kind_of[network.output_index] == kind].astype(np.int64)  # action order
            else:
                neurons = np.flatnonzero((kind_of == kind) & ~is_output)
            if neurons.size:
                name = f"{kind}_out" if output else kind
                nodes[name] = _neuron_node(nir_module, network, neurons, kind, dt, unit_r)
                node_of[neurons], local[neurons] = name, np.arange(neurons.size)
                if output:
                    output_groups.append((name, neurons))
    for name, neurons in output_groups:
        output_name = "output" if len(output_groups) == 1 else f"output_{name.removesuffix('_out')}"
        action = np.array([action_of[j] for j in neurons], np.int64)
        nodes[output_name] = nir_module.Output(output_type={"output": np.array([neurons.size])}, metadata={_ACTION_META: action})
        edges.append((name, output_name))

    _add_synapses(nir_module, network, dt, unit_r, nodes, edges, node_of, local)
    return nir_module.NIRGraph(nodes=nodes, edges=edges, metadata={"spikefly_dt_s": dt})


def _population_graph(nir_module: types.ModuleType, network: LIFNetwork, dt: float, unit_r: bool) -> nir.NIRGraph:
    """Every neuron spiking with a leak: one ``lif`` node of all neurons, in neuron order; its
    spikes reach neurons through the ``relay`` identity, so every neuron-to-neuron synapse is an
    edge cycle and arrives one step later in any reader that runs cycles; ``select`` picks the
    outputs in action order (module docstring)."""
    n = network.n_neurons
    everyone = np.arange(n, dtype=np.int64)
    nodes: dict[str, nir.NIRNode] = {"input": nir_module.Input(input_type={"input": np.array([network.n_inputs])}),
                                     "lif": _neuron_node(nir_module, network, everyone, "lif", dt, unit_r)}
    select = np.zeros((network.output_index.size, n), np.float32)
    select[np.arange(network.output_index.size), network.output_index] = 1.0
    nodes["select"] = nir_module.Linear(weight=select)
    nodes["output"] = nir_module.Output(output_type={"output": np.array([network.output_index.size])},
                                        metadata={_ACTION_META: np.arange(network.output_index.size, dtype=np.int64)})
    edges = [("lif", "select"), ("select", "output")]
    _add_synapses(nir_module, network, dt, unit_r, nodes, edges, np.full(n, "lif", object), everyone, relay=True)
    return nir_module.NIRGraph(nodes=nodes, edges=edges, metadata={"spikefly_dt_s": dt, "spikefly_layout": "population"})


def _add_synapses(nir_module: types.ModuleType, network: LIFNetwork, dt: float, unit_r: bool, nodes: dict, edges: list,
                  node_of: NDArray, local: NDArray[np.int64], relay: bool = False) -> None:
    """One Linear per (source node, target node, delay), a Delay after it for extra steps; with
    ``relay``, neuron-sourced Linears read the ``relay`` identity node that follows their source."""
    sources, targets, weights, delays = network.edges()
    if unit_r:
        weights = (weights * _input_gain(network, dt)[targets]).astype(np.float32)
    # A read-out never fires, so its synapses carry nothing here; in NIR its output is the membrane.
    transmits = (sources < network.n_inputs) | network.spiking[np.maximum(sources - network.n_inputs, 0)]
    sources, targets, weights, delays = sources[transmits], targets[transmits], weights[transmits], delays[transmits]
    from_input = sources < network.n_inputs
    source_node = np.where(from_input, "input", node_of[np.maximum(sources - network.n_inputs, 0)])
    source_local = np.where(from_input, sources, local[np.maximum(sources - network.n_inputs, 0)])
    groups: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for k in range(sources.size):
        groups[(str(source_node[k]), str(node_of[targets[k]]), int(delays[k]))].append(k)
    fed = {target for _, target, _ in groups}
    for name in sorted(set(node_of) - fed):
        groups[("input", name, 0)] = []  # an all-zero Linear keeps the node reachable from the Input
    for (source, target, delay), synapses in groups.items():
        n_source = network.n_inputs if source == "input" else int(np.sum(node_of == source))
        matrix = np.zeros((int(np.sum(node_of == target)), n_source), np.float32)
        matrix[local[targets[synapses]], source_local[synapses]] = weights[synapses]
        linear = f"weight_{source}_to_{target}" + (f"_delay{delay}" if delay else "")
        nodes[linear] = nir_module.Linear(weight=matrix)
        if relay and source != "input":
            if "relay" not in nodes:
                nodes["relay"] = nir_module.Linear(weight=np.eye(n_source, dtype=np.float32))
                edges.append((source, "relay"))
            edges.append(("relay", linear))
        else:
            edges.append((source, linear))
        if delay:
            nodes[f"delay_{source}_to_{target}_{delay}"] = nir_module.Delay(delay=np.full(matrix.shape[0], delay * dt))
            edges += [(linear, f"delay_{source}_to_{target}_{delay}"), (f"delay_{source}_to_{target}_{delay}", target)]
        else:
            edges.append((linear, target))


def export_nir(network: LIFNetwork, path: str | Path, dt: float, unit_r: bool = False) -> Path:
    """Write ``network`` (step ``dt`` seconds) as a NIR file (HDF5) with ``nir.write``; returns the path."""
    graph = to_nir(network, dt, unit_r)
    path = Path(path)
    _import_nir().write(path, graph)
    return path


_NEURON_TYPES = ("LIF", "IF", "LI", "I")


def _neuron_parameters(node: nir.NIRNode, name: str, dt: float) -> dict[str, NDArray[np.float64]]:
    """beta, bias, threshold, spiking and the per-step gain of input current, per neuron of ``node``."""
    kind = type(node).__name__
    r = np.asarray(node.r, np.float64).reshape(-1)
    if kind in ("LIF", "LI"):
        step = dt / np.asarray(node.tau, np.float64).reshape(-1)  # 1 - beta
        if np.any(step > 1.0) or np.any(step <= 0.0):
            raise ValueError(f"from_nir: node {name!r}: tau must be >= dt = {dt:g} s (beta = 1 - dt/tau in [0, 1))")
        beta, bias, gain = 1.0 - step, np.asarray(node.v_leak, np.float64).reshape(-1) * step, r * step
    else:
        beta, bias, gain = np.ones(r.size), np.zeros(r.size), r * dt
    gain = np.where(np.abs(gain - 1.0) < 1e-9, 1.0, gain)  # our own files: exactly 1 up to float64 round-off
    spiking = kind in ("LIF", "IF")
    if spiking and np.any(np.asarray(node.v_reset) != 0):
        raise ValueError(f"from_nir: node {name!r} resets to v_reset != 0; spikefly neurons reset to 0")
    threshold = np.asarray(node.v_threshold, np.float64).reshape(-1) if spiking else np.ones(r.size)
    return {"beta": beta, "bias": bias, "threshold": threshold, "spiking": np.full(r.size, spiking), "gain": gain}


def from_nir(graph: nir.NIRGraph, dt: float) -> LIFNetwork:
    """The LIFNetwork of a NIR graph read at step ``dt`` seconds (inverse of :func:`to_nir`).

    Accepts one Input, neuron nodes LIF/IF/LI/I, Linear (or Affine into a neuron node), an identity-like
    Linear relay in front of Linears, Delay after a Linear, and Output nodes fed by a neuron node or
    by a 0/1 selection Linear of one; anything else is a ValueError naming it.
    """
    _import_nir()  # the install hint, before anything else can fail
    dt = _check_dt(dt)
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    supported = {"Input", "Output", "Linear", "Affine", "Delay", *_NEURON_TYPES}
    for name, kind in kinds.items():
        if kind not in supported:
            raise ValueError(f"from_nir: node {name!r} is a {kind}, which spikefly cannot represent (supported: {', '.join(sorted(supported))})")
    inputs = [name for name, kind in kinds.items() if kind == "Input"]
    if len(inputs) != 1:
        raise ValueError(f"from_nir: expected exactly one Input node, found {inputs}")
    n_inputs = int(np.prod(graph.nodes[inputs[0]].input_type["input"]))
    neuron_nodes = [name for name, kind in kinds.items() if kind in _NEURON_TYPES]
    params = {name: _neuron_parameters(graph.nodes[name], name, dt) for name in neuron_nodes}
    sizes = {name: params[name]["beta"].size for name in neuron_nodes}
    n_neurons = sum(sizes.values())
    numbered = all(_NEURON_META in graph.nodes[name].metadata for name in neuron_nodes)
    index, start = {}, 0
    for name in neuron_nodes:
        index[name] = np.asarray(graph.nodes[name].metadata[_NEURON_META], np.int64) if numbered else np.arange(start, start + sizes[name])
        start += sizes[name]
    everyone = np.concatenate([index[name] for name in neuron_nodes]) if neuron_nodes else np.zeros(0, np.int64)
    if not np.array_equal(np.sort(everyone), np.arange(n_neurons)):
        raise ValueError(f"from_nir: metadata {_NEURON_META!r} of the neuron nodes is not a numbering 0..{n_neurons - 1}")

    neuron_values = {key: np.zeros(n_neurons) for key in ("beta", "bias", "threshold", "spiking", "gain")}
    for name in neuron_nodes:
        for key, values in params[name].items():
            neuron_values[key][index[name]] = values
    successors: dict[str, list[str]] = defaultdict(list)
    predecessors: dict[str, list[str]] = defaultdict(list)
    for source, target in graph.edges:
        successors[source].append(target)
        predecessors[target].append(source)

    def source_indices(name: str) -> NDArray[np.int64]:
        if kinds[name] == "Input":
            return np.arange(n_inputs)
        if kinds[name] in _NEURON_TYPES:
            return n_inputs + index[name]
        raise ValueError(f"from_nir: a Linear/Affine is fed by {name!r} ({kinds[name]}); expected the Input or a neuron node")

    sources, targets, weights, delays = [], [], [], []
    bias = neuron_values["bias"]
    def only_into(name: str, wanted: tuple[str, ...]) -> bool:
        return kinds[name] == "Linear" and bool(successors[name]) and all(kinds[after] in wanted for after in successors[name])

    for name in (name for name, kind in kinds.items() if kind in ("Linear", "Affine")):
        node = graph.nodes[name]
        if len(predecessors[name]) != 1:
            raise ValueError(f"from_nir: {kinds[name]} {name!r} needs exactly one incoming edge, has {predecessors[name]}")
        if only_into(name, ("Linear", "Affine")) or only_into(name, ("Output",)):
            continue  # a relay in front of synapses, or the selection of outputs: read with what it feeds
        before = predecessors[name][0]
        matrix = np.asarray(node.weight, np.float64)
        if kinds[before] == "Linear":  # synapses behind a relay: fold the relay into them
            if len(predecessors[before]) != 1:
                raise ValueError(f"from_nir: Linear {before!r} needs exactly one incoming edge, has {predecessors[before]}")
            relay = np.asarray(graph.nodes[before].weight, np.float64)
            if matrix.shape[1] != relay.shape[0]:
                raise ValueError(f"from_nir: {name!r} has weight shape {matrix.shape}, but {before!r} gives {relay.shape[0]} values")
            matrix, before = matrix @ relay, predecessors[before][0]
        source = source_indices(before)
        for after in successors[name]:
            delay, target_node = 0, after
            if kinds[after] == "Delay":
                delay_s = np.asarray(graph.nodes[after].delay, np.float64).reshape(-1)
                steps = np.round(delay_s / dt)
                if steps.size == 0 or np.any(steps != steps[0]) or np.any(np.abs(delay_s - steps * dt) > 1e-6 * dt) or steps[0] < 0:
                    raise ValueError(f"from_nir: Delay {after!r} must be one whole number of steps of dt = {dt:g} s, got {delay_s}")
                if kinds[name] == "Affine" and np.any(node.bias != 0):
                    raise ValueError(f"from_nir: Affine {name!r} has a bias and goes through Delay {after!r}; a delayed constant is not a bias")
                if len(successors[after]) != 1:
                    raise ValueError(f"from_nir: Delay {after!r} must feed exactly one neuron node, feeds {successors[after]}")
                delay, target_node = int(steps[0]), successors[after][0]
            if kinds[target_node] not in _NEURON_TYPES:
                raise ValueError(f"from_nir: {name!r} feeds {target_node!r} ({kinds[target_node]}); synapses must end on a neuron node")
            target = index[target_node]
            if matrix.shape != (target.size, source.size):
                raise ValueError(f"from_nir: {name!r} has weight shape {matrix.shape}, expected {(target.size, source.size)}")
            rows, columns = np.nonzero(matrix)
            sources.append(source[columns])
            targets.append(target[rows])
            weights.append(matrix[rows, columns] * neuron_values["gain"][target[rows]])
            delays.append(np.full(rows.size, delay))
            if kinds[name] == "Affine":
                bias[target] += np.asarray(node.bias, np.float64).reshape(-1) * neuron_values["gain"][target]
    for source_name, target_name in graph.edges:
        if kinds[target_name] in _NEURON_TYPES and kinds[source_name] not in ("Linear", "Affine", "Delay"):
            raise ValueError(f"from_nir: edge {source_name!r} -> {target_name!r}: neurons take input through a Linear node")

    outputs = [name for name, kind in kinds.items() if kind == "Output"]
    output_parts, action_parts = [], []
    for name in outputs:
        feeding = predecessors[name]
        neurons = None
        if len(feeding) == 1 and kinds[feeding[0]] in _NEURON_TYPES:
            neurons = index[feeding[0]]
        elif len(feeding) == 1 and kinds[feeding[0]] == "Linear" and len(predecessors[feeding[0]]) == 1 \
                and kinds[predecessors[feeding[0]][0]] in _NEURON_TYPES:  # a selection of a neuron node's outputs
            pick = np.asarray(graph.nodes[feeding[0]].weight, np.float64)
            if not (np.all((pick == 0) | (pick == 1)) and np.all(pick.sum(axis=1) == 1)):
                raise ValueError(f"from_nir: Linear {feeding[0]!r} feeds Output {name!r} but is not a selection (one 1 per row)")
            neurons = index[predecessors[feeding[0]][0]][np.argmax(pick, axis=1)]
        if neurons is None:
            raise ValueError(f"from_nir: Output {name!r} must be fed by exactly one neuron node (or a selection of one), "
                             f"is fed by {feeding}")
        output_parts.append(neurons)
        action_parts.append(graph.nodes[name].metadata.get(_ACTION_META, np.full(neurons.size, -1)))
    output_index = np.concatenate(output_parts) if outputs else np.zeros(0, np.int64)
    action = np.concatenate(action_parts) if outputs else np.zeros(0, np.int64)
    if np.all(action >= 0) and np.array_equal(np.sort(action), np.arange(action.size)):
        output_index = output_index[np.argsort(action)]  # our own metadata: back to action order
    source, target, weight, delay = (np.concatenate(parts) if parts else np.zeros(0) for parts in (sources, targets, weights, delays))
    order = np.lexsort((delay, target, source))  # canonical synapse order: by source, target, delay
    return LIFNetwork.from_edges(
        n_inputs, n_neurons, output_index,
        source[order].astype(np.int64), target[order].astype(np.int64), weight[order], delay[order].astype(np.int64),
        threshold=neuron_values["threshold"], beta=neuron_values["beta"], bias=bias,
        spiking=neuron_values["spiking"].astype(bool),
    )


__all__ = ["export_nir", "from_nir", "to_nir"]
