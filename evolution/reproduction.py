"""neat-python 2.0.0's reproduction with its two spawn-count failures fixed.

:class:`LIFReproduction` is :class:`neat.DefaultReproduction` (explicit fitness sharing, elitism,
survival threshold; config section ``[LIFReproduction]`` with the same three keys) except:

- ``_adjust_spawn_exact`` makes one removal pass over the species and then raises "Internal
  error adjusting spawn counts" whenever the rounded spawn counts exceed the population by more
  than the number of species above the minimum (e.g. one big species and several at
  ``min_species_size``: sizes [6, 2, 2, 2, 2] for a population of 12). Here the passes repeat
  until the total is exact; the first pass is neat's, so whenever neat succeeds the counts are
  the same.
- when more species survive stagnation than the population can hold at
  ``max(min_species_size, elitism)`` each, neat raises "Configuration conflict". Here the best
  species (by adjusted fitness, older species first on ties) keep their place and the worst are
  dropped, as stagnant species are; a reporter ``info`` line names them.
- :meth:`create_new` restarts the node numbering after the initial keys, so two runs built from
  one config object (not only from two loads of one file) are identical.

No state is added to neat's (checkpoints save exactly neat's attributes).
"""

from __future__ import annotations

import math
import random
from itertools import count

import neat
from neat.config import ConfigParameter, DefaultClassConfig
from neat.math_util import mean

__all__ = ["LIFReproduction"]


class LIFReproduction(neat.DefaultReproduction):
    """:class:`neat.DefaultReproduction` without its spawn-count errors (module docstring)."""

    PARAMETERS = (
        ConfigParameter("elitism", int, 0),
        ConfigParameter("survival_threshold", float, 0.2),
        ConfigParameter("min_species_size", int, 1),
    )
    """Keys of the ``[LIFReproduction]`` section (neat's DefaultReproduction keys)."""

    @classmethod
    def parse_config(cls, param_dict: dict[str, str]) -> DefaultClassConfig:
        return DefaultClassConfig(param_dict, list(cls.PARAMETERS), cls.__name__)

    def create_new(self, genome_type: type, genome_config: object, num_genomes: int) -> dict[int, object]:
        # A fresh population numbers its new nodes afresh, right after the initial output and
        # hidden keys (LIFGenome.configure_new), so node keys depend on this run only and never
        # on which genome happens to add the first node.
        genome_config.node_indexer = count(genome_config.num_outputs + genome_config.num_hidden)
        return super().create_new(genome_type, genome_config, num_genomes)

    def _adjust_spawn_exact(self, spawn_amounts: list[int], pop_size: int, min_species_size: int) -> list[int]:
        """Change per-species spawn counts so that they sum to ``pop_size`` exactly.

        Like neat: extras go round-robin to the smallest species first; removals go round-robin
        over the largest first, never below ``min_species_size``; but removal passes repeat
        until the total is exact. Raises ValueError if ``len(spawn_amounts) * min_species_size
        > pop_size`` (:meth:`reproduce` drops species before that can happen).
        """
        spawn = list(spawn_amounts)
        if len(spawn) * min_species_size > pop_size:
            raise ValueError(
                f"{len(spawn)} species x min_species_size {min_species_size} exceed pop_size {pop_size}")
        excess = sum(spawn) - pop_size
        if excess < 0:
            order = sorted(range(len(spawn)), key=lambda i: spawn[i])
            for step in range(-excess):
                spawn[order[step % len(order)]] += 1
        order = sorted(range(len(spawn)), key=lambda i: spawn[i], reverse=True)
        while excess > 0:
            for index in order:
                if excess == 0:
                    break
                if spawn[index] > min_species_size:
                    spawn[index] -= 1
                    excess -= 1
        return spawn

    def _within_capacity(self, remaining_species: list, pop_size: int, min_species_size: int) -> list:
        """The species that fit ``pop_size`` at ``min_species_size`` each: the best, in their order."""
        capacity = max(1, pop_size // max(1, min_species_size))
        if len(remaining_species) <= capacity:
            return remaining_species
        ranked = sorted(remaining_species, key=lambda s: (-s.adjusted_fitness, s.key))
        kept = {s.key for s in ranked[:capacity]}
        dropped = [s.key for s in ranked[capacity:]]
        self.reporters.info(
            f"{len(remaining_species)} species do not fit pop_size {pop_size} at {min_species_size} each: "
            f"dropping the worst, species {', '.join(map(str, sorted(dropped)))}")
        return [s for s in remaining_species if s.key in kept]

    def reproduce(self, config: neat.Config, species: object, pop_size: int, generation: int) -> dict[int, object]:
        """neat 2.0.0's ``reproduce`` with :meth:`_within_capacity` before the spawn counts.

        Every other line does what neat's does, in the same order, drawing the same random
        numbers, so a run that neat completes is reproduced exactly.
        """
        config.genome_config.innovation_tracker = self.innovation_tracker
        self.innovation_tracker.reset_generation()

        all_fitnesses = []
        remaining_species = []
        for stagnant_key, stagnant_species, stagnant in self.stagnation.update(species, generation):
            if stagnant:
                self.reporters.species_stagnant(stagnant_key, stagnant_species)
            else:
                all_fitnesses.extend(m.fitness for m in stagnant_species.members.values())
                remaining_species.append(stagnant_species)
        if not remaining_species:
            species.species = {}
            return {}

        # Adjusted fitness: the species' mean fitness normalised to the population's range.
        min_fitness = min(all_fitnesses)
        fitness_range = max(1.0, max(all_fitnesses) - min_fitness)
        for s in remaining_species:
            s.adjusted_fitness = (mean([m.fitness for m in s.members.values()]) - min_fitness) / fitness_range
        self.reporters.info(f"Average adjusted fitness: {mean(s.adjusted_fitness for s in remaining_species):.3f}")

        settings = self.reproduction_config
        min_species_size = max(settings.min_species_size, settings.elitism)
        remaining_species = self._within_capacity(remaining_species, pop_size, min_species_size)
        spawn_amounts = self.compute_spawn([s.adjusted_fitness for s in remaining_species],
                                           [len(s.members) for s in remaining_species], pop_size, min_species_size)
        spawn_amounts = self._adjust_spawn_exact(spawn_amounts, pop_size, min_species_size)

        new_population = {}
        species.species = {}
        for spawn, s in zip(spawn_amounts, remaining_species):
            spawn = max(spawn, settings.elitism)
            assert spawn > 0
            old_members = list(s.members.items())
            s.members = {}
            species.species[s.key] = s
            # Best first; the genome key breaks ties so that parent choice is reproducible.
            old_members.sort(reverse=True, key=lambda x: (x[1].fitness, x[0]))
            for key, member in old_members[:settings.elitism]:
                new_population[key] = member
                spawn -= 1
            if spawn <= 0:
                continue
            parents = old_members[:max(math.ceil(settings.survival_threshold * len(old_members)), 2)]
            while spawn > 0:
                spawn -= 1
                parent1_key, parent1 = random.choice(parents)
                parent2_key, parent2 = random.choice(parents)
                key = next(self.genome_indexer)
                child = config.genome_type(key)
                child.configure_crossover(parent1, parent2, config.genome_config)
                child.mutate(config.genome_config)
                new_population[key] = child
                self.ancestors[key] = (parent1_key, parent2_key)
        return new_population
