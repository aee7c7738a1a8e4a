"""The task boundary: a third task, registered from this file, evolves through the same command line,
run, checkpoints and board costs as the bundled two; unknown tasks are one clear error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spikefly.controllers import SpikingController, decoder_from_dict, encoder_from_dict, load
from spikefly.envs.sim import outcomes
from spikefly.evolution.cli.commands import main
from spikefly.evolution.fused_rollout import RolloutResults
from spikefly.evolution.settings import EvolveSettings, SettingsError
from spikefly.evolution.tasks import TASKS, TaskError, TaskParts, register_task, task_for

STEER_ID = "tests/Steer-v0"
STEPS = 12


class SteerFlyer:
    """Hold action 0 at a target in [-1, 1] that the observation shows; an episode's seed draws the target."""

    n_actions = 1
    control_hz = 10.0
    reference_physics = None
    low = np.array([-1.0], np.float32)
    high = np.array([1.0], np.float32)

    def __init__(self, settings: EvolveSettings) -> None:
        self.settings = settings
        self.encoder = encoder_from_dict(dict(settings.encoder))
        self.decoder = decoder_from_dict(dict(settings.decoder))

    def fly(self, networks, episodes, physics=None) -> RolloutResults:
        shape = (len(networks), len(episodes))
        returns, codes, ops = np.zeros(shape), np.zeros(shape, np.int64), np.zeros((*shape, 4), np.int64)
        for g, network in enumerate(networks):
            for e, seed in enumerate(episodes.seeds):
                target = float(np.random.default_rng(seed).uniform(-1.0, 1.0))
                controller = SpikingController(network, self.encoder, self.decoder, self.settings.steps_per_action,
                                               self.low, self.high, self.n_actions, seed=seed)
                error = np.mean([abs(float(controller.act(np.array([target], np.float32))[0]) - target) for _ in range(STEPS)])
                returns[g, e] = 1.0 - error
                codes[g, e] = outcomes.GOAL if error < 0.25 else outcomes.TIMEOUT
                ops[g, e] = tuple(controller.counts)
        zeros = np.zeros(shape)
        return RolloutResults(returns=returns, outcomes=codes, steps=np.full(shape, STEPS, np.int64), time_s=zeros,
                              min_clearance_m=zeros, rotor_energy_j=zeros, final_position_m=np.zeros((*shape, 3)), ops=ops)


@pytest.fixture()
def steer_task():
    task = register_task(TaskParts("steer", STEER_ID, flyer=SteerFlyer, defaults_of={
        "worlds": ("line",), "env_settings": {}, "curriculum_start": 0.0, "validation_episodes": 4,
        "validation_every": 2, "validation_top": 2, "episodes_per_world": 3}))
    yield task
    TASKS.pop(STEER_ID)


