"""Streaming evaluation (MLPerf Tiny style): one continuous stream, misses and false alarms per 20 minutes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from spikefly.envs.audio.scoring import score, stream_metrics
from spikefly.envs.audio_env import AudioSettings, episode
from spikefly.evolution.audio_stream import stream_episode
from spikefly.evolution.cli.commands import main

CHAMPION = Path(__file__).parent / "data" / "champions" / "audio_kitchen.json"


@dataclass(frozen=True)
class Ev:
    onset_s: float
    offset_s: float
    label: str


def test_stream_metrics_count_exact_misses_and_false_alarms_per_20_minutes() -> None:
    # A 10-minute stream (60,000 frames of 10 ms): four alarms and a CO alarm.
    events = [Ev(10.0, 12.5, "smoke_alarm"), Ev(100.0, 102.5, "smoke_alarm"), Ev(200.0, 202.5, "co_alarm"),
              Ev(300.0, 302.5, "smoke_alarm"), Ev(500.0, 506.5, "smoke_alarm")]
    actions = np.zeros(60_000, np.int64)
    actions[1_050:1_060] = 1    # hit the first alarm (latency 0.5 s)
    actions[1_290:1_300] = 1    # a repeat 0.4 s after its end: inside the grace span, free
    actions[20_100:20_110] = 1  # during the CO alarm: a false alarm (a distractor one)
    actions[40_000:40_001] = 1  # in silence: a false alarm
    actions[50_000:50_002] = 1  # the fourth alarm, right at its onset
    result = score(actions, events, ["smoke_alarm"])
    metrics = stream_metrics(result, 600.0)
    assert (metrics["hits"], metrics["misses"], metrics["false_alarms"]) == (2, 2, 2)
    assert metrics["distractor_false_alarms"] == 1
    assert metrics["misses_per_20_min"] == 4.0 and metrics["false_alarms_per_20_min"] == 4.0
    assert metrics["false_alarms_per_hour"] == 12.0 and metrics["stream_minutes"] == 10.0
    assert metrics["f1"] == pytest.approx(0.5) and metrics["median_latency_s"] == pytest.approx(0.25)


def _scape(folder: Path, name: str, duration_s: float, smoke_rate: float) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\nkind = "soundscape"\nduration_s = {duration_s}\ntarget = ["smoke_alarm"]\n'
                    '[[backgrounds]]\nsource = "babble_noise"\nlevel_dbfs = [-35.0, -25.0]\n'
                    f'[[events]]\nsource = "smoke_alarm"\nrate_per_min = [{smoke_rate}, {smoke_rate}]\n'
                    '[[events]]\nsource = "phone_ring"\nrate_per_min = [3.0, 3.0]\n')
    return path


def test_a_stream_joins_the_worlds_clips_in_turn_and_cuts_at_the_length(tmp_path: Path) -> None:
    first, second = _scape(tmp_path, "a", 20.0, 6.0), _scape(tmp_path, "b", 20.0, 0.0)
    stream = stream_episode([first, second], 1.0, seed=3)
    again = stream_episode([first, second], 1.0, seed=3)
    assert stream.audio_s == 60.0 and len(stream.features) == len(again.features)
    assert np.array_equal(stream.features, again.features) and stream.events == again.events
    # clip 0 is world a seed 3, clip 1 world b seed 3, clip 2 world a seed 4: the episodes' clips, shifted
    pieces = [(episode(first, 3), 0.0), (episode(second, 3), 20.0), (episode(first, 4), 40.0)]
    expected = [(round(e.onset_s + shift, 3), e.label) for clip, shift in pieces for e in clip.events]
    assert [(round(e.onset_s, 3), e.label) for e in stream.events] == expected
    assert all(e.offset_s <= 60.0 for e in stream.events)
    assert any(e.label == "smoke_alarm" for e in stream.events)


def test_stream_length_and_targets_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at most"):
        stream_episode([_scape(tmp_path, "a", 20.0, 1.0)], 500.0)
    with pytest.raises(ValueError, match="more than 0"):
        stream_episode([_scape(tmp_path, "a", 20.0, 1.0)], 0.0, settings=AudioSettings())


def test_evaluate_stream_minutes_reports_stream_metrics_and_energy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = _scape(tmp_path, "no_alarm", 30.0, 0.0)
    assert main(["evaluate", str(CHAMPION), "--world", str(world), "--stream-minutes", "0.5", "--board", "nrf52840",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    stream = report["stream"]
    assert stream["stream_minutes"] == 0.5 and stream["events"] == 0 and stream["misses"] == 0
    assert stream["false_alarms_per_20_min"] == stream["false_alarms"] * 40
    assert 2990 <= report["episodes"][0]["steps"] <= 3000 and report["boards"]["nrf52840"]["per_hour_j"] > 0
    assert main(["evaluate", str(CHAMPION), "--world", str(world), "--stream-minutes", "0.5"]) == 0
    assert "stream of 0.5 min: 0 misses" in capsys.readouterr().out


def test_training_refuses_held_out_recordings() -> None:
    from spikefly.evolution.audio_task import check_training_worlds

    with pytest.raises(ValueError, match=r"heldout_babble: it draws held-out recordings .*train on soundscapes"):
        check_training_worlds(("kitchen", "heldout_babble"), AudioSettings())
    with pytest.raises(ValueError, match="evaluation only"):
        check_training_worlds(("kitchen",), AudioSettings(backgrounds=("recordings:speech:heldout",)))
    check_training_worlds(("kitchen", "street", "office", "living_room", "cafe"), AudioSettings())
