"""Soundscape worlds: the DESIGN.md format, clear errors, and rendering (rates, SNRs, labels, seeds)."""

from __future__ import annotations

import pickle
import shutil
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st
from spikefly.envs.audio import signals as audio_signals
from spikefly.envs.audio.soundscape_render import render_clip
from spikefly.worlds.errors import WorldError
from spikefly.worlds.soundscape import (
    Clip,
    Soundscape,
    bundled_soundscapes,
    load_soundscape,
    loads_soundscape,
    read_soundscape,
)
from spikefly.worlds.table_reader import TableReader

RATE = 16_000

HEADER = """
name = "test"
kind = "soundscape"
duration_s = {duration}
target = ["smoke_alarm"]
"""


def write(tmp_path: Path, body: str, duration: float = 60.0, header: str = HEADER) -> Path:
    path = tmp_path / "scape.toml"
    path.write_text(header.format(duration=duration) + textwrap.dedent(body))
    return path


def write_tone_wav(
    path: Path, seconds: float, rate: int = 22_050, hz: float = 1000.0, pad_s: float = 0.0
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    signal = 0.3 * np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate)
    pad = np.zeros(round(pad_s * rate))
    soundfile.write(path, np.concatenate([pad, signal, pad]), rate, subtype="PCM_16")


def rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values.astype(np.float64) ** 2)))


# -- the format -----------------------------------------------------------------------------------


def test_design_example_is_accepted_exactly_as_written(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "some" / "folder" / "a.wav", 3.0)
    write_tone_wav(tmp_path / "some" / "folder" / "b.WAV", 2.0, rate=8000, hz=300.0)
    write_tone_wav(tmp_path / "some" / "clip.wav", 0.5, hz=2000.0)
    path = tmp_path / "kitchen.toml"
    path.write_text(
        textwrap.dedent("""\
        name = "kitchen"
        kind = "soundscape"
        duration_s = 60.0
        target = ["smoke_alarm"]            # classes the detector must flag
        [[backgrounds]]
        source = "pink_noise"               # a built-in generator, or "wav_dir"
        level_dbfs = [-40.0, -20.0]
        [[backgrounds]]
        source = "wav_dir"                  # every .wav in the folder (any rate, mono or stereo)
        path = "some/folder"
        [[events]]
        source = "smoke_alarm"              # a built-in generator, or "wav"
        rate_per_min = [0.0, 4.0]
        snr_db = [0.0, 15.0]
        [[events]]
        source = "wav"
        path = "some/clip.wav"
        label = "distractor"                # or a class name from target
        """)
    )
    scape = load_soundscape(path)
    assert (scape.name, scape.duration_s, scape.target) == ("kitchen", 60.0, ("smoke_alarm",))
    assert [layer.source for layer in scape.backgrounds] == ["pink_noise", "wav_dir"]
    assert scape.backgrounds[0].level_dbfs == (-40.0, -20.0)
    assert scape.backgrounds[1].level_dbfs is None  # recorded level
    assert [file.name for file in scape.backgrounds[1].files] == ["a.wav", "b.WAV"]
    smoke, clip = scape.events
    assert (smoke.label, smoke.rate_per_min, smoke.snr_db) == ("smoke_alarm", (0.0, 4.0), (0.0, 15.0))
    assert (clip.source, clip.label, clip.path) == ("wav", "distractor", tmp_path / "some" / "clip.wav")
    assert scape.labels == ("smoke_alarm", "distractor")
    rendered = render_clip(scape, np.random.default_rng(0))
    assert rendered.audio.shape == (60 * RATE,)


