"""The LIF genome: a neat-python 2.0.0 plug-in whose genes are leaky integrate-and-fire neurons.

Genes (every attribute is configured in the ``[LIFGenome]`` section, see ``lif_neat.ini``):

===================  =========================================================================
node gene            ``bias`` (membrane units per step), ``threshold`` (> 0), ``beta`` (membrane
                     decay per step, in [0, 1)), ``refractory`` (steps, >= 0), ``adaptation``
                     (threshold increment per spike, >= 0; switched off by
                     ``evolve_adaptation = False``: then fixed at 0 and never mutated)
connection gene      ``weight`` (membrane units per spike), ``enabled``, ``delay`` (extra steps,
                     >= 0; switched off by ``evolve_delay = False``: then always 0), plus the
                     ``innovation`` number neat-python 2.0.0 requires
===================  =========================================================================

Every neuron resets its membrane to zero after a spike (``RESET_ZERO``); the adaptation decay is
one constant of the config (``adaptation_decay``), not a gene. The update semantics are those
of :mod:`spikefly.controllers.network`; :mod:`spikefly.evolution.compile` turns a genome into a
:class:`~spikefly.controllers.LIFNetwork`.

Differences from :class:`neat.DefaultGenome` (each one keeps a spiking network's behaviour):

- **add-node inserts a relay** (:meth:`LIFGenome.mutate_add_node`). Splitting the enabled
  connection ``a -> b`` (weight ``w``, delay ``d``) adds neuron ``n`` with bias 0, beta 0,
  refractory 0, adaptation 0 and threshold :data:`RELAY_THRESHOLD`, the connection ``a -> n``
  with weight :data:`RELAY_WEIGHT` (>= the threshold) and delay 0, and ``n -> b`` with weight
  ``w`` and delay ``d - 1``. ``n`` then fires in exactly the steps in which a spike of ``a``
  arrives (its membrane is 0 between spikes, so beta is irrelevant), and the relayed spike
  reaches ``b`` in the same step, with the same weight, as before. Exact for ``d >= 1``; for
  ``d = 0`` the relay adds one unavoidable step of latency to that one connection. What "exact"
  means and where it stops is spelled out in :meth:`LIFGenome.mutate_add_node`.
  neat's own add-node is not neutral for LIF neurons (random threshold and beta, weight 1.0 into
  a neuron that may not fire, and it may split a disabled connection back to life).
- **initial hidden neurons are homologous**: with ``num_hidden = h`` every initial genome has
  the hidden keys ``num_outputs .. num_outputs + h - 1`` (neat 2.0.0 gives each genome fresh
  keys, so no two initial genomes share a hidden gene and their connections never line up in
  crossover).
- **gaussian initial values are redrawn, not clamped**, when they fall outside
  ``[min_value, max_value]`` (neat clamps, which piles probability mass on the bounds).
- integer genes (``refractory``, ``delay``) have ``init_mean`` / ``init_stdev`` (rounded
  gaussian) instead of neat's uniform draw over ``[min_value, max_value]``.

Randomness: neat-python draws from Python's global :mod:`random` module only. Call
:func:`seed_everything` before building a population. The spikefly kernels use no global random
state at all (their randomness comes from explicit keys and generators).
"""

from __future__ import annotations

import random
import re
from itertools import count
from random import choice, gauss

import neat
import numpy as np
from neat.attributes import BoolAttribute, FloatAttribute, IntegerAttribute
from neat.config import ConfigParameter, UnknownConfigItemError
from neat.genes import BaseGene, DefaultConnectionGene
from neat.genome import DefaultGenomeConfig
from numba import njit

__all__ = [
    "RELAY_THRESHOLD",
    "RELAY_WEIGHT",
    "LIFConnectionGene",
    "LIFGenome",
    "LIFGenomeConfig",
    "LIFNodeGene",
    "quiet_genome",
    "seed_everything",
]

RELAY_WEIGHT = 1.0
"""Weight of the connection into a relay neuron made by add-node (membrane units per spike)."""
RELAY_THRESHOLD = 0.5
"""Threshold of a relay neuron: below :data:`RELAY_WEIGHT`, so one arriving spike fires it."""

_INIT_REDRAWS = 32  # gaussian draws before falling back to clamping (only when mean is far out of range)


