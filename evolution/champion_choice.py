"""How an evolution run validates its best genomes and keeps its champion.

:class:`ChampionChoice` is the validation half of :class:`~spikefly.evolution.run.EvolutionRun`
(its base class). Every ``validation_every`` generations the run's ``validation_top`` genomes fly
the validation episodes (with ``validation_randomise`` laid over the run's env settings). The first
validation also flies the quiet genome (no synapse, no bias: with a guidance law, the law alone)
and crowns it (``baseline_champion``). The best candidate then replaces the champion only if it
beats it flight by flight beyond ``champion_margin`` standard deviations
(:func:`~spikefly.evolution.fitness.beats_champion`) and does so again on the confirmation
episodes (``confirmation_episodes``). The champion is written to ``champion.json`` (a controller
file) at once and re-flown in PyBullet every ``pybullet_every`` validations.
"""

from __future__ import annotations

from typing import Any

from spikefly.controllers import ControllerSpec, save
from spikefly.evolution.compile import arrays_from_json, arrays_to_json, compile_genome, genome_from_arrays, genome_to_arrays
from spikefly.evolution.episodes import VALIDATION, episodes_for
from spikefly.evolution.fitness import beats_champion, success_rate
from spikefly.evolution.genome import quiet_genome

CHAMPION_FILE = "champion.json"
QUIET_NOTE = "the quiet network (no synapse, no bias): no evolved network beat it on validation"
"""The champion file's ``metadata.note`` when the quiet genome is champion."""