def test_bundled_soundscapes_load_and_target_the_smoke_alarm() -> None:
    assert bundled_soundscapes() == ["cafe", "heldout_babble", "heldout_music", "heldout_no_alarm", "heldout_tv",
                                     "kitchen", "living_room", "office", "street"]
    sources = {
        "kitchen": ({"pink_noise", "hvac", "mains_hum", "recordings"},
                    {"smoke_alarm", "co_alarm", "dog_bark", "microwave_beep", "timer_beep", "phone_ring", "tonal_melody"}),
        "street": ({"brown_noise", "rain", "recordings"},
                   {"smoke_alarm", "siren_wail", "siren_yelp", "glass_break", "reversing_beeper", "phone_ring",
                    "tonal_melody"}),
        "office": ({"hvac", "white_noise", "recordings", "babble_noise"},
                   {"smoke_alarm", "co_alarm", "glass_break", "phone_ring", "microwave_beep", "tonal_melody"}),
    }
    for name, (backgrounds, events) in sources.items():
        scape = load_soundscape(name)
        assert scape.name == name and scape.target == ("smoke_alarm",) and scape.duration_s == 60.0
        assert {layer.source for layer in scape.backgrounds} == backgrounds
        assert {event.source for event in scape.events} == events
        smoke = next(event for event in scape.events if event.label == "smoke_alarm")
        assert smoke.snr_db == (0.0, 15.0)
        assert 1.0 <= sum(smoke.rate_per_min) / 2 <= 3.0  # ~1-3 targets per minute
        assert Path(scape.source).read_text().startswith("# ")  # a comment header says what it is


@pytest.mark.parametrize("name", ["kitchen", "office", "street", "living_room", "cafe", "heldout_babble"])
def test_bundled_soundscapes_give_a_few_targets_and_distractors_per_minute(name: str) -> None:
    scape = load_soundscape(name)
    clips = [render_clip(scape, np.random.default_rng(seed)) for seed in range(8)]
    targets = [sum(event.label == "smoke_alarm" for event in clip.events) for clip in clips]
    others = [sum(event.label != "smoke_alarm" for event in clip.events) for clip in clips]
    assert 1.0 <= np.mean(targets) <= 3.5 and np.mean(others) >= 0.5
    assert all(np.max(np.abs(clip.audio)) <= 1.0 for clip in clips)


def test_the_loader_hook_reads_a_parsed_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[[backgrounds]]\nsource = "white_noise"\n')
    data = tomllib.loads(path.read_text())
    scape = read_soundscape(TableReader(data, str(path), base_dir=tmp_path))
    assert isinstance(scape, Soundscape) and scape.source == str(path)
    assert scape == pickle.loads(pickle.dumps(scape))


def test_optional_keys_min_gap_and_builtin_label(tmp_path: Path) -> None:
    header = HEADER.replace('["smoke_alarm"]', '["siren"]') + "min_gap_s = 2.5\n"
    body = """
        [[backgrounds]]
        source = "white_noise"
        [[events]]
        source = "siren_wail"
        label = "siren"
        [[events]]
        source = "siren_yelp"
        label = "siren"
    """
    scape = load_soundscape(write(tmp_path, body, header=header))
    assert scape.min_gap_s == 2.5 and scape.target == ("siren",)
    assert [event.label for event in scape.events] == ["siren", "siren"]
    assert scape.events[0].rate_per_min == (0.0, 4.0) and scape.backgrounds[0].level_dbfs == (-40.0, -20.0)


# -- errors ---------------------------------------------------------------------------------------

