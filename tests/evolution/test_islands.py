"""Islands without Ray: gene numbering apart, immigration exactly once, through a checkpoint.

The archipelago on Ray (ring migration, kill and resume) is tested in test_ray.py.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from spikefly.evolution.compile import genome_to_arrays
from spikefly.evolution.islands import (
    ARCHIPELAGO_FILE,
    ISLAND_ID_BLOCK,
    ArchipelagoSettings,
    IslandRun,
    island_settings,
)
from spikefly.evolution.compile import arrays_from_json as _arrays
from spikefly.evolution.settings import EvolveSettings, SettingsError

SETTINGS = EvolveSettings(population=8, generations=4, episodes_per_world=1, validation_every=2, validation_episodes=1,
                          validation_top=1, pybullet_every=0, pybullet_episodes=1, seed=5)


def _genes(genome) -> dict:
    return {name: np.asarray(values).tolist() for name, values in genome_to_arrays(genome).items()
            if name not in ("genome_key", "fitness")}


def _innovations(populations) -> dict[int, set]:
    """innovation number -> the (source, target) pairs that carry it, over every genome given."""
    meaning: dict[int, set] = {}
    for population in populations:
        for genome in population.population.values():
            for gene in genome.connections.values():
                meaning.setdefault(gene.innovation, set()).add(gene.key)
    return meaning


@pytest.fixture
def two_islands(tmp_path):
    archipelago = ArchipelagoSettings(islands=2, migrate_every=1, migrants=2)
    (tmp_path / ARCHIPELAGO_FILE).write_text(json.dumps({"archipelago": asdict(archipelago), "settings": SETTINGS.to_dict()}))
    runs = [IslandRun.start(tmp_path / f"island-{k}", island_settings(SETTINGS, archipelago, k), progress=False) for k in range(2)]
    for run in runs:
        run.run(until=1)
    return runs


def test_islands_number_their_genes_apart_and_a_migrant_keeps_its_genes(two_islands, tmp_path):
    island0, island1 = two_islands
    assert [run.generation for run in two_islands] == [1, 1]
    assert [run.settings.seed for run in two_islands] == [5, 6]  # each island flies its own episodes
    # Without the blocks both islands would number their (random) initial connections from 1.
    assert all(len(keys) == 1 for keys in _innovations([island0.population, island1.population]).values())
    assert all(key < ISLAND_ID_BLOCK for key in island0.population.population)
    assert all(ISLAND_ID_BLOCK <= key < 2 * ISLAND_ID_BLOCK for key in island1.population.population)
    innovations1 = [g.innovation for genome in island1.population.population.values() for g in genome.connections.values()]
    assert min(innovations1) > ISLAND_ID_BLOCK

    sent = island0.emigrants
    assert len(sent) == 2 and island0.emigrants_generation == 0
    assert sent[0]["fitness"]["values"][0] >= sent[1]["fitness"]["values"][0]  # the best first
    before = dict(island1.population.population)
    assert island1.immigrate(1, 0, sent)
    members = island1.population.population
    assert len(members) == len(before) == SETTINGS.population
    arrived = [members[key] for key in island1.migrations[0]["genome_keys"]]
    sent_genes = [{k: v for k, v in _arrays(document).items() if k not in ("genome_key", "fitness")} for document in sent]
    assert [_genes(genome) for genome in arrived] == [{k: v.tolist() for k, v in genes.items()} for genes in sent_genes]
    assert all(genome.key >= ISLAND_ID_BLOCK and genome.fitness is None for genome in arrived)  # new keys, not yet scored
    assert set(island1.migrations[0]["replaced"]) == set(before) - set(members)
    assert all(key in island1.population.species.genome_to_species for key in members)  # re-speciated
    # The same round again (a resumed driver repeats it) changes nothing.
    assert not island1.immigrate(1, 0, sent)
    assert len(island1.migrations) == 1

    # Two more generations on both: still no number means two different genes.
    island1.run(until=3)
    island0.run(until=3)
    assert all(len(keys) == 1 for keys in _innovations([island0.population, island1.population]).values())
    genome_config = island0.config.genome_config
    common = genome_config.num_outputs + genome_config.num_hidden  # outputs and initial hidden neurons: shared genes

    def blocks(run) -> set[int]:
        return {key // ISLAND_ID_BLOCK for genome in run.population.population.values() for key in genome.nodes if key >= common}

    assert blocks(island0) <= {0} and blocks(island1) <= {0, 1}  # island 1 may carry island 0's nodes, not the reverse


def test_an_island_resumes_with_its_migrants_and_its_round(two_islands):
    island0, island1 = two_islands
    island1.immigrate(1, 0, island0.emigrants)
    resumed = IslandRun.resume(island1.run_dir, progress=False)
    assert resumed.rounds_done == 1 and resumed.migrations == island1.migrations
    assert list(resumed.population.population) == list(island1.population.population)
    assert not resumed.immigrate(1, 0, island0.emigrants)
    # Both continue identically (the checkpoint holds the imported population and the random state).
    resumed.run(until=2)
    island1.run(until=2)
    assert resumed.emigrants == island1.emigrants


@pytest.mark.parametrize(
    ("archipelago", "settings", "message"),
    [
        (ArchipelagoSettings(islands=3, split_worlds=True), SETTINGS, "needs at least 3 worlds"),
        (ArchipelagoSettings(migrants=5), SETTINGS, "at most half the population"),
        (ArchipelagoSettings(), EvolveSettings(evaluator="pool"), "each island evaluates inside its own Ray actor"),
    ],
)
def test_archipelago_settings_name_the_fix(archipelago, settings, message):
    with pytest.raises(SettingsError, match=message):
        archipelago.check(settings)


def test_split_worlds_deals_the_worlds_out():
    settings = EvolveSettings(worlds=("forest", "windows", "slalom"))
    archipelago = ArchipelagoSettings(islands=2, split_worlds=True)
    assert [island_settings(settings, archipelago, k).worlds for k in range(2)] == [("forest", "slalom"), ("windows",)]
    with pytest.raises(SettingsError, match="islands=0"):
        ArchipelagoSettings(islands=0)