def test_a_third_task_evolves_through_the_command_line_and_resumes(steer_task, tmp_path, capsys):
    out = tmp_path / "steer"
    command = ["evolve", "--env", "steer", "--population", "12", "--generations", "4", "--quiet", "--out", str(out)]
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert f"champion: {out / 'champion.json'}" in printed
    assert "validation success rate: " in printed and "PyBullet" not in printed  # the task's metric, no reference physics
    assert f"evaluate it on new episodes: spikefly evaluate {out / 'champion.json'} --world line --seed 0" in printed
    settings = json.loads((out / "settings.json").read_text())
    assert settings["env_id"] == STEER_ID and settings["worlds"] == ["line"] and settings["episodes_per_world"] == 3
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [line["generation"] for line in lines if "generation" in line] == [0, 1, 2, 3]
    assert "best_board" in lines[0] and lines[0]["best_board"]["board"] == "stm32f405"  # board costs charged as for any task
    assert "pybullet_success_rate" not in lines[-1]["final_champion"]  # no reference physics for this task
    spec = load(out / "champion.json")
    assert spec.env_id == STEER_ID and spec.n_actions == 1

    # spikefly evaluate goes through the task too: this one names no evaluation, and says so in one line
    assert main(["evaluate", str(out / "champion.json"), "--world", "line"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "evolved for the steer task, which names no evaluation. Fix:" in error

    # stopped half way and resumed, it ends as the uninterrupted run did
    from spikefly.evolution.run import EvolutionRun

    halves = EvolutionRun.start(tmp_path / "halves", EvolveSettings.read(out / "settings.json"), progress=False)
    halves.run(until=2)
    EvolutionRun.resume(tmp_path / "halves", progress=False).run()
    assert (tmp_path / "halves" / "champion.json").read_text() == (out / "champion.json").read_text()


def test_unknown_tasks_are_one_clear_error(capsys):
    with pytest.raises(TaskError, match=r"env_id='nope/Nope-v0': no such task. Fix: choose one of"):
        task_for("nope/Nope-v0")
    with pytest.raises(SettingsError, match=r"env_id='nope/Nope-v0': choose one of"):
        EvolveSettings(env_id="nope/Nope-v0")
    with pytest.raises(SystemExit):
        main(["evolve", "--env", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_a_task_name_cannot_be_taken_twice():
    with pytest.raises(TaskError, match="task name 'quadrotor' is taken"):
        register_task(TaskParts("quadrotor", "other/Quadrotor-v9", flyer=SteerFlyer))
    assert "other/Quadrotor-v9" not in TASKS


def test_a_tasks_own_settings_are_checked_before_anything_is_written(steer_task, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"env_settings": {"wind_speed_mps": 2.0}}))
    out = tmp_path / "run"
    assert main(["evolve", "--env", "steer", "--settings", str(bad), "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "the steer task takes none" in error and "Fix:" in error
    assert not out.exists()


def test_audio_flags_on_a_quadrotor_controller_are_refused(tmp_path, capsys):
    from spikefly.controllers import ControllerSpec, random_network, save
    from spikefly.controllers import encoder_from_dict as encoder_of
    from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
    from spikefly.evolution.settings import DEFAULT_ENCODER

    space = observation_space(QuadrotorSettings.from_kwargs())
    encoder, decoder = encoder_of(dict(DEFAULT_ENCODER)), decoder_from_dict({"kind": "rate", "signed_pairs": True})
    network = random_network(np.random.default_rng(0), encoder.n_channels(space.shape[0]), 12, 8, 0.2)
    path = tmp_path / "pilot.json"
    save(ControllerSpec(network, encoder, decoder, 8, space.low, space.high, 4, env_id="spikefly/QuadrotorAvoid-v0"), path)
    assert main(["evaluate", str(path), "--world", "empty", "--episodes", "1", "--snr", "0", "5"]) == 2
    assert "--snr, --background and --stream-minutes apply to audio controllers" in capsys.readouterr().err



def evaluate_steer(spec, worlds, episodes, seed, **options):
    """The steer task's evaluation: the flyer's returns on ``episodes`` episodes per world."""
    from spikefly.evolution.episodes import VALIDATION, episodes_for

    network = spec.network
    settings = EvolveSettings.of_task(STEER_ID)
    results = SteerFlyer(settings).fly([network], episodes_for(tuple(worlds), episodes, seed, VALIDATION))
    ops = results.ops[0].sum(axis=0)
    rows = [{"steps": STEPS, **dict(zip(("neuron_updates", "spikes", "input_events", "synaptic_ops"), map(int, ops)))}]
    return {"env": STEER_ID, "summary": {"mean_return": float(results.returns.mean())}, "episodes": rows,
            "network": {"neurons": network.n_neurons}}


def print_steer(controller, reports, **options):
    for name, report in reports.items():
        print(f"{controller} [{name}]: mean return {report['summary']['mean_return']:.3f}, "
              f"{report['boards']['stm32f405']['power_w'] * 1e6:.3f} uW at {STEER_RATE_HZ:g} Hz")


STEER_RATE_HZ = 10.0


def test_evaluation_review_and_baselines_go_through_the_task(tmp_path, capsys):
    """spikefly evaluate uses the task's evaluation, printer and control rate; the commands a task does not
    provide parts for (render, report's flights, baseline, bench) refuse it in one line."""
    task = register_task(TaskParts("steer", STEER_ID, flyer=SteerFlyer, evaluator=evaluate_steer, printer=print_steer,
                                   rate=lambda env_settings: (STEER_RATE_HZ, 100), defaults_of={
                                       "worlds": ("line",), "env_settings": {}, "curriculum_start": 0.0,
                                       "validation_episodes": 4, "validation_every": 2, "validation_top": 2}))
    try:
        out = tmp_path / "steer"
        assert main(["evolve", "--env", "steer", "--population", "8", "--generations", "2", "--quiet", "--out", str(out)]) == 0
        capsys.readouterr()
        champion = str(out / "champion.json")
        assert main(["evaluate", champion, "--episodes", "3", "--board", "stm32f405"]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith(f"{champion} [integer (as given)]: mean return ") and f"uW at {STEER_RATE_HZ:g} Hz" in printed
        assert main(["evaluate", champion, "--episodes", "3", "--board", "stm32f405", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        cost = report["boards"]["stm32f405"]
        assert cost["front_end_macs_per_frame"] == 100  # the task's fixed MACs per step, charged on an MCU
        assert cost["power_w"] == pytest.approx(cost["energy_j"] * STEER_RATE_HZ)  # at the task's control rate
        for command in (["render", champion, "--quiet"], ["baseline", "ppo", "--env", "steer"], ["bench", "--env", "steer"],
                        ["evaluate", champion, "--suite", "heldout"]):
            assert main(command) == 2, command
            error = capsys.readouterr().err
            assert error.count("\n") == 1 and "steer" in error, (command, error)
        assert task.review is None and task.baseline is None
        assert main(["report", str(out)]) == 0  # the run's plots; no episode picture for a task without review parts
        assert (out / "report" / "report.html").exists() and not (out / "report" / "trajectories.png").exists()
    finally:
        TASKS.pop(STEER_ID)
