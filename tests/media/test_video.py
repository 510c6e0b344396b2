"""Video: write → probe → sample → read audio round trip, seeking, rotation, atomic writes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from cameoguard.errors import (
    BadInputError,
    CorruptMediaError,
    MediaLimitError,
    UnsupportedMediaError,
)
from cameoguard.media import (
    Limits,
    iter_frames,
    probe,
    read_audio,
    sample_frames,
    save_image,
    write_audio,
    write_video,
)
from cameoguard.media import video as video_module

from .conftest import (
    AUDIO_RATE,
    VIDEO_FPS,
    VIDEO_FRAMES,
    VIDEO_SIZE,
    ImageFactory,
    ToneFactory,
    gradient_image,
)


def _flat(value: int, height: int = 32, width: int = 32) -> npt.NDArray[np.uint8]:
    return np.full((height, width, 3), value, np.uint8)


def test_round_trip(tmp_path: Path, make_tone: ToneFactory, limits: Limits) -> None:
    height, width = VIDEO_SIZE
    source = [gradient_image(height, width, shift=12 * i) for i in range(VIDEO_FRAMES)]
    tone = make_tone(2.0, channels=2)
    path = write_video(tmp_path / "clip.mp4", source, VIDEO_FPS, audio=tone, preset="ultrafast")

    info = probe(path, limits)
    assert (info.height, info.width) == VIDEO_SIZE
    assert info.fps == pytest.approx(VIDEO_FPS)
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.has_audio

    frames = sample_frames(path, 5, limits)
    assert len(frames) == 5
    pts = [f.pts_s for f in frames]
    assert pts == sorted(pts) and len(set(pts)) == 5
    for frame in frames:
        assert frame.rgb.shape == (height, width, 3)
        assert frame.index == round(frame.pts_s * VIDEO_FPS)
        error = np.abs(frame.rgb.astype(int) - source[frame.index].astype(int)).mean()
        assert error < 8, f"frame {frame.index} differs from the source by {error:.1f}"

    clip = read_audio(path, limits)
    assert clip is not None
    assert clip.sample_rate == AUDIO_RATE
    assert clip.channels == 2
    assert abs(clip.n_samples - tone.n_samples) <= 1024
    assert np.abs(clip.samples).max() <= 1.0
    assert clip.samples.flags.writeable
    assert np.corrcoef(clip.samples[0, 2000:30000], tone.samples[0, 2000:30000])[0, 1] > 0.9


def test_iter_frames_gives_every_frame_in_order(sample_video: Path, limits: Limits) -> None:
    frames = list(iter_frames(sample_video, limits))
    assert [f.index for f in frames] == list(range(VIDEO_FRAMES))
    assert [f.pts_s for f in frames] == pytest.approx([i / VIDEO_FPS for i in range(VIDEO_FRAMES)])
    assert all(f.rgb.dtype == np.uint8 and f.rgb.flags.c_contiguous for f in frames)
    assert all(f.rgb.flags.writeable for f in frames)


def test_sample_more_than_available_gives_all(sample_video: Path, limits: Limits) -> None:
    frames = sample_frames(sample_video, 50, limits)
    assert [f.index for f in frames] == list(range(VIDEO_FRAMES))
    middle = sample_frames(sample_video, 1, limits)
    assert len(middle) == 1 and middle[0].pts_s == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 1"):
        sample_frames(sample_video, 0, limits)


@pytest.mark.parametrize("keyframe_interval", [5, None])  # short GOPs, and x264's 250
def test_sample_frames_seeks(
    tmp_path: Path, limits: Limits, monkeypatch: pytest.MonkeyPatch, keyframe_interval: int | None
) -> None:
    count, fps = 200, 20  # 10 s; frame i is flat grey i
    path = write_video(
        tmp_path / "long.mp4",
        (_flat(i) for i in range(count)),
        fps,
        preset="ultrafast",
        keyframe_interval=keyframe_interval,
    )
    seeks: list[float] = []
    real_seek = video_module._Decoder.seek

    def counting_seek(self: video_module._Decoder, t: float) -> None:
        seeks.append(t)
        real_seek(self, t)

    monkeypatch.setattr(video_module._Decoder, "seek", counting_seek)
    frames = sample_frames(path, 3, limits)
    # Targets 10 s × (i + 0.5) / 3 = 1.67, 5.0, 8.33 s: the nearest frames.
    assert [f.index for f in frames] == [33, 100, 167]
    assert [f.pts_s for f in frames] == pytest.approx([1.65, 5.0, 8.35])
    for frame in frames:
        assert abs(float(frame.rgb.mean()) - frame.index) < 3
    if keyframe_interval is None:
        # One long GOP: the second seek lands behind the decoder, so it decodes on instead.
        assert len(seeks) == 2
    else:
        assert len(seeks) == 3


def test_display_rotation_is_applied(tmp_path: Path, limits: Limits) -> None:
    path = tmp_path / "portrait.mp4"
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:8, :8] = (255, 0, 0)  # red block at the stored top-left
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.set_display_rotation(90)  # counter-clockwise
        for _ in range(3):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
        out.mux(stream.encode(None))
    frame = next(iter_frames(path, limits))
    assert frame.rgb.shape == (64, 48, 3)
    assert frame.rgb[-8:, :8, 0].mean() > 200  # a quarter turn left: top-left → bottom-left


def test_fractional_fps(tmp_path: Path, limits: Limits) -> None:
    path = write_video(tmp_path / "ntsc.mp4", [_flat(9)] * 6, 29.97, preset="ultrafast")
    assert probe(path, limits).fps == pytest.approx(29.97, abs=0.01)


def test_silent_video_has_no_audio(silent_video: Path, limits: Limits) -> None:
    assert probe(silent_video, limits).has_audio is False
    assert read_audio(silent_video, limits) is None


def test_image_has_no_audio(tmp_path: Path, make_image: ImageFactory, limits: Limits) -> None:
    assert read_audio(save_image(make_image(), tmp_path / "a.png"), limits) is None


def test_read_audio_of_an_audio_file(
    tmp_path: Path, make_tone: ToneFactory, limits: Limits
) -> None:
    clip = read_audio(write_audio(make_tone(0.5), tmp_path / "a.flac"), limits)
    assert clip is not None and clip.n_samples == AUDIO_RATE // 2


def test_frames_of_an_audio_file_are_refused(
    tmp_path: Path, make_tone: ToneFactory, limits: Limits
) -> None:
    path = write_audio(make_tone(0.5), tmp_path / "a.wav")
    with pytest.raises(UnsupportedMediaError, match="not a video"):
        iter_frames(path, limits)
    with pytest.raises(UnsupportedMediaError, match="not a video"):
        sample_frames(path, 3, limits)


def test_limits_apply_before_the_first_frame(sample_video: Path, limits: Limits) -> None:
    with pytest.raises(MediaLimitError, match="CAMEOGUARD_MAX_VIDEO_SECONDS"):
        iter_frames(sample_video, dataclasses.replace(limits, max_video_seconds=1))


def test_truncated_video_is_corrupt_for_readers(
    sample_video: Path, tmp_path: Path, limits: Limits
) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(sample_video.read_bytes()[:-500])
    with pytest.raises(CorruptMediaError):
        list(iter_frames(path, limits))
    with pytest.raises(CorruptMediaError):
        sample_frames(path, 3, limits)
    with pytest.raises(CorruptMediaError):
        read_audio(path, limits)


# --- writing fails cleanly ----------------------------------------------------------------------


def test_odd_dimensions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"frames are 63×48; .*even") as caught:
        write_video(tmp_path / "odd.mp4", [np.zeros((48, 63, 3), np.uint8)], 10)
    assert caught.value.code == "media.odd_dimensions"
    assert list(tmp_path.iterdir()) == []


def test_failing_frame_source_leaves_nothing(tmp_path: Path, make_tone: ToneFactory) -> None:
    def frames() -> Iterator[npt.NDArray[np.uint8]]:
        for i in range(10):
            if i == 5:
                raise RuntimeError("camera unplugged")
            yield _flat(10 * i)

    with pytest.raises(RuntimeError, match="camera unplugged"):
        write_video(tmp_path / "out.mp4", frames(), 10, audio=make_tone(1.0), preset="ultrafast")
    assert list(tmp_path.iterdir()) == []  # no destination, no temporary file


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = write_video(tmp_path / "out.mp4", [_flat(0)] * 3, 10, preset="ultrafast")
    before = path.read_bytes()
    with pytest.raises(BadInputError, match=r"frame 2 is 16×16 but the video is 32×32"):
        write_video(path, [_flat(50), _flat(60), _flat(70, 16, 16)], 10, preset="ultrafast")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


@pytest.mark.parametrize(
    ("frames", "fps", "error"),
    [
        ([], 10, BadInputError),
        ([np.zeros((32, 32, 3), np.float32)], 10, BadInputError),
        ([np.zeros((32, 32, 3), np.uint8)], 0, ValueError),
    ],
)
def test_bad_arguments(tmp_path: Path, frames: list[np.ndarray], fps: float, error: type) -> None:
    with pytest.raises(error):
        write_video(tmp_path / "x.mp4", frames, fps)
    assert list(tmp_path.iterdir()) == []


def test_index_sampling_without_or_with_a_wrong_frame_count(
    sample_video: Path, limits: Limits
) -> None:
    info = probe(sample_video, limits)
    unknown = dataclasses.replace(info, frame_count=None, duration_s=None)
    frames = video_module._sample_by_index(unknown, 4, None, limits)  # counts packets first
    assert [f.index for f in frames] == [0, 6, 13, 19]
    frames = video_module._sample_by_index(info, 4, 2 * VIDEO_FRAMES, limits)  # overstated
    assert [f.index for f in frames] == [0, 6, 13, 19]
