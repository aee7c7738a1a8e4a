"""Audio signal generators and WAV loading: patterns, spectra, determinism and clear errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
from spikefly.envs.audio.signals import (
    ALARM_TONE_HZ,
    BACKGROUND_RMS,
    BACKGROUND_SOURCES,
    EVENT_SOURCES,
    SAMPLE_RATE,
    SIREN_HIGH_HZ,
    SIREN_LOW_HZ,
    AudioFileError,
    AudioSourceUnavailable,
    EventSound,
    co_alarm,
    dog_bark,
    glass_break,
    load_wav,
    mains_hum,
    siren_wail,
    siren_yelp,
    smoke_alarm,
)

HAS_ESPEAK = shutil.which("espeak-ng") is not None
needs_espeak = pytest.mark.skipif(
    not HAS_ESPEAK, reason="espeak-ng not installed (sudo apt install espeak-ng)"
)
SYNTHETIC_BACKGROUNDS = [name for name in BACKGROUND_SOURCES if name != "speech_babble"]


def on_segments(audio: np.ndarray, threshold: float = 0.5) -> list[tuple[float, float]]:
    """(start_s, end_s) of the stretches where the 1 ms RMS envelope is above ``threshold`` x its peak."""
    frame = SAMPLE_RATE // 1000
    usable = len(audio) // frame * frame
    envelope = np.sqrt(np.mean(audio[:usable].astype(np.float64).reshape(-1, frame) ** 2, axis=1))
    above = np.concatenate([[False], envelope > threshold * envelope.max(), [False]])
    edges = np.flatnonzero(np.diff(above.astype(int)))
    return [(start / 1000, end / 1000) for start, end in zip(edges[::2], edges[1::2], strict=True)]


def peak_hz(audio: np.ndarray) -> float:
    """Frequency of the largest bin of the zero-padded spectrum."""
    size = 1 << int(np.ceil(np.log2(len(audio)))) + 1
    spectrum = np.abs(np.fft.rfft(audio.astype(np.float64) * np.hanning(len(audio)), n=size))
    return float(np.argmax(spectrum) * SAMPLE_RATE / size)


def spectral_slope_db_per_octave(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Least-squares slope of the Welch power spectrum (dB) against log2 frequency."""
    size = 4096
    segments = np.lib.stride_tricks.sliding_window_view(audio.astype(np.float64), size)[:: size // 2]
    power = np.mean(np.abs(np.fft.rfft(segments * np.hanning(size), axis=1)) ** 2, axis=0)
    frequency = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    band = (frequency >= low_hz) & (frequency <= high_hz)
    return float(np.polyfit(np.log2(frequency[band]), 10 * np.log10(power[band]), 1)[0])


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- registry and determinism -------------------------------------------------------------------


def test_registries_name_every_generator() -> None:
    assert set(EVENT_SOURCES) == {
        "smoke_alarm",
        "co_alarm",
        "siren_wail",
        "siren_yelp",
        "glass_break",
        "dog_bark",
        "microwave_beep",
        "timer_beep",
        "phone_ring",
        "reversing_beeper",
        "tonal_melody",
    }
    assert set(BACKGROUND_SOURCES) == {
        "white_noise", "pink_noise", "brown_noise", "mains_hum", "rain", "hvac", "speech_babble",
        "babble_noise", "synth_music",
    }  # fmt: skip


@pytest.mark.parametrize("name", list(EVENT_SOURCES))
def test_events_are_deterministic_bounded_and_span_their_audio(name: str) -> None:
    first = EVENT_SOURCES[name](rng(7))
    again = EVENT_SOURCES[name](rng(7))
    other = EVENT_SOURCES[name](rng(8))
    assert first.audio.dtype == np.float32 and first.audio.ndim == 1
    np.testing.assert_array_equal(first.audio, again.audio)
    assert first.onset_s == again.onset_s and first.offset_s == again.offset_s
    assert len(first.audio) != len(other.audio) or not np.array_equal(first.audio, other.audio)
    assert np.max(np.abs(first.audio)) <= 1.0
    assert 0.0 <= first.onset_s < first.offset_s <= len(first.audio) / SAMPLE_RATE + 1e-9


@pytest.mark.parametrize("name", SYNTHETIC_BACKGROUNDS)
def test_backgrounds_are_deterministic_with_the_asked_length_and_level(name: str) -> None:
    first = BACKGROUND_SOURCES[name](rng(3), 2.0)
    np.testing.assert_array_equal(first, BACKGROUND_SOURCES[name](rng(3), 2.0))
    assert not np.array_equal(first, BACKGROUND_SOURCES[name](rng(4), 2.0))
    assert first.dtype == np.float32 and first.shape == (2 * SAMPLE_RATE,)
    assert np.max(np.abs(first)) <= 1.0
    assert np.sqrt(np.mean(first.astype(np.float64) ** 2)) == pytest.approx(BACKGROUND_RMS, rel=0.02)


# -- alarms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["tone", "square_520"])
def test_smoke_alarm_follows_the_t3_pattern(variant: str) -> None:
    sound = smoke_alarm(rng(1), cycles=2, variant=variant)
    beeps = on_segments(sound.audio)
    assert len(beeps) == 6
    for start, end in beeps:
        assert end - start == pytest.approx(0.5, abs=0.010)
    gaps = [beeps[i + 1][0] - beeps[i][1] for i in range(5)]
    assert gaps[0] == pytest.approx(0.5, abs=0.010) and gaps[1] == pytest.approx(0.5, abs=0.010)
    assert gaps[2] == pytest.approx(1.5, abs=0.010)  # the pause between cycles
    assert gaps[3] == pytest.approx(0.5, abs=0.010) and gaps[4] == pytest.approx(0.5, abs=0.010)
    assert (sound.onset_s, sound.offset_s) == (0.0, pytest.approx(2 * 2.5 + 1.5))


def test_smoke_alarm_tone_is_the_asked_or_a_drawn_piezo_frequency() -> None:
    assert peak_hz(smoke_alarm(rng(0), cycles=1, tone_hz=3100.0).audio) == pytest.approx(3100.0, abs=2.0)
    for seed in range(5):
        assert (
            ALARM_TONE_HZ[0] - 5
            <= peak_hz(smoke_alarm(rng(seed), variant="tone").audio)
            <= ALARM_TONE_HZ[1] + 5
        )
    assert peak_hz(smoke_alarm(rng(0), cycles=1, variant="square_520").audio) == pytest.approx(520.0, abs=2.0)


def test_smoke_alarm_draws_both_variants_and_one_or_two_cycles() -> None:
    peaks = {round(peak_hz(smoke_alarm(rng(seed), cycles=1).audio), -2) for seed in range(30)}
    assert 500.0 in peaks and any(2900 <= peak <= 3500 for peak in peaks)
    lengths = {smoke_alarm(rng(seed)).offset_s for seed in range(30)}
    assert lengths == {2.5, 6.5}


def test_co_alarm_is_the_t4_pattern_at_the_smoke_alarm_pitch() -> None:
    sound = co_alarm(rng(2), cycles=2)
    beeps = on_segments(sound.audio)
    assert len(beeps) == 8
    for start, end in beeps:
        assert end - start == pytest.approx(0.1, abs=0.010)
    gaps = [beeps[i + 1][0] - beeps[i][1] for i in range(7)]
    assert gaps[3] == pytest.approx(5.0, abs=0.010)
    for index in (0, 1, 2, 4, 5, 6):
        assert gaps[index] == pytest.approx(0.1, abs=0.010)
    assert ALARM_TONE_HZ[0] - 5 <= peak_hz(sound.audio) <= ALARM_TONE_HZ[1] + 5
    assert len(on_segments(smoke_alarm(rng(2), cycles=1).audio)) != len(
        on_segments(co_alarm(rng(2), cycles=1).audio)
    )


def test_alarm_cycles_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cycles"):
        smoke_alarm(rng(), cycles=0)


# -- sirens, glass, dogs --------------------------------------------------------------------------


def fundamental_track_hz(audio: np.ndarray, hop: int = 160) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(audio.astype(np.float64), 512)[::hop]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(512), n=8192, axis=1))
    return np.argmax(spectrum, axis=1) * SAMPLE_RATE / 8192


