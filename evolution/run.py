"""An evolution run: NEAT over LIF genomes, logged, checkpointed and resumable.

Run directory::

    settings.json      the resolved EvolveSettings
    neat.ini           the NEAT config the run uses (a copy, so a run can be resumed anywhere)
    log.jsonl          one JSON line per generation: fitness terms, species, champion, validation
    checkpoint.json    the whole NEAT state and the run's own state after the latest generation
    champion.json      the best validated controller so far (a controller file)
    population.json    every genome's fitness terms, success, size and board figures of the latest generation

Order within a generation: evaluate -> reproduce (neat) -> write the checkpoint -> append the
log line. A run killed anywhere resumes from the checkpoint: a generation that was evaluated
but not checkpointed is simply evaluated again, with the same episodes and the same result, and
a log line written after the checkpoint is not written twice.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikefly.controllers import decoder_from_dict, encoder_from_dict, load, quantize
from spikefly.controllers.boards import load_board
from spikefly.core import SpikeflyError
from spikefly.core.outputs import check_output_folder
from spikefly.evolution.checkpoint import (
    checkpoint_state,
    read_checkpoint,
    restore_population,
    write_checkpoint,
    write_text_atomic,
)
from spikefly.evolution.board_cost import BoardCharge, board_terms, rank_infeasible_last
from spikefly.evolution.champion_choice import CHAMPION_FILE, ChampionChoice, insert_genomes
from spikefly.evolution.compile import compile_genome
from spikefly.evolution.episodes import TRAINING, VALIDATION, episodes_for
from spikefly.evolution.evaluators import make_evaluator
from spikefly.evolution.fitness import (
    TERM_NAMES,
    NoveltyArchive,
    behaviours,
    curriculum_success,
    fitness_terms,
    success_rate,
)
from spikefly.evolution.genome import RELAY_THRESHOLD, seed_everything
from spikefly.evolution.neat_config import BUNDLED_CONFIG, load_neat_config
from spikefly.evolution.refine import refine_genome
from spikefly.evolution.run_records import board_summary, population_record, progress_bar, progress_text
from spikefly.evolution.settings import EvolveSettings, SettingsError
from spikefly.evolution.tasks import make_flyer, task_for, validation_settings

SETTINGS_FILE = "settings.json"
NEAT_FILE = "neat.ini"
LOG_FILE = "log.jsonl"
CHECKPOINT_FILE = "checkpoint.json"
POPULATION_FILE = "population.json"
NIR_READY = {"evolve_adaptation": False, "refractory_init_mean": 0.0, "refractory_init_stdev": 0.0,
             "refractory_replace_rate": 0.0, "refractory_mutate_rate": 0.0}
"""NEAT overrides that keep genomes within what NIR expresses (EvolveSettings.nir_ready)."""
SNNTORCH_READY = {"evolve_delay": False, "bias_init_mean": 0.0, "bias_init_stdev": 0.0, "bias_replace_rate": 0.0,
                  "bias_mutate_rate": 0.0, "threshold_init_mean": RELAY_THRESHOLD, "threshold_init_stdev": 0.0,
                  "threshold_replace_rate": 0.0, "threshold_mutate_rate": 0.0, "threshold_min_value": RELAY_THRESHOLD,
                  "threshold_max_value": RELAY_THRESHOLD}
"""NEAT overrides for EvolveSettings.nir_reader "snntorch": snnTorch 1.0 reads one threshold per node
and no bias, and runs no nir.Delay; every threshold is the add-node relay's, whose incoming weight
(1.0) then clears it instead of tying with it (NIR fires on v > threshold, spikefly on >=)."""


class RunError(SpikeflyError):
    """A run directory that cannot be started or resumed: the message says why and the fix."""


@dataclass(frozen=True)
class RunSummary:
    run_dir: Path
    champion: Path | None
    generations: int
    validation_success: float | None
    pybullet_success: float | None
    seconds: float
    worlds: tuple[str, ...] = ()
    """The worlds the run trained on (validation drew other layouts of them)."""
    env_id: str = EvolveSettings.env_id
    """The task's env id (:func:`spikefly.evolution.tasks.task_for` says how its success is measured)."""
    validation_randomise: str | None = None
    """The domain randomisation validation flew with (``EvolveSettings.validation_randomise``)."""
    quiet_champion: bool = False
    """The champion is the quiet genome (``baseline_champion``): no evolved network beat it on validation."""


