"""A spiking actor for PPO: LIF neurons trained with surrogate gradients (snnTorch), beside the MLP.

``spikefly baseline spiking_ppo`` (and ``spikefly bench --methods neat,ppo,spiking_ppo``) trains
SB3's PPO with :class:`SpikingActorCriticPolicy`: the same algorithm, env, budget and selection
as the MLP baseline, only the actor is a spiking network, so users see evolution against
gradient training of the same kind of network.

The actor (:class:`SpikingActor`), every control step:

- the observation, through a linear layer, is a constant input current for ``steps`` LIF
  substeps (8, as an evolved controller's ``steps_per_action``);
- two layers of snnTorch ``Leaky`` neurons (membrane ``v = beta * v + current``, spike when
  ``v > 1``, reset by subtracting the threshold, as spikefly's LIF neurons with
  ``RESET_SUBTRACT``; ``beta`` 0.9) pass spikes layer to layer within the substep;
- the action is SB3's linear action head on the last layer's spike rate over the substeps (a
  rate read-out, as spikefly's rate decoder).

The gradient passes the spike through snnTorch's fast-sigmoid surrogate. The membranes start at
rest every control step (no state across steps: the policy stays a plain PPO policy). The critic
is an MLP (64, 64, tanh) used only in training.

Cost. The actor counts what it does (:meth:`SpikingActor.counts`): neuron updates (every LIF
neuron every substep), spikes, synaptic ops (each spike times its fan-out, the read-out's
included) and the input layer's multiply-accumulates (once per control step). ``spikefly
evaluate`` prices those measured counts on the board with the same figures as an evolved
network (:func:`spikefly.controllers.cost_model.layered_spiking_cost`).
"""

from __future__ import annotations

from typing import Any

from spikefly.core import SpikeflyError

LIF_HIDDEN = (64, 64)
LIF_STEPS = 8
LIF_BETA = 0.9
INSTALL_HINT = 'the spiking PPO baseline needs snnTorch. Fix: pip install torch==2.13.0 "spikefly[rl]"'


class SpikingPolicyError(SpikeflyError):
    """snnTorch (or torch, SB3) is missing: the message has the install line."""


def _modules():
    """torch, snnTorch and SB3's policy base, imported on first use (optional extras)."""
    try:
        import snntorch
        import torch
        from snntorch import surrogate
        from stable_baselines3.common.policies import ActorCriticPolicy
    except ImportError as error:
        raise SpikingPolicyError(INSTALL_HINT) from error
    return torch, snntorch, surrogate, ActorCriticPolicy