class LIFFloatAttribute(FloatAttribute):
    """A :class:`~neat.attributes.FloatAttribute` with redrawn gaussian initial values and an
    optional on/off switch (a bool key of the genome section; off: 0.0, never mutated)."""

    def __init__(self, name: str, switch: str | None = None, **defaults: object) -> None:
        super().__init__(name, **defaults)
        self.switch = switch

    def is_on(self, config: object) -> bool:
        return self.switch is None or bool(getattr(config, self.switch))

    def init_value(self, config: object) -> float:
        if not self.is_on(config):
            return 0.0
        init_type = getattr(config, self.init_type_name).lower()
        if "gauss" not in init_type and "normal" not in init_type:
            return super().init_value(config)
        mean, stdev = getattr(config, self.init_mean_name), getattr(config, self.init_stdev_name)
        low, high = getattr(config, self.min_value_name), getattr(config, self.max_value_name)
        for _ in range(_INIT_REDRAWS):
            value = gauss(mean, stdev)
            if low <= value <= high:
                return value
        return self.clamp(value, config)

    def mutate_value(self, value: float, config: object) -> float:
        return super().mutate_value(value, config) if self.is_on(config) else value


class LIFIntegerAttribute(IntegerAttribute):
    """An :class:`~neat.attributes.IntegerAttribute` whose initial value is a rounded gaussian
    (``init_mean``, ``init_stdev``; redrawn when outside ``[min_value, max_value]``), with an
    optional on/off switch like :class:`LIFFloatAttribute` (off: 0, never mutated)."""

    _config_items = {**IntegerAttribute._config_items, "init_mean": [float, None], "init_stdev": [float, None]}

    def __init__(self, name: str, switch: str | None = None, **defaults: object) -> None:
        super().__init__(name, **defaults)
        self.switch = switch

    def is_on(self, config: object) -> bool:
        return self.switch is None or bool(getattr(config, self.switch))

    def init_value(self, config: object) -> int:
        if not self.is_on(config):
            return 0
        mean, stdev = getattr(config, self.init_mean_name), getattr(config, self.init_stdev_name)
        low, high = getattr(config, self.min_value_name), getattr(config, self.max_value_name)
        for _ in range(_INIT_REDRAWS):
            value = round(gauss(mean, stdev))
            if low <= value <= high:
                return value
        return self.clamp(value, config)

    def mutate_value(self, value: int, config: object) -> int:
        return super().mutate_value(value, config) if self.is_on(config) else value


class LIFNodeGene(BaseGene):
    """One LIF neuron (hidden or output). Resets to zero after a spike."""

    _gene_attributes = [
        LIFFloatAttribute("bias"),
        LIFFloatAttribute("threshold"),
        LIFFloatAttribute("beta"),
        LIFIntegerAttribute("refractory"),
        LIFFloatAttribute("adaptation", switch="evolve_adaptation"),
    ]

    def __init__(self, key: int) -> None:
        assert isinstance(key, int), f"LIFNodeGene key must be an int, not {key!r}"
        super().__init__(key)

    def distance(self, other: LIFNodeGene, config: LIFGenomeConfig) -> float:
        d = (abs(self.bias - other.bias) + abs(self.threshold - other.threshold) + abs(self.beta - other.beta)
             + abs(self.refractory - other.refractory) + abs(self.adaptation - other.adaptation))
        return d * config.compatibility_weight_coefficient


class LIFConnectionGene(DefaultConnectionGene):
    """A synapse ``(source, target)``: weight, enabled, delay (extra steps), innovation number."""

    _gene_attributes = [
        LIFFloatAttribute("weight"),
        BoolAttribute("enabled"),
        LIFIntegerAttribute("delay", switch="evolve_delay"),
    ]

    def distance(self, other: LIFConnectionGene, config: LIFGenomeConfig) -> float:
        d = abs(self.weight - other.weight) + abs(self.delay - other.delay)
        if self.enabled != other.enabled:
            d += 1.0
        return d * config.compatibility_weight_coefficient


# The parameters neat-python 2.0.0's DefaultGenomeConfig declares itself (before the genes'),
# mirrored so that the strict loader knows them without building a config; a test pins them.
DEFAULT_GENOME_PARAMETERS = (
    ConfigParameter("num_inputs", int),
    ConfigParameter("num_outputs", int),
    ConfigParameter("num_hidden", int),
    ConfigParameter("feed_forward", bool),
    ConfigParameter("compatibility_disjoint_coefficient", float),
    ConfigParameter("compatibility_weight_coefficient", float),
    ConfigParameter("conn_add_prob", float),
    ConfigParameter("conn_delete_prob", float),
    ConfigParameter("node_add_prob", float),
    ConfigParameter("node_delete_prob", float),
    ConfigParameter("single_structural_mutation", bool, "false"),
    ConfigParameter("structural_mutation_surer", str, "default"),
    ConfigParameter("initial_connection", str, "unconnected"),
)

