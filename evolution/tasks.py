"""The task boundary: what evolution asks of a task, and the registry of tasks by env id.

A task is what a controller is evolved for: the quadrotor flying obstacle courses, the audio
detector listening to soundscapes, or one of your own. The run, the evaluators and ``spikefly
evolve`` know a task only through :class:`Task`:

- ``name`` (``spikefly evolve --env NAME``) and ``env_id`` (written into every controller file);
- ``defaults``: the :class:`~spikefly.evolution.settings.EvolveSettings` values of the task's
  default run, laid over the dataclass defaults (worlds, encoder, board, ...);
- ``check(settings)``: every world loads as the task's kind of world (``check_worlds(worlds)``)
  and the env settings are the task's, or a :class:`~spikefly.core.SpikeflyError` naming the file, the key and the fix,
  before anything is written;
- ``make_flyer(settings)``: an object that flies (or listens with) a list of compiled networks
  over an :class:`~spikefly.evolution.episodes.EpisodeSet`. It has ``low`` and ``high`` (the
  observation bounds the encoder scales by), ``n_actions``, ``control_hz``,
  ``reference_physics`` (where the champion is re-flown at the end, or None), optionally
  ``neat_overrides`` (NEAT config values of the task), and ``fly(networks, episodes,
  physics=None)``, which returns per-network, per-episode arrays with ``returns``, ``steps``,
  ``ops`` (neuron updates, spikes, input events, synaptic ops) and ``success`` (all [G, E];
  ops [G, E, 4]), such as :class:`~spikefly.evolution.fused_rollout.RolloutResults`.

Beyond evolution, ``spikefly evaluate`` uses ``evaluate``, ``print_reports`` and ``control_rate``
(what the boards price per second), ``render`` and ``report`` use ``review`` (:class:`ReviewParts`),
``baseline`` and ``bench`` use ``baseline`` (:class:`BaselineParts`); a task without a part is a
one-line refusal from the commands that need it.

:func:`register_task` adds a task; ``spikefly evolve --env NAME`` then evolves it through the
same run, checkpoints, evaluators and board costs as the bundled two (``tests/evolution/
test_tasks.py`` registers a third from the test file). The bundled tasks name their parts as
``module:attribute`` strings, imported when first used, so listing tasks imports neither
PyBullet nor the audio front end.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

from spikefly.core import SpikeflyError
from spikefly.envs import AUDIO_EVENT_ID, QUADROTOR_AVOID_ID


class TaskError(SpikeflyError):
    """An env id or task name no registered task has, or settings the task cannot take."""


class Task(Protocol):
    name: str
    env_id: str

    metric: str
    quiet_champion: str
    episode_word: str
    suites: bool
    randomises: bool

    @property
    def defaults(self) -> Mapping[str, Any]: ...

    @property
    def review(self) -> ReviewParts | None: ...

    @property
    def baseline(self) -> BaselineParts | None: ...

    def next_steps(self, champion: str, worlds: tuple[str, ...]) -> list[str]: ...

    def evaluate(self, spec: Any, worlds: Any, episodes: Any, seed: int, **options: Any) -> dict[str, Any]: ...

    def print_reports(self, controller: str, reports: dict[str, dict[str, Any]], **options: Any) -> None: ...

    def control_rate(self, env_settings: Mapping[str, Any]) -> tuple[float, int]: ...

    def check_worlds(self, worlds: Any) -> None: ...

    def check(self, settings: Any) -> None: ...

    def check_env_settings(self, env_settings: Mapping[str, Any], where: str = "the settings file") -> None: ...

    def make_flyer(self, settings: Any) -> Any: ...


@dataclass(frozen=True)
class ReviewParts:
    """What ``spikefly render`` and ``spikefly report`` need of a task; each a callable or ``"module:attribute"``."""

    imported: ClassVar[tuple[str, ...]] = ("record", "plot_episodes", "io_names")

    record: Callable[..., Any] | str
    """``record(spec, world, seed)``: one episode as a recording :func:`spikefly.envs.render.render_recording`
    draws (a FlightRecording, a ListeningRecording)."""
    plot_episodes: Callable[..., Any] | str
    """``plot(spec, worlds, n, folder) -> (title, png path, caption, table rows)``: the report's picture of
    the champion's episodes (``n`` episode seeds per world, where the picture has room for them)."""
    io_names: Callable[[Any], tuple[dict[int, str], list[str]]] | str | None = None
    """``io_names(spec) -> (names of input channels by index, names of the outputs)`` for the topology
    plot; None: channels and outputs are numbered."""