def build_classes() -> tuple[type, type]:
    """(SpikingActor, SpikingActorCriticPolicy), built once on first use; module attributes afterwards
    (so pickles and SB3's loader find them by name)."""
    if "SpikingActorCriticPolicy" in globals():
        return globals()["SpikingActor"], globals()["SpikingActorCriticPolicy"]
    torch, snntorch, surrogate, ActorCriticPolicy = _modules()
    nn = torch.nn

    class SpikingActor(nn.Module):
        """Linear input current, two LIF layers over ``steps`` substeps, the last layer's spike rate out."""

        def __init__(self, n_inputs: int, hidden: tuple[int, ...] = LIF_HIDDEN, steps: int = LIF_STEPS,
                     beta: float = LIF_BETA) -> None:
            super().__init__()
            self.steps = int(steps)
            sizes = (n_inputs, *hidden)
            self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
            grad = surrogate.fast_sigmoid(slope=25)
            self.neurons = nn.ModuleList(snntorch.Leaky(beta=beta, threshold=1.0, spike_grad=grad, reset_mechanism="subtract")
                                         for _ in hidden)
            self.spikes_per_layer = torch.zeros(len(hidden))
            self.calls = 0

        def forward(self, observation):
            current = self.layers[0](observation)
            membranes = [current.new_zeros(*current.shape[:-1], layer.out_features) for layer in self.layers]
            rate = 0.0
            counted = torch.zeros(len(self.neurons))
            for _ in range(self.steps):
                drive = current
                for index, neuron in enumerate(self.neurons):
                    if index:
                        drive = self.layers[index](drive)
                    drive, membranes[index] = neuron(drive, membranes[index])
                    counted[index] += drive.detach().sum()
                rate = rate + drive
            self.spikes_per_layer += counted
            self.calls += int(observation.shape[0]) if observation.dim() > 1 else 1
            return rate / self.steps

        def reset_counts(self) -> None:
            self.spikes_per_layer.zero_()
            self.calls = 0

        def counts(self, n_actions: int) -> dict[str, float]:
            """Mean operations per control step since the last reset (module docstring)."""
            calls = max(self.calls, 1)
            spikes = (self.spikes_per_layer / calls).tolist()
            fan_out = [layer.out_features for layer in self.layers[1:]] + [n_actions]
            neurons = sum(layer.out_features for layer in self.layers)
            return {"neuron_updates": float(neurons * self.steps), "spikes": float(sum(spikes)),
                    "synaptic_ops": float(sum(s * f for s, f in zip(spikes, fan_out))),
                    "macs": float(self.layers[0].in_features * self.layers[0].out_features)}

    class SpikingExtractor(nn.Module):
        """SB3's ``mlp_extractor``: the spiking actor beside an MLP critic."""

        def __init__(self, feature_dim: int, hidden: tuple[int, ...], steps: int, beta: float) -> None:
            super().__init__()
            self.policy_net = SpikingActor(feature_dim, hidden, steps, beta)
            self.value_net = nn.Sequential(nn.Linear(feature_dim, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
            self.latent_dim_pi, self.latent_dim_vf = hidden[-1], 64

        def forward(self, features):
            return self.forward_actor(features), self.forward_critic(features)

        def forward_actor(self, features):
            return self.policy_net(features)

        def forward_critic(self, features):
            return self.value_net(features)

    class SpikingActorCriticPolicy(ActorCriticPolicy):
        """PPO's actor-critic with the spiking actor (``lif_hidden``, ``lif_steps``, ``lif_beta`` keyword settings)."""

        def __init__(self, *args: Any, lif_hidden: tuple[int, ...] = LIF_HIDDEN, lif_steps: int = LIF_STEPS,
                     lif_beta: float = LIF_BETA, **kwargs: Any) -> None:
            self.lif_hidden, self.lif_steps, self.lif_beta = tuple(lif_hidden), int(lif_steps), float(lif_beta)
            super().__init__(*args, **kwargs)

        def _build_mlp_extractor(self) -> None:
            self.mlp_extractor = SpikingExtractor(self.features_dim, self.lif_hidden, self.lif_steps, self.lif_beta)

        def _get_constructor_parameters(self) -> dict[str, Any]:
            data = super()._get_constructor_parameters()
            data.update(lif_hidden=self.lif_hidden, lif_steps=self.lif_steps, lif_beta=self.lif_beta)
            return data

    SpikingActor.__module__ = SpikingExtractor.__module__ = SpikingActorCriticPolicy.__module__ = __name__
    SpikingActor.__qualname__, SpikingExtractor.__qualname__ = "SpikingActor", "SpikingExtractor"
    SpikingActorCriticPolicy.__qualname__ = "SpikingActorCriticPolicy"
    globals().update(SpikingActor=SpikingActor, SpikingExtractor=SpikingExtractor,
                     SpikingActorCriticPolicy=SpikingActorCriticPolicy)
    return SpikingActor, SpikingActorCriticPolicy


def __getattr__(name: str):
    """``SpikingActorCriticPolicy`` and friends on first access (SB3's loader imports them by name)."""
    if name in ("SpikingActor", "SpikingExtractor", "SpikingActorCriticPolicy"):
        build_classes()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def spiking_actor(model):
    """The :class:`SpikingActor` of a trained model, or None for an MLP or LSTM policy."""
    extractor = getattr(model.policy, "mlp_extractor", None)
    actor = getattr(extractor, "policy_net", None)
    return actor if type(actor).__name__ == "SpikingActor" else None


def actor_layers(actor) -> list[dict[str, Any]]:
    """The card's ``layers`` of a spiking actor: its linear maps and LIF layers."""
    layers: list[dict[str, Any]] = [{"kind": "linear", "in": actor.layers[0].in_features, "out": actor.layers[0].out_features}]
    for index, layer in enumerate(actor.layers):
        if index:
            layers.append({"kind": "synapses", "in": layer.in_features, "out": layer.out_features})
        layers.append({"kind": "lif", "neurons": layer.out_features, "steps": actor.steps})
    return layers
