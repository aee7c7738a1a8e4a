"""Evolution runs as a user meets them: evolve, evaluate, kill and resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spikefly.controllers import encoder_from_dict, load, random_network
from spikefly.evolution.cli.commands import main
from spikefly.evolution.episodes import TEST, TRAINING, VALIDATION, episodes_for, purpose_of
from spikefly.evolution.evaluators import PoolEvaluator, SerialEvaluator
from spikefly.evolution.settings import EvolveSettings, SettingsError

TINY = ["--population", "12", "--generations", "4", "--episodes", "1", "--quiet"]


def tiny_settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"validation_every": 2, "validation_episodes": 2, "pybullet_episodes": 2, "validation_top": 2}))
    return path


def test_training_validation_and_test_seeds_never_meet():
    training = {s for g in range(50) for s in episodes_for(("forest", "windows"), 3, 7, TRAINING, g).seeds}
    validation = set(episodes_for(("forest", "windows"), 50, 7, VALIDATION).seeds)
    test = set(episodes_for(("forest", "windows"), 50, 7, TEST).seeds)
    assert not (training & validation) and not (training & test) and not (validation & test)
    assert {purpose_of(s) for s in training} == {TRAINING} and {purpose_of(s) for s in validation} == {VALIDATION}
    # Every genome of a generation flies the same episodes; the next generation flies new ones.
    assert episodes_for(("forest",), 3, 7, TRAINING, 4) == episodes_for(("forest",), 3, 7, TRAINING, 4)
    assert episodes_for(("forest",), 3, 7, TRAINING, 4) != episodes_for(("forest",), 3, 7, TRAINING, 5)


def test_a_training_pool_repeats_episodes_from_a_fixed_set_and_never_meets_validation():
    drawn = [episodes_for(("kitchen", "office"), 2, 3, TRAINING, generation, pool=5) for generation in range(40)]
    seeds = {seed for episodes in drawn for seed in episodes.seeds}
    assert len(seeds) == 10  # 5 per world, all used over 40 generations
    assert all(len(set(episodes.seeds)) == 4 for episodes in drawn)  # no repeat within a generation
    assert drawn[0] != drawn[1]
    assert not seeds & set(episodes_for(("kitchen", "office"), 50, 3, VALIDATION).seeds)


def test_settings_name_the_bad_key_and_the_fix():
    with pytest.raises(SettingsError, match="did you mean 'population'"):
        EvolveSettings.from_dict({"populaton": 10})
    with pytest.raises(SettingsError, match="physics='bullet'"):
        EvolveSettings(physics="bullet")
    with pytest.raises(SettingsError, match="generations=0"):
        EvolveSettings(generations=0)
    with pytest.raises(SettingsError, match=r"nir_reader='norse': choose one of \['any', 'snntorch'\]"):
        EvolveSettings(nir_reader="norse")
    with pytest.raises(SettingsError, match="needs nir_ready. Fix: drop --no-nir-ready"):
        EvolveSettings(nir_reader="snntorch", nir_ready=False)


def test_pool_evaluator_equals_serial():
    settings = EvolveSettings(episodes_per_world=2)
    serial = SerialEvaluator(settings)
    # the default sensing (3 rows of 12 rays + 10) through the default encoder
    channels = encoder_from_dict(dict(settings.encoder)).n_channels(46)
    networks = [random_network(np.random.default_rng(g), channels, 12 + g, 8, 0.3, weight_scale=1.5) for g in range(6)]
    episodes = episodes_for(settings.worlds, 2, 3, TRAINING, 0)
    expected = serial.evaluate(networks, episodes)
    pool = PoolEvaluator(settings, workers=2)
    try:
        got = pool.evaluate(networks, episodes)
    finally:
        pool.close()
    for name in expected.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def test_evolve_writes_a_run_directory_and_the_champion_flies(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["evolve", *TINY, "--settings", str(tiny_settings_file(tmp_path)), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"champion: {out / 'champion.json'}" in printed
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [line["generation"] for line in lines if "generation" in line] == [0, 1, 2, 3]
    assert {"best_terms", "mean_terms", "species", "best_size", "best_success_rate"} <= set(lines[0])
    assert "validation" in lines[1] and "final_champion" in lines[-1]
    # With the twin the champion is re-flown in PyBullet every second validation, both scores logged.
    assert "pybullet_success_rate" in lines[3]["validation"] and "success_rate" in lines[3]["validation"]
    spec = load(out / "champion.json")
    assert spec.env_id == "spikefly/QuadrotorAvoid-v0" and spec.generation is not None
    assert json.loads((out / "settings.json").read_text())["population"] == 12

    assert main(["evaluate", str(out / "champion.json"), "--episodes", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["episodes"]) == 2 and 0.0 <= report["summary"]["success_rate"] <= 1.0
    assert {"outcome", "return", "time_s", "min_clearance_m", "rotor_energy_j", "synaptic_ops"} <= set(report["episodes"][0])

    # Starting again into the same directory is refused: nothing of the run is overwritten.
    assert main(["evolve", *TINY, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize("baseline", [True, False])
def test_a_run_never_ships_a_network_that_flew_validation_worse_than_the_quiet_one(tmp_path, baseline):
    """A candidate whose network always commands backwards and down loses to the quiet network (the
    guidance law alone), which stays champion; with ``baseline_champion`` off the candidate is shipped."""
    import random

    from spikefly.evolution.compile import compile_genome
    from spikefly.evolution.genome import quiet_genome
    from spikefly.evolution.run import EvolutionRun

    settings = EvolveSettings(validation_episodes=3, pybullet_every=0, baseline_champion=baseline)
    run = EvolutionRun.start(tmp_path / "run", settings, progress=False)
    genome_config = run.config.genome_config
    before = random.getstate()
    loud = quiet_genome(genome_config, key=7)
    assert random.getstate() == before  # building the quiet genome leaves NEAT's random stream alone
    loud.nodes[1].bias = loud.nodes[5].bias = 1.0  # the negative halves of the x and z actions fire every substep
    summary = run._validate([loud], [run._scored(compile_genome(loud, genome_config))], generation=0)

    spec = load(tmp_path / "run" / "champion.json")
    assert "wind_speed_mps" not in spec.env_settings  # validated in wind, the champion file keeps the training settings
    if baseline:
        assert summary["candidates"] == 1 and summary["baseline"]["success_rate"] > summary["success_rate"] == 0.0
        assert summary["champion_success_rate"] == summary["baseline"]["success_rate"]
        assert run.champion["baseline"] and spec.metadata["note"].startswith("the quiet network")
        assert spec.network.n_synapses == 0 and not np.any(spec.network.bias)
    else:
        assert summary["candidates"] == 1 and "baseline" not in summary and summary["success_rate"] == 0.0
        assert "note" not in spec.metadata and spec.network.bias.max() > 0


class _ScriptedFlyer:
    """Flies nothing: network i of a call succeeds on the episodes ``plan[(episode set, i)]`` says."""

    def __init__(self, plan: dict) -> None:
        self.plan = plan

    def fly(self, networks, episodes, physics=None):
        from spikefly.envs.sim import outcomes
        from spikefly.evolution.fused_rollout import RolloutResults

        shape = (len(networks), len(episodes))
        codes = np.full(shape, outcomes.TIMEOUT, np.int64)
        for i in range(len(networks)):
            codes[i, : self.plan[episodes, i]] = outcomes.GOAL
        zeros = np.zeros(shape)
        return RolloutResults(returns=codes.astype(float), outcomes=codes, steps=np.ones(shape, np.int64), time_s=zeros,
                              min_clearance_m=zeros, rotor_energy_j=zeros, final_position_m=np.zeros((*shape, 3)),
                              ops=np.zeros((*shape, 4), np.int64))


@pytest.mark.parametrize(("confirmed_goals", "crowned"), [(40, True), (30, False)])
def test_a_candidate_that_beats_the_champion_must_beat_it_again_on_the_confirmation_episodes(tmp_path, confirmed_goals, crowned):
    """Validation: the candidate reaches the goal on 40 of 40 episodes, the quiet champion on 30.
    Confirmation: the champion 30 again, the candidate 40 (crowned) or 30 (the same: not crowned)."""
    from spikefly.evolution.compile import compile_genome
    from spikefly.evolution.genome import quiet_genome
    from spikefly.evolution.run import EvolutionRun

    settings = EvolveSettings(validation_episodes=40, confirmation_episodes=40, pybullet_every=0)
    run = EvolutionRun.start(tmp_path / "run", settings, progress=False)
    assert not set(run.validation.seeds) & set(run.confirmation.seeds)
    candidate = quiet_genome(run.config.genome_config, key=3)
    candidate.nodes[0].bias = 0.5
    network = run._scored(compile_genome(candidate, run.config.genome_config))
    run._validation_flyer = _ScriptedFlyer({(run.validation, 0): 30, (run.validation, 1): 40,  # quiet first, then the candidate
                                            (run.confirmation, 0): confirmed_goals, (run.confirmation, 1): 30})
    summary = run._validate([candidate], [network], generation=0)  # the quiet genome is crowned, then challenged
    assert summary["confirmation"] == {"success_rate": confirmed_goals / 40, "champion_success_rate": 0.75, "passed": crowned}
    assert bool(run.champion.get("baseline")) != crowned and run.champion["score"][0] == (1.0 if crowned else 0.75)


def test_validation_flies_with_the_randomisation_it_names(tmp_path):
    """The quiet genome's validation flights differ between clean and the default randomisation
    (wind, noise, model error act), and each equals flying the same episodes under those settings."""
    from spikefly.envs.sim.randomisation import load_randomisation
    from spikefly.evolution.compile import compile_genome
    from spikefly.evolution.evaluators import Flyer
    from spikefly.evolution.genome import quiet_genome
    from spikefly.evolution.run import EvolutionRun

    returns = {}
    for randomise in (None, "default"):
        settings = EvolveSettings(validation_episodes=2, pybullet_every=0, validation_randomise=randomise)
        run = EvolutionRun.start(tmp_path / str(randomise), settings, progress=False)
        quiet = quiet_genome(run.config.genome_config)
        network = run._scored(compile_genome(quiet, run.config.genome_config))
        returns[randomise] = run._validate([], [], generation=0)["baseline"]["mean_return"]
        flown = dict(settings.env_settings) if randomise is None else load_randomisation(randomise).applied_to(dict(settings.env_settings))
        direct = Flyer(EvolveSettings(env_settings=flown)).fly([network], run.validation)
        assert returns[randomise] == pytest.approx(float(direct.returns.mean()))
    assert returns[None] != returns["default"]


def _evolve_command(out: Path, settings: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "spikefly.evolution.cli", "evolve", "--population", "12", "--generations", "8",
            "--episodes", "1", "--quiet", "--settings", str(settings), "--out", str(out), *extra]


def test_a_run_killed_mid_generation_resumes_to_the_same_result(tmp_path):
    settings = tiny_settings_file(tmp_path)
    reference = tmp_path / "reference"
    subprocess.run(_evolve_command(reference, settings), check=True, capture_output=True, timeout=600)

    killed = tmp_path / "killed"
    process = subprocess.Popen(_evolve_command(killed, settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        log = killed / "log.jsonl"
        if log.exists() and len(log.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # mid-generation: the next one is being evaluated
    process.wait()
    subprocess.run([sys.executable, "-m", "spikefly.evolution.cli", "evolve", "--resume", str(killed), "--quiet"],
                   check=True, capture_output=True, timeout=600)

    def generations(run: Path) -> list[dict]:
        lines = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
        return [{k: v for k, v in line.items() if k != "time_s"} for line in lines]

    assert generations(killed) == generations(reference)
    assert (killed / "champion.json").read_text() == (reference / "champion.json").read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["evolve", "--world", "no-such-world", *TINY], "no bundled world named 'no-such-world'"),
        (["evolve", "--world", "kitchen", *TINY], "this is a soundscape"),
        (["evolve", "--env", "audio", "--world", "forest", *TINY], "this is an obstacle course"),
        (["evolve", "--env", "audio", "--world", "kitchn", *TINY], "no bundled soundscape named 'kitchn'; did you mean 'kitchen'?"),
        (["evolve", "--resume", "definitely/not/a/run"], "not a spikefly run directory"),
        (["evaluate", "missing.json"], "missing.json: no such file"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path, capsys, arguments, message):
    os.chdir(tmp_path)
    assert main(arguments) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing written: the same command works once fixed


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"env_settings": {"geofence_ray": True}}, "'geofence_ray' (did you mean 'geofence_rays'?)"),
        ({"env_settings": {"geofence_rays": "yes"}}, "geofence_rays='yes': must be true or false"),
        ({"env": "audio", "worlds": ["kitchen"], "env_settings": {"snr": [0, 10]}}, "unknown AudioEventDetection setting"),
        ({"validation_randomise": "windy"}, "validation_randomise: windy: neither a randomisation preset nor a file. Fix: name a preset"),
        ({"env": "audio", "worlds": ["kitchen"], "validation_randomise": "default"}, "the audio task has no domain randomisation"),
    ],
)
def test_bad_env_settings_are_one_line_before_anything_is_written(tmp_path, capsys, settings, message):
    if settings.pop("env", None) == "audio":
        settings["env_id"] = "spikefly/AudioEventDetection-v0"
    error = _refused_evolve(tmp_path, capsys, settings)
    assert message in error and ("env_settings" in error or "validation_randomise" in error)


def _refused_evolve(tmp_path: Path, capsys, settings: dict) -> str:
    """Evolve with this settings file: exit 2, one line on stderr (returned), no run directory."""
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings))
    out = tmp_path / "run"
    assert main(["evolve", *TINY, "--settings", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1
    assert not out.exists()  # the same --out works once the file is fixed
    return error


def test_early_stopping_ends_a_stalled_run(tmp_path, capsys):
    out = tmp_path / "run"
    settings = tiny_settings_file(tmp_path)
    assert main(["evolve", *TINY, "--generations", "40", "--early-stop", "1", "--settings", str(settings), "--out", str(out)]) == 0
    generations = [json.loads(line)["generation"] for line in (out / "log.jsonl").read_text().splitlines()[:-1]]
    assert len(generations) < 40  # validation stalled at some point and the run stopped early


def test_a_controller_for_another_env_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["evolve", *TINY, "--generations", "2", "--settings", str(tiny_settings_file(tmp_path)), "--out", str(out)]) == 0
    capsys.readouterr()
    document = json.loads((out / "champion.json").read_text())
    document["env"]["id"] = "acme/Hovercraft-v3"
    other = tmp_path / "audio.json"
    other.write_text(json.dumps(document))
    assert main(["evaluate", str(other)]) == 2
    assert "evolved for 'acme/Hovercraft-v3'" in capsys.readouterr().err


def test_reinsert_champion_puts_the_validated_champion_back_and_resumes_identically(tmp_path):
    from spikefly.evolution.compile import genome_to_arrays
    from spikefly.evolution.compile import arrays_to_json as _jsonable
    from spikefly.evolution.run import EvolutionRun

    settings = EvolveSettings(population=12, generations=8, episodes_per_world=1, validation_every=1, validation_episodes=2,
                              validation_top=2, pybullet_every=0, reinsert_champion=True)
    run = EvolutionRun.start(tmp_path / "straight", settings, progress=False)
    reinserted = 0
    for generation in range(1, 9):
        run.run(until=generation)
        line = run._log_lines()[-1]
        assert line["generation"] == generation - 1
        if "reinserted_champion" in line:
            assert not line["validation"].get("new_champion")
            key = line["reinserted_champion"]["genome_key"]
            genome = run.population.population[key]  # in the next generation, as a member of a species
            genes = {name: entry for name, entry in _jsonable(genome_to_arrays(genome)).items() if name not in ("genome_key", "fitness")}
            assert genes == {name: entry for name, entry in run.champion["genome"].items() if name not in ("genome_key", "fitness")}
            assert len(genes) >= 4
            assert any(key in species.members for species in run.population.species.species.values())
            assert line["reinserted_champion"]["replaced"] not in run.population.population
            reinserted += 1
    assert reinserted >= 1

    halves = EvolutionRun.start(tmp_path / "halves", settings, progress=False)
    halves.run(until=4)
    EvolutionRun.resume(tmp_path / "halves", progress=False).run(until=8)

    def lines(run_dir: Path) -> list[dict]:
        return [{k: v for k, v in line.items() if k != "time_s"} for line in EvolutionRun.resume(run_dir, progress=False)._log_lines()]

    assert lines(tmp_path / "halves") == lines(tmp_path / "straight")


def test_the_curriculum_level_rises_is_logged_and_resumes_identically(tmp_path):
    from spikefly.evolution.run import EvolutionRun

    # promote at 0: every generation passes the test, so the level climbs 0.2, 0.5, 0.8, then the full world
    settings = EvolveSettings(population=12, generations=6, episodes_per_world=1, validation_every=3, validation_episodes=2,
                              validation_top=2, pybullet_every=0, curriculum_start=0.2, curriculum_step=0.3,
                              curriculum_promote=0.0)
    run = EvolutionRun.start(tmp_path / "straight", settings, progress=False)
    run.run()
    levels = [line.get("curriculum_level") for line in run._log_lines() if "generation" in line]
    assert levels == [0.2, 0.5, 0.8, None, None, None]
    halves = EvolutionRun.start(tmp_path / "halves", settings, progress=False)
    halves.run(until=2)
    assert EvolutionRun.resume(tmp_path / "halves", progress=False).curriculum_level == 0.8
    EvolutionRun.resume(tmp_path / "halves", progress=False).run()

    def lines(run_dir: Path) -> list[dict]:
        return [{k: v for k, v in line.items() if k != "time_s"} for line in EvolutionRun.resume(run_dir, progress=False)._log_lines()]

    assert lines(tmp_path / "halves") == lines(tmp_path / "straight")
    # promoted only when the top tenth all reach the goal: with velocity-mode actions (no goal-seeking
    # guidance) no first network does, so the level stays where it started
    stay_settings = {**settings.to_dict(), "generations": 2, "curriculum_promote": 1.0,
                     "env_settings": {**settings.env_settings, "action_mode": "velocity"}}
    stay = EvolutionRun.start(tmp_path / "stay", EvolveSettings(**stay_settings), progress=False)
    stay.run()
    assert [line["curriculum_level"] for line in stay._log_lines() if "generation" in line] == [0.2, 0.2]


def test_a_settings_files_env_settings_change_the_default_sensing_key_by_key(tmp_path):
    from spikefly.evolution.settings import DEFAULT_SENSING

    settings = tmp_path / "windy.json"
    settings.write_text(json.dumps({"env_settings": {"wind_speed_mps": 0.5, "n_rays": 8}, "validation_every": 1,
                                    "validation_episodes": 1, "validation_top": 1, "pybullet_episodes": 1}))
    assert main(["evolve", "--population", "4", "--generations", "1", "--episodes", "1", "--quiet", "--settings", str(settings),
                 "--out", str(tmp_path / "run")]) == 0
    written = json.loads((tmp_path / "run" / "settings.json").read_text())["env_settings"]
    assert written == {**DEFAULT_SENSING, "wind_speed_mps": 0.5, "n_rays": 8}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"encoder": {"kind": "population", "n_fields": 2}}, "encoder: population encoder settings: missing key 'sigma'"),
        ({"encoder": {"kind": "bogus"}}, "encoder: encoder settings: key 'kind' is 'bogus'"),
        ({"encoder": "latency"}, "encoder='latency': must be a table of encoder settings"),
        ({"decoder": {"kind": "rate", "signed_pairs": 2}}, "decoder: "),
    ],
)
def test_bad_encoder_or_decoder_settings_are_one_line_before_anything_is_written(tmp_path, capsys, settings, message):
    error = _refused_evolve(tmp_path, capsys, settings)
    assert message in error and "Fix:" in error


def test_the_progress_line_shows_the_best_candidate_and_the_champion_it_had_to_beat():
    from spikefly.evolution.run_records import progress_text

    record = {"best_fitness": 31.3, "mean_fitness": 29.3, "species": 4, "best_size": {"neurons": 8, "synapses": 0},
              "best_success_rate": 0.88}
    assert progress_text(record) == "best 31.30 mean 29.30 species 4 size 8n/0s success 0.88"
    record["validation"] = {"success_rate": 0.79, "champion_success_rate": 0.73}
    assert progress_text(record).endswith(" success 0.88 val 0.79 (champion 0.73)")
