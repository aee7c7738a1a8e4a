"""`spikefly evaluate --suite` and `--world A B C`: several worlds after one flag, suites per course and overall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spikefly.controllers import ControllerSpec, DirectEncoder, RateDecoder, random_network, save
from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
from spikefly.evolution.cli.commands import build_parser, main
from spikefly.worlds import suite_courses

HELDOUT = suite_courses("heldout")


@pytest.fixture(scope="module")
def controller(tmp_path_factory) -> str:
    """A small random spiking controller (it crashes soon, which keeps flights short)."""
    space = observation_space(QuadrotorSettings())
    network = random_network(np.random.default_rng(5), space.shape[0], 10, 8, 0.3, weight_scale=1.0)
    spec = ControllerSpec(network=network, encoder=DirectEncoder(signed=True), decoder=RateDecoder(signed_pairs=True),
                          steps_per_action=8, observation_low=space.low, observation_high=space.high, n_actions=4,
                          env_id="spikefly/QuadrotorAvoid-v0", env_settings={}, metadata={"worlds": ["forest"]})
    return str(save(spec, tmp_path_factory.mktemp("controller") / "controller.json"))


def test_world_takes_several_values_and_repeats():
    parser = build_parser()
    args = parser.parse_args(["evaluate", "c.json", "--world", "a", "b.toml", "--world", "c", "--episodes", "2"])
    assert args.controller == "c.json" and args.worlds == ["a", "b.toml", "c"]
    args = parser.parse_args(["evolve", "--world", "forest", "windows", "--world", "corridor"])
    assert args.worlds == ["forest", "windows", "corridor"]
    assert parser.parse_args(["evaluate", "c.json"]).worlds is None


def test_evaluate_flies_every_world_given_after_one_flag(controller, capsys):
    assert main(["evaluate", controller, "--world", "empty", "forest", "--physics", "twin", "--episodes", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["per_world"]) == ["empty", "forest"]
    assert [row["seed"] for row in report["episodes"]] == [0, 1, 0, 1]
    assert "suite" not in report


def test_a_controller_after_the_worlds_is_still_the_controller(controller, capsys):
    assert main(["evaluate", "--world", "empty", "forest", controller, "--physics", "twin", "--episodes", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{controller}:") and "empty: success rate" in out and "forest: success rate" in out


def test_a_missing_controller_says_to_put_it_first(capsys):
    assert main(["evaluate", "--world", "empty", "forest"]) == 2
    error = capsys.readouterr().err
    assert "no controller file given" in error and "put it first" in error
    assert main(["evaluate", "c.json", "--world", "empty", "other.json"]) == 2
    assert "other.json: a .json file is a controller, not a world" in capsys.readouterr().err


def test_suite_flies_each_course_once_and_reports_per_course_and_overall(controller, capsys):
    assert main(["evaluate", controller, "--suite", "heldout", "--physics", "twin", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    suite = report["suite"]
    assert suite["name"] == "heldout"
    assert [entry["course"] for entry in suite["courses"]] == [path.stem for path in HELDOUT]
    assert [entry["world"] for entry in suite["courses"]] == [str(path) for path in HELDOUT]
    for entry in suite["courses"]:
        assert entry["episodes"] == 1 and sum(entry["outcomes"].values()) == 1
        assert entry["success_rate"] == (1.0 if "goal" in entry["outcomes"] else 0.0)
    summary = suite["summary"]
    assert summary["courses"] == summary["episodes"] == len(HELDOUT) == report["summary"]["episodes"]
    assert sum(summary[f"{key}_rate"] for key in ("success", "collision", "out_of_bounds", "timeout")) == pytest.approx(1.0)
    assert len(report["episodes"]) == len(HELDOUT)  # the suite alone: not also the trained-on worlds


def test_suite_text_table_and_combination_with_world(controller, capsys):
    assert main(["evaluate", controller, "--world", "empty", "--suite", "heldout", "--physics", "twin"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("  empty      seed     0") for line in lines)
    assert sum(line.startswith("  empty ") for line in lines) == 10  # --world keeps 10 episodes by default
    assert f"suite heldout: {len(HELDOUT)} courses, 1 episode each (twin)" in out
    table = [line.split() for line in lines if line.startswith("  ") and line.split()[0] in {p.stem for p in HELDOUT}]
    assert [row[0] for row in table] == [path.stem for path in HELDOUT]
    assert all(row[1] in {"goal", "collision", "out_of_bounds", "timeout"} for row in table)
    assert "suite heldout overall: goal reached on" in out and f"of {len(HELDOUT)} courses" in out


def test_explicit_episodes_apply_to_suite_courses(controller, capsys, tmp_path):
    for path in HELDOUT[:2]:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["evaluate", controller, "--suite", str(tmp_path), "--episodes", "2", "--physics", "twin", "--json"]) == 0
    suite = json.loads(capsys.readouterr().out)["suite"]
    assert [entry["episodes"] for entry in suite["courses"]] == [2, 2] and suite["summary"]["episodes"] == 4


def test_an_unknown_suite_is_one_line_exit_2_listing_the_suites(controller, capsys):
    assert main(["evaluate", controller, "--suite", "nope", "--physics", "twin"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert "no bundled suite named 'nope'" in line and "heldout" in line


def test_suite_in_pybullet_on_two_courses(controller, capsys, tmp_path):
    for path in (HELDOUT[0], HELDOUT[-1]):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["evaluate", controller, "--suite", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["physics"] == "pybullet"
    assert [entry["course"] for entry in report["suite"]["courses"]] == [HELDOUT[0].stem, HELDOUT[-1].stem]
    assert all(Path(row["world"]).parent == tmp_path for row in report["episodes"])
