"""The Ray evaluator and the island model on a local Ray with 2 CPUs (started once for the module)."""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from spikefly.controllers import random_network
from spikefly.evolution.cli.commands import main
from spikefly.evolution.episodes import TRAINING, episodes_for
from spikefly.evolution.evaluators import SerialEvaluator
from spikefly.evolution.ray_evaluator import RayEvaluator, RayEvaluatorError, connect
from spikefly.evolution.settings import EvolveSettings, SettingsError


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():  # pragma: no cover - another module left it running
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _population(count: int) -> list:
    return [random_network(np.random.default_rng(g), 26, 10 + g % 7, 8, 0.3, weight_scale=1.5) for g in range(count)]


def _assert_same(got, expected) -> None:
    for name in expected.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


# forest with 26 analog inputs, the networks _population builds
SETTINGS = EvolveSettings(episodes_per_world=2, worlds=("forest",), env_settings={}, encoder={"kind": "direct", "signed": True},
                          integer=False, curriculum_start=0.0)
NETWORKS = _population(12)
EPISODES = episodes_for(SETTINGS.worlds, 2, 3, TRAINING, 0)


@pytest.fixture(scope="module")
def serial_results():
    return SerialEvaluator(SETTINGS).evaluate(NETWORKS, EPISODES)


def test_ray_evaluator_equals_serial(local_ray, serial_results):
    evaluator = RayEvaluator(SETTINGS, actors=2, batch_size=5)  # uneven batches: 5, 5, 2
    try:
        _assert_same(evaluator.evaluate(NETWORKS, EPISODES), serial_results)
        _assert_same(evaluator.evaluate(NETWORKS[::-1], EPISODES), SerialEvaluator(SETTINGS).evaluate(NETWORKS[::-1], EPISODES))
    finally:
        evaluator.close()
    assert ray.is_initialized()  # the evaluator did not start Ray, so it leaves it running


def test_killing_an_actor_mid_generation_loses_and_double_counts_nothing(local_ray, serial_results):
    def kill_first_actor(evaluator: RayEvaluator) -> None:
        # Batches 0 and 1 were just queued on actor 0: kill its process as a node failure would.
        if not evaluator.replaced:
            os.kill(pids[0], signal.SIGKILL)

    evaluator = RayEvaluator(SETTINGS, actors=2, batch_size=2, on_submitted=kill_first_actor)
    pids = ray.get([actor.pid.remote() for actor in evaluator.actors])
    try:
        got = evaluator.evaluate(NETWORKS, EPISODES)
        assert evaluator.replaced == 1 and evaluator.resubmitted >= 1
        _assert_same(got, serial_results)  # every genome once, in order, with the serial result
        assert ray.get(evaluator.actors[0].pid.remote()) != pids[0]  # a new actor took the dead one's place
        _assert_same(evaluator.evaluate(NETWORKS, EPISODES), serial_results)  # and the next generation runs
    finally:
        evaluator.close()


def test_a_generation_gives_up_after_too_many_deaths(local_ray):
    def kill(evaluator: RayEvaluator) -> None:
        os.kill(pid, signal.SIGKILL)

    evaluator = RayEvaluator(SETTINGS, actors=1, batch_size=6, max_failures=0, on_submitted=kill)
    pid = ray.get(evaluator.actors[0].pid.remote())
    try:
        with pytest.raises(RayEvaluatorError, match="1 evaluation actors died in one generation"):
            evaluator.evaluate(NETWORKS, EPISODES)
    finally:
        evaluator.close()


def test_missing_ray_is_one_line_with_the_install_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    monkeypatch.chdir(tmp_path)
    code = main(["evolve", "--workers", "ray", "--population", "6", "--generations", "1", "--episodes", "1", "--quiet",
                 "--out", str(tmp_path / "run")])
    assert code == 2
    assert 'Fix: pip install "spikefly[ray]"' in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing half-written
    assert main(["evolve", "--islands", "2", "--population", "6", "--quiet", "--out", str(tmp_path / "islands")]) == 2
    assert 'Fix: pip install "spikefly[ray]"' in capsys.readouterr().err
    assert not (tmp_path / "islands").exists()


