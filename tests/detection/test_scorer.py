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
from cameoguard.errors import BadInputError, ModelUnavailableError
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


def test_bad_input_gets_clear_results(
    spectral_model: Path, detector: FaceDetector, tmp_path: Path
) -> None:
    """Grey, tiny, one-frame, audio-only, corrupt and faceless input: a result or one clear
    error each, never a traceback or a guess."""
    from PIL import Image

    from cameoguard.demo import make_tone
    from cameoguard.errors import CorruptMediaError
    from cameoguard.media import write_audio

    scorer = CalibratedScorer.load(spectral_model, detector, LIMITS, frames=4)
    crop = _crops(_photos()[5], 1, np.random.default_rng(3))[0]
    grey = tmp_path / "grey.png"
    Image.fromarray(crop[:, :, 1]).save(grey)  # an L-mode file
    assert scorer.score(grey).fake_probability is not None
    tiny = save_image(np.full((4, 4, 3), 128, np.uint8), tmp_path / "tiny.png")
    with pytest.raises(BadInputError, match="too small"):
        scorer.score(tiny)
    one = scorer.score(write_video(tmp_path / "one.mp4", [crop], fps=1))
    assert one.frames_sampled == 1 and one.fake_probability is not None
    sound = scorer.score(write_audio(make_tone(1.0), tmp_path / "tone.wav"))
    assert sound.fake_probability is None and sound.note == "audio has no pictures"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(save_image(crop, tmp_path / "ok.jpg").read_bytes()[:300])
    with pytest.raises(CorruptMediaError):
        scorer.score(broken)


def test_the_face_model_on_grey_and_tiny_faces(tmp_path: Path, detector: FaceDetector) -> None:
    from PIL import Image

    from cameoguard.detection.calibration import Calibrator, OperatingPoints

    model = FaceCNN(epochs=1).fit([astronaut()[20:260, 130:370]] * 4, [0, 1, 0, 1])
    points = OperatingPoints(0.2, 0.8, 0.01, 0.05, 0.0, 1.0)
    scorer = CalibratedScorer(model, Calibrator("platt"), points, detector, LIMITS)
    grey = tmp_path / "grey.png"
    Image.fromarray(astronaut()[:, :, 0]).save(grey)
    assert len(scorer.score(grey).faces) == 1
    small = save_image(np.ascontiguousarray(astronaut()[::16, ::16]), tmp_path / "small.png")
    result = scorer.score(small)  # 32x32: no face to judge, said so
    assert result.fake_probability is None and "no face found" in (result.note or "")
