"""The LIF genome plug-in with neat-python 2.0.0: evolution runs, neutral add-node, reproduction
fixes, seeding."""

from __future__ import annotations

import copy
import itertools
import random

import neat
import numpy as np
import pytest
from neat.innovation import InnovationTracker
from neat.reporting import BaseReporter, ReporterSet
from neat.species import Species

import spikefly.evolution.genome as genome_module
from spikefly.controllers.lif_state import pack_batch, simulate, simulate_batch
from spikefly.evolution.compile import compile_genome, compile_population, genome_to_arrays
from spikefly.evolution.genome import RELAY_THRESHOLD, RELAY_WEIGHT, LIFConnectionGene, LIFGenome, LIFNodeGene, seed_everything
from spikefly.evolution.neat_config import load_neat_config
from spikefly.evolution.reproduction import LIFReproduction

N_INPUTS, N_OUTPUTS = 3, 2
INPUT_SPIKES = (np.random.default_rng(7).random((60, N_INPUTS)) < 0.3).astype(np.float32)


def small_config(**overrides: dict[str, object]) -> neat.Config:
    sections = {"NEAT": {"pop_size": 40}} | overrides
    return load_neat_config(num_inputs=N_INPUTS, num_outputs=N_OUTPUTS, overrides=sections)


def copy_task_fitness(genomes: list, config: neat.Config) -> None:
    """Cheap fitness: output k should repeat input k one step later (fixed input spike train)."""
    networks = compile_population(genomes, config.genome_config)
    spikes, _ = simulate_batch(pack_batch(networks), np.broadcast_to(INPUT_SPIKES, (len(networks), *INPUT_SPIKES.shape)))
    target = np.roll(INPUT_SPIKES[:, :N_OUTPUTS], 1, axis=0)
    for (_, genome), output in zip(genomes, spikes):
        genome.fitness = -float(np.abs(output[:, :N_OUTPUTS].astype(np.float64) - target).sum())


class History(BaseReporter):
    """Per generation: species count, largest genome, and the structural mutations made."""

    def __init__(self, config: neat.Config) -> None:
        self.config, self.species, self.sizes, self.mutations = config, [], [], set()

    def post_evaluate(self, config, population, species, best) -> None:
        self.species.append(len(species.species))
        self.sizes.append(max(g.size() for g in population.values()))

    def end_generation(self, config, population, species_set) -> None:
        tracker = config.genome_config.innovation_tracker
        self.mutations |= {kind for (_, _, kind) in tracker.generation_innovations}


def evolve(config: neat.Config, seed: int, generations: int) -> tuple[neat.Population, History]:
    seed_everything(seed)
    population = neat.Population(config)
    history = History(config)
    population.add_reporter(history)
    population.run(copy_task_fitness, generations)
    return population, history


def make_genome(nodes: dict, connections: list, key: int = 1) -> LIFGenome:
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


def split(genome: LIFGenome, key: tuple[int, int], config: neat.Config, monkeypatch: pytest.MonkeyPatch) -> LIFGenome:
    """A copy of ``genome`` after add-node on connection ``key``."""
    child = copy.deepcopy(genome)
    genome_config = config.genome_config
    if genome_config.innovation_tracker is None:
        genome_config.innovation_tracker = InnovationTracker(1000)
    with monkeypatch.context() as patch:
        patch.setattr(genome_module, "choice", lambda genes: child.connections[key])
        child.mutate_add_node(genome_config)
    assert len(child.nodes) == len(genome.nodes) + 1
    return child


