"""Real-room backgrounds: Debian recordings and their split, generated non-stationarity, hard negatives."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile
from spikefly.envs.audio import recordings as recording_sets
from spikefly.envs.audio.beeps import BEEP_SOURCES
from spikefly.envs.audio.recordings import ALL_PACKAGES, RECORDING_SETS, find_recordings, part_of
from spikefly.envs.audio.room_backgrounds import babble_noise, level_steps, recorded_background, synth_music
from spikefly.envs.audio.signals import BACKGROUND_SOURCES, EVENT_SOURCES, AudioSourceUnavailable
from spikefly.envs.audio.soundscape_render import render_clip
from spikefly.worlds.errors import WorldError
from spikefly.worlds.soundscape import (
    BACKGROUND_SOURCE_NAMES,
    EVENT_SOURCE_NAMES,
    RECORDING_SET_NAMES,
    bundled_soundscapes,
    load_soundscape,
)
from spikefly.worlds.wav import AudioFileError

RATE = 16_000
ROOT = Path(__file__).resolve().parents[2]


def _installed() -> bool:
    try:
        for name in RECORDING_SETS:
            find_recordings(name)
    except AudioSourceUnavailable:
        return False
    return True


needs_recordings = pytest.mark.skipif(not _installed(), reason="Debian recordings missing: scripts/install-system-packages")


def test_the_install_script_installs_every_recording_package() -> None:
    script = (ROOT / "scripts" / "install-system-packages").read_text()
    for package in ALL_PACKAGES:
        assert package in script


def test_names_match_the_world_format() -> None:
    assert set(BACKGROUND_SOURCE_NAMES) == set(BACKGROUND_SOURCES)
    assert set(EVENT_SOURCE_NAMES) == set(EVENT_SOURCES)
    assert set(RECORDING_SET_NAMES) == {*RECORDING_SETS, "tv"}


@needs_recordings
@pytest.mark.parametrize("set_name", list(RECORDING_SETS))
def test_train_and_heldout_parts_are_disjoint_and_both_hold_recordings(set_name: str) -> None:
    train, heldout = find_recordings(set_name, "train"), find_recordings(set_name, "heldout")
    assert train and heldout
    assert not {r.path for r in train} & {r.path for r in heldout}
    assert not {r.group for r in train} & {r.group for r in heldout}  # no speaker, song or sound in both
    assert {r.path for r in train} | {r.path for r in heldout} == {r.path for r in find_recordings(set_name)}


def test_the_split_depends_only_on_names() -> None:
    assert part_of("speech", "fr") == "heldout" and part_of("speech", "en") == "train"
    share = np.mean([part_of("music", f"song{i}") == "heldout" for i in range(2000)])
    assert 0.17 < share < 0.23  # one in five


def test_missing_packages_are_one_clear_error_with_the_install_line(tmp_path: Path) -> None:
    with pytest.raises(AudioSourceUnavailable, match=r"ktuberling-data.*not installed; Fix: .*sudo apt install ktuberling-data"):
        find_recordings("speech", root=str(tmp_path))


def test_a_corrupt_recording_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ogg"
    bad.write_bytes(b"OggS" + bytes(200))
    with pytest.raises(AudioFileError, match="broken.ogg: cannot decode"):
        recording_sets.decode(bad)


@needs_recordings
@pytest.mark.parametrize("set_name", ["speech", "music", "tv", "sounds"])
@pytest.mark.parametrize("part", ["train", "heldout"])
def test_recorded_backgrounds_are_deterministic_non_stationary_and_at_level(set_name: str, part: str) -> None:
    first = recorded_background(set_name, np.random.default_rng(7), 20.0, part)
    again = recorded_background(set_name, np.random.default_rng(7), 20.0, part)
    other = recorded_background(set_name, np.random.default_rng(8), 20.0, part)
    assert first.shape == (20 * RATE,) and first.dtype == np.float32
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    level = np.sqrt(np.mean(first.astype(np.float64) ** 2))
    assert level == pytest.approx(0.1, rel=0.02) or (set_name == "sounds" and np.max(np.abs(first)) == pytest.approx(1.0))
    per_second = np.sqrt(np.mean(first.astype(np.float64).reshape(20, -1) ** 2, axis=1)) + 1e-9
    assert 20 * np.log10(per_second.max() / per_second.min()) > 3.0  # the level moves over the clip


@pytest.mark.parametrize("make", [babble_noise, synth_music])
def test_generated_room_backgrounds_are_deterministic_and_non_stationary(make) -> None:
    first, again = make(np.random.default_rng(3), 10.0), make(np.random.default_rng(3), 10.0)
    assert np.array_equal(first, again) and first.shape == (10 * RATE,)
    frames = np.sqrt(np.mean(first.astype(np.float64).reshape(400, -1) ** 2, axis=1)) + 1e-9  # 25 ms
    assert 20 * np.log10(frames.max() / frames.min()) > 6.0


def test_synth_music_puts_a_melody_at_alarm_pitch_half_of_the_time() -> None:
    high = 0
    for seed in range(12):
        audio = synth_music(np.random.default_rng(seed), 4.0).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(audio)) ** 2
        hz = np.fft.rfftfreq(len(audio), 1 / RATE)
        high += spectrum[(hz > 2300) & (hz < 3700)].sum() > 0.05 * spectrum.sum()
    assert 3 <= high <= 10


@pytest.mark.parametrize("seed", [39, 49, 51, 153])
def test_synth_music_fills_any_clip_whatever_its_last_bar_holds(seed) -> None:
    """These seeds end a 4 s clip in a bar whose melody runs past the end (they once raised)."""
    assert synth_music(np.random.default_rng(seed), 4.0).shape == (4 * RATE,)


def test_level_steps_move_the_level_within_the_range() -> None:
    signal = np.random.default_rng(0).standard_normal(60 * RATE)
    stepped = level_steps(signal, np.random.default_rng(1), (6.0, 6.0), (-50.0, -20.0))
    levels = 20 * np.log10(np.sqrt(np.mean(stepped.reshape(60, -1) ** 2, axis=1)))
    assert levels.min() >= -51.0 and levels.max() <= -19.0 and levels.max() - levels.min() > 3.0


@pytest.mark.parametrize("name", list(BEEP_SOURCES))
def test_hard_negatives_are_deterministic_events(name: str) -> None:
    sound, again = EVENT_SOURCES[name](np.random.default_rng(5)), EVENT_SOURCES[name](np.random.default_rng(5))
    assert np.array_equal(sound.audio, again.audio)
    assert np.max(np.abs(sound.audio)) == pytest.approx(0.5, abs=1e-3)
    assert sound.offset_s == pytest.approx(len(sound.audio) / RATE) and 0.5 < sound.offset_s < 12.0


def _on_spans_s(audio: np.ndarray) -> list[float]:
    frames = audio[: len(audio) // 80 * 80].astype(np.float64).reshape(-1, 80)  # 5 ms frames
    on = np.sqrt(np.mean(frames**2, axis=1)) > 0.05
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
    return [float(s) for s in (edges[1::2] - edges[::2]) * 0.005]


@pytest.mark.parametrize("seed", range(6))
def test_microwave_and_reversing_beeps_stay_outside_t3_timing(seed: int) -> None:
    microwave = _on_spans_s(EVENT_SOURCES["microwave_beep"](np.random.default_rng(seed)).audio)
    assert 3 <= len(microwave) <= 5 and all(not 0.45 <= s <= 0.55 for s in microwave)
    reversing = EVENT_SOURCES["reversing_beeper"](np.random.default_rng(seed)).audio
    assert len(_on_spans_s(reversing)) >= 3  # 0.5 s on / 0.5 s off without T3's 1.5 s pause


@needs_recordings
def test_bundled_soundscapes_hold_real_room_backgrounds_and_hard_negatives() -> None:
    hard = {"co_alarm", "microwave_beep", "timer_beep", "phone_ring", "reversing_beeper", "tonal_melody"}
    for name in ("kitchen", "street", "office", "living_room", "cafe"):
        scape = load_soundscape(name)
        assert any(layer.source == "recordings" and layer.part == "train" for layer in scape.backgrounds), name
        assert {event.source for event in scape.events} & hard, name
    for name in ("heldout_babble", "heldout_music", "heldout_tv", "heldout_no_alarm"):
        layers = [layer for layer in load_soundscape(name).backgrounds if layer.source == "recordings"]
        assert layers and all(layer.part == "heldout" for layer in layers)
    assert {"heldout_babble", "heldout_music", "living_room", "cafe"} <= set(bundled_soundscapes())


@needs_recordings
def test_recordings_soundscape_renders_deterministically(tmp_path: Path) -> None:
    path = tmp_path / "room.toml"
    path.write_text(textwrap.dedent('''
        name = "room"
        kind = "soundscape"
        duration_s = 10.0
        target = ["smoke_alarm"]
        [[backgrounds]]
        source = "recordings"
        set = "speech"
        part = "heldout"
        talkers = [3, 3]
        level_dbfs = [-30.0, -30.0]
        [[events]]
        source = "smoke_alarm"
        rate_per_min = [6.0, 6.0]
    '''))
    scape = load_soundscape(path)
    assert (scape.backgrounds[0].recording_set, scape.backgrounds[0].part, scape.backgrounds[0].talkers) == (
        "speech", "heldout", (3, 3))
    first, again = render_clip(scape, np.random.default_rng(2)), render_clip(scape, np.random.default_rng(2))
    assert np.array_equal(first.audio, again.audio) and first.events == again.events


BAD = {
    "unknown set": ('source = "recordings"\nset = "jazz"\n', "backgrounds[0].set", '"speech"'),
    "missing set": ('source = "recordings"\n', "backgrounds[0].set", "missing required key"),
    "unknown part": ('source = "recordings"\nset = "music"\npart = "test"\n', "backgrounds[0].part", '"heldout"'),
    "talkers on music": ('source = "recordings"\nset = "music"\ntalkers = [2, 4]\n', "backgrounds[0].talkers",
                         "has no talkers"),
    "talkers reversed": ('source = "recordings"\nset = "speech"\ntalkers = [5, 2]\n', "backgrounds[0].talkers",
                         "1 <= lo <= hi"),
    "talkers not whole": ('source = "recordings"\nset = "speech"\ntalkers = [2.5, 4]\n', "backgrounds[0].talkers",
                          "2 whole numbers"),
    "typo key": ('source = "recordings"\nset = "speech"\ntalker = [2, 4]\n', "backgrounds[0].talker", "unknown key"),
    "negative steps": ('source = "pink_noise"\nlevel_steps_per_min = [-1.0, 2.0]\n', "backgrounds[0].level_steps_per_min",
                       "outside"),
    "steps without level": ('source = "wav_dir"\npath = "."\nlevel_steps_per_min = [1.0, 2.0]\n',
                            "backgrounds[0].level_steps_per_min", "add level_dbfs"),
    "set on a built-in": ('source = "hvac"\nset = "speech"\n', "backgrounds[0].set", "unknown key"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_room_keys_are_one_error_naming_file_key_and_fix(tmp_path: Path, case: str) -> None:
    body, key, words = BAD[case]
    soundfile.write(tmp_path / "ok.wav", np.zeros(1600), RATE)
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\nkind = "soundscape"\nduration_s = 10.0\ntarget = ["smoke_alarm"]\n'
                    '[[backgrounds]]\n' + body)
    with pytest.raises(WorldError) as caught:
        load_soundscape(path)
    message = str(caught.value)
    assert str(path) in message and key in message and words in message and "Fix" in message


def test_a_corrupt_wav_in_a_wav_dir_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "rooms").mkdir()
    soundfile.write(tmp_path / "rooms" / "good.wav", np.zeros(1600), RATE)
    (tmp_path / "rooms" / "cut.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(6))
    path = tmp_path / "scape.toml"
    path.write_text('name = "x"\nkind = "soundscape"\nduration_s = 10.0\ntarget = ["smoke_alarm"]\n'
                    '[[backgrounds]]\nsource = "wav_dir"\npath = "rooms"\n')
    with pytest.raises(WorldError, match=r"backgrounds\[0\]\.path.*cut\.wav"):
        load_soundscape(path)
