"""JSON checkpoints: a run killed at any generation resumes and ends identical to one never killed."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import neat
import numpy as np
import pytest

from spikefly.evolution.checkpoint import (
    FORMAT,
    CheckpointError,
    checkpoint_state,
    read_checkpoint,
    restore_population,
    write_checkpoint,
)

# neat.Population.run one generation at a time, with a hook at each generation's end (where a
# checkpoint is written): the way a caller of checkpoint_state steps a population.

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


SEED = 20240601
GENERATIONS = 24

NEAT_SECTIONS = """
[NEAT]
fitness_criterion = max
fitness_threshold = 100.0
pop_size = 40
reset_on_extinction = True
no_fitness_termination = True

[DefaultSpeciesSet]
compatibility_threshold = 1.6

[DefaultStagnation]
species_fitness_func = max
max_stagnation = 4
species_elitism = 1

[{reproduction}]
elitism = {elitism}
survival_threshold = 0.3
min_species_size = 2
"""

# Structural mutation rates are high so that nodes, innovations and species churn within a
# few generations: everything a checkpoint must carry is exercised.
DEFAULT_GENOME_SECTION = """
[DefaultGenome]
num_inputs = 2
num_outputs = 1
num_hidden = 0
feed_forward = True
initial_connection = full_direct
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient = 0.5
conn_add_prob = 0.5
conn_delete_prob = 0.2
node_add_prob = 0.4
node_delete_prob = 0.1
activation_default = sigmoid
activation_options = sigmoid tanh relu
activation_mutate_rate = 0.1
aggregation_default = sum
aggregation_options = sum product
aggregation_mutate_rate = 0.05
bias_init_mean = 0.0
bias_init_stdev = 1.0
bias_max_value = 30.0
bias_min_value = -30.0
bias_mutate_power = 0.5
bias_mutate_rate = 0.7
bias_replace_rate = 0.1
response_init_mean = 1.0
response_init_stdev = 0.1
response_max_value = 30.0
response_min_value = -30.0
response_mutate_power = 0.1
response_mutate_rate = 0.1
response_replace_rate = 0.0
weight_init_mean = 0.0
weight_init_stdev = 1.0
weight_max_value = 30.0
weight_min_value = -30.0
weight_mutate_power = 0.5
weight_mutate_rate = 0.8
weight_replace_rate = 0.1
enabled_default = True
enabled_mutate_rate = 0.05
"""

LIF_GENOME_SECTION = """
[LIFGenome]
num_inputs = 3
num_outputs = 2
num_hidden = 1
feed_forward = False
initial_connection = partial_direct 0.6
compatibility_disjoint_coefficient = 1.0
compatibility_weight_coefficient = 0.4
conn_add_prob = 0.5
conn_delete_prob = 0.2
node_add_prob = 0.4
node_delete_prob = 0.1
adaptation_decay = 0.9
evolve_adaptation = True
evolve_delay = True
bias_init_mean = 0.0
bias_init_stdev = 0.2
bias_max_value = 1.0
bias_min_value = -1.0
bias_mutate_power = 0.1
bias_mutate_rate = 0.5
bias_replace_rate = 0.05
threshold_init_mean = 1.0
threshold_init_stdev = 0.3
threshold_max_value = 3.0
threshold_min_value = 0.1
threshold_mutate_power = 0.1
threshold_mutate_rate = 0.5
threshold_replace_rate = 0.05
beta_init_mean = 0.8
beta_init_stdev = 0.1
beta_max_value = 0.99
beta_min_value = 0.0
beta_mutate_power = 0.05
beta_mutate_rate = 0.5
beta_replace_rate = 0.05
refractory_init_mean = 1.0
refractory_init_stdev = 1.0
refractory_max_value = 4
refractory_min_value = 0
refractory_mutate_power = 1.0
refractory_mutate_rate = 0.2
refractory_replace_rate = 0.05
adaptation_init_mean = 0.1
adaptation_init_stdev = 0.1
adaptation_max_value = 1.0
adaptation_min_value = 0.0
adaptation_mutate_power = 0.05
adaptation_mutate_rate = 0.3
adaptation_replace_rate = 0.05
weight_init_mean = 0.5
weight_init_stdev = 1.0
weight_max_value = 5.0
weight_min_value = -5.0
weight_mutate_power = 0.5
weight_mutate_rate = 0.8
weight_replace_rate = 0.1
enabled_default = True
enabled_mutate_rate = 0.05
delay_init_mean = 0.5
delay_init_stdev = 1.0
delay_max_value = 3
delay_min_value = 0
delay_mutate_power = 1.0
delay_mutate_rate = 0.2
delay_replace_rate = 0.05
"""

XOR = [((0.0, 0.0), 0.0), ((0.0, 1.0), 1.0), ((1.0, 0.0), 1.0), ((1.0, 1.0), 0.0)]


def xor_score(genome: neat.DefaultGenome, config: neat.Config) -> float:
    network = neat.nn.FeedForwardNetwork.create(genome, config)
    return 4.0 - sum((network.activate(x)[0] - y) ** 2 for x, y in XOR)


def lif_score(genome: object, config: neat.Config) -> float:
    """A deterministic function of every LIF gene attribute (no simulation: checkpoints only)."""
    score = 0.0
    for gene in genome.connections.values():
        score += gene.enabled * (1.0 - (gene.weight - 1.0) ** 2) / (1 + gene.delay)
    for gene in genome.nodes.values():
        score -= abs(gene.threshold - 0.7) + abs(gene.beta - 0.9) + gene.refractory * 0.1
        score += gene.bias * 0.1 - gene.adaptation
    return score


def genome_kind(kind: str) -> tuple[type, type, str, object]:
    """(genome type, reproduction type, genome config section, score function) of a kind."""
    if kind == "default":
        return neat.DefaultGenome, neat.DefaultReproduction, DEFAULT_GENOME_SECTION, xor_score
    genome = pytest.importorskip(
        "spikefly.evolution.genome",
        reason="spikefly.evolution.genome (LIFGenome) is not importable; DefaultGenome covers the same code")
    reproduction = pytest.importorskip("spikefly.evolution.reproduction")
    return genome.LIFGenome, reproduction.LIFReproduction, LIF_GENOME_SECTION, lif_score


# With elites the best genome stays a live member whose fitness each re-evaluation overwrites;
# without, it dies and the checkpoint must keep it aside. Each kind covers one case.
ELITISM = {"default": 2, "lif": 0}


def make_config(folder: Path, kind: str = "default", genome_section: str | None = None) -> neat.Config:
    genome_type, reproduction_type, section, _ = genome_kind(kind)
    path = folder / f"{kind}.ini"
    path.write_text(NEAT_SECTIONS.format(reproduction=reproduction_type.__name__, elitism=ELITISM[kind])
                    + (genome_section or section))
    return neat.Config(genome_type, reproduction_type, neat.DefaultSpeciesSet,
                       neat.DefaultStagnation, str(path))


class StagnationCounter(neat.reporting.BaseReporter):
    """Counts species removed as stagnant (reporters are not checkpointed: state-free here)."""

    def __init__(self) -> None:
        self.removed = 0

    def species_stagnant(self, sid: int, species: object) -> None:
        self.removed += 1


class Experiment:
    """A score (XOR, or lif_score) plus noise from a stateful numpy Generator (restored through
    `extra`), with a history.

    `history` holds, per evaluated generation: its index, the best genome's key and fitness,
    every (key, fitness) evaluated and the species membership after speciation.
    """

    def __init__(self, config: neat.Config, checkpoint_folder: Path | None) -> None:
        self.config = config
        self.score = xor_score if config.genome_type is neat.DefaultGenome else lif_score
        self.checkpoint_folder = checkpoint_folder
        self.history: list[list[object]] = []
        self.snapshots: dict[int, dict[str, object]] = {}
        """describe() of the population at each checkpoint, by generation (in-process runs only)."""

    def start(self) -> neat.Population:
        random.seed(SEED)
        self.rng = np.random.default_rng(SEED)
        population = neat.Population(self.config)
        population.add_reporter(StagnationCounter())
        return population

    def resume(self, state: dict[str, object]) -> neat.Population:
        population, generation, extra = restore_population(state, self.config)
        assert generation == population.generation
        self.rng = np.random.default_rng(0)
        self.rng.bit_generator.state = extra["rng"]
        return population

    def fitness(self, genomes: list[tuple[int, object]], config: neat.Config) -> None:
        for _, genome in genomes:
            genome.fitness = self.score(genome, config) + self.rng.normal(0.0, 0.01)

    def on_generation_end(self, population: neat.Population, result: object) -> None:
        species = {sid: sorted(s.members) for sid, s in population.species.species.items()}
        self.history.append([result.generation, result.best.key, result.best.fitness,
                             [[k, g.fitness] for k, g in result.evaluated.items()],
                             sorted(species.items())])
        if self.checkpoint_folder is not None:
            state = checkpoint_state(population, generation=population.generation,
                                     extra={"rng": self.rng.bit_generator.state})
            write_checkpoint(self.checkpoint_folder / f"gen-{population.generation:04d}.json", state)
            self.snapshots[population.generation] = describe(population)

    def run_to(self, population: neat.Population, last_generation: int) -> neat.Population:
        run_generations(population, self.fitness, last_generation - population.generation,
                        self.on_generation_end)
        return population


def describe(population: neat.Population) -> dict[str, object]:
    """The run's state read straight off the neat objects (independent of checkpoint_state)."""
    def genes(genes: dict) -> list[object]:
        return [[key, sorted(vars(gene).items())] for key, gene in genes.items()]

    config = population.config.genome_config
    tracker = population.reproduction.innovation_tracker
    return {
        "genomes": [[k, g.fitness, genes(g.nodes), genes(g.connections)]
                    for k, g in population.population.items()],
        "species": [[sid, s.created, s.last_improved, s.representative.key, list(s.members),
                     list(s.fitness_history), s.adjusted_fitness]
                    for sid, s in population.species.species.items()],
        "generation": population.generation,
        "best": [population.best_genome.key, population.best_genome.fitness],
        "innovations": [tracker.global_counter, sorted(tracker.generation_innovations.items())],
        "counters": [repr(population.reproduction.genome_indexer), repr(config.node_indexer),
                     repr(population.species.indexer)],
        "ancestors": dict(population.reproduction.ancestors),
        "random": random.getstate(),
    }


