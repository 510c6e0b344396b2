"""Per-face scores on frames, clip aggregation (mean vs confident frames), span sentences."""

from __future__ import annotations

import numpy as np
import pytest

from cameoguard.consent.faces import FaceDetector
from cameoguard.detection.video import FaceScore, aggregate, confident_span, face_crop, score_faces
from tests.consent.conftest import astronaut


class _BrightnessDetector:
    """A stand-in scorer with a known answer: the crop's mean brightness / 255."""

    def fake_scores(self, images: list[np.ndarray]) -> np.ndarray:
        return np.array([float(i.mean()) / 255.0 for i in images])


def test_faces_on_frames_are_scored_with_time_and_box(detector: FaceDetector) -> None:
    rgb = astronaut()
    frames = [(rgb, 0, 0.0), (np.zeros_like(rgb), 1, 0.5), (rgb, 2, 1.0)]
    scores = score_faces(frames, detector, _BrightnessDetector())
    assert [s.frame_index for s in scores] == [0, 2]  # the black frame has no face
    assert scores[0].t_s == 0.0 and scores[1].t_s == 1.0
    x0, y0, x1, y1 = scores[0].box
    assert 0 <= x0 < x1 <= rgb.shape[1] and 0 <= y0 < y1 <= rgb.shape[0]
    assert 0 < scores[0].score < 1


def test_face_crop_near_the_border_is_padded_not_shifted(detector: FaceDetector) -> None:
    rgb = astronaut()
    face = detector.detect(rgb)[0]
    crop = face_crop(rgb, face, margin=2.0, size=128)
    assert crop.shape == (128, 128, 3)


@pytest.mark.parametrize(
    ("scores", "mean", "confident"),
    [
        ([0.9] * 5 + [0.5] * 5, 0.7, 0.9),  # half the frames confidently fake: not diluted
        ([0.05] * 19 + [0.5], 0.0725, 0.05),  # nearly all confidently real
        ([0.5, 0.6, 0.4], 0.5, 0.5),  # unsure: the mean
        ([0.95, 0.1, 0.1, 0.1, 0.1], 0.27, 0.27),  # one fake frame is not enough
    ],
)
def test_aggregation(scores: list[float], mean: float, confident: float) -> None:
    assert aggregate(scores, "mean") == pytest.approx(mean)
    assert aggregate(scores, "confident") == pytest.approx(confident)


def test_no_scores_and_span_sentence() -> None:
    assert aggregate([]) is None
    scores = [FaceScore(i, i * 0.5, (0, 0, 1, 1), 0.9 if 6 <= i <= 18 else 0.1) for i in range(32)]
    assert confident_span(scores) == "13 of 32 frames between 00:03 and 00:09"
    assert confident_span(scores[:5]) is None
