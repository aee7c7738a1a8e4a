"""A real multi-node Ray cluster on this machine: a head node and two worker nodes (separate raylets,
``ray.cluster_utils.Cluster``). An evolution and an island run spread over the worker nodes; one
worker node is killed mid-run; the runs end exactly as a serial run and an unkilled run do."""

from __future__ import annotations

import json
import time

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster

from spikefly.evolution import run as run_module
from spikefly.evolution.islands import ArchipelagoSettings, evolve_archipelago
from spikefly.evolution.ray_evaluator import RayEvaluator
from spikefly.evolution.run import EvolutionRun
from spikefly.evolution.settings import EvolveSettings

pytestmark = pytest.mark.slow

# Quick detection of a lost node (Ray's defaults take ~30 s to declare one dead).
FAST_FAILURE = {"health_check_period_ms": 200, "health_check_timeout_ms": 500, "health_check_failure_threshold": 3}
SETTINGS = EvolveSettings(worlds=("forest",), population=12, generations=4, episodes_per_world=1, validation_every=2,
                          validation_episodes=2, validation_top=2, pybullet_every=0, pybullet_episodes=1)


@pytest.fixture
def cluster():
    """Head node with no CPU (the driver only) and two worker nodes of one CPU each."""
    if ray.is_initialized():
        ray.shutdown()
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False,
                                                          "_system_config": FAST_FAILURE})
    workers = [nodes.add_node(num_cpus=1) for _ in range(2)]
    nodes.wait_for_nodes()
    ray.init(address=nodes.address, log_to_driver=False)
    yield nodes, workers
    ray.shutdown()
    nodes.shutdown()


def _alive_nodes() -> int:
    return sum(1 for node in ray.nodes() if node["Alive"])


def _settled_alive_nodes(expected: int, within_s: float = 30.0) -> int:
    """Alive nodes once Ray's health check has caught up (a short run may end before it marks a lost node dead)."""
    deadline = time.monotonic() + within_s
    while _alive_nodes() != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive_nodes()


def _dead(actor, within_s: float = 30.0) -> bool:
    """Whether ``actor`` stops answering: its worker can outlive its killed raylet for a moment and
    finish the calls already sent, so a short run could otherwise end before it dies."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            ray.get(actor.node.remote(), timeout=within_s)  # queued behind the call under way
        except ray.exceptions.RayActorError:
            return True
        except ray.exceptions.GetTimeoutError:
            return False
        time.sleep(0.1)
    return False


def _log(run_dir) -> list[dict]:
    return [{key: value for key, value in json.loads(line).items() if key != "time_s"}
            for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_an_evolution_across_two_nodes_loses_one_mid_generation_and_ends_as_the_serial_run(cluster, tmp_path, monkeypatch):
    nodes, workers = cluster
    EvolutionRun.start(tmp_path / "serial", SETTINGS, progress=False).run()

    evaluators: list[RayEvaluator] = []

    def kill_a_node_in_generation_1(evaluator: RayEvaluator) -> None:
        evaluator.generations_seen = getattr(evaluator, "generations_seen", 0) + 1
        if evaluator.generations_seen == 2 and _alive_nodes() == 3:
            nodes.remove_node(workers[1], allow_graceful=False)  # its raylet and its actor die with the batches queued there

    def ray_evaluator(settings):
        evaluators.append(RayEvaluator(settings, actors=2, batch_size=2, on_submitted=kill_a_node_in_generation_1))
        return evaluators[-1]

    monkeypatch.setattr(run_module, "make_evaluator", ray_evaluator)
    EvolutionRun.start(tmp_path / "cluster", SETTINGS, progress=False).run()
    (evaluator,) = evaluators
    assert _settled_alive_nodes(2) == 2  # head and one worker: a node was really lost
    # One actor died with the node; its replacement may be placed on the dying node before Ray
    # declares it dead, and die too: each death is replaced and its batches re-queued.
    assert 1 <= evaluator.replaced <= 2 and evaluator.resubmitted >= 1
    assert _log(tmp_path / "cluster") == _log(tmp_path / "serial")  # nothing lost, nothing counted twice
    assert (tmp_path / "cluster" / "champion.json").read_text() == (tmp_path / "serial" / "champion.json").read_text()


ISLANDS = ArchipelagoSettings(islands=2, migrate_every=2, migrants=2)
ISLAND_SETTINGS = EvolveSettings(worlds=("forest",), population=8, generations=6, episodes_per_world=1, validation_every=2,
                                 validation_episodes=1, validation_top=1, pybullet_every=0, pybullet_episodes=1)


def test_an_island_run_on_two_nodes_loses_one_and_ends_as_the_unkilled_run(cluster, tmp_path):
    nodes, workers = cluster
    reference = evolve_archipelago(tmp_path / "reference", ISLAND_SETTINGS, ISLANDS, progress=False)
    assert reference["restarts"] == [0, 0]

    advances = []

    def lose_a_node_in_the_second_round(method: str, actors: list) -> None:
        if method == "advance":
            advances.append(method)
            if len(advances) == 2:  # generations 2-3 under way on both islands, past the first migration
                node_id = ray.get(actors[1].node.remote())
                (victim,) = [node for node in workers if node.node_id == node_id]
                nodes.remove_node(victim, allow_graceful=False)  # island 1's actor dies with it
                assert _dead(actors[1])

    killed = evolve_archipelago(tmp_path / "killed", ISLAND_SETTINGS, ISLANDS, progress=False,
                                on_submitted=lose_a_node_in_the_second_round)
    assert _settled_alive_nodes(2) == 2
    assert 1 <= sum(killed["restarts"]) <= 2  # the island on the lost node was started again from its checkpoint
    for k in range(2):
        assert _log(tmp_path / "killed" / f"island-{k}") == _log(tmp_path / "reference" / f"island-{k}")
    assert [island["migrations"] for island in killed["islands"]] == [island["migrations"] for island in reference["islands"]]
    assert (tmp_path / "killed" / "champion.json").read_text() == (tmp_path / "reference" / "champion.json").read_text()
