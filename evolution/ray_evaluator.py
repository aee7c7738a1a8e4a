"""The Ray evaluator: long-lived actors on a Ray cluster fly batches of compiled networks.

For populations or episode sets that outgrow one machine (``spikefly evolve --workers ray
[--ray-address ADDR]``; ``pip install "spikefly[ray]"``). Ray (https://docs.ray.io) does the
scheduling, transport and fault detection; this module only decides what a task is:

- one :class:`FlyerActor` per CPU of the cluster (``workers`` when given), each holding a
  flyer built from the run settings, which it receives once, at start; it warms its Numba
  kernels with one tiny evaluation before its first batch (the kernels load from the node's
  on-disk cache, ``cache=True``, so a warm node starts in well under a second);
- a generation's networks are cut into batches (compact :class:`LIFNetwork` arrays, a few KB
  each; never a genome or the NEAT config) and handed out two at a time per actor, so fast
  actors take more batches;
- faults: actors are created with ``max_restarts=0`` and their calls with
  ``max_task_retries=0``, so Ray itself never re-runs a batch and never silently brings an
  actor back. When a call fails because its actor or worker died (``RayActorError``), this
  evaluator starts a replacement actor in that slot (on any node that is left) and puts the batch
  back in the queue.
  Results are kept by batch index and a batch's first result is the only one used, so a
  generation never loses or double-counts a genome. A generation gives up with
  :class:`RayEvaluatorError` after ``max_failures`` such deaths (default: 2 per actor).

A genome's result depends only on its network and the episodes (see
:mod:`spikefly.evolution.evaluators`), so the Ray evaluator returns exactly what the serial and
pool evaluators return, bit for bit, however the batches fall and whichever actor dies.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from spikefly.controllers.network import LIFNetwork
from spikefly.core import SpikeflyError
from spikefly.evolution.episodes import TRAINING, EpisodeSet, episodes_for
from spikefly.evolution.fused_rollout import concatenate
from spikefly.evolution.tasks import make_flyer
from spikefly.evolution.fused_rollout import RolloutResults
from spikefly.evolution.settings import EvolveSettings

if TYPE_CHECKING:
    import ray

INSTALL_HINT = 'pip install "spikefly[ray]"'
BATCHES_PER_ACTOR = 4
"""Batches per actor per generation: enough to balance uneven episode lengths, few enough that
Ray's ~1 ms per call stays small against a batch's flying time."""
IN_FLIGHT_PER_ACTOR = 2
"""Calls queued on one actor at a time: the next batch is already there when one finishes."""


class RayEvaluatorError(SpikeflyError, RuntimeError):
    """Ray is missing, the cluster cannot be reached, or a generation failed too often."""


def import_ray():
    """The ``ray`` module, or a :class:`RayEvaluatorError` with the install hint."""
    try:
        import ray
    except ImportError as error:
        raise RayEvaluatorError(f"--workers ray needs Ray, which is not installed. Fix: {INSTALL_HINT}") from error
    return ray


def connect(address: str | None) -> bool:
    """Join the Ray cluster at ``address``, or start a local one (None); True if this call started Ray.

    Nothing happens when Ray is already initialised in this process (a test fixture, a driver
    script that called ``ray.init`` itself).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    try:
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as error:
        where = f"the Ray cluster at {address!r}" if address else "a local Ray"
        fix = ("check the address printed by `ray start --head` on the head node (HOST:PORT, default port 6379) "
               "and that this machine can reach it" if address else "see the Ray error above")
        reason = (str(error).splitlines() or [repr(error)])[0].strip("'\" ").rstrip(".")
        raise RayEvaluatorError(f"cannot start or join {where}: {reason}. Fix: {fix}") from error
    return True


def _cause(error: Exception) -> str:
    """The last line of a remote traceback (the error itself), not Ray's whole report."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else repr(error)


class FlyerActor:
    """One evaluation process: a warmed flyer of the run's task (made into a Ray actor by
    :func:`actor_class`). Plain class, so it can also be tested without Ray."""

    def __init__(self, settings: dict) -> None:
        import numba

        numba.set_num_threads(1)  # one actor per CPU: Numba threads inside would oversubscribe the node
        self.settings = EvolveSettings.from_dict(settings)
        self.flyer = make_flyer(self.settings)
        self.warm_up()

    def warm_up(self) -> None:
        """Fly one tiny network on one episode, so the first batch is not charged compile or cache-load time."""
        from spikefly.controllers import random_network

        flyer, settings = self.flyer, self.settings
        n_observations = flyer.low.shape[0]
        n_outputs = flyer.decoder.n_outputs_needed(flyer.n_actions)
        network = random_network(np.random.default_rng(0), flyer.encoder.n_channels(n_observations), n_outputs + 4,
                                 n_outputs, 0.3)
        if settings.integer:  # the integer kernels are other compiled functions
            from spikefly.controllers import quantize

            analog = flyer.encoder.cost(n_observations, settings.steps_per_action).analog_inputs
            network = quantize(network, weight_bits=settings.weight_bits, input_fractional_bits=16 if analog else 0)
        flyer.fly([network], episodes_for(settings.worlds[:1], 1, settings.seed, TRAINING, 0))

    def fly(self, batch: int, networks: list[LIFNetwork], episodes: EpisodeSet) -> tuple[int, RolloutResults]:
        """Results of one batch, with its index (the evaluator keys results by it)."""
        return batch, self.flyer.fly(networks, episodes)

    def pid(self) -> int:
        """The actor's process id (tests kill it to show nothing is lost)."""
        return os.getpid()


