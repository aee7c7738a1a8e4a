"""Checkpoints of a neat-python 2.0.0 run as JSON, so a killed run resumes bit-for-bit.

neat's own ``neat.Checkpointer`` pickles (loading a stranger's file could run code) and loses
reproduction's ``ancestors``, the best genome and the object identities below. This module
writes everything ``neat.Population`` needs to continue as plain JSON:

- every genome in population order, its genes in dict order (mutation draws random numbers
  per gene in that order, so order is state), gene attributes named by each gene class's
  ``_gene_attributes``;
- the species set (species with created / last_improved / fitness_history, which is all of
  ``DefaultStagnation``'s memory; representatives and members by genome key) and its next
  species key;
- reproduction's next genome key, ``ancestors`` and the ``InnovationTracker`` (global counter
  plus the last reproduction's ``(in, out, kind) -> innovation`` table, which neat clears
  before its next use);
- the node-key counter, which neat keeps on the *config* (``genome_config.node_indexer``);
- the population's generation counter and best genome (by key when it is still a live
  population member: it is then the same object, whose fitness re-evaluation overwrites);
- Python's ``random`` state (neat 2.0.0 draws only from it; it never touches numpy).

Call :func:`checkpoint_state` at a generation boundary (after reproduction and speciation,
i.e. where :class:`spikefly.evolution.run.EvolutionRun` ends a generation). Reporters are not saved:
add them again after :func:`restore_population`.
"""

from __future__ import annotations

import json
import numbers
import random
from collections.abc import Mapping
from itertools import count

import neat
from neat.innovation import InnovationTracker
from neat.reporting import ReporterSet
from neat.species import Species

from spikefly.evolution.genome import peek_count
from spikefly.evolution.checkpoint_files import (
    FORMAT,
    FORMAT_VERSION,
    CheckpointError,
    read_checkpoint,
    validate_state,
    write_checkpoint,
    write_text_atomic,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointError",
    "checkpoint_state",
    "read_checkpoint",
    "restore_population",
    "write_checkpoint",
    "write_text_atomic",
]

JSONScalar = bool | int | float | str | None

# Instance attributes of the neat objects whose meaning this module knows. Anything else on
# them is state we would silently drop, so checkpoint_state refuses it (see _check_attributes).
_POPULATION_ATTRIBUTES = {"reporters", "config", "reproduction", "fitness_criterion",
                          "population", "species", "generation", "best_genome"}
_REPRODUCTION_ATTRIBUTES = {"reproduction_config", "reporters", "genome_indexer", "stagnation",
                            "ancestors", "innovation_tracker"}
_SPECIES_SET_ATTRIBUTES = {"species_set_config", "reporters", "indexer", "species",
                           "genome_to_species"}
_STAGNATION_ATTRIBUTES = {"stagnation_config", "species_fitness_func", "reporters"}
_SPECIES_ATTRIBUTES = {"key", "created", "last_improved", "representative", "members",
                       "fitness", "adjusted_fitness", "fitness_history"}
_TRACKER_ATTRIBUTES = {"global_counter", "generation_innovations"}
_GENOME_CORE_ATTRIBUTES = {"key", "fitness", "nodes", "connections"}

# ----------------------------------------------------------------------------------- saving