@dataclass(frozen=True)
class BaselineParts:
    """What ``spikefly baseline`` (SB3 PPO) and ``spikefly bench`` need of a task (the callables and tables
    may be ``"module:attribute"`` strings)."""

    imported: ClassVar[tuple[str, ...]] = ("vec_env", "score", "test_figures", "columns", "energy_column")

    worlds: tuple[str, ...]
    """The worlds a baseline or a benchmark trains on by default."""
    holdout_world: str | None
    """The benchmark's default world that no method trains on (None: none)."""
    vec_env: Callable[[Any], Any] | str
    """``vec_env(baseline_settings)``: the SB3 VecEnv PPO trains in, counting every step in ``env_steps``."""
    score: Callable[..., dict[str, Any]] | str
    """``score(model, recurrent, episodes, env_settings)``: ``success_rate`` (the task's metric),
    ``mean_return`` and ``steps`` of a policy on validation episodes."""
    test_figures: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | str
    """``test_figures(evaluation report, board cost)``: the benchmark's held-out figures of the task
    (keys of ``columns``; ``holdout``: the metric on the held-out world)."""
    columns: tuple[tuple[str, str, float], ...] | str
    """The benchmark table's task columns: (header, key path in a result, scale)."""
    energy_column: tuple[str, str, float] | str
    """The benchmark table's energy column."""
    episode_steps: int = 300
    """Env steps of a typical episode (the benchmark spaces NEAT's validations by it)."""
    one_world: bool = False
    """The baseline trains on one world only (the quadrotor's twin vector env flies one)."""


