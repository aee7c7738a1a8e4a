"""Speciation with genome distances computed over arrays: neat-python's scheme, not its cost.

neat-python 2.0.0's ``DefaultSpeciesSet.speciate`` compares every genome with species
representatives one pair at a time in Python (``DefaultGenome.distance``, a loop over genes). At
population 1,000 with ~100 species that is most of the head node's time per generation
(``benchmarks/generation.py``). :class:`DefaultSpeciesSet` here runs the same algorithm (the same
visiting order, the same representatives, the same ties) but computes a representative's
distance to every genome at once from a :class:`GeneTable`: every gene of the population in flat
arrays (genome row, gene column, attributes), so one representative costs a few numpy passes
over those arrays.

The distance is neat's: per gene the attribute differences of :class:`~spikefly.evolution.genome.LIFNodeGene`
and :class:`~spikefly.evolution.genome.LIFConnectionGene` (summed in the same order, times the
weight coefficient), per genome ``(matching + disjoint coefficient x disjoint) / max(genes)``
for nodes plus the same for connections. The sums over genes are taken in another order than
neat's loop, so a distance may differ from neat's in its last bits: wherever that could change a
decision (two candidates within :data:`AMBIGUOUS` of each other, or one that close to the
compatibility threshold) the candidates are measured again with neat's own distance, so the
species are neat's.

The class keeps neat's name, so a NEAT config's ``[DefaultSpeciesSet]`` section configures it.
"""

from __future__ import annotations

from typing import Any

import neat
import numpy as np
from neat.species import GenomeDistanceCache, Species

AMBIGUOUS = 1e-9
"""Distances this close (to each other, or to the threshold) are decided with neat's own distance."""

_NODE_ATTRIBUTES = ("bias", "threshold", "beta", "refractory", "adaptation")


class GeneTable:
    """Every node and connection gene of a population, as flat arrays (rows: genomes in key order)."""

    def __init__(self, genomes: list, genome_config) -> None:
        self.weight_coefficient = genome_config.compatibility_weight_coefficient
        self.disjoint_coefficient = genome_config.compatibility_disjoint_coefficient
        self.node_columns: dict[int, int] = {}
        self.connection_columns: dict[tuple[int, int], int] = {}
        node_rows, node_cols, node_values = [], [], []
        conn_rows, conn_cols, conn_values = [], [], []
        for row, genome in enumerate(genomes):
            for key, gene in genome.nodes.items():
                node_rows.append(row)
                node_cols.append(self.node_columns.setdefault(key, len(self.node_columns)))
                node_values.append([getattr(gene, name) for name in _NODE_ATTRIBUTES])
            for key, gene in genome.connections.items():
                conn_rows.append(row)
                conn_cols.append(self.connection_columns.setdefault(key, len(self.connection_columns)))
                conn_values.append((gene.weight, gene.delay, gene.enabled))
        self.rows = len(genomes)
        self.node_rows = np.array(node_rows, np.int64)
        self.node_cols = np.array(node_cols, np.int64)
        self.node_values = np.array(node_values, np.float64).reshape(-1, len(_NODE_ATTRIBUTES))
        self.conn_rows = np.array(conn_rows, np.int64)
        self.conn_cols = np.array(conn_cols, np.int64)
        values = np.array(conn_values, np.float64).reshape(-1, 3)
        self.conn_weight, self.conn_delay, self.conn_enabled = values[:, 0], values[:, 1], values[:, 2] != 0.0
        self.node_counts = np.bincount(self.node_rows, minlength=self.rows)
        self.conn_counts = np.bincount(self.conn_rows, minlength=self.rows)

    def distances(self, genome) -> np.ndarray:
        """neat's distance from ``genome`` (any genome, in the table or not) to every row, float64[rows]."""
        return self._node_part(genome) + self._connection_part(genome)

    def _node_part(self, genome) -> np.ndarray:
        own = len(genome.nodes)
        position = np.full(len(self.node_columns), -1, np.int64)
        values = np.zeros((own, len(_NODE_ATTRIBUTES)))
        for index, (key, gene) in enumerate(genome.nodes.items()):
            values[index] = [getattr(gene, name) for name in _NODE_ATTRIBUTES]
            column = self.node_columns.get(key)
            if column is not None:
                position[column] = index
        mine = position[self.node_cols]
        match = mine >= 0
        difference = np.abs(self.node_values[match] - values[mine[match]])
        per_gene = difference[:, 0]
        for attribute in range(1, len(_NODE_ATTRIBUTES)):  # the order LIFNodeGene.distance adds them in
            per_gene = per_gene + difference[:, attribute]
        return self._combine(own, self.node_counts, self.node_rows[match], per_gene * self.weight_coefficient)

    def _connection_part(self, genome) -> np.ndarray:
        own = len(genome.connections)
        position = np.full(len(self.connection_columns), -1, np.int64)
        values = np.zeros((own, 3))
        for index, (key, gene) in enumerate(genome.connections.items()):
            values[index] = (gene.weight, gene.delay, gene.enabled)
            column = self.connection_columns.get(key)
            if column is not None:
                position[column] = index
        mine = position[self.conn_cols]
        match = mine >= 0
        theirs = mine[match]
        per_gene = np.abs(self.conn_weight[match] - values[theirs, 0]) + np.abs(self.conn_delay[match] - values[theirs, 1])
        per_gene = per_gene + np.where(self.conn_enabled[match] != (values[theirs, 2] != 0.0), 1.0, 0.0)
        return self._combine(own, self.conn_counts, self.conn_rows[match], per_gene * self.weight_coefficient)

    def _combine(self, own: int, counts: np.ndarray, rows: np.ndarray, per_gene: np.ndarray) -> np.ndarray:
        matching = np.bincount(rows, weights=per_gene, minlength=self.rows)
        matched = np.bincount(rows, minlength=self.rows)
        disjoint = own + counts - 2 * matched
        largest = np.maximum(own, counts)
        part = (matching + self.disjoint_coefficient * disjoint) / np.maximum(largest, 1)
        return np.where(largest > 0, part, 0.0)


