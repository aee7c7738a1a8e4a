"""Genome -> LIFNetwork compilation, and the compact array form of genomes."""

from __future__ import annotations

import json
import pickle

import neat
import numpy as np
import pytest
from neat.graphs import required_for_output

from spikefly.controllers.lif_state import pack_batch, simulate, simulate_batch
from spikefly.controllers.network import RESET_ZERO
from spikefly.evolution.compile import (
    compile_genome,
    compile_population,
    genome_from_arrays,
    genome_to_arrays,
    reachable_nodes,
)
from spikefly.evolution.genome import LIFConnectionGene, LIFGenome, LIFNodeGene, seed_everything
from spikefly.evolution.neat_config import load_neat_config


def make_genome(config, nodes: dict, connections: list, key: int = 1) -> LIFGenome:
    """nodes: key -> (bias, threshold, beta, refractory, adaptation);
    connections: (source, target, weight, delay, enabled), innovation = position + 1."""
    genome = LIFGenome(key)
    for node_key, (bias, threshold, beta, refractory, adaptation) in nodes.items():
        gene = LIFNodeGene(node_key)
        gene.bias, gene.threshold, gene.beta, gene.refractory, gene.adaptation = bias, threshold, beta, refractory, adaptation
        genome.nodes[node_key] = gene
    for innovation, (source, target, weight, delay, enabled) in enumerate(connections, 1):
        gene = LIFConnectionGene((source, target), innovation=innovation)
        gene.weight, gene.delay, gene.enabled = weight, delay, enabled
        genome.connections[gene.key] = gene
    return genome


@pytest.fixture(scope="module")
def config() -> neat.Config:
    return load_neat_config(num_inputs=3, num_outputs=2)


@pytest.fixture(scope="module")
def evolved(config: neat.Config) -> list[LIFGenome]:
    """Genomes after a few generations of random fitness (structure and delays mutated)."""
    seed_everything(3)
    population = neat.Population(config)
    rng = np.random.default_rng(0)

    def random_fitness(genomes, _config) -> None:
        for _, genome in genomes:
            genome.fitness = float(rng.random())

    population.run(random_fitness, 6)
    return list(population.population.values())


def test_hand_built_genome_compiles_to_hand_expected_arrays(config: neat.Config) -> None:
    nodes = {
        0: (0.01, 1.0, 0.9, 0, 0.0), 1: (0.0, 0.5, 0.5, 2, 0.25),
        5: (-0.125, 0.75, 0.0, 1, 0.0), 7: (0.0, 2.0, 0.8, 0, 0.5),
        9: (0.0, 1.0, 0.5, 0, 0.0), 11: (0.0, 1.0, 0.5, 0, 0.0), 13: (0.5, 1.0, 0.5, 0, 0.0),
    }
    connections = [
        (-1, 5, 0.5, 0, True),
        (5, 5, -0.25, 1, True),    # self-loop: kept
        (5, 0, 1.5, 0, True),
        (-2, 7, 0.75, 2, True),
        (7, 5, 2.0, 0, True),
        (0, 1, -1.0, 1, True),     # output -> output: kept
        (-3, 9, 1.0, 0, True),     # 9 and 11 reach no output: pruned
        (9, 11, 1.0, 0, True),
        (11, 11, 1.0, 0, True),
        (13, 1, 1.0, 0, False),    # 13 reaches an output only through a disabled connection: pruned
        (-3, 1, 3.0, 0, False),    # disabled: dropped
    ]
    genome = make_genome(config.genome_config, nodes, connections)
    assert reachable_nodes(genome, config.genome_config) == {0, 1, 5, 7}
    net = compile_genome(genome, config.genome_config)

    # neurons: outputs 0, 1, then hidden 5, 7; sources: inputs 0..2, then neurons 3..6
    assert (net.n_inputs, net.n_neurons) == (3, 4)
    assert net.output_index.tolist() == [0, 1]
    assert net.row_ptr.tolist() == [0, 1, 2, 2, 3, 3, 5, 6]
    assert net.target.tolist() == [2, 3, 1, 2, 0, 2]
    assert net.weight.tolist() == [0.5, 0.75, -1.0, -0.25, 1.5, 2.0]
    assert net.delay.tolist() == [0, 2, 1, 1, 0, 0]
    assert net.threshold.tolist() == [1.0, 0.5, 0.75, 2.0]
    assert net.beta.tolist() == pytest.approx([0.9, 0.5, 0.0, 0.8])
    assert net.bias.tolist() == pytest.approx([0.01, 0.0, -0.125, 0.0])
    assert net.refractory_steps.tolist() == [0, 2, 1, 0]
    assert net.adaptation_increment.tolist() == [0.0, 0.25, 0.0, 0.5]
    assert net.adaptation_decay.tolist() == [np.float32(0.95)] * 4
    assert net.reset_mode.tolist() == [RESET_ZERO] * 4
    assert net.spiking.all()

    net_fast_decay = compile_genome(genome, config.genome_config, adaptation_decay=0.5)
    assert net_fast_decay.adaptation_decay.tolist() == [0.5] * 4