def checkpoint_state(population: neat.Population, *, generation: int,
                     extra: Mapping[str, object]) -> dict[str, object]:
    """Everything needed to continue ``population`` exactly, as a JSON-able dict.

    ``generation`` is the caller's generation counter (normally ``population.generation``, the
    index of the next generation to evaluate); ``extra`` is the caller's own JSON-able state
    (numpy ``rng.bit_generator.state``, novelty archive, log position), stored verbatim —
    tuples come back as lists and int dict keys as strings, as with any JSON.
    Reads the neat objects and ``random.getstate()`` without changing them.
    """
    _check_attributes(population, _POPULATION_ATTRIBUTES, "Population")
    reproduction = population.reproduction
    species_set = population.species
    _check_attributes(reproduction, _REPRODUCTION_ATTRIBUTES, "reproduction")
    _check_attributes(reproduction.stagnation, _STAGNATION_ATTRIBUTES, "stagnation")
    _check_attributes(species_set, _SPECIES_SET_ATTRIBUTES, "species set")
    tracker = reproduction.innovation_tracker
    _check_attributes(tracker, _TRACKER_ATTRIBUTES, "innovation tracker")
    genome_config = population.config.genome_config
    layout = _genome_layout(population.config)

    live = population.population
    outside: list[dict[str, object]] = []
    outside_index: dict[int, int] = {}

    def reference(genome: object) -> int | dict[str, int]:
        # A live member is saved once and referred to by key; any other genome object (an old
        # best genome, say) is saved aside, once per object, so identities survive the restore.
        if live.get(genome.key) is genome:
            return genome.key
        if id(genome) not in outside_index:
            outside_index[id(genome)] = len(outside)
            outside.append(_genome_record(genome, layout))
        return {"outside": outside_index[id(genome)]}

    species_records = []
    for species in species_set.species.values():
        if type(species) is not Species:
            raise TypeError(f"species {species.key} is a {type(species).__name__}; checkpoints "
                            "restore neat.species.Species only")
        _check_attributes(species, _SPECIES_ATTRIBUTES, "species")
        species_records.append({
            "key": species.key,
            "created": species.created,
            "last_improved": species.last_improved,
            "representative": (None if species.representative is None
                               else reference(species.representative)),
            "members": [reference(member) for member in species.members.values()],
            "fitness": _number(species.fitness),
            "adjusted_fitness": _number(species.adjusted_fitness),
            "fitness_history": [_number(value) for value in species.fitness_history],
        })

    version, internal_state, gauss_next = random.getstate()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generation": generation,
        "extra": dict(extra),
        "random_state": [version, list(internal_state), gauss_next],
        "genome_layout": layout,
        "population": {
            "generation": population.generation,
            "genomes": [_genome_record(genome, layout) for genome in live.values()],
            "best_genome": (None if population.best_genome is None
                            else reference(population.best_genome)),
        },
        "outside_genomes": outside,
        "species_set": {
            "next_species_key": peek_count(species_set.indexer, "species indexer"),
            "species": species_records,
            "genome_to_species": [[g, s] for g, s in species_set.genome_to_species.items()],
        },
        "reproduction": {
            "next_genome_key": peek_count(reproduction.genome_indexer, "genome indexer"),
            "ancestors": [[key, *parents] for key, parents in reproduction.ancestors.items()],
            "innovation_tracker": {
                "global_counter": tracker.global_counter,
                "generation_innovations": _innovations_by_kind(tracker.generation_innovations),
            },
        },
        "genome_config": {
            "next_node_key": (None if genome_config.node_indexer is None
                              else peek_count(genome_config.node_indexer, "node indexer")),
        },
    }


def _innovations_by_kind(table: Mapping[tuple[int, int, str], int]) -> dict[str, list[list[int]]]:
    """``{(in, out, kind): number}`` as ``{kind: [[in, out, number], ...]}``.

    neat clears this table at the start of every reproduction, before reading it, so at a
    generation boundary it is dead state; it is kept for fidelity, grouped because generation 0
    holds one entry per initial connection of every genome (~0.5 MB for 150 genomes if each
    entry repeated its kind)."""
    grouped: dict[str, list[list[int]]] = {}
    for (source, target, kind), number in table.items():
        grouped.setdefault(kind, []).append([source, target, number])
    return grouped


def _genome_layout(config: neat.Config) -> dict[str, object]:
    genome_config = config.genome_config
    node_type = genome_config.node_gene_type
    connection_type = genome_config.connection_gene_type
    return {
        "genome_type": config.genome_type.__name__,
        "node_gene_type": node_type.__name__,
        "connection_gene_type": connection_type.__name__,
        "node_columns": ["key", *(a.name for a in node_type._gene_attributes)],
        "connection_columns": ["input", "output", "innovation",
                               *(a.name for a in connection_type._gene_attributes)],
        "num_inputs": genome_config.num_inputs,
        "num_outputs": genome_config.num_outputs,
    }