@dataclass(frozen=True)
class ReferenceRun:
    """One uninterrupted run of GENERATIONS generations, checkpointed after every generation."""

    folder: Path  # gen-0001.json ... gen-00NN.json
    history: list[list[object]]
    final: dict[str, object]  # describe() at the end
    final_state: dict[str, object]  # checkpoint_state() at the end
    snapshots: dict[int, dict[str, object]]  # describe() at each checkpoint
    stagnant_removed: int


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    """kind -> its ReferenceRun, made once per module."""
    runs = {}

    def run(kind: str) -> ReferenceRun:
        if kind not in runs:
            folder = tmp_path_factory.mktemp(f"uninterrupted-{kind}")
            experiment = Experiment(make_config(folder, kind), folder)
            population = experiment.run_to(experiment.start(), GENERATIONS)
            final_state = checkpoint_state(population, generation=population.generation,
                                           extra={"rng": experiment.rng.bit_generator.state})
            (counter,) = population.reporters.reporters
            runs[kind] = ReferenceRun(folder, experiment.history, describe(population), final_state,
                                      experiment.snapshots, counter.removed)
        return runs[kind]

    return run


@pytest.fixture
def uninterrupted(reference_runs):
    return reference_runs("default")


@pytest.mark.parametrize("kind", ["default", "lif"])
def test_the_reference_run_exercises_structure_species_and_stagnation(reference_runs, kind):
    run = reference_runs(kind)
    folder, history, final = run.folder, run.history, run.final
    assert len(history) == GENERATIONS
    assert run.stagnant_removed >= 5, "stagnation (last_improved, fitness_history) must matter"
    assert final["innovations"][0] > 40, "structural mutations must have happened"
    assert max(len(genes) for _, _, genes, _ in final["genomes"]) > 3, "nodes must have been added"
    species_ever = {sid for entry in history for sid, _ in entry[4]}
    assert len(species_ever) >= 4, "speciation and stagnation must churn species"
    assert len({sid for sid, _ in history[-1][4]}) < len(species_ever)
    states = [read_checkpoint(path) for path in sorted(folder.glob("gen-*.json"))]
    best_is_dead = [bool(state["outside_genomes"]) for state in states]
    assert any(best_is_dead) if ELITISM[kind] == 0 else not any(best_is_dead)