def actor_class():
    """:class:`FlyerActor` as a Ray actor class: one CPU, no restarts and no retries by Ray (module docstring)."""
    ray = import_ray()
    return ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(FlyerActor)


class RayEvaluator:
    """Evaluates a population on Ray actors; same results as :class:`~spikefly.evolution.evaluators.SerialEvaluator`.

    ``address``: a running cluster (``HOST:PORT`` of its head, ``ray://HOST:PORT`` for Ray
    Client, or ``auto``); None starts a local Ray unless this process already joined one.
    ``actors``: 0 = one per CPU of the cluster (more than the cluster's CPUs: they share them). ``batch_size``: genomes per call; 0 = the
    population split into :data:`BATCHES_PER_ACTOR` batches per actor. ``on_submitted``: called
    once per generation after the first batches are queued (tests use it to kill an actor mid-generation).
    """

    def __init__(self, settings: EvolveSettings, *, address: str | None = None, actors: int = 0, batch_size: int = 0,
                 max_failures: int | None = None, on_submitted: Callable[[RayEvaluator], None] | None = None) -> None:
        self._ray = import_ray()
        self._started_ray = connect(address)
        self._settings = settings.to_dict()
        self._remote_class = actor_class()
        cpus = float(self._ray.cluster_resources().get("CPU", 1.0))
        count = actors or max(1, int(cpus))
        # More actors than CPUs share them (Ray would otherwise wait for CPUs that never come).
        actor = self._remote_class.options(num_cpus=min(1.0, cpus / count))
        self.actors: list[ray.actor.ActorHandle] = [actor.remote(self._settings) for _ in range(count)]
        try:  # wait until every actor is built and warm: a broken setting fails here, once, with its own message
            self._ray.get([actor.pid.remote() for actor in self.actors])
        except self._ray.exceptions.RayError as error:
            self.close()
            raise RayEvaluatorError(f"the Ray evaluation actors could not start: {_cause(error)}") from error
        self.batch_size = batch_size
        self.max_failures = 2 * count if max_failures is None else max_failures
        self.on_submitted = on_submitted
        self.replaced = 0
        """Actors that died and were replaced, over the evaluator's life."""
        self.resubmitted = 0
        """Batches put back in the queue because their actor died, over the evaluator's life."""

    def evaluate(self, networks: list[LIFNetwork], episodes: EpisodeSet) -> RolloutResults:
        ray = self._ray
        size = self.batch_size or max(1, math.ceil(len(networks) / (BATCHES_PER_ACTOR * len(self.actors))))
        batches = [networks[start:start + size] for start in range(0, len(networks), size)]
        episodes_ref = ray.put(episodes)
        queue = list(range(len(batches)))[::-1]  # pop() hands out batch 0 first
        in_flight: dict[ray.ObjectRef, tuple[int, int]] = {}  # call -> (actor slot, batch)
        results: dict[int, RolloutResults] = {}
        failures = 0

        def submit(slot: int) -> None:
            while queue and sum(1 for s, _ in in_flight.values() if s == slot) < IN_FLIGHT_PER_ACTOR:
                batch = queue.pop()
                in_flight[self.actors[slot].fly.remote(batch, batches[batch], episodes_ref)] = (slot, batch)

        for slot in range(len(self.actors)):
            submit(slot)
        if self.on_submitted is not None:
            self.on_submitted(self)
        while in_flight:
            done, _ = ray.wait(list(in_flight), num_returns=1)
            slot, batch = in_flight.pop(done[0])
            try:
                index, result = ray.get(done[0])
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as error:
                failures += 1
                if failures > self.max_failures:
                    raise RayEvaluatorError(
                        f"{failures} evaluation actors died in one generation (last: {error!r}). "
                        "Fix: check the nodes' memory and logs (ray status; /tmp/ray/session_latest/logs)") from error
                # Every call queued on the dead actor fails too: take them back now, with this one.
                lost = [batch]
                for ref, (other_slot, other_batch) in list(in_flight.items()):
                    if other_slot == slot:
                        del in_flight[ref]
                        lost.append(other_batch)
                queue.extend(sorted((b for b in lost if b not in results), reverse=True))
                self.resubmitted += len(lost)
                self._replace(slot)
            else:
                results.setdefault(index, result)  # a batch's first result is its only one
            for other in range(len(self.actors)):
                submit(other)
        missing = [b for b in range(len(batches)) if b not in results]
        assert not missing, f"batches {missing} were never evaluated"
        return concatenate([results[b] for b in range(len(batches))])

    def _replace(self, slot: int) -> None:
        """A new actor in ``slot`` (the dead one is killed for good, in case Ray still holds it).

        Its CPU may have gone with its node, so the replacement asks for none and shares a surviving
        node's CPUs rather than waiting for a CPU that may never come back."""
        self._ray.kill(self.actors[slot], no_restart=True)
        self.actors[slot] = self._remote_class.options(num_cpus=0).remote(self._settings)
        self.replaced += 1

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor, no_restart=True)
        self.actors = []
        if self._started_ray:
            self._ray.shutdown()