class EvolutionRun(ChampionChoice):
    """Start with :meth:`start`, continue an interrupted one with :meth:`resume`, then :meth:`run`."""

    def __init__(self, run_dir: Path, settings: EvolveSettings, *, progress: bool = True,
                 neat_config: Path | None = None) -> None:
        """Everything but the population, from ``settings``; writes nothing. ``neat_config``: the NEAT
        config to read (default: the run directory's copy)."""
        self.run_dir = run_dir
        self.settings = settings
        self.progress = progress
        self.neat_source = run_dir / NEAT_FILE if neat_config is None else neat_config
        """The NEAT config read (:meth:`start` copies it into the run directory)."""
        self.encoder = encoder_from_dict(dict(settings.encoder))
        self.decoder = decoder_from_dict(dict(settings.decoder))
        self._flyer = make_flyer(settings)
        validation = validation_settings(settings)
        self._validation_flyer = self._flyer if validation is settings else make_flyer(validation)
        """Flies validation and the champion's re-flights (under ``validation_randomise``)."""
        self.observation_low, self.observation_high = self._flyer.low, self._flyer.high
        n_obs = self.observation_low.shape[0]
        self.charge = None if settings.board is None else BoardCharge(
            settings.board, self._flyer.control_hz, settings.weight_bits, self.encoder, n_obs, settings.steps_per_action
        )
        # integer mode: analog encoders feed Q.F currents, spiking ones whole spikes
        self._input_fractional_bits = 16 if self.encoder.cost(n_obs, settings.steps_per_action).analog_inputs else 0
        self.config = load_neat_config(
            self.neat_source, num_inputs=self.encoder.n_channels(n_obs), num_outputs=self.decoder.n_outputs_needed(self._flyer.n_actions),
            overrides=_neat_overrides(settings, self._flyer),
        )
        self.validation = episodes_for(settings.worlds, settings.validation_episodes, settings.seed, VALIDATION)
        self.confirmation = episodes_for(settings.worlds, settings.confirmation_episodes, settings.seed, VALIDATION,
                                         generation=1) if settings.confirmation_episodes else None
        """Validation episodes of their own (``confirmation_episodes``), flown only by a candidate that beat the champion."""
        self.novelty = NoveltyArchive(settings.novelty_neighbours) if settings.novelty_weight > 0 else None
        self.champion: dict[str, Any] | None = None  # {"genome": arrays, "score": ..., "generation": ...}
        self.validations_without_gain = 0
        self.elapsed_s = 0.0
        self._started = time.perf_counter()
        self.population = None
        self.generation = 0
        self.validations = 0
        self.pybullet_success: float | None = None
        self.env_steps = 0  # every env step flown so far: training, validation, PyBullet re-flights
        self.curriculum_level = settings.curriculum_start or 1.0  # difficulty cap of the training episodes
        self.refine_target: int | None = None  # key of the last generation's best genome

    # -- creation ----------------------------------------------------------------------------
    @classmethod
    def prepare(cls, run_dir: str | os.PathLike[str], settings: EvolveSettings, *, progress: bool = True) -> EvolutionRun:
        """Everything :meth:`start` checks, with nothing written: the board, the worlds, the task's env
        settings, the encoder and decoder and the NEAT config (named as the user gave it)."""
        check_output_folder(run_dir)
        if settings.board is not None:
            load_board(settings.board)
        check_task(settings)
        source = Path(settings.neat_config) if settings.neat_config else BUNDLED_CONFIG
        if not source.is_file():
            raise RunError(f"{source}: no such NEAT config file. Fix: pass an existing file to --neat-config")
        return cls(Path(run_dir), settings, progress=progress, neat_config=source)

    @classmethod
    def start(cls, run_dir: str | os.PathLike[str], settings: EvolveSettings, *, progress: bool = True,
              prepared: EvolutionRun | None = None) -> EvolutionRun:
        """A new run in ``run_dir`` (created; it must not hold another run). Every input is checked
        (:meth:`prepare`, or ``prepared``: its result for the same directory and settings) before anything is written."""
        run_dir = Path(run_dir)
        if (run_dir / CHECKPOINT_FILE).exists() or (run_dir / SETTINGS_FILE).exists():
            raise RunError(f"{run_dir}: already holds a run. Fix: resume it with --resume {run_dir}, or pick a new --out")
        run = prepared if prepared is not None else cls.prepare(run_dir, settings, progress=progress)
        run.progress = progress
        run_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run.neat_source, run_dir / NEAT_FILE)
        write_text_atomic(run_dir / SETTINGS_FILE, json.dumps(settings.to_dict(), indent=1))
        seed_everything(settings.seed)
        run.population = run._new_population()
        return run

    @classmethod
    def resume(cls, run_dir: str | os.PathLike[str], *, progress: bool = True) -> EvolutionRun:
        """The run in ``run_dir``, at its last checkpoint (or from scratch if none was written yet)."""
        run_dir = Path(run_dir)
        if not (run_dir / SETTINGS_FILE).is_file():
            raise RunError(f"{run_dir}: no {SETTINGS_FILE}, so not a spikefly run directory. Fix: pass the --out of an earlier evolve")
        settings = EvolveSettings.read(run_dir / SETTINGS_FILE)
        run = cls(run_dir, settings, progress=progress)
        checkpoint = run_dir / CHECKPOINT_FILE
        if not checkpoint.exists():
            seed_everything(settings.seed)
            run.population = run._new_population()
            return run
        state = read_checkpoint(checkpoint)
        run.population, run.generation, extra = restore_population(state, run.config)
        run._restore_extra(extra)
        if run.champion is not None:  # a damaged or missing champion file is rebuilt from the checkpoint's genome
            try:
                load(run_dir / CHAMPION_FILE)
            except SpikeflyError:
                run._save_champion()
        return run

    def _new_population(self):
        """A fresh neat population (after seeding); islands override it to number their genes apart."""
        import neat

        return neat.Population(self.config)

    def _extra_state(self) -> dict[str, Any]:
        """JSON-able state a subclass keeps in the checkpoint beside the run's own (islands: migrants)."""
        return {}

    def _restore_extra(self, extra: dict[str, Any]) -> None:
        self.champion = extra.get("champion")
        self.validations_without_gain = int(extra.get("validations_without_gain", 0))
        self.validations = int(extra.get("validations", 0))
        self.elapsed_s = float(extra.get("elapsed_s", 0.0))
        self.env_steps = int(extra.get("env_steps", 0))
        self.curriculum_level = float(extra.get("curriculum_level", self.curriculum_level))
        self.refine_target = extra.get("refine_target")
        if self.novelty is not None:
            self.novelty.archive = list(extra.get("novelty_archive", []))
        pending = extra.get("pending_log")
        # The line for the checkpointed generation may or may not have reached the log: keep one.
        lines = self._log_lines()
        kept = [line for line in lines if "generation" in line and line["generation"] < self.generation - 1]
        if pending is not None:
            kept.append(pending)
        write_text_atomic(self.run_dir / LOG_FILE, "".join(json.dumps(line) + "\n" for line in kept))

    def _log_lines(self) -> list[dict[str, Any]]:
        path = self.run_dir / LOG_FILE
        if not path.exists():
            return []
        lines = []
        for raw in path.read_bytes().splitlines():
            try:
                line = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                break  # a line cut short by a kill (or damaged): the log keeps the lines before it
            if not isinstance(line, dict):
                break
            lines.append(line)
        return lines

    # -- the loop ----------------------------------------------------------------------------
    def run(self, until: int | None = None) -> RunSummary | None:
        """Evolve to the end and finish (final champion re-flight, summary); with ``until``, stop at that
        generation's checkpoint and return None without finishing (islands exchange migrants there)."""
        settings = self.settings
        last = settings.generations if until is None else min(until, settings.generations)
        evaluator = make_evaluator(settings)
        started = self._started = time.perf_counter() - self.elapsed_s
        bar = progress_bar(settings.generations, self.generation, self.progress)
        try:
            while self.generation < last:
                if settings.time_budget_s and time.perf_counter() - started >= settings.time_budget_s:
                    break
                if settings.budget_steps and self.env_steps >= settings.budget_steps:
                    break
                record: dict[str, Any] = {}
                self.population.run(lambda genomes, config: self._evaluate(evaluator, genomes, record), 1)
                if self.population.generation != self.generation + 1:  # neat stopped before reproducing
                    raise RunError(
                        f"{self.run_dir / NEAT_FILE}: NEAT stopped at its fitness threshold. "
                        "Fix: set no_fitness_termination = True in [NEAT]; spikefly stops runs by generations or time"
                    )
                self.generation = self.population.generation
                self._reinsert_champion(record)
                record["time_s"] = round(time.perf_counter() - started, 3)
                self.elapsed_s = record["time_s"]
                self._checkpoint(record)
                with open(self.run_dir / LOG_FILE, "a") as log:
                    log.write(json.dumps(record) + "\n")
                bar.update(1)
                bar.set_postfix_str(progress_text(record))
                if settings.early_stop_validations and self.validations_without_gain >= settings.early_stop_validations:
                    break
        finally:
            bar.close()
            evaluator.close()
        if until is not None:
            return None
        return self.finish(time.perf_counter() - started)

    def _evaluate(self, evaluator, genomes: list, record: dict[str, Any]) -> None:
        settings, generation, members = self.settings, self.generation, dict(genomes)
        if settings.refine_every and generation % settings.refine_every == 0 and self.refine_target in members:
            record["refinement"] = self._refine(evaluator, members[self.refine_target])
        networks, results, reports, terms = self._score(evaluator, list(members.values()), self._training_episodes(generation))
        if self.novelty is not None:
            terms[:, TERM_NAMES.index("novelty")] = settings.novelty_weight * self.novelty.score(behaviours(results))
        fitness = terms.sum(axis=1)
        if reports:
            fitness = rank_infeasible_last(fitness, np.array([report.feasible for report in reports]))
        self.refine_target = genomes[int(np.argmax(fitness))][0]
        for (_, genome), value in zip(genomes, fitness):
            genome.fitness = float(value)
        best = int(np.argmax(fitness))
        successes = success_rate(results)
        if self.curriculum_level < 1.0:
            record["curriculum_level"] = self.curriculum_level
            if curriculum_success(fitness, successes) >= settings.curriculum_promote:
                self.curriculum_level = min(1.0, round(self.curriculum_level + settings.curriculum_step, 6))
        record.update({
            "generation": generation,
            "best_fitness": float(fitness[best]),
            "mean_fitness": float(fitness.mean()),
            "std_fitness": float(fitness.std()),
            "best_terms": dict(zip(TERM_NAMES, terms[best].round(6).tolist())),
            "mean_terms": dict(zip(TERM_NAMES, terms.mean(axis=0).round(6).tolist())),
            "best_success_rate": float(successes[best]),
            "mean_success_rate": float(successes.mean()),
            "species": len(self.population.species.species),
            "best_size": {"neurons": networks[best].n_neurons, "synapses": networks[best].n_synapses},
            "env_steps": int(results.steps.sum()),
        })
        if reports:
            record["best_board"] = board_summary(reports[best])
            record["infeasible"] = sum(not report.feasible for report in reports)
        write_text_atomic(self.run_dir / POPULATION_FILE, json.dumps(population_record(generation, terms, successes, results, networks, reports)))
        self.env_steps += int(results.steps.sum())
        last = (generation + 1 >= settings.generations or 0 < settings.budget_steps <= self.env_steps
                or 0 < settings.time_budget_s <= time.perf_counter() - self._started)  # the run's last generation validates
        if (generation + 1) % settings.validation_every == 0 or last:
            order = np.argsort(-fitness)[: settings.validation_top]
            record["validation"] = self._validate([genomes[i][1] for i in order], [networks[i] for i in order], generation)
        record["env_steps_total"] = self.env_steps

    def _training_episodes(self, generation: int, round_: int | None = None):
        s = self.settings
        return episodes_for(s.worlds, s.episodes_per_world, s.seed, TRAINING, generation, pool=s.training_pool,
                            difficulty_cap=self.curriculum_level, round_=round_)

    def _score(self, evaluator, genomes: list, episodes):
        """Networks, rollout results, board reports (or None) and fitness terms of ``genomes`` on ``episodes``."""
        settings = self.settings
        networks = [self._scored(compile_genome(genome, self.config.genome_config)) for genome in genomes]
        # NEAT draws from the global random streams; an evaluator must not move them (Ray's client
        # draws from `random` when it handles a lost node), or the next generation would differ.
        streams = random.getstate(), np.random.get_state()
        results = evaluator.evaluate(networks, episodes)
        random.setstate(streams[0])
        np.random.set_state(streams[1])
        reports = self.charge.reports(networks, results.ops, results.steps) if self.charge else None
        extra_terms = board_terms(reports, settings.energy_weight, settings.latency_weight) if reports else None
        return networks, results, reports, fitness_terms(results, networks, settings, extra_terms)

    def _refine(self, evaluator, genome) -> dict[str, Any]:
        """CMA-ES on the last generation's best genome, written back if better (:mod:`spikefly.evolution.refine`)."""
        def scorer(candidates: list, round_: int) -> np.ndarray:
            _, results, reports, terms = self._score(evaluator, candidates, self._training_episodes(self.generation, round_))
            self.env_steps += int(results.steps.sum())
            fitness = terms.sum(axis=1)
            return rank_infeasible_last(fitness, np.array([r.feasible for r in reports])) if reports else fitness

        s, steps_before = self.settings, self.env_steps
        report = refine_genome(genome, self.config.genome_config, scorer, iterations=s.refine_iterations,
                               population=s.refine_population, sigma=s.refine_sigma, seed=[s.seed, self.generation])
        return {**report.to_dict(), "env_steps": self.env_steps - steps_before}

    def _scored(self, network):
        """The network evolution scores: ``network`` itself, or its integer twin in integer mode."""
        if not self.settings.integer:
            return network
        return quantize(network, weight_bits=self.settings.weight_bits, input_fractional_bits=self._input_fractional_bits)

    def _checkpoint(self, record: dict[str, Any]) -> None:
        extra = {
            "champion": self.champion,
            "validations_without_gain": self.validations_without_gain,
            "validations": self.validations,
            "elapsed_s": self.elapsed_s,
            "env_steps": self.env_steps,
            "curriculum_level": self.curriculum_level,
            "refine_target": self.refine_target,
            "novelty_archive": self.novelty.archive if self.novelty is not None else [],
            "pending_log": record,
            **self._extra_state(),
        }
        write_checkpoint(self.run_dir / CHECKPOINT_FILE, checkpoint_state(self.population, generation=self.generation, extra=extra))

    def finish(self, seconds: float) -> RunSummary:
        """End the run: re-fly the champion on the reference physics, log the final line, summarise
        (islands call it on each island once the archipelago is done)."""
        champion = self.run_dir / CHAMPION_FILE
        if self.champion is not None:
            final = {"generation": self.champion["generation"], "validation_success_rate": self.champion["score"][0]}
            if self._flyer.reference_physics is not None:
                final["pybullet_success_rate"] = self._fly_champion_in_pybullet()
            final["env_steps_total"] = self.env_steps
            with open(self.run_dir / LOG_FILE, "a") as log:
                log.write(json.dumps({"final_champion": final}) + "\n")
        return RunSummary(
            run_dir=self.run_dir, champion=champion if champion.exists() else None, generations=self.generation,
            validation_success=self.champion["score"][0] if self.champion else None, pybullet_success=self.pybullet_success,
            seconds=seconds, worlds=self.settings.worlds, env_id=self.settings.env_id,
            validation_randomise=self.settings.validation_randomise, quiet_champion=bool(self.champion and self.champion.get("baseline")),
        )


def check_task(settings: EvolveSettings) -> None:
    """Before anything is written: the worlds and env settings are the task's, or a SpikeflyError
    naming the file, the key and the fix (:meth:`spikefly.evolution.tasks.Task.check`)."""
    task_for(settings.env_id).check(settings)


def _neat_overrides(settings: EvolveSettings, flyer) -> dict[str, dict[str, Any]]:
    """Population size, the task's own genome defaults, and the NIR-ready restrictions."""
    genome = dict(getattr(flyer, "neat_overrides", {}).get("LIFGenome", {}))
    if settings.nir_ready:
        genome.update(NIR_READY)
    if settings.nir_reader == "snntorch":
        genome.update(SNNTORCH_READY)
    return {"NEAT": {"pop_size": settings.population}, **({"LIFGenome": genome} if genome else {})}


__all__ = ["EvolutionRun", "RunError", "RunSummary", "SettingsError", "check_task", "insert_genomes"]
