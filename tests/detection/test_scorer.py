"""Scoring files with a trained, calibrated model: images, videos, faceless input, bad cards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import load_dataset
from cameoguard.detection.face_cnn import FaceCNN
from cameoguard.detection.scorer import CalibratedScorer
from cameoguard.detection.training import save_trained, train_detector
from cameoguard.errors import ModelUnavailableError
from cameoguard.media import save_image, write_video
from tests.consent.conftest import astronaut

from .test_spectral import _crops, _photos, _upsampled
from .test_training import LIMITS, tree  # noqa: F401 - the fixture


@pytest.fixture(scope="module")
def spectral_model(tree: Path, detector: FaceDetector) -> Path:  # noqa: F811
    result = train_detector(load_dataset("folder", tree).samples, "spectral", limits=LIMITS,
                            faces=detector)  # fmt: skip
    path = tree.parent / "scorer-spectral.npz"
    save_trained(result, path, training_data="upsampled crops")
    return path


def test_images_and_videos_get_a_calibrated_probability_and_verdict(
    spectral_model: Path, detector: FaceDetector, tmp_path: Path
) -> None:
    scorer = CalibratedScorer.load(spectral_model, detector, LIMITS, frames=4)
    crop = _crops(_photos()[5], 1, np.random.default_rng(3))[0]
    real = scorer.score(save_image(crop, tmp_path / "real.png"))
    fake = scorer.score(save_image(_upsampled(crop), tmp_path / "fake.png"))
    assert real.fake_probability is not None and fake.fake_probability is not None
    assert fake.fake_probability > real.fake_probability
    assert fake.verdict is not None and real.verdict is not None
    clip = write_video(tmp_path / "clip.mp4", [_upsampled(crop)] * 8, fps=4)
    video = scorer.score(clip)
    assert video.frames_sampled == 4 and len(video.faces) == 4
    assert json.dumps(video.to_dict())


def test_uncalibrated_or_missing_cards_are_refused(tmp_path: Path, detector: FaceDetector) -> None:
    faces = [astronaut()[20:260, 130:370]] * 4
    model = FaceCNN(epochs=1).fit(faces, [0, 1, 0, 1])
    model.save(tmp_path / "raw.onnx")  # a card without calibration
    with pytest.raises(ModelUnavailableError, match="no calibration"):
        CalibratedScorer.load(tmp_path / "raw.onnx", detector, LIMITS)
    with pytest.raises(ModelUnavailableError, match="detect train"):
        CalibratedScorer.load(tmp_path / "none.onnx", detector, LIMITS)


def test_a_face_model_on_a_faceless_picture_says_so(tmp_path: Path, detector: FaceDetector) -> None:
    from cameoguard.detection.calibration import Calibrator, OperatingPoints

    faces = [astronaut()[20:260, 130:370]] * 4
    model = FaceCNN(epochs=1).fit(faces, [0, 1, 0, 1])
    scorer = CalibratedScorer(model, Calibrator("platt"), OperatingPoints(0.2, 0.8, 0.01, 0.05,
                              0.0, 1.0), detector, LIMITS)  # fmt: skip
    black = scorer.score(save_image(np.zeros((200, 200, 3), np.uint8), tmp_path / "black.png"))
    assert black.fake_probability is None and "no face found" in (black.note or "")
    face = scorer.score(save_image(astronaut(), tmp_path / "face.png"))
    assert face.fake_probability is not None and len(face.faces) == 1