@dataclass(frozen=True)
class TaskParts:
    """A :class:`Task` from its parts; each may be an object or a ``"module:attribute"`` string."""

    name: str
    env_id: str
    flyer: Callable[[Any], Any] | str
    """Called with the run settings, returns the flyer (see the module docstring)."""
    defaults_of: Mapping[str, Any] | str = field(default_factory=dict)
    load_world: Callable[[str], Any] | str | None = None
    """Loads one world by name or path (raising a SpikeflyError), or None to accept any name."""
    env_settings: Any | str | None = None
    """The env's settings class, with ``from_kwargs(**env_settings)``; None: no env settings."""
    evaluator: Callable[..., dict[str, Any]] | str | None = None
    """``spikefly evaluate``'s work for this task: ``evaluator(spec, worlds, episodes, seed, *, physics,
    progress, audio_settings, randomise)`` returns the JSON-ready report; None: the task has none."""
    metric: str = "success rate"
    """What a flyer's ``success`` measures, as the run's summary names it."""
    quiet_champion: str = ("no evolved network beat the quiet one (no synapse, no bias) on validation, "
                           "so the champion is that quiet network")
    """The run summary's line when the champion is the quiet genome (``baseline_champion``)."""
    hints: Callable[[str, tuple[str, ...]], list[str]] | None = None
    """``hints(champion_path, worlds)``: the commands ``spikefly evolve`` prints after a run (None:
    ``spikefly evaluate`` on the training worlds)."""
    printer: Callable[..., None] | str | None = None
    """``printer(controller, reports, *, physics, suite)``: ``spikefly evaluate``'s lines for the reports
    of each variant (float, int8, ...); None: their summaries as JSON."""
    rate: Callable[[Mapping[str, Any]], tuple[float, int]] | str | None = None
    """``rate(env_settings) -> (control steps per second, fixed MACs per step)``: what the boards price
    per second (the fixed MACs are a front end the network needs, e.g. the audio filter bank); None:
    50 Hz, nothing fixed."""
    episode_word: str = "episode"
    """What one episode is called in reports ("flight", "clip")."""
    suites: bool = False
    """Its worlds come in the bundled suites of :func:`spikefly.worlds.suite_courses` (``--suite``)."""
    randomises: bool = False
    """Its env takes the domain randomisation keys (``spikefly evaluate --randomise``, ``validation_randomise``)."""
    review_parts: ReviewParts | None = None
    """Recording and report pictures; None: ``spikefly render`` and the report's episode picture refuse it."""
    baseline_parts: BaselineParts | None = None
    """RL baselines and the benchmark; None: ``spikefly baseline`` and ``spikefly bench`` refuse it."""

    def next_steps(self, champion: str, worlds: tuple[str, ...]) -> list[str]:
        """What to run on the champion next, one line each."""
        if self.hints is not None:
            return self.hints(champion, worlds)
        return [f"evaluate it on new episodes: spikefly evaluate {champion} --world {' '.join(worlds)} --seed 0"]

    @property
    def defaults(self) -> Mapping[str, Any]:
        defaults = _resolve(self.defaults_of)
        # a task without domain randomisation validates as it trains
        return defaults if self.randomises else {"validation_randomise": None, **defaults}

    def check_worlds(self, worlds: Any) -> None:
        if self.load_world is not None:
            load = _resolve(self.load_world)
            for world in worlds:
                load(world)

    def check(self, settings: Any) -> None:
        self.check_worlds(settings.worlds)
        self.check_env_settings(settings.env_settings)
        randomise = getattr(settings, "validation_randomise", None)
        if randomise is not None:
            if not self.randomises:
                raise TaskError(f"validation_randomise={randomise!r}: the {self.name} task has no domain randomisation. "
                                "Fix: set validation_randomise to null in the settings file")
            from spikefly.envs.sim.randomisation import RandomisationError, load_randomisation

            try:
                load_randomisation(randomise)
            except RandomisationError as error:
                raise TaskError(f"validation_randomise: {error}") from None

    def check_env_settings(self, env_settings: Mapping[str, Any], where: str = "the settings file") -> None:
        """The env settings are the task's (``where`` names their file in the fix), or a :class:`TaskError`."""
        if self.env_settings is None:
            if env_settings:
                raise TaskError(f"env_settings: the {self.name} task takes none, got {sorted(env_settings)}. "
                                    f"Fix: remove env_settings from {where}")
            return
        kind = _resolve(self.env_settings)
        try:
            kind.from_kwargs(**env_settings)
        except (TypeError, ValueError) as error:
            raise TaskError(f"env_settings: {error}. Fix: correct that key in {where} "
                                f"(help({kind.__module__}.{kind.__name__}) lists them)") from None

    def make_flyer(self, settings: Any) -> Any:
        return _resolve(self.flyer)(settings)

    def evaluate(self, spec: Any, worlds: Any, episodes: Any, seed: int, **options: Any) -> dict[str, Any]:
        return _resolve(self.evaluator)(spec, worlds, episodes, seed, **options)

    def print_reports(self, controller: str, reports: dict[str, dict[str, Any]], **options: Any) -> None:
        if self.printer is None:
            print(json.dumps({name: report["summary"] for name, report in reports.items()}, indent=2))
        else:
            _resolve(self.printer)(controller, reports, **options)

    def control_rate(self, env_settings: Mapping[str, Any]) -> tuple[float, int]:
        return (50.0, 0) if self.rate is None else _resolve(self.rate)(env_settings)

    @property
    def review(self) -> ReviewParts | None:
        return None if self.review_parts is None else _resolved(self.review_parts)

    @property
    def baseline(self) -> BaselineParts | None:
        return None if self.baseline_parts is None else _resolved(self.baseline_parts)


def _resolve(part: Any) -> Any:
    if not isinstance(part, str):
        return part
    module, _, attribute = part.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _resolved(parts: Any) -> Any:
    """``parts`` (a dataclass) with every ``"module:attribute"`` field imported."""
    return replace(parts, **{name: _resolve(getattr(parts, name)) for name in parts.imported})


TASKS: dict[str, Task] = {}
"""Registered tasks by env id, in registration order."""


def register_task(task: Task) -> Task:
    """Add ``task`` (replacing one with the same env id); returns it."""
    clash = [other.env_id for other in TASKS.values() if other.name == task.name and other.env_id != task.env_id]
    if clash:
        raise TaskError(f"task name {task.name!r} is taken by {clash[0]!r}. Fix: give the task another name")
    TASKS[task.env_id] = task
    return task


def task_for(env_id: str) -> Task:
    """The task registered for ``env_id``, or a TaskError listing the ones there are."""
    try:
        return TASKS[env_id]
    except (KeyError, TypeError):
        raise TaskError(f"env_id={env_id!r}: no such task. Fix: choose one of {sorted(TASKS)} "
                        "(or register yours with spikefly.evolution.tasks.register_task)") from None


def task_names() -> dict[str, str]:
    """``spikefly evolve --env`` names and their env ids."""
    return {task.name: task.env_id for task in TASKS.values()}


