"""Speciation over arrays: neat-python's species, representatives and distances, from other arithmetic."""

from __future__ import annotations

import copy
import itertools

import neat
import numpy as np
import pytest

from spikefly.evolution.genome import peek_count, seed_everything
from spikefly.evolution.neat_config import load_neat_config
from spikefly.evolution.speciation import DefaultSpeciesSet, GeneTable


def _evolving_population(size: int, threshold: float, path):
    config = load_neat_config(path, num_inputs=24, num_outputs=4,
                              overrides={"NEAT": {"pop_size": size}, "DefaultSpeciesSet": {"compatibility_threshold": threshold}})
    seed_everything(3)
    return config, neat.Population(config)


@pytest.mark.parametrize("threshold", [0.5, 1.0, 2.0])
def test_species_equal_neats_generation_after_generation(threshold, wired_neat_config):
    config, population = _evolving_population(120, threshold, wired_neat_config)
    rng = np.random.default_rng(0)
    checked = []

    def compare(self, config_, members, generation):
        theirs = copy.deepcopy(self)
        theirs.__class__ = neat.DefaultSpeciesSet
        self.indexer = itertools.count(peek_count(theirs.indexer))  # deepcopy draws one id from the original
        neat.DefaultSpeciesSet.speciate(theirs, config_, members, generation)
        DefaultSpeciesSet.speciate(self, config_, members, generation)
        assert self.genome_to_species == theirs.genome_to_species
        assert {sid: s.representative.key for sid, s in self.species.items()} == \
               {sid: s.representative.key for sid, s in theirs.species.items()}
        assert peek_count(self.indexer) == peek_count(theirs.indexer)
        checked.append(len(self.species))

    def fitness(genomes, _config):
        for _, genome in genomes:
            genome.fitness = float(rng.normal() + 0.05 * len(genome.connections))

    population.species.speciate = compare.__get__(population.species)
    population.run(fitness, 6)
    assert len(checked) == 6 and max(checked) >= 3, checked  # several species to choose among


def test_gene_table_distances_are_neats_to_the_last_bits(wired_neat_config):
    config, population = _evolving_population(60, 3.0, wired_neat_config)
    rng = np.random.default_rng(1)
    population.run(lambda genomes, _c: [setattr(g, "fitness", float(rng.normal())) for _, g in genomes], 3)
    keys = sorted(population.population)
    genomes = [population.population[key] for key in keys]
    table = GeneTable(genomes, config.genome_config)
    for probe in (genomes[0], genomes[-1], *population.species.species[min(population.species.species)].members.values()):
        got = table.distances(probe)
        expected = np.array([probe.distance(other, config.genome_config) for other in genomes])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert table.distances(genomes[5])[5] == 0.0