@pytest.mark.parametrize(("siren", "rate_hz"), [(siren_wail, (0.15, 0.25)), (siren_yelp, (2.5, 4.0))])
def test_sirens_sweep_their_range_at_their_rate(
    siren: Callable[..., EventSound], rate_hz: tuple[float, float]
) -> None:
    sound = siren(rng(5), duration_s=20.0)
    track = fundamental_track_hz(sound.audio)
    assert SIREN_LOW_HZ[0] - 20 <= track.min() <= SIREN_LOW_HZ[1] + 20
    assert SIREN_HIGH_HZ[0] - 20 <= track.max() <= SIREN_HIGH_HZ[1] + 20
    modulation = np.abs(np.fft.rfft(track - track.mean(), n=1 << 14))
    sweep_hz = np.argmax(modulation) * 100.0 / (1 << 14)  # the track has 100 points per second
    assert rate_hz[0] - 0.03 <= sweep_hz <= rate_hz[1] + 0.03


def test_glass_break_is_high_and_decays() -> None:
    for seed in range(3):
        audio = glass_break(rng(seed)).audio.astype(np.float64)
        spectrum = np.abs(np.fft.rfft(audio)) ** 2
        frequency = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
        assert spectrum[frequency > 1500].sum() > 0.8 * spectrum.sum()
        tenth = len(audio) // 10
        assert np.sqrt(np.mean(audio[-tenth:] ** 2)) < 0.1 * np.sqrt(np.mean(audio[:tenth] ** 2))
        assert 0.3 <= len(audio) / SAMPLE_RATE <= 1.3