LIF_GENOME_PARAMETERS = (
    ConfigParameter("adaptation_decay", float),
    ConfigParameter("evolve_adaptation", bool),
    ConfigParameter("evolve_delay", bool),
)
"""Keys of ``[LIFGenome]`` beyond neat's: the adaptation decay constant (per-step multiplier of
the threshold excess, in [0, 1]) and the two gene switches."""

_COUNT_REPR = re.compile(r"count\((-?\d+)\)")


def peek_count(counter: count, what: str = "counter") -> int:
    """The next value of an ``itertools.count`` (step 1) without consuming it (``what`` names it in errors)."""
    match = _COUNT_REPR.fullmatch(repr(counter))
    if match is None:
        raise TypeError(f"the {what} is {counter!r}, not an itertools.count with step 1")
    return int(match.group(1))


class LIFGenomeConfig(DefaultGenomeConfig):
    """neat's genome config plus :data:`LIF_GENOME_PARAMETERS`; unknown keys raise.

    Pickling does not consume a node key. neat 2.0.0's ``DefaultGenomeConfig.__getstate__``
    calls ``next()`` on the live node indexer, so every pickle of the config (a process pool
    sends one per task) shifts the node keys of all later add-node mutations and a parallel run
    drifts away from a serial one. Here the next key is read from the counter's repr instead.
    (spikefly's evaluators send compact arrays, never the config; this makes it safe anyway.)
    """

    def __init__(self, params: dict[str, object], section_name: str = "LIFGenome") -> None:
        super().__init__(params, section_name)
        for parameter in LIF_GENOME_PARAMETERS:
            setattr(self, parameter.name, parameter.interpret(params, section_name))
        self._params += list(LIF_GENOME_PARAMETERS)
        known = {p.name for p in self._params} | {"node_gene_type", "connection_gene_type"}
        unknown = sorted(set(params) - known)
        if unknown:  # neat 2.0.0 silently ignores these in the genome section
            raise UnknownConfigItemError(f"Unknown configuration item(s) in [{section_name}]: {', '.join(unknown)}")

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["node_indexer"] = None
        state["_node_indexer_next_value"] = None if self.node_indexer is None else peek_count(self.node_indexer, "node indexer")
        return state


