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
    assert main(["worlds", str(good), str(bad)]) == 2  # a user error, as from every command
    captured = capsys.readouterr()
    assert "ok   " + str(good) in captured.out
    error = captured.err.strip()
    assert error.count("\n") == 0 and "bad.toml" in error and "goal.radius" in error and "Fix" in error


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


def test_every_setting_is_a_flag_or_a_settings_table():
    from dataclasses import fields

    from spikefly.evolution.cli.commands import HAND_WRITTEN_SETTINGS, setting_flags
    from spikefly.evolution.settings import EvolveSettings

    tables = {"env_settings", "encoder", "decoder"}
    names = {field.name for field in fields(EvolveSettings)}
    assert names == HAND_WRITTEN_SETTINGS | set(setting_flags()) | tables
    assert not HAND_WRITTEN_SETTINGS & set(setting_flags())
    docs = EvolveSettings.field_docs()
    assert set(docs) == names and all(docs.values())  # every field documents itself


def test_a_generated_setting_flag_reaches_the_run_and_a_bad_value_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["evolve", "--population", "8", "--generations", "1", "--episodes", "1", "--quiet",
                 "--validation-episodes", "2", "--pybullet-episodes", "1", "--curriculum-start", "0.3",
                 "--reinsert-champion", "--out", str(out)]) == 0
    settings = json.loads((out / "settings.json").read_text())
    assert (settings["validation_episodes"], settings["curriculum_start"], settings["reinsert_champion"]) == (2, 0.3, True)
    with pytest.raises(SystemExit) as stop:
        main(["evolve", "--validation-top", "two", "--out", str(tmp_path / "bad")])
    assert stop.value.code == 2 and "--validation-top: invalid int value: 'two'" in capsys.readouterr().err
    assert main(["evolve", "--curriculum-start", "2.5", "--out", str(tmp_path / "bad")]) == 2
    assert "curriculum_start=2.5: must be a number in [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