class ChampionChoice:
    """Validation and the champion of an :class:`~spikefly.evolution.run.EvolutionRun`, which
    provides the state these methods read: ``settings``, ``config``, ``champion``, ``validation``,
    ``confirmation``, ``_validation_flyer``, ``charge`` and ``_scored``."""

    def _validate(self, genomes: list, networks: list, generation: int) -> dict[str, Any]:
        """Fly the candidates on the validation episodes; the best (success, then return) becomes
        champion if it beats the champion (:func:`~spikefly.evolution.fitness.beats_champion`) there
        and on the confirmation episodes. The first validation also flies the quiet genome
        (``baseline_champion``): the champion to beat."""
        baseline = self.champion is None and self.settings.baseline_champion
        if baseline:
            quiet = quiet_genome(self.config.genome_config)
            genomes, networks = [quiet, *genomes], [self._scored(compile_genome(quiet, self.config.genome_config)), *networks]
        results = self._validation_flyer.fly(networks, self.validation)
        self.env_steps += int(results.steps.sum())
        successes = success_rate(results)
        returns = results.returns.mean(axis=1)
        first = 1 if baseline else 0
        best = max(range(first, len(networks)), key=lambda i: (successes[i], returns[i]), default=0)
        score = [float(successes[best]), float(returns[best])]
        summary: dict[str, Any] = {"success_rate": score[0], "mean_return": score[1], "candidates": len(networks) - first}
        if baseline:
            summary["baseline"] = {"success_rate": float(successes[0]), "mean_return": float(returns[0])}
            self._crown(genomes, networks, results, 0, generation, quiet=True)
        self.validations += 1
        if self.champion is None:
            self._crown(genomes, networks, results, best, generation)
        elif best >= first and beats_champion(results.success[best], score, self.champion, self.settings.champion_margin):
            confirmed = True
            if self.confirmation is not None:
                confirmed, summary["confirmation"] = self._confirm(networks[best])
            if confirmed:
                self._crown(genomes, networks, results, best, generation)
        summary["champion_success_rate"] = self.champion["score"][0]
        if self.champion["generation"] == generation:
            self.validations_without_gain = 0
            summary["new_champion"] = True
            self._save_champion()
        else:
            self.validations_without_gain += 1
        every = self.settings.pybullet_every
        if self._reflies() and every and self.validations % every == 0:
            summary["pybullet_success_rate"] = self._fly_champion_in_pybullet()
        return summary

    def _confirm(self, network) -> tuple[bool, dict[str, Any]]:
        """A candidate that beat the champion on the validation episodes flies, with the champion,
        the confirmation episodes, and must beat it there too: the best of dozens of candidates
        beats the champion on one set by luck far more often than on two."""
        results = self._validation_flyer.fly([network, self._champion_network()], self.confirmation)
        self.env_steps += int(results.steps.sum())
        successes, returns = success_rate(results), results.returns.mean(axis=1)
        kept = {"successes": results.success[1].tolist(), "score": [float(successes[1]), float(returns[1])]}
        passed = beats_champion(results.success[0], [float(successes[0]), float(returns[0])], kept, self.settings.champion_margin)
        return passed, {"success_rate": float(successes[0]), "champion_success_rate": float(successes[1]), "passed": passed}

    def _crown(self, genomes: list, networks: list, results, index: int, generation: int, quiet: bool = False) -> None:
        """Make candidate ``index`` of a validation the champion (its per-episode successes kept)."""
        self.champion = {
            "genome": arrays_to_json(genome_to_arrays(genomes[index])),
            "score": [float(success_rate(results)[index]), float(results.returns[index].mean())],
            "successes": [round(float(value), 6) for value in results.success[index]],
            "generation": generation,
        }
        if quiet:
            self.champion["baseline"] = True
        if self.charge is not None:
            report = self.charge.reports([networks[index]], results.ops[index:index + 1], results.steps[index:index + 1])[0]
            self.champion["board"] = report.to_dict()

    def _reinsert_champion(self, record: dict[str, Any]) -> None:
        """With ``reinsert_champion``: after a validation without a new champion, put a copy of the
        champion into the next generation (it competes and breeds like any genome)."""
        validation = record.get("validation")
        if not self.settings.reinsert_champion or not validation or validation.get("new_champion") or self.champion is None:
            return
        keys, replaced = insert_genomes(self.population, self.config, [self.champion["genome"]])
        record["reinserted_champion"] = {"genome_key": keys[0], "replaced": replaced[0]}

    def _reflies(self) -> bool:
        """Whether the champion is re-flown in a reference physics (PyBullet behind the quadrotor twin)."""
        return self._flyer.reference_physics is not None and self.settings.physics != self._flyer.reference_physics

    def _fly_champion_in_pybullet(self) -> float:
        """The champion's success rate in PyBullet on (a prefix of) the validation episodes."""
        episodes = episodes_for(self.settings.worlds, self.settings.pybullet_episodes, self.settings.seed, VALIDATION)
        results = self._validation_flyer.fly([self._champion_network()], episodes, physics="pybullet")
        self.env_steps += int(results.steps.sum())
        self.pybullet_success = float(success_rate(results)[0])
        return self.pybullet_success

    def _champion_network(self):
        """The champion's network as evolution scores it (compiled from its gene arrays)."""
        genome = genome_from_arrays(arrays_from_json(self.champion["genome"]), self.config.genome_config)
        return self._scored(compile_genome(genome, self.config.genome_config))

    def _save_champion(self) -> None:
        spec = ControllerSpec(
            network=self._champion_network(), encoder=self.encoder, decoder=self.decoder, steps_per_action=self.settings.steps_per_action,
            observation_low=self.observation_low, observation_high=self.observation_high, n_actions=self._flyer.n_actions,
            env_id=self.settings.env_id, env_settings=dict(self.settings.env_settings), board=self.champion.get("board"),
            fitness={"validation_success_rate": self.champion["score"][0], "validation_mean_return": self.champion["score"][1]},
            generation=self.champion["generation"],
            metadata={"run_seed": self.settings.seed, "worlds": list(self.settings.worlds),
                      **({"note": QUIET_NOTE} if self.champion.get("baseline") else {})},
        )
        save(spec, self.run_dir / CHAMPION_FILE)


def insert_genomes(population, config, documents: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """Put genomes (gene-array documents) into a reproduced neat ``population`` under fresh keys, in
    place of its newest offspring (elites keep their older keys), and re-speciate it.

    Returns the new keys and the replaced ones."""
    members, ancestors = population.population, population.reproduction.ancestors
    replaced = sorted(members)[-len(documents):]
    for key in replaced:
        del members[key]
        ancestors.pop(key, None)
    keys = []
    for document in documents:
        genome = genome_from_arrays(arrays_from_json(document), config.genome_config)
        genome.key, genome.fitness = next(population.reproduction.genome_indexer), None
        members[genome.key] = genome
        ancestors[genome.key] = ()
        keys.append(genome.key)
    population.species.speciate(config, members, population.generation)
    return keys, replaced


__all__ = ["CHAMPION_FILE", "QUIET_NOTE", "ChampionChoice", "insert_genomes"]
