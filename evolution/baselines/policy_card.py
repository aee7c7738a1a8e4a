"""A trained RL policy as a controller: the card file, acting, its size and its cost on a board.

``spikefly baseline`` (:mod:`spikefly.evolution.baselines.rl`) writes a card beside the policy::

    {"kind": "sb3_policy", "format_version": 1, "algorithm": "ppo" | "recurrent_ppo" | "spiking_ppo", "policy_class": ...,
     "policy": "policy.zip",                       (SB3's own format, relative to the card)
     "env": {"id": ..., "settings": {...}, "observation_space": {...}, "action_space": {...}},
     "size": {"parameters": ..., "parameters_total": ..., "macs_per_step": ..., "layers": [...], "counted": ...},
     "training": {"training_steps", "env_steps", "wall_clock_s", "selected", "settings", ...},
     "board": {"board": ...}, "metadata": {"worlds": [...], "seed": ...}, "versions": {...}}

``spikefly evaluate CARD`` flies it through the same paths as a spiking controller:
:class:`PolicyCard` offers what :func:`spikefly.evolution.evaluate.evaluate_controller` uses of a
``ControllerSpec`` (``env_id``, ``env_settings``, ``observation_low``, ``controller()``), plus
:func:`fly_card_twin`, :class:`PolicyListener` and :func:`policy_cost` for the twin, the
audio task and the board table. Loading a card unpickles nothing but the SB3 zip it names.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from spikefly.core import SpikeflyError
from spikefly.evolution.episodes import EpisodeSet

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

ALGORITHMS = ("ppo", "recurrent_ppo", "spiking_ppo")
CARD_KIND = "sb3_policy"
POLICY_FILE = "policy.zip"
CARD_FILE = "card.json"
INSTALL_HINT = 'the RL baselines need Stable-Baselines3, sb3-contrib and torch. Fix: pip install torch==2.13.0 "spikefly[rl]"'


class BaselineError(SpikeflyError):
    """Bad baseline input (settings, card file): the message names it and the fix."""


def import_sb3():
    try:
        import stable_baselines3
        import torch
    except ImportError as error:
        raise BaselineError(INSTALL_HINT) from error
    return stable_baselines3, torch


def algorithm_class(algorithm: str):
    import_sb3()
    if algorithm in ("ppo", "spiking_ppo"):
        from stable_baselines3 import PPO

        if algorithm == "spiking_ppo":  # its policy class must exist before SB3 loads or builds one
            from spikefly.evolution.baselines.spiking_policy import build_classes

            build_classes()
        return PPO
    try:
        from sb3_contrib import RecurrentPPO
    except ImportError as error:
        raise BaselineError(INSTALL_HINT) from error
    return RecurrentPPO


# -- acting ---------------------------------------------------------------------------------------
class PolicyController:
    """A trained policy behind the interface of a spiking controller: ``reset(seed)``, ``act(obs)``, ``counts``.

    A recurrent policy keeps its LSTM state across ``act`` calls; ``reset`` starts a new
    episode (the next call passes ``episode_start=True``). Actions are deterministic.
    """

    def __init__(self, model: BaseAlgorithm, recurrent: bool) -> None:
        from spikefly.evolution.baselines.spiking_policy import spiking_actor

        self.model = model
        self.recurrent = recurrent
        self._state = None
        self._episode_start = np.ones(1, bool)
        self._spiking = spiking_actor(model)
        self._n_actions = int(np.prod(model.action_space.shape or (1,)))

    @property
    def counts(self):
        """Operations since the last reset: a spiking actor's, counted (its input layer's MACs are on
        the card); none for an ANN (its MACs are on the card)."""
        from spikefly.controllers import OperationCounts

        if self._spiking is None:
            return OperationCounts(0, 0, 0, 0)
        per_step, steps = self._spiking.counts(self._n_actions), self._spiking.calls
        return OperationCounts(round(per_step["neuron_updates"] * steps), round(per_step["spikes"] * steps), 0,
                               round(per_step["synaptic_ops"] * steps))

    def reset(self, seed: int | None = None) -> None:
        self._state = None
        self._episode_start = np.ones(1, bool)
        if self._spiking is not None:
            self._spiking.reset_counts()

    def act(self, observation: NDArray[np.float32]) -> NDArray[np.float32]:
        if self.recurrent:
            action, self._state = self.model.predict(observation[None], state=self._state,
                                                     episode_start=self._episode_start, deterministic=True)
            self._episode_start = np.zeros(1, bool)
        else:
            action, _ = self.model.predict(observation[None], deterministic=True)
        return action[0]


def predict_batch(model: BaseAlgorithm, recurrent: bool, observations, state, episode_start):
    """Deterministic actions for a batch [B, n_obs]; returns (actions, state)."""
    if recurrent:
        return model.predict(observations, state=state, episode_start=episode_start, deterministic=True)
    return model.predict(observations, deterministic=True)[0], None


def fly_twin(model: BaseAlgorithm, recurrent: bool, episodes: EpisodeSet, env_settings: dict[str, Any]):
    """Every episode at once on the twin (one drone each), deterministic actions; returns the finished
    :class:`~spikefly.envs.twin.batch.QuadrotorTwin` (outcomes, steps, times per drone) and the returns float64[E]."""
    from spikefly.envs.twin.batch import QuadrotorTwin
    from spikefly.envs.twin.worlds import TwinWorlds

    count = len(episodes)
    twin = QuadrotorTwin(count, **env_settings)
    observations = twin.reset(TwinWorlds.draw(list(episodes.worlds), list(episodes.seeds)), np.arange(count), list(episodes.seeds))
    returns = np.zeros(count)
    state, start = None, np.ones(count, bool)
    while True:
        actions, state = predict_batch(model, recurrent, observations, state, start)
        start[:] = False
        observations, rewards, terminated, truncated = twin.step(actions)
        returns += rewards
        if np.all(terminated | truncated):
            return twin, returns


# -- model size ----------------------------------------------------------------------------------
def actor_size(model: BaseAlgorithm) -> dict[str, Any]:
    """Parameters and multiply-accumulates per control step of the ACTOR path (what is deployed).

    Counted from the policy's torch modules: the features extractor (a flatten), the policy
    LSTM if any (4 gates x hidden x (inputs + hidden) MACs per layer), the actor MLP and the
    action head. The critic (value net, critic LSTM) is training-only and counted apart in
    ``parameters_total``. Activations and the LSTM's element-wise products are not MACs.
    """
    import torch

    from spikefly.evolution.baselines.spiking_policy import actor_layers, spiking_actor

    policy = model.policy
    actor = spiking_actor(model)
    if actor is not None:  # its synaptic ops depend on its spikes: counted in flight, priced from the counts
        head = policy.action_net
        layers = [*actor_layers(actor), {"kind": "readout", "in": head.in_features, "out": head.out_features}]
        parameters = sum(p.numel() for p in (*actor.parameters(), *head.parameters()))
        return {"parameters": int(parameters), "parameters_total": int(sum(p.numel() for p in policy.parameters())),
                "macs_per_step": int(actor.layers[0].in_features * actor.layers[0].out_features), "layers": layers}
    modules = [policy.mlp_extractor.policy_net, policy.action_net]
    if getattr(policy, "lstm_actor", None) is not None:
        modules.insert(0, policy.lstm_actor)
    parameters = macs = 0
    layers: list[dict[str, Any]] = []
    for module in modules:
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                macs += layer.in_features * layer.out_features
                parameters += sum(p.numel() for p in layer.parameters())
                layers.append({"kind": "linear", "in": layer.in_features, "out": layer.out_features})
            elif isinstance(layer, torch.nn.LSTM):
                inputs = layer.input_size
                for _ in range(layer.num_layers):
                    macs += 4 * layer.hidden_size * (inputs + layer.hidden_size)
                    inputs = layer.hidden_size
                parameters += sum(p.numel() for p in layer.parameters())
                layers.append({"kind": "lstm", "in": layer.input_size, "hidden": layer.hidden_size, "layers": layer.num_layers})
    total = sum(p.numel() for p in policy.parameters())
    return {"parameters": int(parameters), "parameters_total": int(total), "macs_per_step": int(macs), "layers": layers}


# -- the card ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyCard:
    """A trained RL policy as ``spikefly evaluate`` sees it (duck-types the parts of ControllerSpec it uses)."""

    path: Path
    """The card file."""
    algorithm: str
    policy_path: Path
    """The SB3 zip, resolved from the card's relative path."""
    env_id: str
    env_settings: dict[str, Any]
    observation_low: NDArray[np.float32]
    observation_high: NDArray[np.float32]
    n_actions: int
    parameters: int
    macs_per_step: int
    layers: list[dict[str, Any]]
    metadata: dict[str, Any]
    board: dict[str, Any] | None = None
    kind: str = CARD_KIND
    network: None = None
    """No spiking network: evaluate's listener passes ``[card.network]`` through to :class:`PolicyListener`."""

    @property
    def recurrent(self) -> bool:
        return self.algorithm == "recurrent_ppo"

    def load_model(self) -> BaseAlgorithm:
        _, torch = import_sb3()
        torch.set_num_threads(1)  # batch-of-one inference: more threads only add contention on a small machine
        return algorithm_class(self.algorithm).load(self.policy_path, device="cpu")

    def controller(self) -> PolicyController:
        return PolicyController(self.load_model(), self.recurrent)

    def listener(self) -> PolicyListener:
        return PolicyListener(self)

    def network_summary(self) -> dict[str, Any]:
        return {"kind": CARD_KIND, "algorithm": self.algorithm, "parameters": self.parameters, "macs_per_step": self.macs_per_step}


