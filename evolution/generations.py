"""``neat.Population.run`` one generation at a time, with a hook at each generation's end (where a
checkpoint is written)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import neat

@dataclass(frozen=True)
class GenerationResult:
    """What one evaluated generation produced, handed to ``on_generation_end``."""

    generation: int
    """Index of the generation that was evaluated."""
    evaluated: dict[int, object]
    """The genomes evaluated, by key, with their fitness (the population before reproduction)."""
    best: object
    """The fittest genome of this generation (first in population order among ties)."""
    solved: bool
    """The fitness threshold was reached: no reproduction followed, the run ends here."""


def run_generations(population: neat.Population,
                    fitness_function: Callable[[list[tuple[int, object]], neat.Config], None],
                    n: int,
                    on_generation_end: Callable[[neat.Population, GenerationResult], None] | None = None,
                    ) -> object:
    """``neat.Population.run(fitness_function, n)`` step for step, with a hook per generation.

    Makes the same calls in the same order as neat 2.0.0's ``Population.run`` (reporters,
    evaluation, best-genome tracking, threshold check, reproduction, extinction handling,
    speciation, ``generation += 1``), so a run through this function equals one through
    ``run``. After each generation ``on_generation_end(population, result)`` is called; unless
    ``result.solved``, ``population`` is then at a generation boundary — the place to call
    :func:`checkpoint_state`. Returns the best genome ever seen.
    """
    config = population.config
    reporters = population.reporters
    for _ in range(n):
        reporters.start_generation(population.generation)
        fitness_function(list(population.population.items()), config)

        best = None
        for genome in population.population.values():
            if genome.fitness is None:
                raise RuntimeError(f"Fitness not assigned to genome {genome.key}")
            if best is None or genome.fitness > best.fitness:
                best = genome
        reporters.post_evaluate(config, population.population, population.species, best)
        if population.best_genome is None or best.fitness > population.best_genome.fitness:
            population.best_genome = best

        result = GenerationResult(population.generation, dict(population.population), best, False)
        if not config.no_fitness_termination:
            fitness_value = population.fitness_criterion(
                genome.fitness for genome in population.population.values())
            if fitness_value >= config.fitness_threshold:
                reporters.found_solution(config, population.generation, best)
                if on_generation_end is not None:
                    on_generation_end(population, GenerationResult(
                        result.generation, result.evaluated, best, True))
                return population.best_genome

        population.population = population.reproduction.reproduce(
            config, population.species, config.pop_size, population.generation)
        if not population.species.species:
            reporters.complete_extinction()
            if not config.reset_on_extinction:
                raise neat.CompleteExtinctionException()
            population.population = population.reproduction.create_new(
                config.genome_type, config.genome_config, config.pop_size)
        population.species.speciate(config, population.population, population.generation)
        reporters.end_generation(config, population.population, population.species)
        population.generation += 1
        if on_generation_end is not None:
            on_generation_end(population, result)

    if config.no_fitness_termination:
        reporters.found_solution(config, population.generation, population.best_genome)
    return population.best_genome