@pytest.mark.parametrize("kind", ["default", "lif"])
@pytest.mark.parametrize("k", [1, 7, 16, GENERATIONS - 1])
@pytest.mark.parametrize("fresh_config", [True, False], ids=["fresh-config", "used-config"])
def test_resume_from_generation_k_ends_identical(reference_runs, tmp_path, kind, k, fresh_config):
    run = reference_runs(kind)
    state = read_checkpoint(run.folder / f"gen-{k:04d}.json")
    # A fresh process: other random state, a new config (or one dirtied by another run).
    random.seed(12345)
    config = make_config(tmp_path, kind)
    if not fresh_config:
        other_run = Experiment(config, None)
        other_run.run_to(other_run.start(), 3)
    experiment = Experiment(config, None)
    population = experiment.resume(state)
    assert describe(population) == run.snapshots[k], "the restore must rebuild the state at generation k"
    experiment.run_to(population, GENERATIONS)

    assert experiment.history == run.history[k:]
    assert describe(population) == run.final
    assert checkpoint_state(population, generation=population.generation,
                            extra={"rng": experiment.rng.bit_generator.state}) == run.final_state


def test_resume_without_the_saved_random_state_diverges(uninterrupted, tmp_path):
    """The comparison above has teeth: one wrong random number changes the run."""
    folder, history = uninterrupted.folder, uninterrupted.history
    experiment = Experiment(make_config(tmp_path), None)
    population = experiment.resume(read_checkpoint(folder / "gen-0007.json"))
    random.seed(12345)
    experiment.run_to(population, GENERATIONS)
    assert experiment.history != history[7:]


