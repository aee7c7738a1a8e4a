"""A whole population's flights in one compiled call: encode -> LIF -> decode -> twin physics.

Every genome flies the same E episodes (common random numbers: same layouts, same wind, sensor
noise and model error, same encoder randomness). Genomes run in parallel (``prange``); a genome's
episodes run one after another in its thread, each from a fresh network state. Nothing returns
to Python until every episode has ended.

The kernel is assembled here from the njit functions the other parts export
(``spikefly.controllers`` and ``spikefly.envs``), so the step is the same arithmetic as a
:class:`~spikefly.controllers.SpikingController` acting on a
:class:`~spikefly.envs.twin.batch.QuadrotorTwin` — tests hold the two paths equal.

Float (:class:`LIFNetwork`) and integer (:class:`IntegerLIFNetwork`) populations fly the same
kernels. A genome's network is the tuple of its kernel arrays; the two places where the kinds
differ (slicing a genome out of the batch, running it on the encoder's output) are overloads
that Numba resolves from the tuple's types when it compiles, so each kind gets its own
specialised, cached kernel. (Passing the network step as a function argument would specialise
too, but Numba never finds such kernels in its on-disk cache: every process would recompile.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numba import njit, prange, types
from numba.extending import overload
from numpy.typing import NDArray

from spikefly.controllers.codec import coding_for, decode_into, encode_into
from spikefly.controllers.counter_rng import derive_key
from spikefly.controllers.decoders import Decoder
from spikefly.controllers.encoders import Encoder
from spikefly.controllers.lif_kernels import INPUT_FRACTIONAL_BITS, lif_run_into, lif_run_into_int
from spikefly.controllers.lif_state import LIFBatchState, pack_batch
from spikefly.controllers.network import IntegerLIFNetwork, LIFNetwork
from spikefly.controllers.spiking_controller import quantize_channels
from spikefly.envs.sim import outcomes
from spikefly.envs.sim.observation import N_STATE_OBSERVATIONS
from spikefly.envs.sim.randomisation import draw_randomisation, flight_records, gust_coefficients
from spikefly.envs.sim.reward import TERM_NAMES as REWARD_TERM_NAMES
from spikefly.envs.twin.batch import QuadrotorTwin, courses_of, max_control_steps
from spikefly.envs.twin.kernels import (
    COUNTER_OUTCOME,
    N_SCALARS,
    SCALAR_MIN_CLEARANCE_M,
    SCALAR_ROTOR_ENERGY_J,
    SCALAR_TIME_S,
    Disturbance,
    Drone,
    drone_advance,
    drone_observe,
    drone_reset,
    noise_row,
    update_wind,
)
from spikefly.envs.twin.worlds import TwinWorlds

class Outputs(NamedTuple):
    """What the kernels write per genome and episode ([G, E, ...]; one genome's rows: [E, ...])."""

    results: Any
    """float64[..., N_RESULTS]: the RESULT_* columns."""
    outcomes: Any
    steps: Any
    ops: Any
    """int64[..., 4]: neuron updates, spikes, input events, synaptic ops."""


# Per-episode float results, in this order.
RESULT_RETURN = 0
RESULT_TIME_S = 1
RESULT_MIN_CLEARANCE_M = 2
RESULT_ROTOR_ENERGY_J = 3
RESULT_FINAL_X = 4
RESULT_FINAL_Y = 5
RESULT_FINAL_Z = 6
N_RESULTS = 7
N_REWARD_TERMS = len(REWARD_TERM_NAMES)


# ---------------------------------------------------------------------------------------------
# Network kinds: the only float / integer differences, resolved at compile time
# ---------------------------------------------------------------------------------------------


def genome_network(network_arrays, g, neuron_offset, row_ptr_offset, synapse_offset, output_offset):
    """Genome ``g``'s network: views into a batch's concatenated ``network_arrays`` (compiled code only).

    ``network_arrays`` is ``LIFBatch.arrays`` for float networks; for integer networks it is
    followed by ``fractional_bits`` int64[G]. Returns the genome's ``kernel_arrays()`` (integer:
    followed by its ``fractional_bits``), the tuple :func:`network_run` takes.
    """
    raise TypeError("genome_network is compiled into the rollout kernels; call PopulationRollout.run")


def network_run(network, state, inputs, inputs_q, out_spikes, out_membrane_q, out_membrane):
    """K steps of one network on the encoder's ``inputs`` float32[K, C] (compiled code only).

    ``network``: the tuple :func:`genome_network` returns; ``state``: its LIF state arrays.
    Writes ``out_spikes`` uint8[K, n_out] and ``out_membrane`` float32[K, n_out] for the decoder
    and updates the state arrays, as :class:`~spikefly.controllers.SpikingController` does:
    float networks run :func:`lif_run_into` on ``inputs``; integer networks run
    :func:`lif_run_into_int` on ``inputs`` quantised into ``inputs_q`` int32[K, C] and read their
    Q.F membranes (``out_membrane_q`` int32[K, n_out]) as ``membrane / 2**fractional_bits``. The
    integer buffers are unused by float networks.
    """
    raise TypeError("network_run is compiled into the rollout kernels; call PopulationRollout.run")


def _is_integer(network_arrays) -> bool:
    """Integer networks are the ones with integer weights (``kernel_arrays()[2]`` in both kinds)."""
    return isinstance(network_arrays[2].dtype, types.Integer)


def _float_genome_network(network_arrays, g, neuron_offset, row_ptr_offset, synapse_offset, output_offset):
    (row_ptr, target, weight, delay, threshold, beta, bias, adaptation_increment, adaptation_decay,
     refractory_steps, reset_mode, spiking, output_index) = network_arrays
    n0, n1 = neuron_offset[g], neuron_offset[g + 1]
    s0, s1 = synapse_offset[g], synapse_offset[g + 1]
    return (
        row_ptr[row_ptr_offset[g]:row_ptr_offset[g + 1]], target[s0:s1], weight[s0:s1], delay[s0:s1], threshold[n0:n1],
        beta[n0:n1], bias[n0:n1], adaptation_increment[n0:n1], adaptation_decay[n0:n1], refractory_steps[n0:n1],
        reset_mode[n0:n1], spiking[n0:n1], output_index[output_offset[g]:output_offset[g + 1]],
    )


def _integer_genome_network(network_arrays, g, neuron_offset, row_ptr_offset, synapse_offset, output_offset):
    (row_ptr, target, weight, delay, weight_multiplier, threshold, bias, decay_mode, decay_shift, beta_q15,
     adaptation_increment, adaptation_decay_q15, refractory_steps, reset_mode, spiking, output_index,
     input_fractional_bits, fractional_bits) = network_arrays
    n0, n1 = neuron_offset[g], neuron_offset[g + 1]
    s0, s1 = synapse_offset[g], synapse_offset[g + 1]
    return (
        row_ptr[row_ptr_offset[g]:row_ptr_offset[g + 1]], target[s0:s1], weight[s0:s1], delay[s0:s1],
        weight_multiplier[n0:n1], threshold[n0:n1], bias[n0:n1], decay_mode[n0:n1], decay_shift[n0:n1],
        beta_q15[n0:n1], adaptation_increment[n0:n1], adaptation_decay_q15[n0:n1], refractory_steps[n0:n1],
        reset_mode[n0:n1], spiking[n0:n1], output_index[output_offset[g]:output_offset[g + 1]],
        input_fractional_bits, fractional_bits[g],
    )


def _float_network_run(network, state, inputs, inputs_q, out_spikes, out_membrane_q, out_membrane):
    lif_run_into(network, state, inputs, out_spikes, out_membrane)


_FRACTIONAL_BITS = INPUT_FRACTIONAL_BITS + 1
"""An integer genome's tuple: the network's kernel arrays, then its ``fractional_bits``."""


def _integer_network_run(network, state, inputs, inputs_q, out_spikes, out_membrane_q, out_membrane):
    quantize_channels(inputs, network[INPUT_FRACTIONAL_BITS], inputs_q)
    lif_run_into_int(network[:_FRACTIONAL_BITS], state, inputs_q, out_spikes, out_membrane_q)
    scale = 1.0 / float(1 << network[_FRACTIONAL_BITS])
    for k in range(out_membrane_q.shape[0]):
        for j in range(out_membrane_q.shape[1]):
            out_membrane[k, j] = np.float32(out_membrane_q[k, j] * scale)


@overload(genome_network)
def _genome_network_for(network_arrays, g, neuron_offset, row_ptr_offset, synapse_offset, output_offset):
    return _integer_genome_network if _is_integer(network_arrays) else _float_genome_network


@overload(network_run)
def _network_run_for(network, state, inputs, inputs_q, out_spikes, out_membrane_q, out_membrane):
    return _integer_network_run if _is_integer(network) else _float_network_run


@njit(cache=True)
def fresh_state(state, encoder_state, decoder_state):
    """A network's, its encoder's and its decoder's state at the start of an episode."""
    membrane, adaptation, refractory, ring, step, counters, spiked = state
    membrane[:] = 0
    adaptation[:] = 0
    refractory[:] = 0
    ring[:] = 0
    spiked[:] = 0
    step[:] = 0
    counters[:] = 0
    encoder_state[:] = 0.0
    decoder_state[:] = 0.0


def pack_population(networks: list[LIFNetwork] | list[IntegerLIFNetwork], caller: str):
    """(batch, network arrays for :func:`genome_network`, zero state) of an all-float or all-integer population."""
    integer = sum(isinstance(network, IntegerLIFNetwork) for network in networks)
    if 0 < integer < len(networks):
        raise ValueError(
            f"{caller}: a population is all LIFNetwork or all IntegerLIFNetwork, got "
            f"{len(networks) - integer} float and {integer} integer networks. Fix: quantize every network or none."
        )
    batch = pack_batch(networks)
    network_arrays = batch.arrays
    if batch.integer:
        network_arrays = (*batch.arrays, np.array([network.fractional_bits for network in networks], np.int64))
    return batch, network_arrays, LIFBatchState.zeros(batch)


@njit(cache=True)
def fly_genome(network, state, n_outputs, coding, airframe, sensing, params, courses, disturbances, outputs):
    """Every episode of one genome, one after another, each from a fresh network state.

    ``network``: the tuple :func:`genome_network` returns; ``state``: its LIF state arrays
    (membrane, adaptation, refractory, ring, step, counters, spiked); episode ``e`` flies
    ``courses`` row e with ``disturbances`` row e and flight records ``params[e]`` (the nominal
    drone and the drone flown); ``outputs``: this genome's rows.
    """
    membrane, adaptation, refractory, ring, step, counters, spiked = state
    steps_per_action = coding.steps_per_action
    n_ranges = sensing.ray_directions.shape[0]
    n_inputs = network[0].shape[0] - membrane.shape[0] - 1  # row_ptr has n_inputs + n_neurons + 1 entries
    drone = Drone(np.zeros(3), np.zeros(4), np.zeros(3), np.zeros(3), np.zeros(4), np.zeros(3), np.zeros(3), np.zeros(3),
                  np.zeros(2, np.int64), np.zeros(N_SCALARS))
    ranges = np.zeros(n_ranges)
    observation = np.zeros(n_ranges + N_STATE_OBSERVATIONS, np.float32)
    terms = np.zeros(N_REWARD_TERMS)
    inputs = np.zeros((steps_per_action, n_inputs), np.float32)
    inputs_q = np.zeros((steps_per_action, n_inputs), np.int32)
    out_spikes = np.zeros((steps_per_action, n_outputs), np.uint8)
    out_membrane_q = np.zeros((steps_per_action, n_outputs), np.int32)
    out_membrane = np.zeros((steps_per_action, n_outputs), np.float32)
    encoder_state = np.zeros(coding.encoder_state_size, np.float32)
    decoder_state = np.zeros(coding.decoder_state_size, np.float32)
    action32 = np.zeros(4, np.float32)
    action = np.zeros(4)
    results = outputs.results
    position, gust, wind, scalars, drone_counters = drone.position, drone.gust, drone.wind, drone.scalars, drone.counters
    for e in range(courses.count.shape[0]):  # the drone flies course e with episode e's disturbance
        fresh_state(state, encoder_state, decoder_state)
        drone_reset(drone, courses, e, airframe, sensing)
        wind[:] = disturbances.mean_wind[e]
        drone_observe(drone, courses, e, sensing, noise_row(disturbances, e, 0), ranges, observation)
        total = 0.0
        control_step = 0
        while drone_counters[COUNTER_OUTCOME] == outcomes.NONE:
            encode_into(coding.encoder_code, coding.encoder_params, observation, coding.low, coding.high,
                        coding.episode_keys[e], np.uint64(control_step), encoder_state, inputs)
            network_run(network, state, inputs, inputs_q, out_spikes, out_membrane_q, out_membrane)
            decode_into(coding.decoder_code, coding.decoder_params, out_spikes, out_membrane, decoder_state, action32)
            for i in range(4):
                action[i] = min(max(np.float64(action32[i]), -1.0), 1.0)
            update_wind(disturbances.mean_wind[e], gust, disturbances.gust_decay, disturbances.gust_scale,
                        disturbances.gust_noise[e], control_step, wind)
            total += drone_advance(action, observation, airframe, params[e], drone, courses, e, sensing, terms)
            control_step += 1
            drone_observe(drone, courses, e, sensing, noise_row(disturbances, e, control_step), ranges, observation)
        results[e, RESULT_RETURN] = total
        results[e, RESULT_TIME_S] = scalars[SCALAR_TIME_S]
        results[e, RESULT_MIN_CLEARANCE_M] = scalars[SCALAR_MIN_CLEARANCE_M]
        results[e, RESULT_ROTOR_ENERGY_J] = scalars[SCALAR_ROTOR_ENERGY_J]
        results[e, RESULT_FINAL_X] = position[0]
        results[e, RESULT_FINAL_Y] = position[1]
        results[e, RESULT_FINAL_Z] = position[2]
        outputs.outcomes[e] = drone_counters[COUNTER_OUTCOME]
        outputs.steps[e] = control_step
        for i in range(4):
            outputs.ops[e, i] = counters[i]


@njit(cache=True, parallel=True)
def rollout_population(offsets, network_arrays, state, coding, airframe, sensing, params, courses, disturbances, outputs):
    """Fly every genome of a :class:`LIFBatch` on every episode, genomes in parallel.

    ``offsets``: the batch's (neuron, row_ptr, synapse, output) offsets; ``network_arrays``: its
    ``arrays`` (integer batches: followed by ``fractional_bits`` int64[G]); ``state``: a
    :class:`LIFBatchState`'s arrays (membrane, adaptation, refractory, ring, ring_offset, step,
    counters, spiked). Episode e flies ``courses`` row e with ``disturbances`` row e and flight
    records ``params[e]`` (the nominal drone and the drone flown: model error). ``outputs``
    [G, E, ...]: see :class:`Outputs`.
    """
    neuron_offset, row_ptr_offset, synapse_offset, output_offset = offsets
    membrane, adaptation, refractory, ring, ring_offset, step, counters, spiked = state
    for g in prange(neuron_offset.shape[0] - 1):
        n0, n1 = neuron_offset[g], neuron_offset[g + 1]
        ring_g = ring[ring_offset[g]:ring_offset[g + 1]].reshape(((ring_offset[g + 1] - ring_offset[g]) // (n1 - n0), n1 - n0))
        fly_genome(
            genome_network(network_arrays, g, neuron_offset, row_ptr_offset, synapse_offset, output_offset),
            (membrane[n0:n1], adaptation[n0:n1], refractory[n0:n1], ring_g, step[g:g + 1], counters[g], spiked[n0:n1]),
            output_offset[g + 1] - output_offset[g], coding, airframe, sensing, params, courses, disturbances,
            Outputs(outputs.results[g], outputs.outcomes[g], outputs.steps[g], outputs.ops[g]),
        )


@dataclass(frozen=True)
class RolloutResults:
    """What every genome did on every episode (arrays [G, E, ...])."""

    returns: NDArray[np.float64]
    outcomes: NDArray[np.int64]
    """Outcome codes (:mod:`spikefly.envs.sim.outcomes`)."""
    steps: NDArray[np.int64]
    """Control steps flown."""
    time_s: NDArray[np.float64]
    min_clearance_m: NDArray[np.float64]
    rotor_energy_j: NDArray[np.float64]
    final_position_m: NDArray[np.float64]
    """[G, E, 3]."""
    ops: NDArray[np.int64]
    """[G, E, 4]: neuron updates, spikes, input events, synaptic ops over the episode."""

    @property
    def success(self) -> NDArray[np.float64]:
        """[G, E]: 1 where the episode reached the goal."""
        return (self.outcomes == outcomes.GOAL).astype(np.float64)

    @property
    def behaviour(self) -> NDArray[np.float64]:
        """[G, 3E]: final positions of every episode (the novelty descriptor)."""
        return self.final_position_m.reshape(self.final_position_m.shape[0], -1)


class PopulationRollout:
    """Fly populations of spiking networks on the twin: settings fixed once, populations vary.

    ``twin`` supplies the drone, sensors and reward (its settings); ``encoder`` / ``decoder`` /
    ``steps_per_action`` the coding shared by every genome. A population is all float
    (:class:`LIFNetwork`) or all integer (:class:`IntegerLIFNetwork`, flown as
    :class:`~spikefly.controllers.SpikingController` flies it: inputs quantised to
    ``input_fractional_bits``, output membranes read as Q.F).
    """

    def __init__(self, twin: QuadrotorTwin, encoder: Encoder, decoder: Decoder, steps_per_action: int,
                 observation_low: NDArray[np.float32], observation_high: NDArray[np.float32]) -> None:
        self.twin = twin
        self.encoder, self.decoder = encoder, decoder
        self.steps_per_action = steps_per_action
        self.low = np.ascontiguousarray(observation_low, dtype=np.float32)
        self.high = np.ascontiguousarray(observation_high, dtype=np.float32)

    def run(
        self, networks: list[LIFNetwork] | list[IntegerLIFNetwork], worlds: TwinWorlds, episode_seeds: list[int]
    ) -> RolloutResults:
        """Every network flies every world (episode e on ``worlds`` entry e, randomness from ``episode_seeds[e]``)."""
        if len(episode_seeds) != len(worlds):
            raise ValueError(f"one episode seed per world: {len(worlds)} worlds, {len(episode_seeds)} seeds")
        channels = self.encoder.n_channels(len(self.low))
        wrong = [g for g, network in enumerate(networks) if network.n_inputs != channels]
        if wrong:  # the compiled loop does not check its indices: a mismatch must stop here
            raise ValueError(
                f"PopulationRollout.run: network {wrong[0]} has {networks[wrong[0]].n_inputs} inputs but the "
                f"{self.encoder.kind} encoder makes {channels} channels from {len(self.low)} observations. "
                "Fix: build the networks for this encoder and observation (encoder.n_channels(n_obs))"
            )
        batch, network_arrays, state = pack_population(networks, "PopulationRollout.run")
        twin, s = self.twin, self.twin.settings
        worlds = twin.prepare(worlds)
        episodes = len(worlds)
        # Each episode's randomisation is drawn as the twin draws it for a drone with that seed.
        max_steps = max_control_steps(worlds, s)
        noise = draw_randomisation(s, len(twin.ray_directions), list(episode_seeds), int(max_steps.max()) + 1)
        gust_decay, gust_scale = gust_coefficients(s)
        params = flight_records(twin.drone, twin.flight, noise.model_scale)
        keys = np.array([derive_key(seed) for seed in episode_seeds], dtype=np.uint64)
        count = len(networks)
        out = Outputs(np.zeros((count, episodes, N_RESULTS)), np.zeros((count, episodes), np.int64),
                      np.zeros((count, episodes), np.int64), np.zeros((count, episodes, 4), np.int64))
        coding = coding_for(self.encoder, self.decoder, self.steps_per_action, self.low, self.high, keys,
                            4)  # the quadrotor's four actions (fly_genome's action32)
        rollout_population(
            (batch.neuron_offset, batch.row_ptr_offset, batch.synapse_offset, batch.output_offset), network_arrays,
            state.kernel_arrays(), coding, twin.airframe, twin.sensing, params, courses_of(worlds, max_steps),
            Disturbance(noise.mean_wind, float(gust_decay), float(gust_scale), noise.gust_noise, noise.range_noise), out,
        )
        results, episode_outcomes, episode_steps, episode_ops = out
        return RolloutResults(
            returns=results[:, :, RESULT_RETURN], outcomes=episode_outcomes, steps=episode_steps,
            time_s=results[:, :, RESULT_TIME_S], min_clearance_m=results[:, :, RESULT_MIN_CLEARANCE_M],
            rotor_energy_j=results[:, :, RESULT_ROTOR_ENERGY_J],
            final_position_m=results[:, :, RESULT_FINAL_X:RESULT_FINAL_Z + 1], ops=episode_ops,
        )


def concatenate(parts: list[RolloutResults]) -> RolloutResults:
    """Results of consecutive chunks of a population, as one."""
    kind = type(parts[0])
    return kind(*(np.concatenate([getattr(part, name) for part in parts]) for name in kind.__dataclass_fields__))