def test_dog_barks_are_short_harmonic_bursts() -> None:
    sound = dog_bark(rng(4), barks=3)
    bursts = on_segments(sound.audio, threshold=1e-4)
    assert len(bursts) == 3
    for start, end in bursts:
        assert 0.08 <= end - start <= 0.31
    spectrum = np.abs(np.fft.rfft(sound.audio.astype(np.float64))) ** 2
    frequency = np.fft.rfftfreq(len(sound.audio), 1 / SAMPLE_RATE)
    assert spectrum[(frequency > 250) & (frequency < 4000)].sum() > 0.8 * spectrum.sum()


# -- backgrounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slope", "low_hz", "high_hz"),
    [("white_noise", 0.0, 100, 7000), ("pink_noise", -3.0, 50, 7500), ("brown_noise", -6.0, 50, 7500)],
)
def test_noise_colours_have_their_spectral_slope(
    name: str, slope: float, low_hz: float, high_hz: float
) -> None:
    audio = BACKGROUND_SOURCES[name](rng(0), 30.0)
    assert spectral_slope_db_per_octave(audio, low_hz, high_hz) == pytest.approx(slope, abs=0.3)


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_mains_hum_peaks_at_the_mains_frequency(mains_hz: float) -> None:
    assert peak_hz(mains_hum(rng(1), 4.0, mains_hz=mains_hz)) == pytest.approx(mains_hz, abs=0.5)


def test_mains_hum_draws_50_or_60_hz() -> None:
    assert {round(peak_hz(mains_hum(rng(seed), 2.0))) for seed in range(12)} == {50, 60}


def test_hvac_is_low_and_slowly_modulated() -> None:
    audio = BACKGROUND_SOURCES["hvac"](rng(2), 20.0).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    frequency = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    assert spectrum[frequency < 300].sum() > 0.5 * spectrum.sum()
    second_rms = np.sqrt(np.mean(audio.reshape(20, -1) ** 2, axis=1))
    assert second_rms.std() / second_rms.mean() > 0.03


def test_rain_is_broadband_hiss_above_the_rumble() -> None:
    audio = BACKGROUND_SOURCES["rain"](rng(2), 5.0).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    frequency = np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)
    assert spectrum[frequency > 400].sum() > 0.9 * spectrum.sum()


def test_background_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="duration_s"):
        BACKGROUND_SOURCES["white_noise"](rng(), 0.0)


# -- speech babble --------------------------------------------------------------------------------


def test_babble_without_espeak_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(AudioSourceUnavailable, match="sudo apt install espeak-ng") as raised:
        BACKGROUND_SOURCES["speech_babble"](rng(), 1.0)
    assert "never" in str(raised.value)  # the default tasks do not need it