@pytest.mark.parametrize("kind", ["default", "lif"])
def test_restored_genomes_are_the_configured_types_with_exact_floats(reference_runs, tmp_path, kind):
    folder = reference_runs(kind).folder
    state = read_checkpoint(folder / "gen-0010.json")
    config = make_config(tmp_path, kind)
    population, generation, extra = restore_population(state, config)
    assert generation == 10 and set(extra) == {"rng"}
    genome = next(iter(population.population.values()))
    assert type(genome) is config.genome_type
    assert all(type(g) is config.genome_config.node_gene_type for g in genome.nodes.values())
    assert all(type(g) is config.genome_config.connection_gene_type for g in genome.connections.values())
    saved = {record["key"]: record for record in state["population"]["genomes"]}
    for key, genome in population.population.items():
        weights = [row[3] for row in saved[key]["connections"]]
        assert [c.weight for c in genome.connections.values()] == weights
    # Species members and representatives are the population's own objects, as in neat.
    for species in population.species.species.values():
        assert all(population.population[k] is m for k, m in species.members.items())
        assert population.population[species.representative.key] is species.representative


def test_checkpointing_does_not_perturb_the_run(uninterrupted, tmp_path):
    history, final = uninterrupted.history, uninterrupted.final
    experiment = Experiment(make_config(tmp_path), None)
    population = experiment.run_to(experiment.start(), GENERATIONS)
    assert experiment.history == history
    assert describe(population) == final


@pytest.mark.parametrize("terminate", [False, True], ids=["no-termination", "fitness-threshold"])
def test_run_generations_matches_population_run(uninterrupted, tmp_path, terminate):
    configs = [make_config(tmp_path), make_config(tmp_path)]
    # A threshold the reference run first reached within its first 7 generations.
    threshold = max(entry[2] for entry in uninterrupted.history[:7])
    if terminate:
        for config in configs:
            config.no_fitness_termination, config.fitness_threshold = False, threshold
    ours = Experiment(configs[0], None)
    ours_population = ours.run_to(ours.start(), 12)
    theirs = Experiment(configs[1], None)
    theirs_population = theirs.start()
    best = theirs_population.run(theirs.fitness, 12)
    assert describe(ours_population) == describe(theirs_population)
    assert best.key == ours_population.best_genome.key
    if terminate:  # solved early: the last generation is evaluated, not reproduced
        assert 1 < len(ours.history) <= 7 and ours.history[-1][2] == threshold
        assert ours_population.generation == len(ours.history) - 1