def _genome_record(genome: object, layout: Mapping[str, object]) -> dict[str, object]:
    """One genome as rows: nodes ``[key, *attributes]``, connections ``[in, out, innovation, *attributes]``."""
    node_names = layout["node_columns"][1:]
    connection_names = layout["connection_columns"][3:]
    node_known = {"key", *node_names}
    connection_known = {"key", "innovation", *connection_names}
    nodes = []
    for gene in genome.nodes.values():
        if not vars(gene).keys() <= node_known:
            _check_attributes(gene, node_known, f"node gene {gene.key} of genome {genome.key}")
        nodes.append([gene.key, *[_scalar(getattr(gene, name)) for name in node_names]])
    connections = []
    for gene in genome.connections.values():
        if not vars(gene).keys() <= connection_known:
            _check_attributes(gene, connection_known, f"connection gene {gene.key} of genome {genome.key}")
        connections.append([*gene.key, gene.innovation,
                            *[_scalar(getattr(gene, name)) for name in connection_names]])
    record = {"key": genome.key, "fitness": _number(genome.fitness),
              "nodes": nodes, "connections": connections}
    # Attributes a genome subclass or a fitness function added: kept if JSON keeps them exactly.
    others = {name: value for name, value in vars(genome).items()
              if name not in _GENOME_CORE_ATTRIBUTES}
    for name, value in others.items():
        if json.loads(json.dumps(value)) != value:  # also catches tuples (they come back as lists)
            raise TypeError(f"genome {genome.key} has attribute {name!r} = {value!r}, which JSON "
                            "cannot hold exactly; keep only numbers, strings, lists and "
                            "str-keyed dicts on genomes, or delete it before checkpointing")
    if others:
        record["attributes"] = others
    return record


def _check_attributes(obj: object, known: set[str], what: str) -> None:
    unknown = sorted(set(vars(obj)) - known)
    if unknown:
        raise TypeError(f"{what} ({type(obj).__name__}) has attributes {unknown} that checkpoints "
                        "do not save, so a resumed run could differ; teach "
                        "spikefly.evolution.checkpoint about them or keep that state elsewhere")


