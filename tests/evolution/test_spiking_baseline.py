"""PPO with a spiking actor: LIF neurons with surrogate gradients, trained, carded, flown and priced."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

from spikefly.controllers.cost_model import StepCounts, layered_spiking_cost
from spikefly.evolution.baselines.policy_card import load_card
from spikefly.evolution.baselines.rl import BaselineSettings, train_baseline
from spikefly.evolution.baselines.spiking_policy import build_classes, spiking_actor
from spikefly.evolution.evaluate import board_costs, evaluate_controller

TINY = {"algorithm": "spiking_ppo", "total_steps": 512, "n_envs": 2, "n_steps": 128, "validation_every_steps": 256,
        "validation_episodes": 2}


@pytest.fixture(scope="module")
def spiking_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("spiking")
    return train_baseline(BaselineSettings(**TINY), out), out


def test_the_actor_is_lif_neurons_whose_spikes_pass_a_gradient():
    actor_class, _ = build_classes()
    actor = actor_class(6, hidden=(16, 8), steps=8, beta=0.9)
    torch.manual_seed(0)
    with torch.no_grad():
        actor.layers[0].weight.mul_(4.0)
    rate = actor(torch.randn(32, 6))
    assert rate.shape == (32, 8) and torch.all((rate >= 0) & (rate <= 1))  # a spike rate over the 8 substeps
    assert torch.all(rate * 8 == torch.round(rate * 8))  # whole spikes, no analog leak into the output
    rate.sum().backward()
    assert actor.layers[0].weight.grad.abs().sum() > 0  # the surrogate carries the gradient through the spikes
    counts = actor.counts(n_actions=4)
    assert counts["neuron_updates"] == (16 + 8) * 8 and counts["macs"] == 6 * 16
    assert counts["spikes"] > 0 and counts["synaptic_ops"] > 0


def test_training_writes_a_spiking_card_that_reloads_to_the_same_actions(spiking_run):
    summary, out = spiking_run
    card = json.loads((out / "card.json").read_text())
    assert card["algorithm"] == "spiking_ppo" and card["policy_class"] == "SpikingActorCriticPolicy"
    kinds = [layer["kind"] for layer in card["size"]["layers"]]
    assert kinds == ["linear", "lif", "synapses", "lif", "readout"]
    loaded = load_card(out / "card.json").load_model()
    assert spiking_actor(loaded) is not None
    observations = np.random.default_rng(0).uniform(-1, 1, (5, 26)).astype(np.float32)
    reloaded = loaded.predict(observations, deterministic=True)[0]
    again = load_card(out / "card.json").load_model().predict(observations, deterministic=True)[0]
    np.testing.assert_array_equal(reloaded, again)


def test_evaluate_flies_the_spiking_card_in_pybullet_and_prices_its_counted_operations(spiking_run):
    _, out = spiking_run
    card = load_card(out / "card.json")
    report = evaluate_controller(card, ["empty"], 1, seed=0, physics="pybullet", progress=False)
    row = report["episodes"][0]
    assert row["neuron_updates"] == row["steps"] * (64 + 64) * 8  # every LIF neuron, every substep, every step
    assert row["synaptic_ops"] >= 0 and row["spikes"] >= 0
    cost = board_costs(card, report, ["stm32f405"])["stm32f405"]
    steps = row["steps"]
    expected = layered_spiking_cost(card.layers, StepCounts(row["neuron_updates"] / steps, row["spikes"] / steps, 0.0,
                                                            row["synaptic_ops"] / steps, macs=26 * 64), "stm32f405", 30.0)
    assert cost["energy_j"] == pytest.approx(expected.energy_j) and cost["energy_j"] > 0


def test_missing_snntorch_is_one_error_with_the_install_line(monkeypatch):
    import sys

    from spikefly.evolution.baselines import spiking_policy

    monkeypatch.setitem(sys.modules, "snntorch", None)  # import snntorch now raises ImportError
    with pytest.raises(spiking_policy.SpikingPolicyError, match=r'pip install torch==2.13.0 "spikefly\[rl\]"'):
        spiking_policy._modules()