class LIFGenome(neat.DefaultGenome):
    """A genome of LIF neurons; its config section is ``[LIFGenome]`` (see module docstring)."""

    @classmethod
    def parse_config(cls, param_dict: dict[str, object]) -> LIFGenomeConfig:
        param_dict["node_gene_type"] = LIFNodeGene
        param_dict["connection_gene_type"] = LIFConnectionGene
        return LIFGenomeConfig(param_dict, cls.__name__)

    @classmethod
    def config_parameters(cls) -> list[ConfigParameter]:
        """Every key of the ``[LIFGenome]`` section (neat's, the genes', spikefly's)."""
        return [*DEFAULT_GENOME_PARAMETERS, *LIFNodeGene.get_config_params(),
                *LIFConnectionGene.get_config_params(), *LIF_GENOME_PARAMETERS]

    def configure_new(self, config: LIFGenomeConfig) -> None:
        """Outputs, then the homologous hidden neurons, then the initial connections."""
        for key in config.output_keys:
            self.nodes[key] = self.create_node(config, key)
        for key in range(config.num_outputs, config.num_outputs + config.num_hidden):
            self.nodes[key] = self.create_node(config, key)
        # neat's meaning of each initial_connection value, without its warnings on stderr.
        connect = {
            "unconnected": None,
            "fs_neat_nohidden": self.connect_fs_neat_nohidden, "fs_neat": self.connect_fs_neat_nohidden,
            "fs_neat_hidden": self.connect_fs_neat_hidden,
            "full_nodirect": self.connect_full_nodirect, "full": self.connect_full_nodirect,
            "full_direct": self.connect_full_direct,
            "partial_nodirect": self.connect_partial_nodirect, "partial": self.connect_partial_nodirect,
            "partial_direct": self.connect_partial_direct,
        }[config.initial_connection]
        if connect is not None:
            connect(config)

    def mutate_add_node(self, config: LIFGenomeConfig) -> None:
        """Split a random ENABLED connection ``a -> b`` (weight w, delay d) with a relay neuron n.

        ``a -> n``: weight :data:`RELAY_WEIGHT` (or the relay's threshold if that is higher),
        delay 0; ``n -> b``: weight w, delay ``max(d - 1, 0)``; n: bias 0, beta 0, refractory 0,
        adaptation 0, threshold :data:`RELAY_THRESHOLD` (values outside the config's ranges are
        moved to the nearest bound, as a later mutation would). ``a -> b`` is disabled.

        What is neutral: n receives nothing but ``a``'s spikes, one per step at most, each
        ``RELAY_WEIGHT >= threshold``; with beta 0 and reset to zero its membrane is 0 between
        them, so n fires in exactly the steps a spike of ``a`` arrives. For ``d >= 1`` every
        contribution of ``a`` then reaches ``b`` in the same step with the same weight as before,
        so the network's spike trains are unchanged. Two caveats: (1) floating-point order: the
        relayed contribution is added to ``b``'s ring slot one step later than ``a``'s was (a
        neuron ``a``), or in the neuron phase instead of the input phase (an input ``a``), so its
        place among other contributions to that slot can change and the float32 sum may differ
        in the last bit, which flips a spike only at an exact threshold tie (bit-identical when
        the weights are dyadic, e.g. multiples of 1/64); (2) an analog input (a current, not a
        0/1 spike) is binarised by the relay.
        For ``d = 0`` (always, when ``evolve_delay`` is off) the relay adds one step of latency
        to that connection: if every path to the outputs crosses it, the outputs are the old
        ones shifted by one step; otherwise b sees that input one step late.
        """
        enabled = [gene for gene in self.connections.values() if gene.enabled]
        if not enabled:  # splitting a disabled connection would switch its pathway back on
            if config.check_structural_mutation_surer():
                self.mutate_add_connection(config)
            return
        assert config.innovation_tracker is not None, "the reproduction sets the innovation tracker before mutation"
        split = choice(enabled)
        source, target = split.key
        relay_key = config.get_new_node_key(self.nodes)
        relay = config.node_gene_type(relay_key)
        relay.bias = _clamp(0.0, config, "bias")
        relay.threshold = _clamp(RELAY_THRESHOLD, config, "threshold")
        relay.beta = _clamp(0.0, config, "beta")
        relay.refractory = _clamp(0, config, "refractory")
        relay.adaptation = 0.0
        self.nodes[relay_key] = relay
        split.enabled = False
        tracker = config.innovation_tracker
        incoming = config.connection_gene_type(
            (source, relay_key), innovation=tracker.get_innovation_number(source, relay_key, "add_node_in"))
        # One spike must cross the threshold even if the config's range raised it above RELAY_WEIGHT.
        incoming.weight = _clamp(max(RELAY_WEIGHT, relay.threshold), config, "weight")
        incoming.enabled, incoming.delay = True, 0
        outgoing = config.connection_gene_type(
            (relay_key, target), innovation=tracker.get_innovation_number(relay_key, target, "add_node_out"))
        outgoing.weight, outgoing.enabled, outgoing.delay = split.weight, True, max(split.delay - 1, 0)
        self.connections[incoming.key] = incoming
        self.connections[outgoing.key] = outgoing


def quiet_genome(config: LIFGenomeConfig, key: int = -1) -> LIFGenome:
    """The genome whose network never spikes: its output (and homologous hidden) neurons with no
    synapse and no bias, every other gene at its initial mean. With a guidance law its controller is
    the law alone; it draws no random number, so a run that builds one stays on its seed's path."""
    genome = LIFGenome(key)
    for node_key in [*config.output_keys, *range(config.num_outputs, config.num_outputs + config.num_hidden)]:
        node = LIFNodeGene(node_key)
        for attribute in LIFNodeGene._gene_attributes:
            mean = getattr(config, attribute.init_mean_name) if attribute.is_on(config) else 0
            value = attribute.clamp(mean if isinstance(attribute, LIFFloatAttribute) else round(mean), config)
            setattr(node, attribute.name, value)
        node.bias = 0.0
        genome.nodes[node_key] = node
    return genome


def _clamp(value: float, config: LIFGenomeConfig, attribute: str) -> float:
    return min(max(value, getattr(config, f"{attribute}_min_value")), getattr(config, f"{attribute}_max_value"))


@njit(cache=True)
def _seed_numba(seed: int) -> None:
    np.random.seed(seed)


def seed_everything(seed: int) -> None:
    """Seed every global random generator a run may touch.

    Python's :mod:`random` (all that neat-python 2.0.0 draws from: mutation, crossover, parent
    choice), numpy's legacy global generator (no spikefly code uses it; third-party code might)
    and Numba's internal generator of the calling thread (``np.random`` inside ``@njit``; again
    unused by spikefly). spikefly's kernels take their randomness from explicit keys and
    ``numpy.random.Generator`` objects, so they need no seeding here.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _seed_numba(seed % 2**32)
