"""The island model: several populations evolving as Ray actors, passing their best genomes round a ring.

``spikefly evolve --islands N [--migrate-every G] [--migrants K] [--split-worlds] [--ray-address ADDR]``
(``pip install "spikefly[ray]"``). Island K is a complete :class:`~spikefly.evolution.run.EvolutionRun`
in ``RUN_DIR/island-K/`` (its own settings, log, checkpoint and champion) with the run seed plus K,
so it trains on its own episodes and, for procedural worlds, its own layouts; with
``--split-worlds`` it also trains on its own share of the worlds. Every island runs in one Ray
actor and evaluates in it (the islands are the parallelism). Only genomes cross the network, as
compact JSON-able gene arrays: never episodes, data or trajectories (federated neuroevolution).

Run directory::

    islands.json        the archipelago settings and the base run settings
    island-K/           island K's run directory (see spikefly.evolution.run)
    champion.json       a copy of the island champion with the best validation score, at the end

Identifiers. neat numbers node keys, innovation numbers and genome keys from counters of its
own, so two islands would give the same number to different genes. Island K draws all three
from its own block ``[K * ISLAND_ID_BLOCK, (K + 1) * ISLAND_ID_BLOCK)`` (its initial population
included), so a node or connection gene keeps its number wherever it travels and no two genes
of different origin share one. The output neurons and the config's initial hidden neurons keep
their common keys on every island: they are the same genes. An immigrant gets a new genome key
from the receiving island.

Migration (round R, at generation ``B = R * migrate_every``): every island evolves to B and
writes its checkpoint, which holds its K best genomes of generation B - 1 (its emigrants). Then
island K takes island K - 1's emigrants (ring): they replace its K newest offspring (never an
elite), the population is re-speciated, the round is marked done and the checkpoint is written
again. Only when every island has done so does any island evolve past B. So a run killed
anywhere resumes (``spikefly evolve --resume RUN_DIR``) with no migrant lost or taken twice: an
island whose checkpoint says round R is done ignores round R; one that had not imported it
gets the same emigrants again (its neighbour re-evaluates generation B - 1 identically if need
be). Immigration draws no random number, so the run is the uninterrupted one, bit for bit.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, dataclass, replace
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

from spikefly.evolution.checkpoint import write_text_atomic
from spikefly.evolution.compile import arrays_to_json, genome_to_arrays
from spikefly.evolution.genome import peek_count
from spikefly.evolution.run import CHAMPION_FILE, SETTINGS_FILE, EvolutionRun, RunError, check_task, insert_genomes
from spikefly.evolution.settings import EvolveSettings, SettingsError

ARCHIPELAGO_FILE = "islands.json"
ISLAND_ID_BLOCK = 10_000_000
"""Node keys, innovation numbers and genome keys per island (genome arrays store them as int32)."""
MAX_ISLANDS = 200
"""int32 holds 214 blocks of :data:`ISLAND_ID_BLOCK`."""


@dataclass(frozen=True)
class ArchipelagoSettings:
    """How the islands are laid out and exchange genomes."""

    islands: int = 2
    """Number of islands (populations), each a Ray actor with one CPU (shared when the cluster has fewer)."""
    migrate_every: int = 5
    """Generations between migrations; a migration happens right after the islands' checkpoints."""
    migrants: int = 2
    """Best genomes each island sends to the next one in the ring."""
    split_worlds: bool = False
    """Deal the worlds out among the islands (island K: worlds K, K + N, ...) instead of all to all."""
    ray_address: str | None = None
    """The Ray cluster the islands run on (see EvolveSettings.ray_address); None starts a local Ray."""

    def __post_init__(self) -> None:
        for name in ("islands", "migrate_every", "migrants"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingsError(f"{name}={value!r}: must be an integer >= 1")
        if self.islands > MAX_ISLANDS:
            raise SettingsError(f"islands={self.islands}: at most {MAX_ISLANDS} (each numbers its genes in its own block)")
        if self.ray_address is not None:
            EvolveSettings(evaluator="ray", ray_address=self.ray_address)  # the same address check

    def check(self, settings: EvolveSettings) -> None:
        """Errors of these settings together with the base run settings."""
        if self.split_worlds and len(settings.worlds) < self.islands:
            raise SettingsError(f"split_worlds with {self.islands} islands needs at least {self.islands} worlds, "
                                f"got {list(settings.worlds)}. Fix: add --world options or drop --split-worlds")
        if 2 * self.migrants > settings.population:
            raise SettingsError(f"migrants={self.migrants}: at most half the population ({settings.population // 2}). "
                                "Fix: lower --migrants")
        if settings.evaluator == "pool":
            raise SettingsError("evaluator='pool' with islands: each island evaluates inside its own Ray actor. "
                                "Fix: drop --evaluator pool (or --workers N)")


def island_settings(settings: EvolveSettings, archipelago: ArchipelagoSettings, index: int) -> EvolveSettings:
    """Island ``index``'s run settings: seed + index, its worlds, evaluating in its own actor."""
    worlds = settings.worlds[index::archipelago.islands] if archipelago.split_worlds else settings.worlds
    return replace(settings, seed=settings.seed + index, worlds=worlds, evaluator="serial", workers=0, ray_address=None)


def numbered_population(config, index: int):
    """A fresh neat population whose genome keys, node keys and innovation numbers come from island
    ``index``'s block (module docstring); island 0's is exactly ``neat.Population(config)``."""
    import neat
    from neat.innovation import InnovationTracker
    from neat.reporting import ReporterSet

    if index == 0:
        return neat.Population(config)
    base = index * ISLAND_ID_BLOCK
    # The same steps and random draws as neat.Population.__init__, with the counters moved first.
    reporters = ReporterSet()
    reproduction = config.reproduction_type(config.reproduction_config, reporters,
                                            config.stagnation_type(config.stagnation_config, reporters))
    reproduction.genome_indexer = count(base + 1)
    reproduction.innovation_tracker = InnovationTracker(base)
    genomes = reproduction.create_new(config.genome_type, config.genome_config, config.pop_size)
    species = config.species_set_type(config.species_set_config, reporters)
    species.speciate(config, genomes, 0)
    population = neat.Population(config, initial_state=(genomes, species, 0))  # genome keys continue after ours
    population.reproduction.innovation_tracker = reproduction.innovation_tracker
    population.reproduction.ancestors = reproduction.ancestors
    genome_config = config.genome_config
    genome_config.node_indexer = count(base + genome_config.num_outputs + genome_config.num_hidden)
    return population


class IslandRun(EvolutionRun):
    """One island: an evolution run in ``ARCHIPELAGO/island-K`` that keeps its emigrants and migrations."""

    def __init__(self, run_dir: Path, settings: EvolveSettings, *, progress: bool = True,
                 neat_config: Path | None = None) -> None:
        super().__init__(run_dir, settings, progress=progress, neat_config=neat_config)
        archipelago, _ = read_archipelago(run_dir.parent)
        self.index = int(run_dir.name.removeprefix("island-"))
        self.islands, self.migrants = archipelago.islands, archipelago.migrants
        self.emigrants: list[dict[str, Any]] = []  # the best genomes of the last evaluated generation (gene arrays)
        self.emigrants_generation = -1
        self.rounds_done = 0
        self.migrations: list[dict[str, Any]] = []
        self._record: dict[str, Any] | None = None  # the log line of the checkpointed generation

    def _new_population(self):
        return numbered_population(self.config, self.index)

    def _evaluate(self, evaluator, genomes: list, record: dict[str, Any]) -> None:
        super()._evaluate(evaluator, genomes, record)
        best = sorted(genomes, key=lambda item: -item[1].fitness)[: self.migrants]  # ties: population order
        self.emigrants = [arrays_to_json(genome_to_arrays(genome)) for _, genome in best]
        self.emigrants_generation = self.generation

    def _checkpoint(self, record: dict[str, Any]) -> None:
        self._record = record
        super()._checkpoint(record)

    def _extra_state(self) -> dict[str, Any]:
        return {"island": {"index": self.index, "emigrants": self.emigrants, "emigrants_generation": self.emigrants_generation,
                           "rounds_done": self.rounds_done, "migrations": self.migrations}}

    def _restore_extra(self, extra: dict[str, Any]) -> None:
        super()._restore_extra(extra)
        island = extra["island"]
        self.emigrants, self.emigrants_generation = island["emigrants"], int(island["emigrants_generation"])
        self.rounds_done, self.migrations = int(island["rounds_done"]), list(island["migrations"])
        self._record = extra.get("pending_log")

    @property
    def done(self) -> bool:
        """Whether this island evolves no further (generations reached, early stop, time or step budget)."""
        settings = self.settings
        return (self.generation >= settings.generations
                or bool(settings.early_stop_validations and self.validations_without_gain >= settings.early_stop_validations)
                or bool(settings.time_budget_s and self.elapsed_s >= settings.time_budget_s)
                or bool(settings.budget_steps and self.env_steps >= settings.budget_steps))

    def immigrate(self, round_: int, source: int, genomes: list[dict[str, Any]]) -> bool:
        """Take ``source``'s emigrants for migration ``round_`` (once: False if this round is done or the island is)."""
        if round_ <= self.rounds_done or self.done:
            return False
        self._check_id_block()
        keys, replaced = insert_genomes(self.population, self.config, genomes)
        self.rounds_done = round_
        self.migrations.append({"round": round_, "generation": self.generation, "from_island": source,
                                "genome_keys": keys, "replaced": replaced})
        self._checkpoint(self._record)
        return True

    def _check_id_block(self) -> None:
        """Every counter of this island is still inside its block (a run would need ~10^5 generations to leave it)."""
        population = self.population
        limit = (self.index + 1) * ISLAND_ID_BLOCK
        # The counters, not the genes: immigrants keep the numbers their own island gave them.
        indexer = population.config.genome_config.node_indexer
        counters = {"innovation number": population.reproduction.innovation_tracker.global_counter,
                    "genome key": peek_count(population.reproduction.genome_indexer) - 1,
                    "node key": 0 if indexer is None else peek_count(indexer) - 1}
        for name, value in counters.items():
            if value >= limit:
                raise RunError(f"{self.run_dir}: island {self.index}'s {name} {value} left its block "
                               f"[{limit - ISLAND_ID_BLOCK}, {limit}). Fix: start a new archipelago from its champion")

    def state(self) -> dict[str, Any]:
        return {"generation": self.generation, "done": self.done, "rounds_done": self.rounds_done,
                "emigrants_generation": self.emigrants_generation}


class IslandActor:
    """Holds one :class:`IslandRun` in a Ray actor (started or resumed from its directory)."""

    def __init__(self, run_dir: str, settings: dict[str, Any]) -> None:
        import numba

        numba.set_num_threads(1)  # one island per CPU
        path = Path(run_dir)
        if (path / SETTINGS_FILE).is_file():
            self.run = IslandRun.resume(path, progress=False)
        else:
            self.run = IslandRun.start(path, EvolveSettings.from_dict(settings), progress=False)

    def state(self) -> dict[str, Any]:
        return self.run.state()

    def node(self) -> str:
        """The Ray node this island runs on (tests remove that node)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def advance(self, until: int) -> dict[str, Any]:
        if not self.run.done:
            self.run.run(until=until)
        return self.run.state()

    def emigrants(self) -> tuple[int, list[dict[str, Any]]]:
        return self.run.emigrants_generation, self.run.emigrants

    def immigrate(self, round_: int, source: int, genomes: list[dict[str, Any]]) -> bool:
        return self.run.immigrate(round_, source, genomes)

    def finish(self) -> dict[str, Any]:
        run = self.run
        summary = run.finish(run.elapsed_s)
        return {"island": run.index, "run_dir": str(summary.run_dir), "generations": summary.generations,
                "champion": str(summary.champion) if summary.champion else None,
                "score": run.champion["score"] if run.champion else None,
                "validation_success_rate": summary.validation_success, "pybullet_success_rate": summary.pybullet_success,
                "migrations": run.migrations}


def _check_start(settings: EvolveSettings, archipelago: ArchipelagoSettings) -> None:
    """Bad boards, worlds or NEAT configs are one clear error here, before anything is written or sent to Ray."""
    from spikefly.controllers.boards import load_board

    if settings.board is not None:
        load_board(settings.board)
    for index in range(archipelago.islands):
        check_task(island_settings(settings, archipelago, index))
    if settings.neat_config and not Path(settings.neat_config).is_file():
        raise RunError(f"{settings.neat_config}: no such NEAT config file. Fix: pass an existing file to --neat-config")


def read_archipelago(run_dir: Path) -> tuple[ArchipelagoSettings, EvolveSettings]:
    path = run_dir / ARCHIPELAGO_FILE
    try:
        document = json.loads(path.read_text())
        archipelago = ArchipelagoSettings(**document["archipelago"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise RunError(f"{path}: cannot read the archipelago ({error}). Fix: pass the --out of an earlier evolve --islands") from error
    return archipelago, EvolveSettings.from_dict(document["settings"], str(path))


def evolve_archipelago(run_dir: str | Path, settings: EvolveSettings | None = None,
                       archipelago: ArchipelagoSettings | None = None, *, progress: bool = True,
                       ray_address: str | None = None, on_submitted: Callable[[str, list], None] | None = None) -> dict[str, Any]:
    """Start (``settings`` and ``archipelago`` given) or resume (neither) the archipelago in ``run_dir``
    and evolve it to the end; returns a summary with one entry per island and the best champion.
    ``ray_address``: on resume, the cluster to continue on (default: the one it started on).
    ``on_submitted(method, actors)``: called each time a method's calls to the island actors are
    queued (tests lose an island's node there, mid-generation)."""
    from spikefly.evolution.ray_evaluator import connect, import_ray

    run_dir = Path(run_dir)
    if settings is None:
        archipelago, settings = read_archipelago(run_dir)
        if ray_address is not None:
            archipelago = replace(archipelago, ray_address=ray_address)
    else:
        archipelago.check(settings)
        if (run_dir / ARCHIPELAGO_FILE).exists() or (run_dir / SETTINGS_FILE).exists():
            raise RunError(f"{run_dir}: already holds a run. Fix: resume it with --resume {run_dir}, or pick a new --out")
        _check_start(settings, archipelago)
    ray = import_ray()
    started_ray = connect(archipelago.ray_address)  # before anything is written: a bad address leaves no run
    try:
        if not (run_dir / ARCHIPELAGO_FILE).exists():
            run_dir.mkdir(parents=True, exist_ok=True)
            document = {"archipelago": asdict(archipelago), "settings": settings.to_dict()}
            write_text_atomic(run_dir / ARCHIPELAGO_FILE, json.dumps(document, indent=1))
        return _evolve(ray, run_dir, settings, archipelago, progress, on_submitted)
    finally:
        if started_ray:
            ray.shutdown()


MAX_ISLAND_RESTARTS = 2
"""Times each island's actor may die (its node lost, its process killed) and be started again from
its checkpoint before the run gives up."""


class _Islands:
    """The island actors, each started again from its checkpoint when it dies (a lost node).

    An island's state lives in its run directory, so a replacement actor resumes it where its last
    checkpoint left it and replays the same generations to the same result: nothing lost, nothing
    counted twice (a migration round already taken is refused by the checkpoint's record).
    """

    def __init__(self, ray, run_dir: Path, settings: EvolveSettings, archipelago: ArchipelagoSettings,
                 on_submitted: Callable[[str, list], None] | None = None) -> None:
        self.ray, self.run_dir, self.on_submitted = ray, run_dir, on_submitted
        self.settings = [island_settings(settings, archipelago, k).to_dict() for k in range(archipelago.islands)]
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        # One CPU per island; islands share CPUs (time-sliced) on a cluster with fewer.
        self.actor = ray.remote(num_cpus=min(1.0, cpus / archipelago.islands), max_restarts=0, max_task_retries=0)(IslandActor)
        self.actors = [self._start(k) for k in range(archipelago.islands)]
        self.restarts = [0] * archipelago.islands

    def _start(self, k: int, **options):
        actor = self.actor.options(**options) if options else self.actor
        return actor.remote(str(self.run_dir / f"island-{k}"), self.settings[k])

    def call(self, method: str, args: dict[int, tuple] | None = None) -> list[Any]:
        """``method(*args[k])`` on each island k of ``args`` (default: all, no arguments), in island order."""
        ray = self.ray
        args = args if args is not None else {k: () for k in range(len(self.actors))}
        results: dict[int, Any] = {}
        while len(results) < len(args):
            pending = {getattr(self.actors[k], method).remote(*args[k]): k for k in args if k not in results}
            if self.on_submitted is not None:
                self.on_submitted(method, self.actors)
            for ref, k in pending.items():
                try:
                    results[k] = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
                    self.restarts[k] += 1
                    if self.restarts[k] > MAX_ISLAND_RESTARTS:
                        raise RunError(f"{self.run_dir}: island {k}'s actor died {self.restarts[k]} times (last: "
                                       f"{error!r}). Fix: check the nodes (ray status), then resume with "
                                       f"--resume {self.run_dir}") from error
                    ray.kill(self.actors[k], no_restart=True)
                    # Its CPU may have gone with its node: the replacement asks for none and shares what is left.
                    self.actors[k] = self._start(k, num_cpus=0)
        return [results[k] for k in sorted(args)]

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)


def _evolve(ray, run_dir: Path, settings: EvolveSettings, archipelago: ArchipelagoSettings, progress: bool,
            on_submitted: Callable[[str, list], None] | None = None) -> dict[str, Any]:
    from tqdm import tqdm

    count_ = archipelago.islands
    islands_ = _Islands(ray, run_dir, settings, archipelago, on_submitted)
    try:
        states = islands_.call("state")
        every = archipelago.migrate_every
        round_ = max(1, min(state["generation"] for state in states) // every)
        bar = tqdm(total=settings.generations, initial=min(s["generation"] for s in states), desc=f"{count_} islands",
                   unit="gen", disable=not progress, dynamic_ncols=True)
        while True:
            boundary = round_ * every
            before = min(s["generation"] for s in states)
            states = islands_.call("advance", {k: (boundary,) for k in range(count_)})
            bar.update(min(s["generation"] for s in states) - before)
            if boundary >= settings.generations or all(s["done"] for s in states):
                break
            # After a resume every island may have taken this round already (then some are past the boundary).
            takers = [k for k, state in enumerate(states) if state["rounds_done"] < round_ and not state["done"]]
            if takers:
                outgoing = islands_.call("emigrants")
                for k in takers:
                    source = (k - 1) % count_
                    generation = outgoing[source][0]
                    if not states[source]["done"] and generation != boundary - 1:
                        raise RunError(f"{run_dir}: island {source} offers emigrants of generation {generation}, not "
                                       f"{boundary - 1}; the islands' checkpoints disagree. Fix: resume from a copy of the "
                                       "run directory made before it was changed")
                islands_.call("immigrate", {k: (round_, (k - 1) % count_, outgoing[(k - 1) % count_][1]) for k in takers})
            round_ += 1
        bar.close()
        islands = islands_.call("finish")
    finally:
        islands_.close()
    scored = [island for island in islands if island["score"] is not None]
    best = max(scored, key=lambda island: island["score"]) if scored else None
    if best is not None:
        shutil.copyfile(best["champion"], run_dir / CHAMPION_FILE)
    return {"run_dir": str(run_dir), "islands": islands, "best_island": best["island"] if best else None,
            "champion": str(run_dir / CHAMPION_FILE) if best else None, "restarts": islands_.restarts}


def run_islands(args: argparse.Namespace, settings: EvolveSettings | None, run_dir: str) -> int:
    """``spikefly evolve --islands N`` / ``--resume ARCHIPELAGO``: evolve and print the summary."""
    if settings is None:
        summary = evolve_archipelago(run_dir, progress=not args.quiet, ray_address=args.ray_address)
    else:
        if args.islands is None:
            raise SettingsError("--migrate-every, --migrants and --split-worlds belong to an island run. "
                                "Fix: add --islands N, or drop them")
        given = {"islands": args.islands, "migrate_every": args.migrate_every, "migrants": args.migrants,
                 "split_worlds": args.split_worlds}
        archipelago = ArchipelagoSettings(**{k: v for k, v in given.items() if v is not None}, ray_address=settings.ray_address)
        summary = evolve_archipelago(run_dir, settings, archipelago, progress=not args.quiet)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"archipelago: {summary['run_dir']} ({len(summary['islands'])} islands)")
    for island in summary["islands"]:
        success = island["validation_success_rate"]
        shown = "no champion yet" if success is None else f"validation {success:.2f}"
        print(f"  island {island['island']}: {island['generations']} generations, migrants received in "
              f"{len(island['migrations'])} round(s), {shown}")
    if summary["champion"]:
        print(f"champion (island {summary['best_island']}): {summary['champion']}")
    return 0


__all__ = ["ARCHIPELAGO_FILE", "ISLAND_ID_BLOCK", "ArchipelagoSettings", "IslandRun", "evolve_archipelago",
           "island_settings", "numbered_population", "run_islands"]