@pytest.mark.parametrize("kind, connection_fraction", [("default", 0.32), ("lif", 0.29)])
def test_a_population_of_150_large_genomes_fits_in_a_few_megabytes(tmp_path, kind, connection_fraction):
    """150 genomes of 30 neurons and ~100 connections: measured ~0.9 MB (default), ~0.8 MB (LIF)."""
    section = genome_kind(kind)[2]
    for key, value in [("num_inputs", 8), ("num_outputs", 4), ("num_hidden", 26),
                       ("initial_connection", f"partial_nodirect {connection_fraction}")]:
        section = re.sub(rf"^{key} = .*$", f"{key} = {value}", section, flags=re.MULTILINE)
    config = make_config(tmp_path, kind, genome_section=section)
    config.pop_size = 150
    random.seed(SEED)
    population = neat.Population(config)
    sizes = [(len(g.nodes), len(g.connections)) for g in population.population.values()]
    assert all(nodes == 30 for nodes, _ in sizes) and 95 <= np.mean([c for _, c in sizes]) <= 105
    path = tmp_path / "big.json"
    write_checkpoint(path, checkpoint_state(population, generation=0, extra={}))
    print(f"{kind}: {path.stat().st_size / 1e6:.2f} MB")
    assert path.stat().st_size < 2_000_000


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path, uninterrupted, monkeypatch):
    state = uninterrupted.final_state
    path = tmp_path / "checkpoint.json"
    path.write_text("old")
    write_checkpoint(path, state)
    assert read_checkpoint(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.json"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask, "not the 0600 of a bare temporary file"
    with pytest.raises(TypeError, match="extra"):
        write_checkpoint(path, {**state, "extra": {"rng": object()}})
    assert read_checkpoint(path) == state
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.json"]

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # fails after the new text is written
    with pytest.raises(OSError, match="No space"):
        write_checkpoint(path, {**state, "generation": 99})
    assert read_checkpoint(path) == state, "the old checkpoint survives a failed write"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.json"]


@pytest.mark.parametrize("damage, message", [
    (lambda text: text[: len(text) // 2], "not valid JSON"),
    (lambda text: text.replace(FORMAT, "neat-pickle"), "not a spikefly checkpoint"),
    (lambda text: text.replace('"format_version":1', '"format_version":99'), "format_version 99"),
    (lambda text: text.replace('"next_genome_key"', '"next_genome"'), "next_genome_key"),
    (lambda text: text.replace('"last_improved"', '"improved"'), "last_improved"),
    (lambda text: "[1, 2]", "not a spikefly checkpoint"),
])
def test_damaged_checkpoints_are_errors_naming_the_file(uninterrupted, tmp_path, damage, message):
    folder = uninterrupted.folder
    path = tmp_path / "damaged-gen-0005.json"
    path.write_text(damage((folder / "gen-0005.json").read_text()))
    with pytest.raises(CheckpointError, match=message) as error:
        read_checkpoint(path)
    assert "damaged-gen-0005.json" in str(error.value)


def test_missing_checkpoint_and_foreign_genome_layout_are_errors(uninterrupted, tmp_path):
    folder = uninterrupted.folder
    with pytest.raises(CheckpointError, match="nowhere.json does not exist"):
        read_checkpoint(tmp_path / "nowhere.json")
    state = read_checkpoint(folder / "gen-0005.json")
    other = make_config(tmp_path, genome_section=DEFAULT_GENOME_SECTION.replace("num_inputs = 2", "num_inputs = 3"))
    with pytest.raises(CheckpointError, match=r"another genome layout \(differs in \['num_inputs'\]"):
        restore_population(state, other)
    state["population"]["genomes"][0]["connections"][0].pop()
    with pytest.raises(CheckpointError, match="malformed"):
        restore_population(state, make_config(tmp_path))


RUNNER = """
import importlib.util, json, sys
from dataclasses import dataclass
from pathlib import Path
spec = importlib.util.spec_from_file_location("checkpoint_experiment", {test_file!r})
experiment_module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(experiment_module)
from spikefly.evolution.checkpoint import checkpoint_state, read_checkpoint

folder, delay_s, resume = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "resume"
experiment = experiment_module.Experiment(experiment_module.make_config(folder), folder)
slow_fitness = experiment.fitness
def fitness(genomes, config):
    slow_fitness(genomes, config)
    __import__("time").sleep(delay_s)  # so that a SIGKILL lands mid-run
experiment.fitness = fitness
if resume:
    population = experiment.resume(read_checkpoint(sorted(folder.glob("gen-*.json"))[-1]))
else:
    population = experiment.start()
experiment.run_to(population, experiment_module.GENERATIONS)
final = checkpoint_state(population, generation=population.generation,
                         extra={{"rng": experiment.rng.bit_generator.state}})
(folder / "result.json").write_text(json.dumps({{"history": experiment.history, "final": final}}))
"""


def test_a_run_killed_with_sigkill_resumes_to_the_same_result(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(test_file=str(Path(__file__).resolve())))
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    killed.mkdir()
    reference.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    reference_run = subprocess.Popen([sys.executable, str(script), str(reference), "0", "start"], env=env)
    victim = subprocess.Popen([sys.executable, str(script), str(killed), "0.15", "start"], env=env)
    deadline = time.monotonic() + 30
    while len(list(killed.glob("gen-*.json"))) < 4:
        assert victim.poll() is None and time.monotonic() < deadline, "the run ended before the kill"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    written = sorted(killed.glob("gen-*.json"))
    assert 4 <= len(written) < GENERATIONS and not (killed / "result.json").exists()
    last_generation = read_checkpoint(written[-1])["generation"]

    subprocess.run([sys.executable, str(script), str(killed), "0", "resume"], env=env, check=True)
    assert reference_run.wait(timeout=60) == 0
    resumed = json.loads((killed / "result.json").read_text())
    expected = json.loads((reference / "result.json").read_text())
    assert resumed["final"] == expected["final"]
    assert resumed["history"] == expected["history"][last_generation:]