def is_card(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a JSON policy card (``"kind": "sb3_policy"``), not a spiking controller file."""
    try:
        with open(path) as handle:
            document = json.load(handle)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(document, dict) and document.get("kind") == CARD_KIND


def load_card(path: str | os.PathLike[str]) -> PolicyCard:
    """Read a policy card; a missing key or policy file is a :class:`BaselineError` naming it."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as error:
        raise BaselineError(f"{path}: cannot read the policy card ({str(error)[:80]}). "
                            "Fix: pass the card.json spikefly baseline wrote") from None
    if not isinstance(document, dict) or document.get("kind") != CARD_KIND:
        raise BaselineError(f"{path}: not a policy card (no \"kind\": \"{CARD_KIND}\")")
    try:
        env = document["env"]
        size = document["size"]
        policy_path = (path.parent / document["policy"]).resolve()
        card = PolicyCard(
            path=path, algorithm=document["algorithm"], policy_path=policy_path, env_id=env["id"],
            env_settings=dict(env["settings"]), observation_low=np.array(env["observation_space"]["low"], np.float32),
            observation_high=np.array(env["observation_space"]["high"], np.float32),
            # as a spiking controller counts them: 4 set-points, or one output per audio class (Discrete(1 + C))
            n_actions=int(env["action_space"]["n"]) - 1 if env["action_space"]["type"] == "Discrete" else int(env["action_space"]["shape"][0]),
            parameters=int(size["parameters"]), macs_per_step=int(size["macs_per_step"]), layers=list(size["layers"]),
            metadata=dict(document.get("metadata", {})), board=document.get("board"),
        )
    except (KeyError, TypeError, IndexError) as error:
        raise BaselineError(f"{path}: policy card is missing or has a bad key {error}. Fix: re-run spikefly baseline") from error
    if card.algorithm not in ALGORITHMS:
        raise BaselineError(f"{path}: algorithm {card.algorithm!r} is not one of {ALGORITHMS}")
    if not policy_path.is_file():
        raise BaselineError(f"{path}: its policy file {policy_path} is missing. Fix: keep {document['policy']} beside the card")
    return card


def space_dict(space) -> dict[str, Any]:
    from gymnasium import spaces

    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n)}
    return {"type": "Box", "shape": list(space.shape), "low": space.low.tolist(), "high": space.high.tolist(),
            "dtype": str(space.dtype)}


