"""Settings of an evolution run: one frozen dataclass, a docstring per field, written to every run."""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from spikefly.core import SpikeflyError
from spikefly.envs import QUADROTOR_AVOID_ID
from spikefly.evolution.tasks import TASKS, task_for

PHYSICS = ("twin", "pybullet")
EVALUATORS = ("serial", "pool", "ray")
NIR_READERS = ("any", "snntorch")
"""EvolveSettings.nir_reader: "any", or a NIR reader whose importer the champion must read exactly."""
DEFAULT_SENSING = {"n_rays": 12, "ray_elevations_deg": [-30.0, 0.0, 30.0], "geofence_rays": True, "progress_metric": "path",
                   "action_mode": "gap"}
"""The default run's env settings: three rows of 12 rays (30 degrees down, level, up) that also stop
at the world's bounds, progress measured along the obstacle-free path, and actions added to a
gap-seeking guidance law's set-points (``action_mode="gap"``: a network that outputs nothing flies
toward the free ray nearest the goal, so evolution only has to learn where that law goes wrong)."""
DEFAULT_ENCODER = {"kind": "population", "n_fields": 2, "sigma": 0.3, "output": "spikes", "max_rate": 1.0}
"""The default run's spike encoder: an ON/OFF pair of channels per observation element, each sending
regular spikes at a rate that grows as the value nears its end of the range (a near obstacle
drives one channel of its ray, open space the other; a goal to the left one channel of the
bearing, to the right the other), so one excitatory synapse maps a cue to the output that answers
it. Chosen over the latency, rate, level and delta codes on equal budgets
(docs/generalisation.md)."""
_RAY_ADDRESS = re.compile(r"(ray://)?[A-Za-z0-9.\-_\[\]:]+:(\d{1,5})")
"""A Ray head address: HOST:PORT, or ray://HOST:PORT for Ray Client (also accepted: "auto")."""


class SettingsError(SpikeflyError):
    """A bad setting: the message names it and the fix."""


MAX_WORLDS = 1_000
MAX_SEED = 2**32 - 1
"""The largest run or episode-start seed (episode seeds count up from it and must stay below 2**64)."""
INT_LIMITS = {
    "population": 100_000, "generations": 10**9, "episodes_per_world": 10_000, "validation_episodes": 100_000,
    "validation_every": 1_000_000, "validation_top": 10_000, "confirmation_episodes": 100_000, "pybullet_episodes": 10_000, "steps_per_action": 1_000,
    "novelty_neighbours": 10_000, "refine_iterations": 100_000, "refine_population": 100_000, "pybullet_every": 1_000_000,
    "workers": 4_096, "early_stop_validations": 1_000_000, "seed": MAX_SEED, "training_pool": 1_000_000,
    "budget_steps": 10**13, "refine_every": 1_000_000,
}
"""Upper bounds of the integer settings: far beyond any run that finishes, well short of one that
exhausts memory or never starts."""
FLOAT_LIMITS = {"time_budget_s": 1e8, "refine_sigma": 1e3, "champion_margin": 100.0}
"""Upper bounds of the float settings that are not weights or costs (those are at most 1e6)."""


