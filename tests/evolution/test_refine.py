"""CMA-ES refinement of an elite genome's weights: it improves, never harms, writes nothing, and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spikefly.evolution.cli.commands import main
from spikefly.evolution.episodes import TRAINING, VALIDATION, episodes_for
from spikefly.evolution.refine import WeightVector, refine_genome
from spikefly.evolution.settings import EvolveSettings, SettingsError


@pytest.fixture(scope="module")
def neat_config(wired_neat_config):
    from spikefly.evolution.neat_config import load_neat_config

    return load_neat_config(wired_neat_config, num_inputs=6, num_outputs=2, overrides={"NEAT": {"pop_size": 4}})


@pytest.fixture(scope="module")
def config(neat_config):
    return neat_config.genome_config


@pytest.fixture(scope="module")
def genomes(neat_config):
    import random

    import neat

    random.seed(5)
    return list(neat.Population(neat_config).population.values())


def _genome(genomes):
    import copy

    return copy.deepcopy(max(genomes, key=lambda genome: len(genome.connections)))


def test_refinement_moves_every_weight_toward_a_better_score_and_writes_it_back(config, genomes):
    genome = _genome(genomes)
    vector = WeightVector(genome, config)
    assert len(vector) >= 3
    target = np.clip(np.linspace(-2.0, 2.0, len(vector)), vector.low, vector.high)
    rounds = []

    def scorer(genomes, round_):
        rounds.append(round_)
        return np.array([-float(np.sum((vector.read(g) - target) ** 2)) for g in genomes])

    start = vector.read(genome)
    report = refine_genome(genome, config, scorer, iterations=30, population=12, sigma=0.5, seed=[0, 3])
    assert rounds == list(range(31))  # 30 search rounds, then one check round
    assert report.accepted and report.after > report.before and report.candidates == 30 * 12 + 2
    refined = vector.read(genome)
    assert np.sum((refined - target) ** 2) < 0.5 * np.sum((start - target) ** 2)
    assert np.all(refined >= vector.low) and np.all(refined <= vector.high)


def test_a_refinement_that_does_not_pass_the_check_leaves_the_genome_untouched(config, genomes):
    genome = _genome(genomes)
    vector = WeightVector(genome, config)
    start = vector.read(genome)

    def scorer(genomes, round_):  # the search sees a slope; the check prefers the genome as it was
        values = np.array([float(np.sum(vector.read(g))) for g in genomes])
        return -values if round_ == 5 else values

    report = refine_genome(genome, config, scorer, iterations=5, population=8, sigma=0.3, seed=[1])
    assert not report.accepted and report.after < report.before
    np.testing.assert_array_equal(vector.read(genome), start)


def test_refinement_is_deterministic_and_writes_no_files(config, genomes, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # pycma writes outcmaes/ logs into the working folder unless told not to
    state = np.random.get_state()

    def refined(seed):
        genome = _genome(genomes)
        vector = WeightVector(genome, config)
        refine_genome(genome, config, lambda gs, r: np.array([-abs(float(vector.read(g)[0]) - 1.0) for g in gs]),
                      iterations=4, population=6, sigma=0.3, seed=seed)
        return vector.read(genome)

    np.testing.assert_array_equal(refined([0, 7]), refined([0, 7]))
    assert not np.array_equal(refined([0, 7]), refined([0, 8]))
    assert list(tmp_path.iterdir()) == []
    assert np.array_equal(np.random.get_state()[1], state[1])  # numpy's global random state untouched


def test_refinement_rounds_fly_new_training_episodes_never_validation_ones():
    own = episodes_for(("mixed",), 4, 0, TRAINING, 10)
    rounds = [episodes_for(("mixed",), 4, 0, TRAINING, 10, round_=r) for r in range(5)]
    seeds = [set(episodes.seeds) for episodes in rounds]
    assert all(not (a & b) for i, a in enumerate(seeds) for b in seeds[i + 1:])
    assert all(not (s & set(own.seeds)) for s in seeds)
    assert all(not (s & set(episodes_for(("mixed",), 30, 0, VALIDATION).seeds)) for s in seeds)
    # a fixed pool (audio) is drawn from again, never grown
    pool = {seed for g in range(30) for seed in episodes_for(("kitchen",), 2, 0, TRAINING, g, pool=4).seeds}
    assert {seed for r in range(8) for seed in episodes_for(("kitchen",), 2, 0, TRAINING, 3, pool=4, round_=r).seeds} <= pool


def test_a_run_with_refinement_logs_it_and_resumes_identically(tmp_path, wired_neat_config):
    from spikefly.evolution.run import EvolutionRun

    settings = EvolveSettings(population=12, generations=5, episodes_per_world=1, validation_every=2, validation_episodes=2,
                              validation_top=2, pybullet_every=0, refine_every=2, refine_iterations=2, refine_population=4,
                              neat_config=str(wired_neat_config))
    straight = EvolutionRun.start(tmp_path / "straight", settings, progress=False)
    straight.run()
    lines = [line for line in straight._log_lines() if "generation" in line]
    refinements = [line["refinement"] for line in lines if "refinement" in line]
    assert [line["generation"] for line in lines if "refinement" in line] == [2, 4]
    for refinement in refinements:
        assert refinement["candidates"] == 2 * 4 + 2 and refinement["env_steps"] > 0 and refinement["parameters"] > 0
        assert refinement["accepted"] == (refinement["after"] > refinement["before"])

    halves = EvolutionRun.start(tmp_path / "halves", settings, progress=False)
    halves.run(until=3)
    EvolutionRun.resume(tmp_path / "halves", progress=False).run()

    def lines_of(run_dir: Path) -> list[dict]:
        return [{k: v for k, v in line.items() if k != "time_s"} for line in EvolutionRun.resume(run_dir, progress=False)._log_lines()]

    assert lines_of(tmp_path / "halves") == lines_of(tmp_path / "straight")
    champion = json.loads((tmp_path / "straight" / "champion.json").read_text())
    assert champion == json.loads((tmp_path / "halves" / "champion.json").read_text())


@pytest.mark.parametrize(("values", "message"), [
    ({"refine_every": -1}, "refine_every=-1: must be an integer >= 0"),
    ({"refine_population": 2}, "refine_population=2: must be an integer >= 4"),
    ({"refine_sigma": 0}, "refine_sigma=0: CMA-ES needs a step size > 0"),
    ({"refine_iterations": 0}, "refine_iterations=0: must be an integer >= 1"),
])
def test_bad_refinement_settings_name_the_key(values, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EvolveSettings.from_dict(values)


def test_the_refine_flag_reaches_the_run_settings(tmp_path, capsys, wired_neat_config):
    out = tmp_path / "run"
    settings = tmp_path / "tiny.json"
    settings.write_text(json.dumps({"validation_every": 2, "validation_episodes": 2, "pybullet_episodes": 2,
                                    "validation_top": 2, "refine_iterations": 1, "refine_population": 4}))
    assert main(["evolve", "--population", "8", "--generations", "2", "--episodes", "1", "--quiet", "--refine-every", "1",
                 "--settings", str(settings), "--neat-config", str(wired_neat_config), "--out", str(out)]) == 0
    assert json.loads((out / "settings.json").read_text())["refine_every"] == 1
    assert "refinement" in [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()][1]
