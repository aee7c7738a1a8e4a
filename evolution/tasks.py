"""The task boundary: what evolution asks of a task, and the registry of tasks by env id.

A task is what a controller is evolved for: the quadrotor flying obstacle courses, the audio
detector listening to soundscapes, or one of your own. The run, the evaluators and ``spikefly
evolve`` know a task only through :class:`Task`:

- ``name`` (``spikefly evolve --env NAME``) and ``env_id`` (written into every controller file);
- ``defaults``: the :class:`~spikefly.evolution.settings.EvolveSettings` values of the task's
  default run, laid over the dataclass defaults (worlds, encoder, board, ...);
- ``check(settings)``: every world loads as the task's kind of world and the env settings are
  the task's, or a :class:`~spikefly.core.SpikeflyError` naming the file, the key and the fix,
  before anything is written;
- ``make_flyer(settings)``: an object that flies (or listens with) a list of compiled networks
  over an :class:`~spikefly.evolution.episodes.EpisodeSet`. It has ``low`` and ``high`` (the
  observation bounds the encoder scales by), ``n_actions``, ``control_hz``,
  ``reference_physics`` (where the champion is re-flown at the end, or None), optionally
  ``neat_overrides`` (NEAT config values of the task), and ``fly(networks, episodes,
  physics=None)``, which returns per-network, per-episode arrays with ``returns``, ``steps``,
  ``ops`` (neuron updates, spikes, input events, synaptic ops) and ``success`` (all [G, E];
  ops [G, E, 4]), such as :class:`~spikefly.evolution.fused_rollout.RolloutResults`.

:func:`register_task` adds a task; ``spikefly evolve --env NAME`` then evolves it through the
same run, checkpoints, evaluators and board costs as the bundled two (``tests/evolution/
test_tasks.py`` registers a third from the test file). The bundled tasks name their parts as
``module:attribute`` strings, imported when first used, so listing tasks imports neither
PyBullet nor the audio front end.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from spikefly.core import SpikeflyError
from spikefly.envs import AUDIO_EVENT_ID, QUADROTOR_AVOID_ID


class TaskError(SpikeflyError):
    """An env id or task name no registered task has, or settings the task cannot take."""


class Task(Protocol):
    name: str
    env_id: str

    metric: str

    @property
    def defaults(self) -> Mapping[str, Any]: ...

    def next_steps(self, champion: str, worlds: tuple[str, ...]) -> list[str]: ...

    def evaluate(self, spec: Any, worlds: Any, episodes: Any, seed: int, **options: Any) -> dict[str, Any]: ...

    def check(self, settings: Any) -> None: ...

    def make_flyer(self, settings: Any) -> Any: ...


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
    hints: Callable[[str, tuple[str, ...]], list[str]] | None = None
    """``hints(champion_path, worlds)``: the commands ``spikefly evolve`` prints after a run (None:
    ``spikefly evaluate`` on the training worlds)."""

    def next_steps(self, champion: str, worlds: tuple[str, ...]) -> list[str]:
        """What to run on the champion next, one line each."""
        if self.hints is not None:
            return self.hints(champion, worlds)
        return [f"evaluate it on new episodes: spikefly evaluate {champion} --world {' '.join(worlds)} --seed 0"]

    @property
    def defaults(self) -> Mapping[str, Any]:
        return _resolve(self.defaults_of)

    def check(self, settings: Any) -> None:
        if self.load_world is not None:
            load = _resolve(self.load_world)
            for world in settings.worlds:
                load(world)
        if self.env_settings is None:
            if settings.env_settings:
                raise TaskError(f"env_settings: the {self.name} task takes none, got {sorted(settings.env_settings)}. "
                                    "Fix: remove env_settings from the settings file")
            return
        kind = _resolve(self.env_settings)
        try:
            kind.from_kwargs(**settings.env_settings)
        except (TypeError, ValueError) as error:
            raise TaskError(f"env_settings: {error}. Fix: correct that key in the settings file "
                                f"(help({kind.__module__}.{kind.__name__}) lists them)") from None

    def make_flyer(self, settings: Any) -> Any:
        return _resolve(self.flyer)(settings)

    def evaluate(self, spec: Any, worlds: Any, episodes: Any, seed: int, **options: Any) -> dict[str, Any]:
        return _resolve(self.evaluator)(spec, worlds, episodes, seed, **options)


def _resolve(part: Any) -> Any:
    if not isinstance(part, str):
        return part
    module, _, attribute = part.partition(":")
    return getattr(importlib.import_module(module), attribute)


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


def make_flyer(settings: Any) -> Any:
    """The flyer of ``settings.env_id``'s task."""
    return task_for(settings.env_id).make_flyer(settings)


def _quadrotor_hints(champion: str, worlds: tuple[str, ...]) -> list[str]:
    return [f"fly it on unseen layouts: spikefly evaluate {champion} --world {' '.join(worlds)} --episodes 50 --seed 0",
            f"on held-out courses no run trains on: spikefly evaluate {champion} --suite heldout",
            f"with noise, wind and model error: spikefly evaluate {champion} --suite heldout --randomise"]


def _audio_hints(champion: str, worlds: tuple[str, ...]) -> list[str]:
    return [f"hear it on unseen clips: spikefly evaluate {champion} --episodes 60 --seed 0"]


register_task(TaskParts("quadrotor", QUADROTOR_AVOID_ID, flyer="spikefly.evolution.evaluators:Flyer",
                        load_world="spikefly.worlds:load_world",
                        env_settings="spikefly.envs.quadrotor_settings:QuadrotorSettings", hints=_quadrotor_hints,
                        evaluator="spikefly.evolution.evaluate:evaluate_flights"))
register_task(TaskParts("audio", AUDIO_EVENT_ID, flyer="spikefly.evolution.audio_task:AudioFlyer",
                        defaults_of="spikefly.evolution.audio_task:AUDIO_DEFAULTS",
                        load_world="spikefly.worlds.soundscape:load_soundscape",
                        env_settings="spikefly.envs.audio_env:AudioSettings", metric="event F1", hints=_audio_hints,
                        evaluator="spikefly.evolution.evaluate:evaluate_listening"))