def _number(value: object) -> int | float | None:
    """Fitness-like numbers as plain JSON numbers (numpy scalars included, exactly)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"expected a number or None, got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


_JSON_SCALAR_TYPES = frozenset({bool, int, float, str, type(None)})


def _scalar(value: object) -> JSONScalar:
    if type(value) in _JSON_SCALAR_TYPES:  # the common case, ~5x faster than the checks below
        return value
    if isinstance(value, (bool, str)):
        return value
    return _number(value)


# --------------------------------------------------------------------------------- restoring


def restore_population(state: Mapping[str, object],
                       config: neat.Config) -> tuple[neat.Population, int, dict[str, object]]:
    """Rebuild the population saved in ``state`` and set Python's ``random`` state.

    Returns ``(population, generation, extra)`` with the caller's ``generation`` and ``extra``
    as given to :func:`checkpoint_state`. ``config`` must describe the same genome layout (genome
    and gene classes, their attributes, inputs and outputs); this function sets its
    ``genome_config.node_indexer`` and ``innovation_tracker``. The returned population has no
    reporters. Raises :class:`CheckpointError` when ``state`` is malformed or does not fit.
    """
    validate_state(state)
    try:
        return _restore(state, config)
    except CheckpointError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AssertionError) as error:
        raise CheckpointError(f"checkpoint state is malformed ({type(error).__name__}: {error}); "
                              "resume from a file written by write_checkpoint") from error


def _restore(state: Mapping[str, object],
             config: neat.Config) -> tuple[neat.Population, int, dict[str, object]]:
    layout = state["genome_layout"]
    expected = _genome_layout(config)
    if layout != expected:
        differing = sorted(k for k in expected if layout.get(k) != expected[k])
        raise CheckpointError(
            f"the checkpoint was written for another genome layout (differs in {differing}: "
            f"saved {[layout.get(k) for k in differing]}, config has "
            f"{[expected[k] for k in differing]}); resume with the config the run started with")

    saved = state["population"]
    genomes = {}
    for record in saved["genomes"]:
        genome = _genome_from_record(record, config, layout)
        genomes[genome.key] = genome
    outside = [_genome_from_record(record, config, layout) for record in state["outside_genomes"]]

    def resolve(reference: int | Mapping[str, int]) -> object:
        if isinstance(reference, int):
            return genomes[reference]
        return outside[reference["outside"]]

    saved_species_set = state["species_set"]
    species_set = config.species_set_type(config.species_set_config, ReporterSet())
    species_set.indexer = count(saved_species_set["next_species_key"])
    for record in saved_species_set["species"]:
        species = Species(record["key"], record["created"])
        species.last_improved = record["last_improved"]
        representative = record["representative"]
        species.representative = None if representative is None else resolve(representative)
        species.members = {m.key: m for m in map(resolve, record["members"])}
        species.fitness = record["fitness"]
        species.adjusted_fitness = record["adjusted_fitness"]
        species.fitness_history = list(record["fitness_history"])
        species_set.species[species.key] = species
    species_set.genome_to_species = {g: s for g, s in saved_species_set["genome_to_species"]}

    # Population.__init__ re-seeds `random` when the config has a seed and builds a fresh
    # reproduction; with initial_state it creates no genomes. Everything is overwritten below.
    population = neat.Population(config, initial_state=(genomes, species_set, saved["generation"]))
    best = saved["best_genome"]
    population.best_genome = None if best is None else resolve(best)

    saved_reproduction = state["reproduction"]
    reproduction = population.reproduction
    reproduction.genome_indexer = count(saved_reproduction["next_genome_key"])
    reproduction.ancestors = {row[0]: tuple(row[1:]) for row in saved_reproduction["ancestors"]}
    saved_tracker = saved_reproduction["innovation_tracker"]
    tracker = InnovationTracker(saved_tracker["global_counter"])
    tracker.generation_innovations = {
        (source, target, kind): number
        for kind, rows in saved_tracker["generation_innovations"].items()
        for source, target, number in rows}
    reproduction.innovation_tracker = tracker
    config.genome_config.innovation_tracker = tracker
    next_node_key = state["genome_config"]["next_node_key"]
    # None means neat has not yet created the counter; it then starts it lazily from the first
    # genome that asks, so None must stay None.
    config.genome_config.node_indexer = None if next_node_key is None else count(next_node_key)

    version, internal_state, gauss_next = state["random_state"]
    random.setstate((version, tuple(internal_state), gauss_next))
    return population, state["generation"], state["extra"]


def _genome_from_record(record: Mapping[str, object], config: neat.Config,
                        layout: Mapping[str, object]) -> object:
    genome_config = config.genome_config
    node_names = layout["node_columns"][1:]
    connection_names = layout["connection_columns"][3:]
    genome = config.genome_type(record["key"])
    genome.fitness = record["fitness"]
    for row in record["nodes"]:
        gene = genome_config.node_gene_type(row[0])
        for name, value in zip(node_names, row[1:], strict=True):
            setattr(gene, name, value)
        genome.nodes[gene.key] = gene
    for row in record["connections"]:
        gene = genome_config.connection_gene_type((row[0], row[1]), innovation=row[2])
        for name, value in zip(connection_names, row[3:], strict=True):
            setattr(gene, name, value)
        genome.connections[gene.key] = gene
    for name, value in record.get("attributes", {}).items():
        setattr(genome, name, value)
    return genome
