"""`spikefly report` as a user meets it: a tiny run, a run still going, broken run directories."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikefly.evolution.cli.commands import main
from spikefly.evolution.review.report import build_report
from spikefly.evolution.review.plots import pareto_front

pytest.importorskip("matplotlib", reason='needs pip install "spikefly[render]"')

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """Three generations of 12 genomes on the empty world (a few seconds)."""
    folder = tmp_path_factory.mktemp("run")
    settings = folder / "tiny.json"
    settings.write_text(json.dumps({"validation_every": 2, "validation_episodes": 2, "pybullet_episodes": 2, "validation_top": 2}))
    run = folder / "run"
    assert main(["evolve", "--population", "12", "--generations", "3", "--episodes", "1", "--world", "empty", "--quiet",
                 "--settings", str(settings), "--out", str(run)]) == 0
    return run


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r"src='data:image/png;base64,([^']+)'", page)]


def test_the_report_of_a_tiny_run_builds_and_every_image_it_references_exists(tiny_run, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(tiny_run), "--out", str(out), "--flights", "1"]) == 0
    assert f"wrote {out / 'report.html'}" in capsys.readouterr().out
    page = (out / "report.html").read_text()
    written = {path.name: path.read_bytes() for path in out.glob("*.png")}
    assert {"fitness.png", "species_size.png", "validation.png", "front.png", "topology.png", "trajectories.png"} <= set(written)
    embedded = _images(page)
    assert len(embedded) == len(written)
    for image in embedded:  # each embedded picture is a PNG written beside the page
        assert image.startswith(PNG_MAGIC) and image in written.values()
    assert not re.findall(r"src='(?!data:)", page)  # self-contained: no file the page needs besides itself
    assert "finished after 3 generations" in page


def test_the_run_writes_every_genome_of_the_latest_generation_for_the_front(tiny_run):
    population = json.loads((tiny_run / "population.json").read_text())
    last = [line for line in map(json.loads, (tiny_run / "log.jsonl").read_text().splitlines()) if "best_terms" in line][-1]
    assert population["generation"] == last["generation"] == 2
    terms = population["terms"]
    assert all(len(column) == 12 for column in terms.values())
    assert len(population["energy_uj_per_step"]) == len(population["synaptic_ops_per_step"]) == 12
    rows = [dict(zip(terms, values)) for values in zip(*terms.values())]
    assert last["best_terms"] in rows  # the logged best genome is one of the rows
    assert np.mean(terms["flight_return"]) == pytest.approx(last["mean_terms"]["flight_return"], abs=1e-5)


def test_a_run_still_going_or_interrupted_still_reports(tiny_run, tmp_path):
    run = tmp_path / "running"
    shutil.copytree(tiny_run, run)
    lines = (run / "log.jsonl").read_text().splitlines()
    (run / "log.jsonl").write_text("\n".join(line for line in lines if "final_champion" not in line) + '\n{"generation": 3, "best_fi')
    result = build_report(run, flights=0)
    page = result.html.read_text()
    assert result.html == run / "report" / "report.html"
    assert "not finished: 3 of 3 generations logged" in page
    assert any("incomplete" in note for note in result.notes)
    assert len(_images(page)) == len(result.images) == 5  # everything but the flights, which were not asked for


def test_videos_in_the_run_directory_are_embedded(tiny_run, tmp_path):
    from spikefly.envs.render.video import VideoSink

    run = tmp_path / "with_video"
    shutil.copytree(tiny_run, run)
    sink = VideoSink(run / "flight.mp4", 320, 240, 30.0)
    for shade in range(10):
        sink.write(np.full((240, 320, 3), 20 * shade, np.uint8))
    sink.close()
    result = build_report(run, flights=0)
    assert result.videos == [(run / "flight.mp4").resolve()]
    assert "<video controls src='data:video/mp4;base64," in result.html.read_text()


def test_bad_run_directories_are_one_clear_line_and_exit_2(tiny_run, tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such directory. Fix: pass the --out directory of a spikefly evolve run" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no settings.json, so not a spikefly run directory" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(tiny_run, broken)
    (broken / "settings.json").write_text('{"worlds": ["empty"')
    assert main(["report", str(broken)]) == 2
    assert "settings.json: not valid JSON" in capsys.readouterr().err
    shutil.copy(tiny_run / "settings.json", broken / "settings.json")
    lines = (broken / "log.jsonl").read_text().splitlines()
    (broken / "log.jsonl").write_text("\n".join(["garbage", *lines]) + "\n")
    assert main(["report", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "log.jsonl: line 1 is not JSON" in err and "Fix:" in err and err.count("\n") == 1
    assert not (broken / "report" / "report.html").exists()  # nothing half-written


def test_the_front_keeps_the_genomes_no_other_beats_on_reward_and_energy():
    reward = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    energy = np.array([1.0, 2.0, 3.0, 4.0, 4.0])
    assert pareto_front(reward, energy).tolist() == [0, 1, 3]
