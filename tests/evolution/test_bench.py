"""spikefly bench: equal step budgets, every env step counted, the table's columns, the CLI's errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from spikefly.evolution import evaluators
from spikefly.evolution.baselines.bench import BenchError, BenchSettings, run_bench
from spikefly.evolution.baselines.bench_table import confidence_interval, overspend_note, table_columns
from spikefly.evolution.cli.commands import main
from spikefly.evolution.run import EvolutionRun
from spikefly.evolution.settings import EvolveSettings
from spikefly.evolution.tasks import task_for
from spikefly.envs import QUADROTOR_AVOID_ID

BUDGET = 3000


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    settings = BenchSettings(worlds=("empty",), holdout_world="corridor", budget_steps=BUDGET, seeds=1, methods=("neat", "ppo"),
                             neat_population=4, neat_episodes=1, validation_episodes=1, validations=2, test_episodes=1,
                             holdout_episodes=1, n_envs=2)
    return run_bench(settings, out, progress=False), out


def test_a_tiny_budget_runs_both_methods_end_to_end_and_the_table_has_every_column(tiny_bench):
    document, out = tiny_bench
    header = document["table"].splitlines()[0]
    for name, _, _ in table_columns(task_for(QUADROTOR_AVOID_ID)):
        assert name.replace("env steps to", "env steps (k) to") in header
    for column in ("success", "collision", "time-out", "mean return", "time to goal (s)", "wall-clock to 90% (s)",
                   "neurons", "synapses", "parameters", "synaptic ops / step", "MACs / step", "energy / s of flight (mJ)"):
        assert f"| {column} |" in header
    rows = document["table"].splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == ["NEAT-LIF", "PPO (MLP)"]
    assert (out / "bench.md").read_text().strip() == (document["table"] + document["note"]).strip()
    assert "neat seed 0" in document["note"]  # a 3,000-step budget is less than one generation
    assert (out / "curves.png").stat().st_size > 1000
    results = {r["method"]: r for r in json.loads((out / "bench.json").read_text())["results"]}
    for method, result in results.items():
        assert result["env_steps"] >= BUDGET, method  # both spent the whole budget (NEAT stops after a generation)
        assert result["curve"] and result["curve"][-1]["env_steps"] <= result["env_steps"]
        assert 0.0 <= result["test"]["success_rate"] <= 1.0 and 0.0 <= result["test"]["holdout"] <= 1.0
    assert results["neat"]["test"]["neurons"] >= 4 and results["neat"]["test"]["macs_per_step"] is None
    assert results["ppo"]["test"]["parameters"] == 6148 and results["ppo"]["test"]["synaptic_ops_per_step"] is None


def test_a_finished_benchmark_is_read_back_not_rerun(tiny_bench):
    document, out = tiny_bench
    again = run_bench(BenchSettings(**{**document["settings"], "worlds": tuple(document["settings"]["worlds"]),
                                       "methods": tuple(document["settings"]["methods"])}), out, progress=False)
    assert again["results"] == document["results"]
    fewer = run_bench(BenchSettings(**{**document["settings"], "worlds": tuple(document["settings"]["worlds"]),
                                       "methods": ("ppo",)}), out, progress=False)  # other methods: the same runs
    assert fewer["results"] == [result for result in document["results"] if result["method"] == "ppo"]
    with pytest.raises(BenchError, match="other settings. Fix: pick a new --out"):
        run_bench(BenchSettings(worlds=("empty",), budget_steps=BUDGET + 1, seeds=1, methods=("ppo",)), out, progress=False)


def test_neat_counts_every_env_step_and_stops_on_the_budget(tmp_path, monkeypatch):
    flown = []
    original = evaluators.Flyer.fly

    def counting_fly(self, networks, episodes, physics=None):
        results = original(self, networks, episodes, physics)
        flown.append(int(results.steps.sum()))
        return results

    monkeypatch.setattr(evaluators.Flyer, "fly", counting_fly)
    settings = EvolveSettings(worlds=("empty",), population=4, episodes_per_world=1, generations=50, budget_steps=3000,
                              validation_every=2, validation_episodes=1, validation_top=2, pybullet_every=1, pybullet_episodes=1)
    run = EvolutionRun.start(tmp_path, settings, progress=False)
    summary = run.run()
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    generations = [line for line in log if "generation" in line]
    # every genome's training episodes, the validations, the periodic and final PyBullet re-flights
    assert log[-1]["final_champion"]["env_steps_total"] == run.env_steps == sum(flown)
    assert generations[-1]["env_steps_total"] >= 3000 > generations[-2]["env_steps_total"]  # stopped on the budget
    assert "validation" in generations[-1]  # the generation that spent it was validated
    assert summary.generations == len(generations) < 50
    resumed = EvolutionRun.resume(tmp_path, progress=False)  # the counter is in the checkpoint
    assert resumed.env_steps == generations[-1]["env_steps_total"]
    assert resumed.run().generations == summary.generations  # budget already spent: no new generation


def test_confidence_interval_is_students_t_over_seeds():
    mean, half = confidence_interval([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-6)
    assert confidence_interval([0.7]) == (0.7, 0.0)


def test_a_run_over_its_step_budget_is_named_under_the_table():
    results = [{"method": "neat", "seed": 0, "env_steps": 1_559_000}, {"method": "ppo", "seed": 0, "env_steps": 204_800}]
    note = overspend_note(results, 200_000)
    assert "neat seed 0: 7.8x" in note and "ppo" not in note
    assert overspend_note(results[1:], 200_000) == ""


def test_bench_cli_rejects_bad_input_in_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--env", "lunar"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'lunar'" in capsys.readouterr().err
    assert main(["bench", "--methods", "neat,dqn", "--out", str(tmp_path / "b")]) == 2
    assert "methods=['neat', 'dqn']: choose from ['neat', 'ppo', 'recurrent_ppo', 'spiking_ppo']" in capsys.readouterr().err
    assert main(["bench", "--world", "atlantis", "--out", str(tmp_path / "c")]) == 2
    assert not (tmp_path / "c").exists()  # nothing half-written


def test_the_audio_task_gets_its_own_table(tmp_path):
    settings = BenchSettings(env_id="spikefly/AudioEventDetection-v0", worlds=("kitchen",), holdout_world="office",
                             env_settings={"duration_s": 2.0}, budget_steps=4000, seeds=1, methods=("neat", "ppo"),
                             neat_population=4, neat_episodes=1, validation_episodes=1, validations=2, test_episodes=1,
                             holdout_episodes=1, n_envs=2)
    document = run_bench(settings, tmp_path, progress=False)
    header = document["table"].splitlines()[0]
    for column in ("F1", "false alarms / h", "holdout F1", "energy / h (J)", "env steps (k) to 90%", "MACs / step"):
        assert f"| {column} |" in header
    assert "| success |" not in header
    for result in document["results"]:
        assert result["env_steps"] >= 4000
        assert result["test"]["energy_per_hour_j"] > 0


def test_evolve_cli_stops_on_a_step_budget(tmp_path, capsys):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"validation_episodes": 1, "validation_every": 1, "pybullet_episodes": 1}))
    out = tmp_path / "run"
    assert main(["evolve", "--world", "empty", "--population", "4", "--episodes", "1", "--budget-steps", "8000",
                 "--settings", str(settings), "--out", str(out), "--quiet", "--json"]) == 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert json.loads((out / "settings.json").read_text())["budget_steps"] == 8000
    # a generation of 4 hovering genomes and their validation costs ~3000 steps: several fit
    assert len(log) >= 4 and log[-2]["env_steps_total"] >= 8000 > log[-3]["env_steps_total"]


def test_a_budgeted_run_stopped_and_resumed_spends_the_same_steps_on_the_same_genomes(tmp_path):
    settings = EvolveSettings(worlds=("empty",), population=4, episodes_per_world=1, generations=50, budget_steps=6000,
                              validation_every=2, validation_episodes=1, validation_top=2, pybullet_every=0, pybullet_episodes=1)
    EvolutionRun.start(tmp_path / "straight", settings, progress=False).run()
    interrupted = EvolutionRun.start(tmp_path / "resumed", settings, progress=False)
    assert interrupted.run(until=2) is None  # stops at generation 2's checkpoint, as a killed run would
    EvolutionRun.resume(tmp_path / "resumed", progress=False).run()

    def lines(name):
        text = (tmp_path / name / "log.jsonl").read_text().splitlines()
        return [{key: value for key, value in json.loads(line).items() if key != "time_s"} for line in text]

    assert lines("resumed") == lines("straight")


def test_an_equal_wall_clock_bench_gives_each_method_its_seconds_and_flies_the_suite(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    for name in ("boxes-crates.toml", "corridor-drift.toml"):
        (suite / name).write_text((Path(__file__).parents[2] / "worlds" / "suites" / "heldout" / name).read_text())
    budget = 4.0
    settings = BenchSettings(worlds=("empty",), holdout_world=None, env_settings={"action_mode": "guided"}, budget_seconds=budget,
                             suite=str(suite), seeds=1, methods=("neat", "ppo"), neat_population=4, neat_episodes=1,
                             validation_episodes=1, validations=2, test_episodes=1, n_envs=2)
    document = run_bench(settings, tmp_path / "bench", progress=False)
    header = document["table"].splitlines()[0]
    assert "| suite success |" in header
    for result in document["results"]:
        assert budget <= result["wall_clock_s"] < budget + 120  # ran out its seconds, then stopped (generous: JIT, a last validation)
        assert result["test"]["suite"] in (0.0, 0.5, 1.0)  # two courses, each flown once
        assert result["curve"], result["method"]  # validated at least once, so a controller was selected
    neat = json.loads((tmp_path / "bench" / "neat" / "seed-0" / "settings.json").read_text())
    assert neat["time_budget_s"] == budget and neat["budget_steps"] == 0 and neat["env_settings"] == {"action_mode": "guided"}
    card = json.loads((tmp_path / "bench" / "ppo" / "seed-0" / "card.json").read_text())
    assert card["env"]["settings"] == {"action_mode": "guided"}


def test_bench_refuses_bad_time_budgets_suites_and_env_settings(tmp_path, capsys):
    with pytest.raises(BenchError, match=r"budget_seconds=-1: give seconds from 0 to 1e7"):
        BenchSettings(worlds=("empty",), budget_seconds=-1)
    with pytest.raises(BenchError, match="no bundled suite named 'nosuch'"):
        BenchSettings(worlds=("empty",), suite="nosuch")
    bad = tmp_path / "env.json"
    bad.write_text(json.dumps({"action_mode": "guidded"}))
    assert main(["bench", "--budget-seconds", "10", "--env-settings", str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert f"--env-settings {bad}: " in err and "action_mode='guidded'" in err
    assert not (tmp_path / "b").exists()


def test_a_run_stopped_by_its_time_budget_validates_its_last_generation(tmp_path):
    settings = EvolveSettings(worlds=("empty",), population=4, episodes_per_world=1, generations=50, time_budget_s=0.001,
                              validation_every=5, validation_episodes=1, pybullet_every=0, pybullet_episodes=1)
    summary = EvolutionRun.start(tmp_path / "run", settings, progress=False).run()
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert summary.generations == 1 and "validation" in log[0]  # generation 0 of 5 validates: it is the last
    assert summary.champion is not None and summary.champion.exists()