def test_bad_ray_addresses_are_clear_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["evolve", "--workers", "ray", "--ray-address", "headnode", "--quiet"]) == 2
    assert "ray_address='headnode': not a Ray head address" in capsys.readouterr().err
    assert main(["evolve", "--ray-address", "10.0.0.5:6379", "--quiet"]) == 2
    assert "use --workers ray with --ray-address" in capsys.readouterr().err
    assert main(["evolve", "--migrants", "3", "--quiet"]) == 2
    assert "belong to an island run. Fix: add --islands N" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
    with pytest.raises(SettingsError, match="choose one of"):
        EvolveSettings(evaluator="dask")

    # A well-formed address nobody answers at: Ray's ConnectionError becomes one line with the fix.
    def refuse(*args, **kwargs):
        raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(RayEvaluatorError, match=r"cannot start or join the Ray cluster at '10.0.0.5:6379'.*Fix: check"):
        connect("10.0.0.5:6379")


def test_evolve_with_ray_workers_equals_the_serial_run(local_ray, tmp_path):
    tiny = ["--population", "8", "--generations", "2", "--episodes", "1", "--quiet"]
    settings = tmp_path / "tiny.json"
    settings.write_text(json.dumps({"validation_every": 2, "validation_episodes": 2, "pybullet_episodes": 1,
                                    "validation_top": 2, "pybullet_every": 0}))
    assert main(["evolve", *tiny, "--settings", str(settings), "--out", str(tmp_path / "serial")]) == 0
    assert main(["evolve", *tiny, "--settings", str(settings), "--workers", "ray", "--out", str(tmp_path / "ray")]) == 0

    def lines(run: str) -> list[dict]:
        return [{k: v for k, v in json.loads(line).items() if k != "time_s"}
                for line in (tmp_path / run / "log.jsonl").read_text().splitlines()]

    assert lines("ray") == lines("serial")
    assert json.loads((tmp_path / "ray" / "settings.json").read_text())["evaluator"] == "ray"


ISLAND_SETTINGS = {"population": 8, "generations": 4, "episodes_per_world": 1, "validation_every": 2,
                   "validation_episodes": 1, "validation_top": 1, "pybullet_every": 0, "pybullet_episodes": 1}


def _island_command(out, settings_file, *extra: str) -> list[str]:
    return [sys.executable, "-m", "spikefly.evolution.cli", "evolve", "--islands", "2", "--migrate-every", "2",
            "--migrants", "2", "--settings", str(settings_file), "--quiet", "--out", str(out), *extra]


def test_two_islands_exchange_migrants_and_a_killed_archipelago_resumes_to_the_same_result(local_ray, tmp_path, capsys):
    import subprocess
    import time

    settings_file = tmp_path / "tiny.json"
    settings_file.write_text(json.dumps(ISLAND_SETTINGS))
    reference = tmp_path / "reference"
    assert main(_island_command(reference, settings_file, "--json")[3:]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [island["island"] for island in summary["islands"]] == [0, 1]
    for island in summary["islands"]:  # one migration (at generation 2; none at the end), from the ring neighbour
        assert [(m["round"], m["generation"], m["from_island"]) for m in island["migrations"]] == [(1, 2, 1 - island["island"])]
    assert (reference / "champion.json").is_file()
    assert (reference / "champion.json").read_text() == (reference / f"island-{summary['best_island']}" / "champion.json").read_text()

    # The same archipelago, its driver killed mid-run (its island actors die with it), then resumed.
    killed = tmp_path / "killed"
    address = ray.get_runtime_context().gcs_address
    process = subprocess.Popen(_island_command(killed, settings_file, "--ray-address", address),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    checkpoint = killed / "island-0" / "checkpoint.json"

    def generation() -> int:
        try:
            return json.loads(checkpoint.read_text())["generation"]
        except (OSError, ValueError):
            return 0

    while time.time() < deadline and generation() < 2:
        time.sleep(0.02)
    # Island 0 has just checkpointed generation 2: the migration is about to happen, under way or
    # done, and island 1 may still be evaluating generation 1. The resumed run must not care.
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed, not finished
    assert not (killed / "champion.json").exists()
    assert main(["evolve", "--resume", str(killed), "--quiet"]) == 0
    capsys.readouterr()

    def lines(run, island: int) -> list[dict]:
        return [{k: v for k, v in json.loads(line).items() if k != "time_s"}
                for line in (run / f"island-{island}" / "log.jsonl").read_text().splitlines()]

    for island in range(2):
        assert lines(killed, island) == lines(reference, island)
        migrations = [json.loads((run / f"island-{island}" / "checkpoint.json").read_text())["extra"]["island"]["migrations"]
                      for run in (killed, reference)]
        assert migrations[0] == migrations[1]  # nothing lost, nothing taken twice
    assert (killed / "champion.json").read_text() == (reference / "champion.json").read_text()
