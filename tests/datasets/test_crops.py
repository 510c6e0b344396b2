"""Face crops from images and video frames, cached by content hash."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets.base import Label, MediaSample
from cameoguard.datasets.crops import CropSettings, extract_face_crops
from cameoguard.media import Limits, save_image, write_video
from tests.consent.conftest import astronaut

LIMITS = Limits(512 << 20, 80_000_000, 300.0, 600.0)


def test_image_crops_are_cached_and_a_changed_file_is_a_new_key(
    tmp_path: Path, detector: FaceDetector
) -> None:
    path = save_image(astronaut(), tmp_path / "a.png")
    sample = MediaSample(path, Label.REAL, "image", "test", "a")
    settings = CropSettings(size=128)
    first = extract_face_crops(sample, detector, LIMITS, settings, tmp_path / "cache")
    assert first.crops.shape == (1, 128, 128, 3) and not first.cached
    again = extract_face_crops(sample, detector, LIMITS, settings, tmp_path / "cache")
    assert again.cached and np.array_equal(again.crops, first.crops)
    assert len(list((tmp_path / "cache").iterdir())) == 1
    save_image(np.ascontiguousarray(astronaut()[:, ::-1]), path)
    changed = extract_face_crops(sample, detector, LIMITS, settings, tmp_path / "cache")
    assert not changed.cached and len(list((tmp_path / "cache").iterdir())) == 2


def test_crop_box_is_applied_and_faceless_pictures_are_counted(
    tmp_path: Path, detector: FaceDetector
) -> None:
    rgb = np.zeros((300, 300, 3), np.uint8)
    path = save_image(rgb, tmp_path / "black.png")
    sample = MediaSample(path, Label.FAKE, "image", "test", "b", crop=(50, 50, 250, 250))
    result = extract_face_crops(sample, detector, LIMITS)
    assert len(result.crops) == 0 and result.without_face == 1


def test_video_frames_keep_index_time_and_box(tmp_path: Path, detector: FaceDetector) -> None:
    face = astronaut()
    frames = [face if i % 2 == 0 else np.zeros_like(face) for i in range(12)]
    path = write_video(tmp_path / "v.mp4", frames, fps=6)
    sample = MediaSample(path, Label.REAL, "video", "test", "v")
    result = extract_face_crops(sample, detector, LIMITS, CropSettings(size=96, frames=6))
    assert result.pictures == 6 and 1 <= len(result.crops) <= 6
    assert result.boxes.shape == (len(result.crops), 4)
    assert np.all(np.diff(result.t_s) > 0)
