"""Record a controller's episode as arrays for rendering: the same flight ``spikefly evaluate`` flies.

:class:`RecordingController` is a :class:`~spikefly.controllers.SpikingController` that runs
its K LIF substeps one kernel call at a time, so every neuron's spike at every substep can be
logged; the arithmetic and its order are those of the one-call control step, so its actions are
bit-identical (``tests/envs/test_render.py`` holds them equal, and the recorded return and
outcome equal ``spikefly evaluate``'s for the same seed). :func:`record_flight` flies the
PyBullet env exactly as :func:`spikefly.evolution.evaluate.evaluate_controller` does;
:func:`record_listening` hears a clip as :func:`~spikefly.evolution.evaluate.evaluate_audio` does.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spikefly.controllers import ControllerSpec, SpikingController
from spikefly.controllers.codec import decode_into, encode_into
from spikefly.controllers.lif_kernels import lif_run_into, lif_run_into_int
from spikefly.controllers.spiking_controller import quantize_channels
from spikefly.core import SpikeflyError
from spikefly.envs import AUDIO_EVENT_ID, QUADROTOR_AVOID_ID
from spikefly.envs.episode import run_episode
from spikefly.envs.render.recording import FlightRecording, ListeningRecording, SpikeLog
from spikefly.envs.audio.soundscape_render import render_clip


class RecordError(SpikeflyError):
    """A controller that cannot be recorded on the requested world."""


class RecordingController(SpikingController):
    """A spiking controller that logs its inputs and every neuron's spikes at every substep.

    ``inputs`` and ``spikes`` grow by one [K, C] / [K, N] block per :meth:`act`; :meth:`reset`
    clears them.
    """

    def reset(self, *, seed: int | None = None) -> None:
        super().reset(seed=seed)
        self.inputs: list[NDArray[np.float32]] = []
        self.spikes: list[NDArray[np.uint8]] = []

    def act(self, observation: ArrayLike) -> NDArray[np.float32]:
        c = self._coding
        observation = c.observation(observation, (c.n_obs,))
        encode_into(c.encoder_code, c.encoder_params, observation, c.low, c.high, self._key, np.uint64(self._counter),
                    self._encoder_state, self._inputs)
        network, state = self.network, self.state
        spikes = np.zeros((c.steps_per_action, network.n_neurons), np.uint8)
        for k in range(c.steps_per_action):  # one substep per call, as the one-call control step loops
            if self.integer:
                quantize_channels(self._inputs[k:k + 1], network.input_fractional_bits, self._inputs_q[k:k + 1])
                lif_run_into_int(network.kernel_arrays(), state.kernel_arrays(), self._inputs_q[k:k + 1],
                                 self.out_spikes[k:k + 1], self._out_membrane_q[k:k + 1])
            else:
                lif_run_into(network.kernel_arrays(), state.kernel_arrays(), self._inputs[k:k + 1],
                             self.out_spikes[k:k + 1], self.out_membrane[k:k + 1])
            spikes[k] = state.spiked
        if self.integer:
            scale = 1.0 / float(1 << network.fractional_bits)
            self.out_membrane[:] = (self._out_membrane_q * scale).astype(np.float32)
        decode_into(c.decoder_code, c.decoder_params, self.out_spikes, self.out_membrane, self._decoder_state,
                    self._action)
        self._counter += 1
        self.inputs.append(self._inputs.copy())
        self.spikes.append(spikes)
        return self._action.copy()

    def spike_log(self) -> SpikeLog:
        """The log of the episode so far."""
        k, channels, n = self.steps_per_action, self.network.n_inputs, self.network.n_neurons
        inputs = np.stack(self.inputs) if self.inputs else np.zeros((0, k, channels), np.float32)
        spikes = np.stack(self.spikes) if self.spikes else np.zeros((0, k, n), np.uint8)
        return SpikeLog(inputs=inputs, spikes=spikes, output_index=np.asarray(self.network.output_index, np.int32))


def recording_controller(spec: ControllerSpec, seed: int = 0) -> RecordingController:
    return RecordingController(spec.network, spec.encoder, spec.decoder, spec.steps_per_action, spec.observation_low,
                               spec.observation_high, spec.n_actions, seed=seed)


def record_flight(spec: ControllerSpec, world: str | os.PathLike[str], seed: int) -> FlightRecording:
    """Fly ``spec`` once in PyBullet on ``world`` with episode seed ``seed`` and record everything."""
    from spikefly.envs.quadrotor_env import QuadrotorAvoidEnv
    from spikefly.envs.sim.range_sensor import sensor_rays
    from spikefly.worlds import pack_obstacles

    if spec.env_id != QUADROTOR_AVOID_ID:
        raise RecordError(f"this controller was evolved for {spec.env_id!r}; a flight needs a {QUADROTOR_AVOID_ID!r} controller")
    env = QuadrotorAvoidEnv(world, **spec.env_settings)
    try:
        if env.observation_space.shape != spec.observation_low.shape:
            raise RecordError(f"the controller expects {spec.observation_low.shape[0]} observations, the env gives "
                              f"{env.observation_space.shape[0]}; its env settings are {spec.env_settings}")
        controller = recording_controller(spec, seed)
        energy = _ComputeEnergy(spec, env.settings.control_hz)
        settings, n_rays = env.settings, len(sensor_rays(env.settings))
        states, ops, compute, actions, rewards = [], [0], [0.0], [], []

        def on_step(action, observation, reward, info) -> None:
            actions.append(action)
            rewards.append(reward)
            states.append(_state(env, info, observation, n_rays, settings.max_range_m))
            ops.append(int(controller.counts.synaptic_ops))
            compute.append(energy.so_far(controller.counts, len(actions)))

        info = run_episode(env, controller.act, seed, on_step=on_step,
                           on_reset=lambda observation, info: states.append(_state(env, info, observation, n_rays,
                                                                                   settings.max_range_m))).info
        obstacles = pack_obstacles(env.layout)
        course = env.course
        columns = list(zip(*states))
        return FlightRecording(
            world=str(world), seed=int(seed), outcome=info["outcome"], total_return=float(sum(rewards)),
            control_hz=float(settings.control_hz), urdf_path=str(env.drone.urdf_path), max_range_m=float(settings.max_range_m),
            ray_directions=sensor_rays(settings), bounds_min=np.array(course.bounds_min, float),
            bounds_max=np.array(course.bounds_max, float), goal_position=np.array(course.goal_position, float),
            goal_radius_m=float(course.goal_radius), obstacle_shape=obstacles.shape, obstacle_position_m=obstacles.position_m,
            obstacle_half_extents_m=obstacles.half_extents_m, obstacle_yaw_rad=obstacles.yaw_rad,
            position_m=np.array(columns[0]), quaternion=np.array(columns[1]), velocity_mps=np.array(columns[2]),
            time_s=np.array(columns[3]), min_clearance_m=np.array(columns[4]), rotor_energy_j=np.array(columns[5]),
            ranges_m=np.array(columns[6]), compute_energy_j=np.array(compute), synaptic_ops=np.array(ops, np.int64),
            actions=np.array(actions, np.float32), rewards=np.array(rewards, np.float64), log=controller.spike_log(),
        )
    finally:
        env.close()


def _state(env, info, observation, n_rays: int, max_range_m: float) -> tuple:
    _, quaternion, _, _ = env._sim.state  # the env's info has no attitude; the renderer needs it for the camera
    return (np.asarray(info["position_m"], float), np.asarray(quaternion, float), np.asarray(info["velocity_mps"], float),
            float(info["time_s"]), float(info["min_clearance_m"]), float(info["rotor_energy_j"]),
            np.asarray(observation[:n_rays], float) * max_range_m)


class _ComputeEnergy:
    """The network's energy so far on the controller's board: energy per step (from the mean counts so far) x steps."""

    def __init__(self, spec: ControllerSpec, control_hz: float) -> None:
        self.board = None
        if spec.board and spec.board.get("board"):
            from spikefly.controllers.boards import load_board

            try:
                self.board = load_board(spec.board["board"])
            except ValueError:  # a board file that is not at hand here: no energy in the heads-up line
                self.board = None
        self.spec, self.control_hz = spec, control_hz
        self.weight_bits = int((spec.board or {}).get("weight_bits", 8))
        n_obs = spec.observation_low.shape[0]
        self.analog = spec.encoder.cost(n_obs, spec.steps_per_action).analog_inputs > 0

    def so_far(self, counts, steps: int) -> float:
        if self.board is None:
            return float("nan")
        from spikefly.controllers.cost_model import spiking_cost
        from spikefly.evolution.board_cost import step_counts

        totals = np.array([counts.neuron_updates, counts.spikes, counts.input_events, counts.synaptic_ops])
        per_step = step_counts(self.spec.network, totals, steps, self.analog)
        return spiking_cost(self.spec.network, per_step, self.board, self.control_hz, self.weight_bits).energy_j * steps


def record_listening(spec: ControllerSpec, world: str | os.PathLike[str], seed: int, *, with_audio: bool = True) -> ListeningRecording:
    """Hear one clip of ``world`` (clip seed ``seed``) with ``spec`` and record everything."""
    from spikefly.envs.audio_env import (
        AudioSettings,
        clip_seed,
        detected_class,
        episode,
        hop_s,
    )
    from spikefly.envs.audio.scoring import score
    from spikefly.worlds.soundscape import load_soundscape

    if spec.env_id != AUDIO_EVENT_ID:
        raise RecordError(f"this controller was evolved for {spec.env_id!r}; a clip needs an {AUDIO_EVENT_ID!r} controller")
    settings = AudioSettings.from_kwargs(**spec.env_settings)
    clip = episode(world, seed, settings)
    if len(clip.classes) != spec.n_actions:
        raise RecordError(f"{world}: its soundscape has {len(clip.classes)} target classes, the controller {spec.n_actions}")
    controller = recording_controller(spec, seed)
    detections = np.array([detected_class(controller.act(frame)) for frame in clip.features], np.int8)
    result = score(detections, clip.events, clip.classes, hop_s(), settings.reward)
    audio, rate = None, 16000
    if with_audio:  # the same draw as the episode's clip: the samples behind the features
        rendered = render_clip(
            load_soundscape(world), np.random.default_rng(clip_seed(int(seed))), duration_s=settings.duration_s, snr_db=settings.snr_db,
            backgrounds=list(settings.backgrounds) if settings.backgrounds is not None else None,
        )
        audio, rate = rendered.audio.astype(np.float32), int(rendered.sample_rate)
    return ListeningRecording(
        world=str(world), seed=int(seed), frame_s=hop_s(), features=clip.features,
        event_onset_s=np.array([e.onset_s for e in clip.events], float), event_offset_s=np.array([e.offset_s for e in clip.events], float),
        event_label=np.array([e.label for e in clip.events], dtype=np.str_), classes=np.array(clip.classes, dtype=np.str_),
        detections=detections, total_return=float(result.total), counts={k: int(v) for k, v in result.counts.items()},
        log=controller.spike_log(), audio=audio, sample_rate=rate,
    )


__all__ = ["RecordError", "RecordingController", "record_flight", "record_listening", "recording_controller"]
