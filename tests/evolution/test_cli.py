"""The `spikefly` command line as a user meets it."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from spikefly.evolution.cli.commands import main

BUNDLED = ["corridor", "empty", "forest", "mixed", "slalom", "windows"]


def test_installed_console_script_answers_help_and_version():
    exe = shutil.which("spikefly")
    assert exe, "the console script is not on PATH: is the package installed (pip install -e .)?"
    help_text = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "demo" in help_text and "worlds" in help_text
    version_text = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout
    assert version_text.startswith("spikefly 0.")


@pytest.mark.parametrize("command", ["demo", "worlds"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: spikefly " + command in capsys.readouterr().out


def test_demo_reaches_the_goal_in_the_empty_world_and_prints_json(capsys):
    assert main(["demo", "--world", "empty", "--episodes", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["world"] == "empty"
    (episode,) = report["episodes"]
    assert episode["outcome"] == "goal" and episode["return"] > 0
    assert report["summary"]["success_rate"] == 1.0


def test_demo_text_names_world_outcomes_and_success_rate(capsys):
    assert main(["demo", "--world", "forest", "--episodes", "2", "--seed", "10"]) == 0
    out = capsys.readouterr().out
    assert "world forest" in out and "seed   10" in out and "seed   11" in out
    assert "success rate" in out


def test_worlds_lists_the_bundled_worlds(capsys):
    assert main(["worlds"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == BUNDLED


def test_worlds_check_reports_a_bad_file_with_key_and_fix(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(
        'name = "g"\nkind = "obstacle_course"\ntime_limit_s = 5.0\n[bounds]\nmin = [-1.0, -1.0, 0.0]\nmax = [5.0, 1.0, 2.0]\n'
        '[start]\nposition = [0.0, 0.0, 1.0]\n[goal]\nposition = [4.0, 0.0, 1.0]\nradius = 0.3\n'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("radius = 0.3", "radius = -0.3"))
    assert main(["worlds", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "ok   " + str(good) in out
    assert "FAIL" in out and "bad.toml" in out and "goal.radius" in out and "Fix" in out


def test_demo_with_a_missing_world_file_exits_2_with_the_path(tmp_path, capsys):
    missing = tmp_path / "nowhere.toml"
    assert main(["demo", "--world", str(missing), "--episodes", "1"]) == 2
    assert "nowhere.toml" in capsys.readouterr().err


def test_json_output_is_pure_json_for_other_programs():
    # pybullet prints a build banner on import; it must not reach stdout.
    exe = shutil.which("spikefly")
    result = subprocess.run([exe, "demo", "--world", "empty", "--episodes", "1", "--json"], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout)
    assert report["episodes"][0]["outcome"] == "goal"