# -- spikefly evaluate's hooks (evolution/evaluate.py calls these for a card) ---------------------
def fly_card_twin(card: PolicyCard, world: str, seeds: list[int]) -> list[dict[str, Any]]:
    """``spikefly evaluate --physics twin`` rows of a policy card (PyBullet flies it through ``card.controller()``)."""
    from spikefly.controllers import OperationCounts
    from spikefly.evolution.episodes import episode_row

    from spikefly.evolution.baselines.spiking_policy import spiking_actor

    episodes = EpisodeSet(tuple([str(world)] * len(seeds)), tuple(seeds))
    model = card.load_model()
    twin, returns = fly_twin(model, card.recurrent, episodes, card.env_settings)
    actor = spiking_actor(model)  # the drones fly in one batch: each episode gets the mean counts per step
    per_step = actor.counts(card.n_actions) if actor is not None else None
    rows = []
    for e, seed in enumerate(seeds):
        info = {"time_s": twin.time_s[e], "min_clearance_m": twin.min_clearance_m[e], "rotor_energy_j": twin.rotor_energy_j[e]}
        steps = int(twin.steps[e])
        counts = OperationCounts(0, 0, 0, 0) if per_step is None else OperationCounts(
            round(per_step["neuron_updates"] * steps), round(per_step["spikes"] * steps), 0, round(per_step["synaptic_ops"] * steps))
        rows.append(episode_row(world, seed, twin.outcomes[e], returns[e], steps, info, counts))
    return rows


