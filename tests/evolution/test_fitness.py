"""Fitness terms and novelty: what selection relies on."""

from __future__ import annotations

import numpy as np

from spikefly.controllers import random_network
from spikefly.envs.sim import outcomes
from spikefly.evolution.fitness import TERM_NAMES, NoveltyArchive, curriculum_success, fitness_terms, success_rate
from spikefly.evolution.fused_rollout import RolloutResults
from spikefly.evolution.settings import EvolveSettings


def results(returns, ops, steps, codes) -> RolloutResults:
    genomes, episodes = np.shape(returns)
    zeros = np.zeros((genomes, episodes))
    return RolloutResults(
        returns=np.array(returns, float), outcomes=np.array(codes), steps=np.array(steps), time_s=zeros, min_clearance_m=zeros,
        rotor_energy_j=zeros, final_position_m=np.zeros((genomes, episodes, 3)), ops=np.array(ops),
    )


def test_terms_are_mean_return_minus_costs_per_control_step_and_size():
    settings = EvolveSettings(synaptic_op_cost=0.01, neuron_update_cost=0.001, size_cost=0.1)
    networks = [random_network(np.random.default_rng(g), 4, 5 + g, 2, 0.5) for g in range(2)]
    flown = results(
        returns=[[10.0, 20.0], [0.0, 4.0]],
        ops=[[[100, 5, 3, 200], [100, 5, 3, 200]], [[50, 1, 1, 0], [50, 1, 1, 0]]],
        steps=[[10, 10], [5, 5]],
        codes=[[outcomes.GOAL, outcomes.COLLISION], [outcomes.TIMEOUT, outcomes.TIMEOUT]],
    )
    terms = fitness_terms(flown, networks, settings)
    assert list(TERM_NAMES) == ["flight_return", "synaptic_ops_cost", "neuron_updates_cost", "size_cost", "energy_cost", "latency_cost", "novelty"]
    np.testing.assert_allclose(terms[0, :4], [15.0, -0.01 * 400 / 20, -0.001 * 200 / 20, -0.1 * (networks[0].n_neurons + networks[0].n_synapses)])
    np.testing.assert_allclose(terms[1, :2], [2.0, 0.0])
    np.testing.assert_array_equal(success_rate(flown), [0.5, 0.0])


def test_novelty_rewards_the_odd_one_out_and_remembers_it():
    archive = NoveltyArchive(neighbours=2, per_generation=1)
    crowd = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0]])
    novelty = archive.score(crowd)
    assert np.argmax(novelty) == 3 and novelty[3] > 10 * novelty[0]
    assert archive.archive == [[5.0, 5.0]]
    # Once archived, the same behaviour is no longer novel.
    assert archive.score(np.array([[5.0, 5.0], [0.0, 0.0]]))[0] < novelty[3]


def test_the_curriculum_promotes_on_the_top_tenth_not_on_one_lucky_genome():
    fitness = np.arange(20.0)[::-1]  # genome 0 is the fittest
    successes = np.zeros(20)
    successes[0] = 1.0  # the best got lucky on its few episodes
    assert curriculum_success(fitness, successes) == 0.5  # top tenth: genomes 0 and 1
    successes[1] = 1.0
    assert curriculum_success(fitness, successes) == 1.0
    successes[5] = 1.0  # outside the top tenth: does not count
    assert curriculum_success(fitness, successes, share=0.1) == 1.0
    assert curriculum_success(np.array([1.0, 3.0]), np.array([0.0, 0.75])) == 0.75  # at least one genome


def test_a_candidate_replaces_the_champion_only_on_a_clear_paired_gain():
    from spikefly.evolution.fitness import beats_champion

    champion = {"successes": [1.0] * 80 + [0.0] * 20, "score": [0.8, 30.0]}

    def candidate(only_it: int, only_champion: int) -> np.ndarray:
        """Successes on the same 100 episodes: ``only_it`` of the champion's failures flown, ``only_champion`` of its goals lost."""
        flown = np.array(champion["successes"])
        flown[80:80 + only_it] = 1.0
        flown[:only_champion] = 0.0
        return flown

    # 10 episodes gained, 2 lost: 8 > 2 x sqrt(12) = 6.9; 8 gained, 2 lost: 6 < 2 x sqrt(10) = 6.3
    assert beats_champion(candidate(10, 2), [0.88, 29.0], champion, margin=2.0)
    assert not beats_champion(candidate(8, 2), [0.86, 35.0], champion, margin=2.0)
    assert not beats_champion(candidate(0, 0), [0.8, 99.0], champion, margin=2.0)  # the same flights, however fast
    # margin 0, or a champion from an older checkpoint without per-episode successes: rate, then return
    assert beats_champion(candidate(0, 0), [0.8, 99.0], champion, margin=0.0)
    assert beats_champion(candidate(8, 2), [0.86, 35.0], {"score": [0.8, 30.0]}, margin=2.0)
    assert not beats_champion(candidate(2, 8), [0.74, 35.0], {"score": [0.8, 30.0]}, margin=2.0)
