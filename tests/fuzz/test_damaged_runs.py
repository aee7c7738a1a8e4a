"""Resuming a run whose files were damaged: a damaged champion is rebuilt from the checkpoint, a
damaged log keeps the lines before the damage, a damaged settings file or NEAT config is one line
naming it (exit 2)."""

from __future__ import annotations

import json
import shutil

import pytest

from spikefly.evolution.cli.commands import main

RANDOM_BYTES = bytes(range(256)) * 8


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("damaged") / "run"
    settings = out.parent / "settings.json"
    settings.write_text(json.dumps({"worlds": ["empty"], "population": 6, "generations": 3, "episodes_per_world": 1,
                                    "validation_episodes": 2, "validation_every": 1, "pybullet_every": 0}))
    assert main(["evolve", "--settings", str(settings), "--out", str(out), "--quiet"]) == 0
    assert (out / "champion.json").is_file()
    return out


def copy_of(run, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(run, target)
    return target


def test_a_damaged_champion_is_rebuilt_from_the_checkpoint(finished_run, tmp_path, capsys):
    run = copy_of(finished_run, tmp_path)
    good = (run / "champion.json").read_bytes()
    (run / "champion.json").write_bytes(RANDOM_BYTES)
    assert main(["evolve", "--resume", str(run), "--quiet"]) == 0
    assert (run / "champion.json").read_bytes() == good
    assert main(["evaluate", str(run / "champion.json"), "--world", "empty", "--episodes", "1", "--physics", "twin"]) == 0


def test_a_damaged_log_keeps_the_lines_before_the_damage(finished_run, tmp_path, capsys):
    run = copy_of(finished_run, tmp_path)
    lines = (run / "log.jsonl").read_bytes().splitlines(keepends=True)
    (run / "log.jsonl").write_bytes(lines[0] + RANDOM_BYTES + b"\n" + b"".join(lines[1:]))
    assert main(["evolve", "--resume", str(run), "--quiet"]) == 0
    kept = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert kept[0] == json.loads(lines[0]) and "final_champion" in kept[-1]


@pytest.mark.parametrize("name", ["settings.json", "neat.ini"])
@pytest.mark.parametrize("damage", [RANDOM_BYTES, b"", b"[[[["], ids=["random-bytes", "empty", "garbage"])
def test_a_damaged_settings_or_neat_config_is_one_line_naming_it(finished_run, tmp_path, capsys, name, damage):
    run = copy_of(finished_run, tmp_path)
    (run / name).write_bytes(damage)
    assert main(["evolve", "--resume", str(run), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and name in error and "Fix:" in error and "Traceback" not in error
