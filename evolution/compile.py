"""From LIF genomes to the spiking core's arrays, and genomes as compact arrays.

:func:`compile_genome` turns a :class:`~spikefly.evolution.genome.LIFGenome` into the
:class:`~spikefly.controllers.LIFNetwork` that evolution evaluates and export deploys:

- kept: the output neurons (always, even when nothing reaches them) and every hidden neuron
  from which an output can be reached through ENABLED connections (recurrent links and
  self-loops included); pruned: everything else. neat's ``get_pruned_copy`` is not used: its
  reachability walks disabled connections too, so it keeps neurons whose only way to an output
  is switched off;
- sources: neat's input keys ``-1, -2, ..., -n`` are the network's inputs ``0 .. n-1``;
  neurons: the output keys ``0 .. m-1`` are neurons ``0 .. m-1`` (so ``output_index`` is
  ``0 .. m-1`` in action order), then the kept hidden neurons in ascending key order;
- synapses: the enabled connections between kept nodes, with their weight and delay;
- neurons: threshold, beta, bias, refractory steps and adaptation increment from the genes,
  the adaptation decay from the config (or the argument), reset to zero, all spiking.

:func:`genome_to_arrays` / :func:`genome_from_arrays` give an exact, picklable, JSON-friendly
form of a whole genome (every gene, disabled ones too, in dict order — neat's mutation draws
random numbers gene by gene in that order) for process-pool workers and checkpoints. Rebuilding
a genome draws no node key and no innovation number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from neat.attributes import BoolAttribute, FloatAttribute, IntegerAttribute
from numpy.typing import NDArray

from spikefly.controllers.network import RESET_ZERO, LIFNetwork
from spikefly.evolution.genome import LIFConnectionGene, LIFGenome, LIFGenomeConfig, LIFNodeGene

__all__ = ["compile_genome", "compile_population", "genome_from_arrays", "genome_to_arrays", "reachable_nodes"]


def reachable_nodes(genome: LIFGenome, genome_config: LIFGenomeConfig) -> set[int]:
    """Keys of the neurons that reach an output through enabled connections (outputs included)."""
    senders: dict[int, list[int]] = {}
    for (source, target), gene in genome.connections.items():
        if gene.enabled:
            senders.setdefault(target, []).append(source)
    kept = set(genome_config.output_keys)
    frontier = list(kept)
    while frontier:
        for source in senders.get(frontier.pop(), ()):
            if source >= 0 and source not in kept and source in genome.nodes:
                kept.add(source)
                frontier.append(source)
    return kept


def compile_genome(
    genome: LIFGenome, genome_config: LIFGenomeConfig, *, adaptation_decay: float | None = None
) -> LIFNetwork:
    """The pruned :class:`LIFNetwork` of ``genome`` (mapping: module docstring).

    ``adaptation_decay``: per-step multiplier of every neuron's threshold excess, in [0, 1];
    None takes the config's ``adaptation_decay``.
    """
    n_inputs, n_outputs = genome_config.num_inputs, genome_config.num_outputs
    missing = [key for key in genome_config.output_keys if key not in genome.nodes]
    if missing:
        raise ValueError(f"compile_genome: genome {genome.key} lacks output node(s) {missing}")
    kept = reachable_nodes(genome, genome_config)
    hidden = sorted(key for key in kept if key >= n_outputs)
    order = [*genome_config.output_keys, *hidden]
    neuron_of = {key: index for index, key in enumerate(order)}

    sources, targets, weights, delays = [], [], [], []
    for (source, target), gene in genome.connections.items():
        if not gene.enabled or target not in neuron_of:
            continue
        if source < 0:
            if -source > n_inputs:
                raise ValueError(f"compile_genome: connection {source}->{target} of genome {genome.key} "
                                 f"comes from input {source}, but the config has num_inputs={n_inputs}")
            sources.append(-source - 1)
        elif source in neuron_of:
            sources.append(n_inputs + neuron_of[source])
        else:
            continue  # a dangling gene: its source neuron has no node gene
        targets.append(neuron_of[target])
        weights.append(gene.weight)
        delays.append(gene.delay)

    genes = [genome.nodes[key] for key in order]
    decay = genome_config.adaptation_decay if adaptation_decay is None else adaptation_decay
    return LIFNetwork.from_edges(
        n_inputs, len(order), np.arange(n_outputs), np.array(sources, np.int64), np.array(targets, np.int64),
        np.array(weights, np.float64), np.array(delays, np.int64),
        threshold=np.array([g.threshold for g in genes], np.float64),
        beta=np.array([g.beta for g in genes], np.float64),
        bias=np.array([g.bias for g in genes], np.float64),
        adaptation_increment=np.array([g.adaptation for g in genes], np.float64),
        adaptation_decay=decay,
        refractory_steps=np.array([g.refractory for g in genes], np.int64),
        reset_mode=RESET_ZERO,
        spiking=True,
    )


def compile_population(
    genomes: Sequence[LIFGenome] | Sequence[tuple[int, LIFGenome]], genome_config: LIFGenomeConfig
) -> list[LIFNetwork]:
    """:func:`compile_genome` for each genome, in order. Accepts genomes or neat's ``(key, genome)``
    pairs; batch the result with :func:`spikefly.controllers.lif_state.pack_batch`."""
    return [compile_genome(g[1] if isinstance(g, tuple) else g, genome_config) for g in genomes]


def _dtype(attribute: object) -> type:
    """The array dtype of a gene attribute: float64 keeps Python floats exactly."""
    for kind, dtype in ((FloatAttribute, np.float64), (IntegerAttribute, np.int32), (BoolAttribute, np.bool_)):
        if isinstance(attribute, kind):
            return dtype
    raise TypeError(f"no array form for gene attribute {attribute.name!r} ({type(attribute).__name__})")


def genome_to_arrays(genome: LIFGenome) -> dict[str, NDArray]:
    """Every gene of ``genome`` as flat arrays (names and shapes below), genes in dict order.

    - ``genome_key`` int64[1]; ``fitness`` float64[1] (NaN when not yet evaluated);
    - ``node_key`` int32[N] and ``node_<attribute>`` [N] for each :class:`LIFNodeGene` attribute
      (bias, threshold, beta float64; refractory int32; adaptation float64);
    - ``connection_source``, ``connection_target``, ``connection_innovation`` int32[C] and
      ``connection_<attribute>`` [C] (weight float64, enabled bool, delay int32).

    float64 holds Python floats exactly; keys, innovation numbers and integer genes are checked
    to fit int32.
    """
    arrays: dict[str, NDArray] = {
        "genome_key": np.array([genome.key], np.int64),
        "fitness": np.array([np.nan if genome.fitness is None else genome.fitness], np.float64),
        "node_key": _int32("node_key", list(genome.nodes)),
    }
    connections = list(genome.connections.values())
    arrays["connection_source"] = _int32("connection_source", [g.key[0] for g in connections])
    arrays["connection_target"] = _int32("connection_target", [g.key[1] for g in connections])
    arrays["connection_innovation"] = _int32("connection_innovation", [g.innovation for g in connections])
    for prefix, genes, attributes in (("node", genome.nodes.values(), LIFNodeGene._gene_attributes),
                                      ("connection", connections, LIFConnectionGene._gene_attributes)):
        for attribute in attributes:
            name, values = f"{prefix}_{attribute.name}", [getattr(g, attribute.name) for g in genes]
            dtype = _dtype(attribute)
            arrays[name] = _int32(name, values) if dtype is np.int32 else np.array(values, dtype)
    return arrays


def _python(value: np.generic, dtype: type) -> float | int | bool:
    return {np.float64: float, np.int32: int, np.bool_: bool}[dtype](value)


def _int32(name: str, values: list[int]) -> NDArray[np.int32]:
    """Keys, innovation numbers and integer genes as int32 (half the bytes of int64), checked."""
    array = np.array(values, np.int64)
    if array.size and (array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.int32).max):
        raise ValueError(f"genome_to_arrays: {name} does not fit int32")
    return array.astype(np.int32)


def genome_from_arrays(arrays: Mapping[str, NDArray], genome_config: LIFGenomeConfig) -> LIFGenome:
    """The genome :func:`genome_to_arrays` described, equal gene for gene (Python floats, ints,
    bools; same dict order). Draws no node key or innovation number. Raises ValueError on
    missing or inconsistent arrays."""
    node_names = ["node_key", *(f"node_{a.name}" for a in LIFNodeGene._gene_attributes)]
    connection_names = ["connection_source", "connection_target", "connection_innovation",
                        *(f"connection_{a.name}" for a in LIFConnectionGene._gene_attributes)]
    missing = [name for name in ("genome_key", "fitness", *node_names, *connection_names) if name not in arrays]
    if missing:
        raise ValueError(f"genome_from_arrays: missing array(s) {missing}")
    for names in (node_names, connection_names):
        shapes = {name: np.shape(arrays[name]) for name in names}
        if len(set(shapes.values())) != 1 or len(shapes[names[0]]) != 1:
            raise ValueError(f"genome_from_arrays: these arrays must be 1-D and of one length: {shapes}")

    fitness = float(np.asarray(arrays["fitness"]).reshape(-1)[0])
    genome = LIFGenome(int(np.asarray(arrays["genome_key"]).reshape(-1)[0]))
    genome.fitness = None if np.isnan(fitness) else fitness
    node_columns = [(a.name, np.asarray(arrays[f"node_{a.name}"]), _dtype(a)) for a in LIFNodeGene._gene_attributes]
    for row, key in enumerate(np.asarray(arrays["node_key"]).tolist()):
        gene = genome_config.node_gene_type(int(key))
        for name, column, dtype in node_columns:
            setattr(gene, name, _python(column[row], dtype))
        genome.nodes[gene.key] = gene
    connection_columns = [(a.name, np.asarray(arrays[f"connection_{a.name}"]), _dtype(a))
                          for a in LIFConnectionGene._gene_attributes]
    keys = zip(np.asarray(arrays["connection_source"]).tolist(), np.asarray(arrays["connection_target"]).tolist(),
               np.asarray(arrays["connection_innovation"]).tolist())
    for row, (source, target, innovation) in enumerate(keys):
        gene = genome_config.connection_gene_type((int(source), int(target)), innovation=int(innovation))
        for name, column, dtype in connection_columns:
            setattr(gene, name, _python(column[row], dtype))
        genome.connections[gene.key] = gene
    if len(genome.nodes) != len(arrays["node_key"]) or len(genome.connections) != len(arrays["connection_source"]):
        raise ValueError("genome_from_arrays: a node key or a (source, target) connection appears twice")
    return genome


def arrays_to_json(arrays: Mapping[str, NDArray]) -> dict[str, Any]:
    """Gene arrays as JSON-ready ``{name: {"dtype", "values"}}`` (checkpoints, champions, migrants)."""
    return {name: {"dtype": str(np.asarray(value).dtype), "values": np.asarray(value).tolist()} for name, value in arrays.items()}


def arrays_from_json(document: Mapping[str, Any]) -> dict[str, NDArray]:
    """Inverse of :func:`arrays_to_json`."""
    return {name: np.array(entry["values"], dtype=entry["dtype"]) for name, entry in document.items()}