def validation_settings(settings: Any) -> Any:
    """``settings`` as validation flies them: ``validation_randomise`` laid over the env settings
    (``settings`` itself when it is None)."""
    if getattr(settings, "validation_randomise", None) is None:
        return settings
    from spikefly.envs.sim.randomisation import load_randomisation

    randomised = load_randomisation(settings.validation_randomise).applied_to(dict(settings.env_settings))
    return replace(settings, env_settings=randomised)


def make_flyer(settings: Any) -> Any:
    """The flyer of ``settings.env_id``'s task."""
    return task_for(settings.env_id).make_flyer(settings)


def _quadrotor_hints(champion: str, worlds: tuple[str, ...]) -> list[str]:
    return [f"fly it on unseen layouts: spikefly evaluate {champion} --world {' '.join(worlds)} --episodes 50 --seed 0",
            f"on held-out courses no run trains on: spikefly evaluate {champion} --suite heldout",
            f"with noise, wind and model error: spikefly evaluate {champion} --suite heldout --randomise"]


def _audio_hints(champion: str, worlds: tuple[str, ...]) -> list[str]:
    return [f"hear it on unseen clips: spikefly evaluate {champion} --episodes 12 --seed 0",
            f"in rooms built from recordings no run trains on: spikefly evaluate {champion} "
            "--world heldout_babble heldout_music heldout_tv --episodes 20",
            f"false alarms over 5 minutes with no alarm: spikefly evaluate {champion} --world heldout_no_alarm --stream-minutes 5"]


_REVIEW = "spikefly.evolution.review"
_BASELINES = "spikefly.evolution.baselines"

register_task(TaskParts(
    "quadrotor", QUADROTOR_AVOID_ID, flyer="spikefly.evolution.evaluators:Flyer", load_world="spikefly.worlds:load_world",
    env_settings="spikefly.envs.quadrotor_settings:QuadrotorSettings", hints=_quadrotor_hints,
    quiet_champion=("no evolved network flew the validation courses better than the quiet one, so the champion's "
                    "network never spikes: with action_mode gap or guided the guidance law flies alone (docs/generalisation.md)"),
    evaluator="spikefly.evolution.evaluate:evaluate_flights", printer="spikefly.evolution.cli.evaluate:print_flights", rate="spikefly.envs.quadrotor_settings:control_rate",
    episode_word="flight", suites=True, randomises=True,
    review_parts=ReviewParts(record=f"{_REVIEW}.record:record_flight", plot_episodes=f"{_REVIEW}.plots:flights_section",
                             io_names=f"{_REVIEW}.plots:quadrotor_io_names"),
    baseline_parts=BaselineParts(
        worlds=("forest",), holdout_world="corridor", vec_env=f"{_BASELINES}.vec_envs:flight_vec_env",
        score=f"{_BASELINES}.rl:flight_score", test_figures=f"{_BASELINES}.bench_table:flight_figures",
        columns=f"{_BASELINES}.bench_table:FLIGHT_COLUMNS", energy_column=f"{_BASELINES}.bench_table:FLIGHT_ENERGY",
        episode_steps=300, one_world=True)))
register_task(TaskParts(
    "audio", AUDIO_EVENT_ID, flyer="spikefly.evolution.audio_task:AudioFlyer",
    defaults_of="spikefly.evolution.audio_task:AUDIO_DEFAULTS", load_world="spikefly.worlds.soundscape:load_soundscape",
    env_settings="spikefly.envs.audio_env:AudioSettings", metric="event F1", hints=_audio_hints,
    evaluator="spikefly.evolution.evaluate:evaluate_listening", printer="spikefly.evolution.cli.evaluate:print_listening",
    rate="spikefly.evolution.audio_task:listening_rate",
    episode_word="clip",
    review_parts=ReviewParts(record=f"{_REVIEW}.record:record_listening", plot_episodes=f"{_REVIEW}.plots:detections_section",
                             io_names=f"{_REVIEW}.plots:listening_io_names"),
    baseline_parts=BaselineParts(
        worlds=("kitchen", "street", "office"), holdout_world="office", vec_env=f"{_BASELINES}.vec_envs:listening_vec_env",
        score=f"{_BASELINES}.rl:listening_score", test_figures=f"{_BASELINES}.bench_table:listening_figures",
        columns=f"{_BASELINES}.bench_table:LISTENING_COLUMNS", energy_column=f"{_BASELINES}.bench_table:LISTENING_ENERGY",
        episode_steps=6000)))