BACKGROUND = '[[backgrounds]]\nsource = "white_noise"\n'
ERRORS = {
    "unknown top-level key": ("duraton_s = 3.0\n" + BACKGROUND, "duraton_s", "did you mean 'duration_s'"),
    "unknown background key": (
        '[[backgrounds]]\nsource = "pink_noise"\nlevel_db = [-30.0, -20.0]\n',
        "backgrounds[0].level_db",
        "did you mean 'level_dbfs'",
    ),
    "unknown event key": (
        BACKGROUND + '[[events]]\nsource = "co_alarm"\nsnr = [0.0, 1.0]\n',
        "events[0].snr",
        "snr_db",
    ),
    "reversed snr range": (
        BACKGROUND + '[[events]]\nsource = "smoke_alarm"\nsnr_db = [15.0, 0.0]\n',
        "events[0].snr_db",
        "larger than the second",
    ),
    "reversed level range": (
        '[[backgrounds]]\nsource = "rain"\nlevel_dbfs = [-20.0, -40.0]\n',
        "backgrounds[0].level_dbfs",
        "larger than the second",
    ),
    "level above full scale": (
        '[[backgrounds]]\nsource = "rain"\nlevel_dbfs = [-10.0, 3.0]\n',
        "backgrounds[0].level_dbfs",
        "above full scale",
    ),
    "negative rate": (
        BACKGROUND + '[[events]]\nsource = "dog_bark"\nrate_per_min = [-1.0, 2.0]\n',
        "events[0].rate_per_min",
        "negative",
    ),
    "range of one number": (
        BACKGROUND + '[[events]]\nsource = "dog_bark"\nrate_per_min = [2.0]\n',
        "events[0].rate_per_min",
        "expected 2 numbers",
    ),
    "range as a string": (
        BACKGROUND + '[[events]]\nsource = "dog_bark"\nsnr_db = "10"\n',
        "events[0].snr_db",
        "expected a list of 2 numbers",
    ),
    "unknown background source": (
        '[[backgrounds]]\nsource = "pink"\n',
        "backgrounds[0].source",
        '"pink_noise", "brown_noise"',
    ),
    "unknown event source": (
        BACKGROUND + '[[events]]\nsource = "smoke_alrm"\n',
        "events[0].source",
        'did you mean "smoke_alarm"',
    ),
    "wav without label": (
        BACKGROUND + '[[events]]\nsource = "wav"\npath = "clip.wav"\n',
        "events[0].label",
        "missing required key",
    ),
    "missing wav file": (
        BACKGROUND + '[[events]]\nsource = "wav"\npath = "nowhere.wav"\nlabel = "x"\n',
        "events[0].path",
        "no such file",
    ),
    "missing wav folder": (
        '[[backgrounds]]\nsource = "wav_dir"\npath = "no_such_folder"\n',
        "backgrounds[0].path",
        "no such folder",
    ),
    "empty wav folder": (
        '[[backgrounds]]\nsource = "wav_dir"\npath = "empty_folder"\n',
        "backgrounds[0].path",
        "holds no .wav files",
    ),
    "corrupt wav in folder": (
        '[[backgrounds]]\nsource = "wav_dir"\npath = "bad_folder"\n',
        "backgrounds[0].path",
        "broken.wav",
    ),
    "wav_dir key on a built-in": (
        '[[backgrounds]]\nsource = "hvac"\npath = "x"\n',
        "backgrounds[0].path",
        "unknown key 'path'",
    ),
    "no backgrounds": ("", "backgrounds", "at least one"),
    "target typo": (BACKGROUND, "target[0]", "did you mean 'smoke_alarm'"),
    "duration as a string": (BACKGROUND, "duration_s", "expected a number"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_soundscape_files_name_the_file_key_and_fix(tmp_path: Path, case: str) -> None:
    body, key, words = ERRORS[case]
    (tmp_path / "empty_folder").mkdir()
    (tmp_path / "bad_folder").mkdir()
    (tmp_path / "bad_folder" / "broken.wav").write_bytes(b"RIFF....WAVEnot really")
    write_tone_wav(tmp_path / "clip.wav", 0.5)
    header = HEADER
    if case == "target typo":
        header = HEADER.replace('["smoke_alarm"]', '["smoke_alram"]')
    if case == "duration as a string":
        header = HEADER.replace("{duration}", '"60"')
    path = write(tmp_path, body, header=header)
    with pytest.raises(WorldError) as raised:
        load_soundscape(path)
    error = raised.value
    assert error.path == str(path) and error.key == key
    assert words in str(error), str(error)
    assert error.fix and "Fix:" in str(error)


def test_syntax_errors_point_at_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[[backgrounds]]\nsource = pink_noise\n")
    with pytest.raises(WorldError, match="TOML syntax error") as raised:
        load_soundscape(path)
    assert raised.value.key is not None and raised.value.key.startswith("line")


def test_unknown_bundled_name_suggests_the_closest() -> None:
    with pytest.raises(WorldError, match="did you mean 'kitchen'"):
        load_soundscape("kitchn")


@settings(max_examples=40, deadline=None)
@given(st.floats(-60, 30, allow_nan=False), st.floats(-60, 30, allow_nan=False))
def test_any_snr_pair_is_accepted_in_order_and_refused_reversed(low: float, high: float) -> None:
    text = (
        HEADER.format(duration=10.0)
        + BACKGROUND
        + f'[[events]]\nsource = "smoke_alarm"\nsnr_db = [{low!r}, {high!r}]\n'
    )
    if low <= high:
        assert loads_soundscape(text).events[0].snr_db == (low, high)
    else:
        with pytest.raises(WorldError, match="larger than the second"):
            loads_soundscape(text)


# -- rendering ------------------------------------------------------------------------------------


def scape_text(
    events: str, background: str = 'source = "white_noise"\nlevel_dbfs = [-30.0, -30.0]', duration=60.0
) -> str:
    return HEADER.format(duration=duration) + f"[[backgrounds]]\n{background}\n" + events


def test_render_is_deterministic_per_seed() -> None:
    scape = load_soundscape("street")
    first, again = render_clip(scape, np.random.default_rng(3)), render_clip(scape, np.random.default_rng(3))
    assert isinstance(first, Clip) and first.sample_rate == RATE and first.audio.dtype == np.float32
    np.testing.assert_array_equal(first.audio, again.audio)
    assert first.events == again.events
    assert not np.array_equal(first.audio, render_clip(scape, np.random.default_rng(4)).audio)


def test_event_count_follows_the_rate() -> None:
    scape = loads_soundscape(
        scape_text('[[events]]\nsource = "glass_break"\nrate_per_min = [6.0, 6.0]\n', duration=600.0)
    )
    counts = [len(render_clip(scape, np.random.default_rng(seed)).events) for seed in range(4)]
    assert all(40 <= count <= 80 for count in counts), counts  # Poisson, mean 60, sd 7.7
    assert 50 <= np.mean(counts) <= 70
    silent = loads_soundscape(scape_text('[[events]]\nsource = "glass_break"\nrate_per_min = [0.0, 0.0]\n'))
    assert render_clip(silent, np.random.default_rng(0)).events == ()


def test_events_never_overlap_keep_the_gap_and_stay_inside() -> None:
    header_gap = 'min_gap_s = 2.0\n[[events]]\nsource = "smoke_alarm"\nrate_per_min = [8.0, 8.0]\n'
    text = HEADER.format(duration=60.0) + header_gap.split("\n", 1)[0] + "\n"
    text += '[[backgrounds]]\nsource = "white_noise"\n' + header_gap.split("\n", 1)[1]
    scape = loads_soundscape(text)
    for seed in range(5):
        clip = render_clip(scape, np.random.default_rng(seed))
        assert len(clip.events) >= 4
        assert clip.events[0].onset_s >= 0 and clip.events[-1].offset_s <= clip.duration_s
        for before, after in zip(clip.events, clip.events[1:], strict=False):
            assert after.onset_s - before.offset_s >= 2.0 - 1e-9


@pytest.mark.parametrize("snr", [0.0, 5.0, 12.0])
def test_snr_is_achieved_within_one_db(snr: float) -> None:
    scape = loads_soundscape(scape_text('[[events]]\nsource = "smoke_alarm"\nrate_per_min = [3.0, 3.0]\n'))
    clip = render_clip(scape, np.random.default_rng(1), snr_db=(snr, snr))
    assert clip.events and all(event.snr_db == snr for event in clip.events)
    quiet = np.ones(len(clip.audio), dtype=bool)
    for event in clip.events:
        quiet[round(event.onset_s * RATE) : round(event.offset_s * RATE)] = False
    background_power = rms(clip.audio[quiet]) ** 2
    for event in clip.events:
        span = clip.audio[round(event.onset_s * RATE) : round(event.offset_s * RATE)]
        measured = 10 * np.log10(rms(span) ** 2 / background_power - 1.0)
        assert measured == pytest.approx(snr, abs=1.0)


def test_background_level_is_the_drawn_dbfs() -> None:
    scape = loads_soundscape(scape_text("", background='source = "pink_noise"\nlevel_dbfs = [-26.0, -26.0]'))
    clip = render_clip(scape, np.random.default_rng(0), duration_s=5.0)
    assert 20 * np.log10(rms(clip.audio)) == pytest.approx(-26.0, abs=0.01)
    assert len(clip.audio) == 5 * RATE


def test_labels_and_onsets_are_exact_for_a_forced_event() -> None:
    scape = loads_soundscape(
        scape_text('[[events]]\nsource = "smoke_alarm"\nrate_per_min = [4.0, 4.0]\n', duration=30.0)
    )
    clip = render_clip(scape, np.random.default_rng(2), snr_db=(60.0, 60.0))
    assert clip.events
    loud = np.abs(clip.audio) > 0.1 * np.max(np.abs(clip.audio))
    for event in clip.events:
        assert event.label == "smoke_alarm"
        first, last = round(event.onset_s * RATE), round(event.offset_s * RATE)
        inside = np.flatnonzero(loud[first:last])
        assert inside[0] / RATE < 0.003 and (last - first - 1 - inside[-1]) / RATE < 0.003
        assert not loud[max(first - RATE, 0) : first].any() and not loud[last : last + RATE].any()
        assert event.offset_s - event.onset_s in (pytest.approx(2.5), pytest.approx(6.5))


def test_wav_events_are_trimmed_and_labelled_and_wav_dir_keeps_its_level(tmp_path: Path) -> None:
    write_tone_wav(tmp_path / "kettle.wav", 0.8, hz=2000.0, pad_s=0.3)
    write_tone_wav(tmp_path / "room" / "hum.wav", 2.0, rate=44_100, hz=120.0)
    text = HEADER.replace('["smoke_alarm"]', '["kettle"]').format(duration=30.0)
    text += '[[backgrounds]]\nsource = "wav_dir"\npath = "room"\n'
    text += '[[events]]\nsource = "wav"\npath = "kettle.wav"\nlabel = "kettle"\nrate_per_min = [12.0, 12.0]\nsnr_db = [0.0, 0.0]\n'
    scape = loads_soundscape(text, source="t.toml", base_dir=tmp_path)
    clip = render_clip(scape, np.random.default_rng(1))  # 7 events (Poisson, mean 6)
    assert len(clip.events) >= 2 and {event.label for event in clip.events} == {"kettle"}
    for event in clip.events:
        assert event.offset_s - event.onset_s == pytest.approx(0.8, abs=0.002)  # padding trimmed
    quiet = np.ones(len(clip.audio), dtype=bool)
    for event in clip.events:
        quiet[round(event.onset_s * RATE) - 100 : round(event.offset_s * RATE) + 100] = False
    assert rms(clip.audio[quiet]) == pytest.approx(0.3 / np.sqrt(2), rel=0.03)  # the recording's own level


def test_backgrounds_can_be_replaced_by_name() -> None:
    scape = load_soundscape("kitchen")
    clip = render_clip(scape, np.random.default_rng(0), duration_s=4.0, backgrounds=["white_noise"])
    assert len(clip.audio) == 4 * RATE
    with pytest.raises(ValueError, match="did you mean 'pink_noise'.*white_noise"):
        render_clip(scape, np.random.default_rng(0), backgrounds=["pink_nois"])


def test_babble_background_without_espeak_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(audio_signals.AudioSourceUnavailable, match="sudo apt install espeak-ng"):
        render_clip(load_soundscape("office"), np.random.default_rng(0), backgrounds=["speech_babble"])


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_babble_background_renders_at_low_snr() -> None:
    scape = load_soundscape("office")
    clip = render_clip(
        scape, np.random.default_rng(5), duration_s=20.0, snr_db=(-5.0, -5.0), backgrounds=["speech_babble"]
    )
    assert all(event.snr_db == -5.0 for event in clip.events)
    np.testing.assert_array_equal(
        clip.audio,
        render_clip(
        scape,     np.random.default_rng(5), duration_s=20.0, snr_db=(-5.0, -5.0), backgrounds=["speech_babble"]
        ).audio,
    )


def test_bad_render_overrides_are_refused() -> None:
    scape = load_soundscape("office")
    with pytest.raises(ValueError, match="snr_db"):
        render_clip(scape, np.random.default_rng(0), snr_db=(10.0, 0.0))
    with pytest.raises(ValueError, match="duration_s"):
        render_clip(scape, np.random.default_rng(0), duration_s=0.0)