def test_outputs_exist_even_when_nothing_reaches_them(config: neat.Config) -> None:
    genome = make_genome(config.genome_config, {0: (0.0, 1.0, 0.5, 0, 0.0), 1: (0.2, 1.0, 0.9, 0, 0.0), 4: (0.0, 1.0, 0.5, 0, 0.0)},
                         [(-1, 4, 1.0, 0, True)])
    net = compile_genome(genome, config.genome_config)
    assert net.n_neurons == 2 and net.n_synapses == 0 and net.output_index.tolist() == [0, 1]
    spikes, _ = simulate(net, np.ones((20, 3), np.float32))
    assert spikes[:, 0].sum() == 0 and spikes[:, 1].sum() > 0  # output 1 fires from its bias alone


def test_missing_output_gene_is_an_error(config: neat.Config) -> None:
    genome = make_genome(config.genome_config, {0: (0.0, 1.0, 0.5, 0, 0.0)}, [])
    with pytest.raises(ValueError, match=r"lacks output node\(s\) \[1\]"):
        compile_genome(genome, config.genome_config)


def test_compiled_network_equals_the_genome_graph(config: neat.Config, evolved: list[LIFGenome]) -> None:
    genome_config = config.genome_config
    checked = 0
    for genome in evolved:
        enabled = [key for key, gene in genome.connections.items() if gene.enabled]
        # independent reachability: a fixed point over enabled connections
        kept = set(genome_config.output_keys)
        while True:
            more = {s for s, t in enabled if t in kept and s >= 0 and s in genome.nodes} - kept
            if not more:
                break
            kept |= more
        assert reachable_nodes(genome, genome_config) == kept
        assert required_for_output(genome_config.input_keys, genome_config.output_keys, enabled) == kept  # neat agrees (recurrent too)

        net = compile_genome(genome, genome_config)
        order = [*genome_config.output_keys, *sorted(kept - set(genome_config.output_keys))]
        assert net.n_neurons == len(order)  # pruned nodes absent
        source_key = [-(i + 1) for i in range(genome_config.num_inputs)] + order
        sources, targets, weights, delays = net.edges()
        compiled = {(source_key[s], order[t]): (w, d) for s, t, w, d in zip(sources, targets, weights, delays)}
        expected = {key: (np.float32(genome.connections[key].weight), genome.connections[key].delay)
                    for key in enabled if key[1] in kept and (key[0] < 0 or key[0] in kept)}
        assert compiled == expected
        for index, key in enumerate(order):
            gene = genome.nodes[key]
            assert net.threshold[index] == np.float32(gene.threshold) and net.beta[index] == np.float32(gene.beta)
            assert net.bias[index] == np.float32(gene.bias) and net.refractory_steps[index] == gene.refractory
            assert net.adaptation_increment[index] == np.float32(gene.adaptation)
        checked += len(expected)
    assert checked > 100