def outputs(genome: LIFGenome, config: neat.Config, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return simulate(compile_genome(genome, config.genome_config), inputs)


# --- the plug-in inside neat's own loop ----------------------------------------------------------


def test_population_runs_five_generations_grows_and_speciates() -> None:
    config = small_config(DefaultSpeciesSet={"compatibility_threshold": 1.5})
    population, history = evolve(config, seed=0, generations=5)
    assert len(population.population) == 40
    assert {"add_connection", "add_node_in", "add_node_out"} <= history.mutations
    initial_nodes = N_OUTPUTS + config.genome_config.num_hidden
    assert history.sizes[0][0] == initial_nodes and max(size[0] for size in history.sizes) > initial_nodes
    assert max(history.species) >= 2
    relays = [g for g in population.population.values() if max(g.nodes) >= initial_nodes]
    assert relays and all(compile_genome(g, config.genome_config).n_neurons >= N_OUTPUTS for g in relays)
    assert population.best_genome.fitness > -float(INPUT_SPIKES[:, :N_OUTPUTS].sum()) - 1  # evaluated and sane


def test_initial_hidden_neurons_are_homologous() -> None:
    config = small_config()
    seed_everything(0)
    population = neat.Population(config)
    assert all(list(g.nodes) == [0, 1, 2, 3] for g in population.population.values())
    genome = next(iter(population.population.values()))
    assert config.genome_config.get_new_node_key(genome.nodes) == 4


def test_same_seed_same_population_different_seed_different() -> None:
    def fingerprint(seed: int, config: neat.Config | None = None) -> list:
        population, _ = evolve(config or small_config(), seed, generations=4)
        species = sorted((sid, sorted(s.members)) for sid, s in population.species.species.items())
        genomes = [{k: repr(v.tolist()) for k, v in genome_to_arrays(g).items()} for g in population.population.values()]  # repr: nan == nan
        return [species, genomes]

    first = fingerprint(11)
    assert fingerprint(11) == first
    config = small_config()
    assert fingerprint(11, config) == first
    assert fingerprint(11, config) == first  # the same config object twice: node keys restart
    assert fingerprint(12) != first


def test_switched_off_genes_stay_zero() -> None:
    rates = {"adaptation_mutate_rate": 1.0, "adaptation_replace_rate": 0.0, "adaptation_init_stdev": 1.0,
             "delay_mutate_rate": 1.0, "delay_init_stdev": 2.0}
    on, _ = evolve(small_config(LIFGenome=rates), seed=1, generations=3)
    assert any(n.adaptation > 0 for g in on.population.values() for n in g.nodes.values())
    assert any(c.delay > 0 for g in on.population.values() for c in g.connections.values())
    off, _ = evolve(small_config(LIFGenome=rates | {"evolve_adaptation": False, "evolve_delay": False}), seed=1, generations=3)
    assert all(n.adaptation == 0.0 for g in off.population.values() for n in g.nodes.values())
    assert all(c.delay == 0 for g in off.population.values() for c in g.connections.values())


def test_gaussian_initial_values_are_redrawn_inside_the_range_not_clamped() -> None:
    config = small_config(LIFGenome={"threshold_init_mean": 0.1, "threshold_init_stdev": 0.3, "threshold_min_value": 0.05,
                                     "delay_init_mean": 0.0, "delay_init_stdev": 2.0})
    random.seed(0)
    threshold = LIFNodeGene._gene_attributes[1]
    delay = LIFConnectionGene._gene_attributes[2]
    thresholds = [threshold.init_value(config.genome_config) for _ in range(2000)]
    delays = [delay.init_value(config.genome_config) for _ in range(2000)]
    assert min(thresholds) > 0.05 and max(thresholds) <= 5.0  # neat would put ~40% exactly on 0.05
    assert min(delays) == 0 and max(delays) <= 4 and 0.25 < delays.count(0) / 2000 < 0.45  # neat's clamp: ~0.6


# --- add-node is neutral --------------------------------------------------------------------------

# Dyadic weights (multiples of 1/8) make every float32 sum exact whatever its order.
NEUTRAL_NODES = {0: (0.0, 1.0, 0.75, 0, 0.0), 1: (0.0625, 0.75, 0.5, 1, 0.25), 5: (0.0, 0.5, 0.875, 0, 0.0),
                 6: (0.03125, 1.25, 0.25, 2, 0.0)}
NEUTRAL_CONNECTIONS = [
    (-1, 5, 0.625, 1, True), (-2, 5, 0.5, 0, True), (-3, 6, 1.5, 2, True), (5, 0, 1.125, 1, True),
    (6, 0, -0.5, 3, True), (5, 6, 0.75, 1, True), (6, 6, 0.375, 2, True), (0, 1, 0.875, 2, True),
    (-1, 1, 0.5, 4, True), (5, 1, -0.25, 0, True), (-2, 0, 2.0, 3, False),
]


def test_add_node_on_a_delayed_connection_leaves_the_outputs_bit_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    config = small_config()
    genome = make_genome(NEUTRAL_NODES, NEUTRAL_CONNECTIONS)
    inputs = (np.random.default_rng(0).random((400, N_INPUTS)) < 0.35).astype(np.float32)
    spikes, membrane = outputs(genome, config, inputs)
    assert spikes[:, 0].sum() > 20 and spikes[:, 1].sum() > 20
    delayed = [key for key, gene in genome.connections.items() if gene.enabled and gene.delay >= 1]
    assert len(delayed) == 8  # inputs, hidden, outputs, a self-loop, output -> output
    for key in delayed:
        child = split(genome, key, config, monkeypatch)
        child_spikes, child_membrane = outputs(child, config, inputs)
        np.testing.assert_array_equal(child_spikes, spikes, err_msg=str(key))
        np.testing.assert_array_equal(child_membrane, membrane, err_msg=str(key))
        relayed = (max(child.nodes), key[1])  # the relay's out-connection, delay d - 1
        if child.connections[relayed].delay >= 1:
            twice = split(child, relayed, config, monkeypatch)
            np.testing.assert_array_equal(outputs(twice, config, inputs)[1], membrane, err_msg=f"{key} twice")


def test_add_node_keeps_the_spike_trains_of_evolved_genomes(monkeypatch: pytest.MonkeyPatch) -> None:
    config = small_config(LIFGenome={"delay_mutate_rate": 0.5, "delay_init_stdev": 2.0, "initial_connection": "partial_direct 0.5"})
    population, _ = evolve(config, seed=5, generations=3)
    inputs = (np.random.default_rng(1).random((200, N_INPUTS)) < 0.3).astype(np.float32)
    checked = 0
    for genome in list(population.population.values())[:20]:
        spikes, membrane = outputs(genome, config, inputs)
        for key, gene in list(genome.connections.items()):
            if gene.enabled and gene.delay >= 1:
                child_spikes, child_membrane = outputs(split(genome, key, config, monkeypatch), config, inputs)
                np.testing.assert_array_equal(child_spikes, spikes)
                np.testing.assert_allclose(child_membrane, membrane, rtol=0, atol=1e-5)  # float32 sum order (docstring)
                checked += 1
    assert checked > 50


def test_add_node_on_an_undelayed_connection_adds_exactly_one_step_of_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    config = small_config()
    nodes = {0: (0.0, 0.75, 0.5, 0, 0.0), 1: (0.0, 1.0, 0.5, 0, 0.0), 4: (0.0, 0.5, 0.0, 0, 0.0)}
    # input -1 -> output 0 directly; input -2 -> hidden 4 -> output 1
    genome = make_genome(nodes, [(-1, 0, 1.0, 0, True), (-2, 4, 1.0, 0, True), (4, 1, 1.5, 0, True)])
    inputs = (np.random.default_rng(2).random((300, N_INPUTS)) < 0.4).astype(np.float32)
    spikes, membrane = outputs(genome, config, inputs)
    for key, output in (((-1, 0), 0), ((4, 1), 1)):
        child_spikes, child_membrane = outputs(split(genome, key, config, monkeypatch), config, inputs)
        assert child_spikes[0, output] == 0
        np.testing.assert_array_equal(child_spikes[1:, output], spikes[:-1, output])
        np.testing.assert_array_equal(child_membrane[1:, output], membrane[:-1, output])
        other = 1 - output
        np.testing.assert_array_equal(child_spikes[:, other], spikes[:, other])


def test_relay_genes(monkeypatch: pytest.MonkeyPatch) -> None:
    config = small_config()
    genome = make_genome(NEUTRAL_NODES, NEUTRAL_CONNECTIONS)
    child = split(genome, (6, 0), config, monkeypatch)
    relay_key = max(child.nodes)
    relay = child.nodes[relay_key]
    assert (relay.bias, relay.threshold, relay.beta, relay.refractory, relay.adaptation) == (0.0, RELAY_THRESHOLD, 0.0, 0, 0.0)
    assert RELAY_WEIGHT >= RELAY_THRESHOLD
    incoming, outgoing = child.connections[6, relay_key], child.connections[relay_key, 0]
    assert (incoming.weight, incoming.delay, incoming.enabled) == (RELAY_WEIGHT, 0, True)
    assert (outgoing.weight, outgoing.delay, outgoing.enabled) == (-0.5, 2, True)
    assert child.connections[6, 0].enabled is False
    assert incoming.innovation != outgoing.innovation and incoming.innovation > len(NEUTRAL_CONNECTIONS)


def test_relay_respects_the_configured_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    config = small_config(LIFGenome={"threshold_min_value": 1.5, "beta_min_value": 0.3})
    genome = make_genome(NEUTRAL_NODES, NEUTRAL_CONNECTIONS)
    child = split(genome, (-1, 5), config, monkeypatch)
    relay_key = max(child.nodes)
    relay = child.nodes[relay_key]
    assert (relay.threshold, relay.beta) == (1.5, 0.3)  # beta is irrelevant to a relay
    assert child.connections[-1, relay_key].weight == 1.5  # raised so that one spike still fires it
    inputs = (np.random.default_rng(0).random((300, N_INPUTS)) < 0.35).astype(np.float32)
    np.testing.assert_array_equal(outputs(child, config, inputs)[0], outputs(genome, config, inputs)[0])


def test_add_node_never_splits_a_disabled_connection() -> None:
    config = small_config(LIFGenome={"structural_mutation_surer": False})
    config.genome_config.innovation_tracker = InnovationTracker()
    genome = make_genome({0: (0.0, 1.0, 0.5, 0, 0.0), 1: (0.0, 1.0, 0.5, 0, 0.0)}, [(-1, 0, 1.0, 1, False)])
    for _ in range(20):
        genome.mutate_add_node(config.genome_config)
    assert list(genome.nodes) == [0, 1] and not genome.connections[-1, 0].enabled


# --- reproduction: neat's spawn-count failures and the fix ------------------------------------------


def reproduction_pair(config: neat.Config) -> tuple[neat.DefaultReproduction, LIFReproduction]:
    reporters = ReporterSet()
    stagnation = neat.DefaultStagnation(config.stagnation_config, reporters)
    pair = (neat.DefaultReproduction(config.reproduction_config, reporters, stagnation),
            LIFReproduction(config.reproduction_config, reporters, stagnation))
    for reproduction in pair:
        reproduction.genome_indexer = itertools.count(1000)  # after the hand-made parents' keys
    return pair


def test_adjust_spawn_exact_where_neat_gives_up() -> None:
    config = small_config()
    theirs, ours = reproduction_pair(config)
    # One big species and four at the minimum, as neat's own compute_spawn produces them:
    spawn = neat.DefaultReproduction.compute_spawn([1.0, 0.0, 0.0, 0.0, 0.0], [4, 2, 2, 2, 2], 12, 2)
    assert spawn == [6, 2, 2, 2, 2]
    with pytest.raises(RuntimeError, match="Internal error adjusting spawn counts"):
        theirs._adjust_spawn_exact(list(spawn), 12, 2)
    assert ours._adjust_spawn_exact(list(spawn), 12, 2) == [4, 2, 2, 2, 2]

    rng = np.random.default_rng(0)
    agreed = 0
    for _ in range(2000):
        n_species = int(rng.integers(1, 8))
        minimum = int(rng.integers(1, 4))
        pop_size = int(rng.integers(n_species * minimum, 60))
        spawn = [int(v) for v in rng.integers(minimum, 25, n_species)]
        result = ours._adjust_spawn_exact(list(spawn), pop_size, minimum)
        assert sum(result) == pop_size and min(result) >= minimum
        try:
            agreed += theirs._adjust_spawn_exact(list(spawn), pop_size, minimum) == result
        except RuntimeError:
            continue
    assert agreed > 300  # wherever neat succeeds, the counts are neat's


def species_set(config: neat.Config, genomes: list, sizes: list[int], fitnesses: list[float]) -> neat.DefaultSpeciesSet:
    """A species set with species of the given sizes, every member of a species with its fitness."""
    species_set = neat.DefaultSpeciesSet(config.species_set_config, ReporterSet())
    start = 0
    for key, (size, fitness) in enumerate(zip(sizes, fitnesses), 1):
        members = {g.key: g for g in genomes[start:start + size]}
        for genome in members.values():
            genome.fitness = fitness
        species = Species(key, 0)
        species.update(next(iter(members.values())), members)
        species_set.species[key] = species
        start += size
    return species_set


def test_reproduce_succeeds_where_neat_raises_on_spawn_counts() -> None:
    config = small_config(NEAT={"pop_size": 12})
    seed_everything(0)
    genomes = list(neat.Population(config).population.values())
    theirs, ours = reproduction_pair(config)
    with pytest.raises(RuntimeError, match="Internal error adjusting spawn counts"):
        theirs.reproduce(config, species_set(config, copy.deepcopy(genomes), [4, 2, 2, 2, 2], [1.0, 0, 0, 0, 0]), 12, 0)
    species = species_set(config, copy.deepcopy(genomes), [4, 2, 2, 2, 2], [1.0, 0, 0, 0, 0])
    children = ours.reproduce(config, species, 12, 0)
    assert len(children) == 12 and len(species.species) == 5


def test_more_species_than_the_population_holds_drops_the_worst() -> None:
    config = small_config(NEAT={"pop_size": 12})
    seed_everything(0)
    genomes = list(neat.Population(config).population.values())
    genomes += list(neat.Population(config).population.values())  # 24 genomes in 7 species of 2 (keys may repeat: only objects matter)
    for index, genome in enumerate(genomes):
        genome.key = index + 1
    fitnesses = [3.0, 1.0, 5.0, 0.5, 2.0, 4.0, 6.0]  # species 4 is the worst
    theirs, ours = reproduction_pair(config)
    with pytest.raises(RuntimeError, match="Configuration conflict"):
        theirs.reproduce(config, species_set(config, copy.deepcopy(genomes), [2] * 7, fitnesses), 12, 0)
    species = species_set(config, copy.deepcopy(genomes), [2] * 7, fitnesses)
    children = ours.reproduce(config, species, 12, 0)
    assert len(children) == 12 and sorted(species.species) == [1, 2, 3, 5, 6, 7]


# --- a tiny temporal task -------------------------------------------------------------------------


@pytest.mark.slow
def test_lif_genomes_learn_temporal_xor() -> None:
    """Two inputs spike (or not) at step 0; the output must spike in steps 1-4 iff exactly one did.

    Measured with the bundled config (pop 150, 2 initial hidden neurons): seeds 0-9 solve it in
    1-38 generations (0 hidden neurons: 1-238).
    """
    patterns = [(0, 0), (0, 1), (1, 0), (1, 1)]
    trial = np.zeros((len(patterns), 6, 2), np.float32)
    for index, (a, b) in enumerate(patterns):
        trial[index, 0] = (a, b)
    wanted = np.array([a != b for a, b in patterns])
    config = load_neat_config(num_inputs=2, num_outputs=1, overrides={"NEAT": {"pop_size": 150}})
    solved: dict[int, bool] = {}

    def fitness(genomes: list, _config: neat.Config) -> None:
        networks = [network for network in compile_population(genomes, config.genome_config) for _ in patterns]
        spikes, _ = simulate_batch(pack_batch(networks), np.tile(trial, (len(genomes), 1, 1)))
        fired = spikes[:, 1:5, 0].sum(axis=1).reshape(len(genomes), len(patterns)).astype(np.float64)
        for (key, genome), counts in zip(genomes, fired):
            correct = int(((counts > 0) == wanted).sum())
            genome.fitness = correct - 0.05 * float(np.abs(counts - wanted).sum())
            solved[key] = correct == len(patterns)

    seed_everything(0)
    population = neat.Population(config)
    for _ in range(300):
        population.run(fitness, 1)
        if solved[population.best_genome.key]:
            break
    assert solved[population.best_genome.key]