@dataclass(frozen=True)
class EvolveSettings:
    """Everything that shapes an evolution run except the NEAT config file."""

    env_id: str = QUADROTOR_AVOID_ID
    """Gymnasium id of the task."""
    worlds: tuple[str, ...] = ("mixed",)
    """Bundled world names or world files to train on (procedural ones draw new layouts each generation)."""
    env_settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SENSING))
    """Keyword settings of the env (QuadrotorSettings fields), e.g. {"range_noise_std_m": 0.02}. The
    default is the sensing the mixed world needs (:data:`DEFAULT_SENSING`); ``spikefly evolve
    --settings`` lays a file's env_settings over it key by key (give a key to change it, e.g.
    {"geofence_rays": false}); in Python, a given dict replaces it whole."""
    population: int = 100
    """Genomes per generation (NEAT pop_size)."""
    generations: int = 60
    """Generations to run at most (the default fits in 5 minutes on 2 cores on the mixed world)."""
    time_budget_s: float = 0.0
    """Stop after this many seconds of wall-clock (0 = no limit); the run still ends cleanly."""
    budget_steps: int = 0
    """Stop once this many env steps were flown (0 = no limit): every genome's training episodes,
    validation and PyBullet re-flights all count; the generation that spends it is validated."""
    episodes_per_world: int = 8
    """Training episodes per world per genome each generation; every genome flies the same ones."""
    training_pool: int = 0
    """0: new training episodes every generation; N: draw them from a fixed pool of N per world
    (for tasks whose episodes are slow to make, such as audio clips)."""
    validation_episodes: int = 150
    """Validation episodes per world (seeds disjoint from training) for champion selection: the
    same ones at every validation, so candidates and champion are compared flight by flight."""
    validation_randomise: str | None = "default"
    """Validation (champion choice) and the champion's PyBullet re-flights fly with this domain
    randomisation laid over env_settings: a preset of ``spikefly evaluate --randomise`` ("light",
    "default", "strong") or a JSON/TOML file of its keys ("off": clean); None: as trained. Noise, wind and model
    error sort out networks that only pay on clean flights (docs/generalisation.md). A task
    without domain randomisation (audio) defaults to None."""
    validation_every: int = 5
    """Validate the best genomes every this many generations (and at the end)."""
    validation_top: int = 2
    """How many of the generation's best genomes (by training fitness) are validated."""
    pybullet_every: int = 2
    """With the twin, re-fly the champion in PyBullet every this many validations and log both
    scores (0 = only at the end; the final champion is always re-flown)."""
    pybullet_episodes: int = 10
    """PyBullet episodes per world when re-flying the champion."""
    physics: str = "twin"
    """Evaluate genomes on the Numba "twin" (fast) or in "pybullet" (the reference, slow)."""
    evaluator: str = "serial"
    """"serial": in this process (Numba threads use every core); "pool": a process pool of `workers`;
    "ray": actors on a Ray cluster (``pip install "spikefly[ray]"``), see ``ray_address``."""
    workers: int = 0
    """Processes of the pool evaluator, or actors of the Ray evaluator (0 = one per core of the machine or cluster)."""
    ray_address: str | None = None
    """The Ray cluster the "ray" evaluator joins: HOST:PORT of its head (``ray start --head`` prints it),
    ray://HOST:PORT for Ray Client, or "auto"; None starts a local Ray."""
    seed: int = 0
    """Seeds NEAT (Python's random), the episode seeds and the encoders; same seed, same run."""
    encoder: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ENCODER))
    """Spike encoder settings (spikefly.controllers encoders' to_dict form). The default
    (:data:`DEFAULT_ENCODER`) sends spikes only, so the champion also runs on neuromorphic chips and
    exports to NIR; ``{"kind": "direct", "signed": false}`` feeds analog currents instead."""
    decoder: dict[str, Any] = field(default_factory=lambda: {"kind": "rate", "signed_pairs": True})
    """Spike decoder settings (spikefly.controllers decoders' to_dict form)."""
    steps_per_action: int = 8
    """LIF substeps per control step (K)."""
    synaptic_op_cost: float = 2e-4
    """Fitness cost per synaptic op per control step (mean over the episodes)."""
    neuron_update_cost: float = 2e-4
    """Fitness cost per neuron update per control step."""
    size_cost: float = 1e-3
    """Fitness cost per neuron and per synapse of the compiled network."""
    board: str | None = "stm32f405"
    """Board whose compute the fitness charges for: a bundled profile name (``spikefly boards``) or a
    board TOML file; None for no board terms. The log and the champion file carry its figures."""
    energy_weight: float = 0.2
    """Fitness cost per microjoule the network spends per control step on ``board``. At 0.2 a
    20 µJ network costs 4 of a flight's ~35 fitness, so a correction to the guidance law must pay
    for its synapses: with 0.02 the default command's champions tuned themselves to the mixed
    world and flew fewer unseen courses than the law alone (docs/generalisation.md)."""
    latency_weight: float = 0.0
    """Fitness cost per millisecond of compute per control step on ``board``."""
    weight_bits: int = 8
    """Weight width the board's memory and feasibility are computed for (and the integer mode uses)."""
    integer: bool = True
    """Score the int8-weight fixed-point network (the one the C export runs) instead of the float one."""
    nir_ready: bool = True
    """Evolve only what NIR can express: no threshold adaptation, no refractory period (overrides
    the NEAT config's evolve_adaptation and refractory_* keys), so ``spikefly export --format nir`` works."""
    nir_reader: str = "any"
    """"snntorch": also keep to what snnTorch 1.0's NIR importer reads (one threshold, 0.5 for every
    neuron; no bias; no synaptic delays), so ``snntorch.import_nir.import_from_nir`` runs the
    exported champion spike for spike (docs/deployment.md); "any" (the default): only nir_ready's limits."""
    novelty_weight: float = 0.0
    """Mix of novelty into fitness (0 = pure fitness): fitness + weight x novelty (final-position kNN distance, m)."""
    novelty_neighbours: int = 15
    """k of the k-nearest-neighbour novelty."""
    baseline_champion: bool = True
    """The first validation also flies the genome whose network never spikes (no synapse, no bias:
    with a guidance law, the law alone) and makes it the champion to beat, so a run never ships a
    network that flew its validation episodes worse than doing nothing would (False: the first
    validation's best candidate is champion however it flew)."""
    champion_margin: float = 2.0
    """A validated candidate replaces the champion only when, episode by episode on the same
    validation episodes, it gains more than this many standard deviations of its gain (a paired
    sign test, :func:`spikefly.evolution.fitness.beats_champion`): the best of dozens of candidates
    otherwise wins on lucky episodes and flies unseen courses no better. 0: any higher success
    rate (then return) replaces it."""
    confirmation_episodes: int = 150
    """Validation episodes of their own (seeds disjoint from training and from the validation
    episodes), flown only by a candidate that beat the champion on the validation episodes, and by
    the champion: the candidate must beat it there too, by the same test (0 = no confirmation)."""
    reinsert_champion: bool = False
    """After a validation that finds no better champion, a copy of the champion replaces the newest
    offspring (never an elite), so noisy training fitness cannot lose the best validated lineage."""
    curriculum_start: float = 0.1
    """Curriculum over difficulty (0 = off): training starts with worlds that draw their course (the
    ``mixed`` generator) scaled to this level in (0, 1]: obstacle difficulty, course length above its
    minimum, start heading error and goal offsets. Validation always flies the worlds as written, so
    the champion is chosen on the full task."""
    curriculum_step: float = 0.1
    """How much the curriculum level rises at a promotion (capped at 1)."""
    curriculum_promote: float = 0.5
    """Promote when the generation's top tenth of genomes (by fitness) reach this mean training
    success rate (the best genome alone reaches it by luck on a few episodes)."""
    refine_every: int = 0
    """Every this many generations, tune all the weights and biases of the last generation's best
    genome at once with CMA-ES and write them back if they then score higher on fresh episodes
    (0 = off; :mod:`spikefly.evolution.refine`). NEAT keeps growing topologies around it."""
    refine_iterations: int = 10
    """CMA-ES iterations per refinement; each flies ``refine_population`` candidates on new training episodes."""
    refine_population: int = 16
    """CMA-ES candidates per iteration (they all fly the same episodes_per_world episodes per world)."""
    refine_sigma: float = 0.3
    """CMA-ES initial step size, in weight units (biases move at a fifth of it)."""
    early_stop_validations: int = 0
    """Stop when the validation score has not improved for this many validations (0 = never)."""
    neat_config: str | None = None
    """A neat-python config file for LIFGenome (None = the bundled spikefly/evolution/lif_neat.ini)."""

    def __post_init__(self) -> None:
        if isinstance(self.worlds, str):
            object.__setattr__(self, "worlds", (self.worlds,))
        if not isinstance(self.worlds, (list, tuple)) or not all(isinstance(w, (str, os.PathLike)) and str(w) for w in self.worlds):
            raise SettingsError(f"worlds={self.worlds!r}: give a list of world names or files, e.g. [\"forest\", \"my.toml\"]")
        object.__setattr__(self, "worlds", tuple(str(world) for world in self.worlds))
        if not self.worlds:
            raise SettingsError("worlds: give at least one world (a bundled name or a world file)")
        if len(self.worlds) > MAX_WORLDS:
            raise SettingsError(f"worlds: {len(self.worlds)} worlds, at most {MAX_WORLDS}. Fix: train on fewer worlds")
        if self.env_id not in TASKS:
            raise SettingsError(f"env_id={self.env_id!r}: choose one of {sorted(TASKS)}")
        if self.physics not in PHYSICS:
            raise SettingsError(f"physics={self.physics!r}: choose one of {PHYSICS}")
        if self.evaluator not in EVALUATORS:
            raise SettingsError(f"evaluator={self.evaluator!r}: choose one of {EVALUATORS}")
        if self.ray_address is not None:
            if self.evaluator != "ray":
                raise SettingsError(f"ray_address={self.ray_address!r} is set but evaluator={self.evaluator!r}. "
                                    "Fix: use --workers ray with --ray-address, or drop the address")
            match = _RAY_ADDRESS.fullmatch(self.ray_address) if isinstance(self.ray_address, str) else None
            if self.ray_address != "auto" and (match is None or not 0 < int(match.group(2)) < 65536):
                raise SettingsError(f"ray_address={self.ray_address!r}: not a Ray head address. "
                                    "Fix: give HOST:PORT as printed by `ray start --head` (e.g. 10.0.0.5:6379), "
                                    "ray://HOST:10001 for Ray Client, or auto")
        for name in ("population", "generations", "episodes_per_world", "validation_episodes", "validation_every",
                     "validation_top", "pybullet_episodes", "steps_per_action", "novelty_neighbours", "refine_iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingsError(f"{name}={value!r}: must be an integer >= 1")
        for name, limit in INT_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                raise SettingsError(f"{name}={value}: at most {limit:,}. Fix: give a smaller value")
        if self.population < 4:
            raise SettingsError(f"population={self.population}: NEAT needs at least 4 genomes")
        if isinstance(self.refine_population, bool) or not isinstance(self.refine_population, int) or self.refine_population < 4:
            raise SettingsError(f"refine_population={self.refine_population!r}: must be an integer >= 4 (CMA-ES candidates per iteration)")
        for name in ("pybullet_every", "workers", "early_stop_validations", "seed", "training_pool", "budget_steps",
                     "refine_every", "confirmation_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SettingsError(f"{name}={value!r}: must be an integer >= 0")
        if self.neat_config is not None and (not isinstance(self.neat_config, (str, os.PathLike)) or not str(self.neat_config)):
            raise SettingsError(f"neat_config={self.neat_config!r}: give the path of a NEAT config file, or null for the bundled one")
        if self.board is not None and (not isinstance(self.board, str) or not self.board):
            raise SettingsError(f"board={self.board!r}: give a bundled board name (spikefly boards) or a board TOML file")
        if isinstance(self.weight_bits, bool) or not isinstance(self.weight_bits, int) or not 2 <= self.weight_bits <= 8:
            raise SettingsError(f"weight_bits={self.weight_bits!r}: must be an integer in [2, 8] (weights are stored as int8)")
        for name in ("curriculum_start", "curriculum_step", "curriculum_promote"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise SettingsError(f"{name}={value!r}: must be a number in [0, 1]")
        if self.curriculum_start > 0.0 and self.physics != "twin":
            raise SettingsError(f"curriculum_start={self.curriculum_start}: the curriculum trains on the twin. "
                                "Fix: use physics twin, or curriculum_start 0")
        for name in ("integer", "nir_ready", "reinsert_champion", "baseline_champion"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name}={getattr(self, name)!r}: must be true or false")
        if self.nir_reader not in NIR_READERS:
            raise SettingsError(f"nir_reader={self.nir_reader!r}: choose one of {list(NIR_READERS)}")
        if self.nir_reader != "any" and not self.nir_ready:
            raise SettingsError(f"nir_reader={self.nir_reader!r} needs nir_ready. Fix: drop --no-nir-ready, or nir_reader \"any\"")
        self._check_coding()
        for name in ("time_budget_s", "synaptic_op_cost", "neuron_update_cost", "size_cost", "novelty_weight",
                     "energy_weight", "latency_weight", "refine_sigma", "champion_margin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise SettingsError(f"{name}={value!r}: must be a finite number >= 0")
            limit = FLOAT_LIMITS.get(name, 1e6)
            if value > limit:
                raise SettingsError(f"{name}={value!r}: at most {limit:g}. Fix: give a smaller value")
        if self.validation_randomise is not None and (not isinstance(self.validation_randomise, str) or not self.validation_randomise):
            raise SettingsError(f"validation_randomise={self.validation_randomise!r}: give a preset name (light, default, strong), "
                                "a randomisation file, or null to validate as trained")
        if self.refine_sigma == 0:
            raise SettingsError("refine_sigma=0: CMA-ES needs a step size > 0. Fix: give e.g. 0.3, or refine_every 0 to turn refinement off")

    def _check_coding(self) -> None:
        """The encoder and decoder settings build, or one SettingsError naming the key and the fix."""
        from spikefly.controllers.coding import CodingSettingsError
        from spikefly.controllers.decoders import decoder_from_dict
        from spikefly.controllers.encoders import encoder_from_dict

        examples = {"encoder": DEFAULT_ENCODER, "decoder": {"kind": "rate", "signed_pairs": True}}
        for name, build in (("encoder", encoder_from_dict), ("decoder", decoder_from_dict)):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise SettingsError(f"{name}={value!r}: must be a table of {name} settings. "
                                    f"Fix: give a table, e.g. {json.dumps(examples[name])}")
            try:
                build(dict(value))
            except CodingSettingsError as error:
                raise SettingsError(f"{name}: {error}. Fix: correct the table, e.g. "
                                    f"{json.dumps(examples[name])}") from None

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Each field's docstring (the string under it in this class), read from the source."""
        import ast
        import inspect
        import textwrap

        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
        return {node.target.id: " ".join(after.value.value.split())
                for node, after in zip(body, body[1:])
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)}

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["worlds"] = list(self.worlds)
        return values

    @classmethod
    def for_env(cls, values: dict[str, Any], source: str = "settings") -> EvolveSettings:
        """:meth:`from_dict` with the defaults of ``values["env_id"]``'s task under the given values."""
        env_id = values.get("env_id", cls.env_id)
        if env_id in TASKS:  # an unknown one is the dataclass's error
            values = {**task_for(env_id).defaults, **values}
        return cls.from_dict(values, source)

    @classmethod
    def of_task(cls, env_id: str) -> EvolveSettings:
        """The default run of ``env_id``'s task (its worlds, env settings, encoder, board, ...)."""
        task_for(env_id)  # an unknown id is the registry's one-line error
        return cls.for_env({"env_id": env_id})

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "settings") -> EvolveSettings:
        """Inverse of :meth:`to_dict`; an unknown key is an error naming the closest valid one."""
        cls._check_keys(values, source)
        return cls(**values)

    @classmethod
    def _check_keys(cls, values: dict[str, Any], source: str) -> None:
        names = [f.name for f in fields(cls)]
        for key in values:
            if key not in names:
                close = difflib.get_close_matches(key, names, 1)
                hint = f" Fix: did you mean {close[0]!r}?" if close else f" Valid keys: {names}"
                raise SettingsError(f"{source}: unknown setting {key!r}.{hint}")

    @classmethod
    def read(cls, path: str | Path) -> EvolveSettings:
        return cls.from_dict(cls.read_values(path), str(path))

    @classmethod
    def read_values(cls, path: str | Path) -> dict[str, Any]:
        """The settings a JSON file gives (only those; others keep their defaults), keys checked."""
        path = Path(path)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SettingsError(f"{path}: cannot read the settings ({error}). Fix: give a UTF-8 JSON object of settings, "
                                "e.g. {\"population\": 50} (a run directory holds one as settings.json)") from None
        except RecursionError:
            raise SettingsError(f"{path}: nested too deeply to read. Fix: give a flat JSON object of settings") from None
        if not isinstance(values, dict):
            raise SettingsError(f"{path}: expected a JSON object of settings, got {type(values).__name__}")
        cls._check_keys(values, str(path))
        return values