@needs_espeak
def test_babble_is_deterministic_non_stationary_speech() -> None:
    first = BACKGROUND_SOURCES["speech_babble"](rng(11), 6.0)
    np.testing.assert_array_equal(first, BACKGROUND_SOURCES["speech_babble"](rng(11), 6.0))
    assert first.shape == (6 * SAMPLE_RATE,) and first.dtype == np.float32
    assert np.sqrt(np.mean(first.astype(np.float64) ** 2)) == pytest.approx(BACKGROUND_RMS, rel=0.02)
    envelope = np.sqrt(np.mean(first.astype(np.float64).reshape(-1, 800) ** 2, axis=1))  # 50 ms
    assert envelope.std() / envelope.mean() > 0.15  # babble fluctuates; white noise gives ~0.03


# -- WAV files ------------------------------------------------------------------------------------


def tone(rate: int, seconds: float, hz: float = 1000.0, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * hz * np.arange(round(rate * seconds)) / rate)


def test_wav_8k_stereo_int16_is_resampled_and_mixed_to_mono(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    left, right = tone(8000, 2.0, amplitude=0.6), tone(8000, 2.0, amplitude=0.2)
    soundfile.write(path, np.stack([left, right], axis=1), 8000, subtype="PCM_16")
    audio = load_wav(path)
    assert audio.dtype == np.float32 and audio.shape == (2 * SAMPLE_RATE,)
    assert peak_hz(audio) == pytest.approx(1000.0, abs=1.0)
    middle = audio[SAMPLE_RATE // 2 : -SAMPLE_RATE // 2].astype(np.float64)
    assert np.sqrt(2 * np.mean(middle**2)) == pytest.approx(0.4, rel=0.01)  # (0.6 + 0.2) / 2


@pytest.mark.parametrize(
    ("rate", "subtype"), [(44_100, "FLOAT"), (22_050, "PCM_24"), (16_000, "PCM_32"), (48_000, "DOUBLE")]
)
def test_wav_rates_and_sample_formats_keep_pitch_and_length(tmp_path: Path, rate: int, subtype: str) -> None:
    path = tmp_path / f"{rate}_{subtype}.wav"
    soundfile.write(path, tone(rate, 1.5).astype(np.float32), rate, subtype=subtype)
    audio = load_wav(path)
    assert abs(len(audio) - round(1.5 * SAMPLE_RATE)) <= 1
    assert peak_hz(audio) == pytest.approx(1000.0, abs=1.0)
    middle = audio[4000:-4000].astype(np.float64)
    assert np.sqrt(2 * np.mean(middle**2)) == pytest.approx(0.5, rel=0.01)


def assert_names_file_and_fix(error: AudioFileError, path: Path, words: str) -> None:
    message = str(error)
    assert str(path) in message and "Fix:" in message and words in message


def test_missing_wav_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.wav"
    with pytest.raises(AudioFileError) as raised:
        load_wav(path)
    assert_names_file_and_fix(raised.value, path, "no such file")


def test_empty_wav_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioFileError) as raised:
        load_wav(path)
    assert_names_file_and_fix(raised.value, path, "empty")


def test_wav_without_samples_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioFileError) as raised:
        load_wav(path)
    assert_names_file_and_fix(raised.value, path, "no audio samples")


def test_corrupt_wav_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 4)
    with pytest.raises(AudioFileError) as raised:
        load_wav(path)
    assert_names_file_and_fix(raised.value, path, "not a readable WAV file")


def test_text_file_named_wav_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\n")
    with pytest.raises(AudioFileError) as raised:
        load_wav(path)
    assert_names_file_and_fix(raised.value, path, "not a readable WAV file")


def test_non_wav_audio_is_refused_with_a_conversion_hint(tmp_path: Path) -> None:
    path = tmp_path / "clip.flac"
    soundfile.write(path, tone(16000, 0.5), 16000, format="FLAC")
    with pytest.raises(AudioFileError) as raised:
        load_wav(path)
    assert_names_file_and_fix(raised.value, path, "FLAC")
    assert "convert" in str(raised.value)


def test_folder_is_not_a_wav(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="folder"):
        load_wav(tmp_path)