class DefaultSpeciesSet(neat.DefaultSpeciesSet):
    """neat-python 2.0.0's DefaultSpeciesSet, its distances computed over arrays (module docstring)."""

    def speciate(self, config, population: dict[int, Any], generation: int) -> None:
        assert isinstance(population, dict)
        threshold = self.species_set_config.compatibility_threshold
        keys = sorted(population)
        table = GeneTable([population[key] for key in keys], config.genome_config)
        exact = GenomeDistanceCache(config.genome_config)
        unspeciated = np.ones(len(keys), bool)

        # Find the best representatives for each existing species: the genome closest to the old one.
        new_representatives: dict[int, int] = {}
        new_members: dict[int, list[int]] = {}
        for sid in sorted(self.species):
            old = self.species[sid].representative
            distance = np.where(unspeciated, table.distances(old), np.inf)
            near = np.flatnonzero(distance <= distance.min() + AMBIGUOUS)
            row = near[0] if len(near) == 1 else min(near, key=lambda r: (exact(old, population[keys[r]]), r))
            new_representatives[sid] = keys[row]
            new_members[sid] = [keys[row]]
            unspeciated[row] = False

        # Partition the rest in ascending key order: the closest representative under the threshold, or a new species.
        to_representative: list[np.ndarray] = [table.distances(population[rid]) for rid in new_representatives.values()]
        species_ids = list(new_representatives)
        for row in np.flatnonzero(unspeciated):
            gid = keys[row]
            distance = np.array([d[row] for d in to_representative])
            if len(distance) and np.any(np.abs(distance - threshold) <= AMBIGUOUS):
                distance = np.array([exact(population[new_representatives[sid]], population[gid]) for sid in species_ids])
            below = np.flatnonzero(distance < threshold)
            if len(below):
                near = below[distance[below] <= distance[below].min() + AMBIGUOUS]
                if len(near) > 1:  # neat's min over (distance, species) in order: its own distance decides
                    near = [min(near, key=lambda i: (exact(population[new_representatives[species_ids[i]]], population[gid]), i))]
                new_members[species_ids[near[0]]].append(gid)
            else:
                sid = next(self.indexer)
                new_representatives[sid] = gid
                new_members[sid] = [gid]
                species_ids.append(sid)
                to_representative.append(table.distances(population[gid]))

        # Update the species collection (as neat does).
        self.genome_to_species = {}
        for sid in sorted(new_representatives):
            rid = new_representatives[sid]
            species = self.species.get(sid)
            if species is None:
                species = self.species[sid] = Species(sid, generation)
            for gid in new_members[sid]:
                self.genome_to_species[gid] = sid
            species.update(population[rid], {gid: population[gid] for gid in new_members[sid]})