class PolicyListener:
    """PopulationListener's interface for a policy: ``run([ignored], features, seeds)`` -> (actions int8[1, E, T], ops [1, E, 4], lengths [E])."""

    def __init__(self, card: PolicyCard) -> None:
        self.card = card
        self.model = card.load_model()

    def run(self, networks: list, features: list[NDArray[np.float32]], seeds: list[int]):
        lengths = np.array([len(f) for f in features], np.int64)
        actions = np.zeros((1, len(features), int(lengths.max(initial=1))), np.int8)
        for e, frames in enumerate(features):
            actions[0, e, : len(frames)] = self._classes(frames)
        return actions, np.zeros((1, len(features), 4), np.int64), lengths

    def _classes(self, frames: NDArray[np.float32]) -> NDArray[np.int64]:
        return clip_actions(self.model, self.card.recurrent, frames)


def clip_actions(model: BaseAlgorithm, recurrent: bool, frames: NDArray[np.float32]) -> NDArray[np.int64]:
    """The policy's deterministic actions on one clip's frames [T, bands]: an MLP in one batch, an
    LSTM frame by frame with its state carried through the clip."""
    if not recurrent:
        return model.predict(frames, deterministic=True)[0].astype(np.int64)
    state, start, out = None, np.ones(1, bool), np.zeros(len(frames), np.int64)
    for t, frame in enumerate(frames):
        action, state = model.predict(frame[None], state=state, episode_start=start, deterministic=True)
        start = np.zeros(1, bool)
        out[t] = int(action[0])
    return out


def policy_cost(card: PolicyCard, board, control_hz: float, fixed_macs: int = 0, weight_bits: int = 8,
                report: dict[str, Any] | None = None):
    """Cost per control step of the policy's actor on ``board`` (a :class:`~spikefly.controllers.cost_model.CostReport`).

    An MLP is priced by :func:`~spikefly.controllers.cost_model.dense_ann_cost` on its real layer
    sizes; an LSTM policy, or one charged ``fixed_macs`` (an MCU computing the audio front end),
    by its MACs (:func:`~spikefly.controllers.cost_model.arithmetic_cost`, weights in flash, state and
    activations in RAM). :func:`spikefly.evolution.evaluate.board_costs` calls it per board.
    """
    from spikefly.controllers.cost_model import StepCounts, arithmetic_cost, dense_ann_cost, layered_spiking_cost

    if card.algorithm == "spiking_ppo":  # priced from the operations counted in the flights of ``report``
        rows = (report or {}).get("episodes") or []
        steps = max(1, sum(row["steps"] for row in rows))
        totals = [sum(row[key] for row in rows) / steps for key in ("neuron_updates", "spikes", "input_events", "synaptic_ops")]
        counts = StepCounts(*totals, macs=float(card.macs_per_step + fixed_macs))
        return layered_spiking_cost(card.layers, counts, board, control_hz, weight_bits)
    linear = [layer for layer in card.layers if layer["kind"] == "linear"]
    sizes = [linear[0]["in"], *(layer["out"] for layer in linear)]
    if len(linear) == len(card.layers) and not fixed_macs:
        return dense_ann_cost(sizes, board, control_hz, weight_bits)
    state = sum(2 * layer.get("hidden", 0) * layer.get("layers", 1) for layer in card.layers)
    return arithmetic_cost(card.macs_per_step + fixed_macs, board, control_hz,
                           flash_bytes=math.ceil(card.parameters * weight_bits / 8),
                           ram_bytes=4 * (state + 2 * max(sizes)), weight_bits=weight_bits)