def test_compile_population_batches_like_single_networks(config: neat.Config, evolved: list[LIFGenome]) -> None:
    genomes = evolved[:12]
    networks = compile_population(genomes, config.genome_config)
    assert [n.n_synapses for n in networks] == [n.n_synapses for n in compile_population(list(enumerate(genomes)), config.genome_config)]
    inputs = (np.random.default_rng(1).random((12, 30, 3)) < 0.4).astype(np.float32)
    batch_spikes, _ = simulate_batch(pack_batch(networks), inputs)
    for b, network in enumerate(networks):
        spikes, _ = simulate(network, inputs[b])
        np.testing.assert_array_equal(batch_spikes[b, :, : network.n_outputs], spikes)


# --- compact arrays -----------------------------------------------------------------------------


def gene_state(genome: LIFGenome) -> tuple:
    nodes = [(k, type(g), g.bias, g.threshold, g.beta, g.refractory, g.adaptation) for k, g in genome.nodes.items()]
    connections = [(k, type(g), g.innovation, g.weight, g.enabled, g.delay) for k, g in genome.connections.items()]
    return genome.key, genome.fitness, nodes, connections


def test_array_round_trip_is_exact_and_draws_no_keys(config: neat.Config, evolved: list[LIFGenome]) -> None:
    genome_config = config.genome_config
    tracker = genome_config.innovation_tracker
    before = (repr(genome_config.node_indexer), tracker.global_counter, dict(tracker.generation_innovations))
    for index, genome in enumerate(evolved):
        genome.fitness = None if index % 2 else 0.1 * index - 1.0
        arrays = genome_to_arrays(genome)
        back = genome_from_arrays(arrays, genome_config)
        assert gene_state(back) == gene_state(genome)
        for value in (*back.nodes.values(), *back.connections.values()):
            assert all(type(getattr(value, a.name)) in (float, int, bool) for a in value._gene_attributes)
        again = genome_to_arrays(back)
        assert arrays.keys() == again.keys()
        for name in arrays:
            assert arrays[name].dtype == again[name].dtype
            np.testing.assert_array_equal(arrays[name], again[name])
        # picklable, and JSON via (dtype, list) as checkpoints store it
        assert gene_state(genome_from_arrays(pickle.loads(pickle.dumps(arrays)), genome_config)) == gene_state(genome)
        document = json.loads(json.dumps({k: {"dtype": str(v.dtype), "values": v.tolist()} for k, v in arrays.items()}))
        restored = {k: np.array(v["values"], dtype=v["dtype"]) for k, v in document.items()}
        assert gene_state(genome_from_arrays(restored, genome_config)) == gene_state(genome)
        assert compile_genome(back, genome_config).weight.tolist() == compile_genome(genome, genome_config).weight.tolist()
    assert (repr(genome_config.node_indexer), tracker.global_counter, dict(tracker.generation_innovations)) == before


def test_arrays_are_smaller_than_the_pickled_genome(wired_neat_config) -> None:
    config = load_neat_config(wired_neat_config, num_inputs=92, num_outputs=8)  # the default quadrotor's channels: ~140 connections
    seed_everything(0)
    genome = LIFGenome(1)
    config.genome_config.innovation_tracker = neat.innovation.InnovationTracker()
    genome.configure_new(config.genome_config)
    assert len(genome.connections) > 100
    assert len(pickle.dumps(genome_to_arrays(genome))) < 0.7 * len(pickle.dumps(genome))


def test_malformed_arrays_raise(config: neat.Config, evolved: list[LIFGenome]) -> None:
    arrays = genome_to_arrays(evolved[0])
    with pytest.raises(ValueError, match=r"missing array\(s\) \['connection_delay'\]"):
        genome_from_arrays({k: v for k, v in arrays.items() if k != "connection_delay"}, config.genome_config)
    with pytest.raises(ValueError, match="1-D and of one length"):
        genome_from_arrays(arrays | {"node_bias": arrays["node_bias"][:-1]}, config.genome_config)
    doubled = {k: (np.concatenate([v, v]) if k.startswith("node_") else v) for k, v in arrays.items()}
    with pytest.raises(ValueError, match="appears twice"):
        genome_from_arrays(doubled, config.genome_config)
