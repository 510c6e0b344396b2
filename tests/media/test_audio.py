"""Audio: WAV/MP3/M4A/FLAC write → load round trips, format choice, refusals, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cameoguard.errors import BadInputError, MediaLimitError, OperationError
from cameoguard.media import AudioClip, Limits, load_audio, probe, save_image, sniff, write_audio

from .conftest import AUDIO_RATE, ImageFactory, ToneFactory


def _dominant_hz(clip: AudioClip) -> float:
    spectrum = np.abs(np.fft.rfft(clip.samples[0]))
    return float(np.argmax(spectrum) * clip.sample_rate / clip.n_samples)


@pytest.mark.parametrize(
    ("suffix", "exact"),
    [(".wav", True), (".flac", True), (".mp3", False), (".m4a", False)],
)
@pytest.mark.parametrize(("channels", "rate"), [(1, AUDIO_RATE), (2, 44_100)])
def test_round_trip(
    tmp_path: Path,
    make_tone: ToneFactory,
    limits: Limits,
    suffix: str,
    exact: bool,
    channels: int,
    rate: int,
) -> None:
    tone = make_tone(1.0, rate=rate, channels=channels)
    path = write_audio(tone, tmp_path / f"tone{suffix}")
    assert probe(path, limits).duration_s == pytest.approx(1.0, abs=0.06)
    clip = load_audio(path, limits)
    assert (clip.sample_rate, clip.channels) == (rate, channels)
    assert clip.samples.dtype == np.float32
    if exact:
        assert clip.n_samples == tone.n_samples
        assert np.abs(clip.samples - tone.samples).max() < 2 / 32768
    else:
        assert abs(clip.n_samples - tone.n_samples) <= 2048
        assert _dominant_hz(clip) == pytest.approx(440, abs=3)


def test_format_argument_beats_suffix(tmp_path: Path, make_tone: ToneFactory) -> None:
    path = write_audio(make_tone(0.2), tmp_path / "sound.bin", format="wav")
    assert sniff(path).mime == "audio/wav"


def test_bitrate_changes_size(tmp_path: Path, make_tone: ToneFactory) -> None:
    rng = np.random.default_rng(5)
    noise = AudioClip(rng.uniform(-0.5, 0.5, (1, 44_100)).astype(np.float32), 44_100)
    small = write_audio(noise, tmp_path / "small.mp3", bitrate=48_000)
    large = write_audio(noise, tmp_path / "large.mp3", bitrate=192_000)
    assert small.stat().st_size < large.stat().st_size


def test_loud_input_stays_in_range(tmp_path: Path, limits: Limits) -> None:
    square = np.sign(np.sin(np.linspace(0, 400 * np.pi, AUDIO_RATE))).astype(np.float32)
    clip = load_audio(write_audio(AudioClip(square[None], AUDIO_RATE), tmp_path / "a.m4a"), limits)
    assert np.abs(clip.samples).max() <= 1.0


def test_unknown_format_writes_nothing(tmp_path: Path, make_tone: ToneFactory) -> None:
    with pytest.raises(BadInputError, match=r"cannot write audio as '\.ogg'"):
        write_audio(make_tone(0.2), tmp_path / "a.ogg")
    with pytest.raises(BadInputError, match="cannot write audio as 'aiff'"):
        write_audio(make_tone(0.2), tmp_path / "a.wav", format="aiff")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "samples",
    [np.zeros((1, 0), np.float32), np.array([[0.0, np.nan, 0.1]], np.float32)],
)
def test_unusable_clip_writes_nothing(tmp_path: Path, samples: np.ndarray) -> None:
    with pytest.raises(BadInputError):
        write_audio(AudioClip(samples, AUDIO_RATE), tmp_path / "a.wav")
    assert list(tmp_path.iterdir()) == []


def test_encoder_failure_writes_nothing(tmp_path: Path) -> None:
    # MP3 has no 96 kHz mode; the encoder refuses it and no file may appear.
    clip = AudioClip(np.zeros((1, 9600), np.float32), 96_000)
    with pytest.raises(OperationError, match="nothing was written"):
        write_audio(clip, tmp_path / "a.mp3")
    assert list(tmp_path.iterdir()) == []


def test_sound_of_a_video(sample_video: Path, limits: Limits) -> None:
    clip = load_audio(sample_video, limits)
    assert (clip.sample_rate, clip.channels) == (AUDIO_RATE, 2)


def test_no_sound_is_a_clear_error(
    silent_video: Path, tmp_path: Path, make_image: ImageFactory, limits: Limits
) -> None:
    for path in (silent_video, save_image(make_image(), tmp_path / "a.png")):
        with pytest.raises(BadInputError, match="has no audio track") as caught:
            load_audio(path, limits)
        assert caught.value.code == "media.no_audio"


def test_audio_limit(tmp_path: Path, make_tone: ToneFactory, limits: Limits) -> None:
    path = write_audio(make_tone(2.0), tmp_path / "a.mp3")
    short = Limits(limits.max_bytes, limits.max_pixels, limits.max_video_seconds, 1.0)
    with pytest.raises(MediaLimitError, match="CAMEOGUARD_MAX_AUDIO_SECONDS"):
        load_audio(path, short)
