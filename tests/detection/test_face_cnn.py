"""face_cnn: trains from scratch, exports to ONNX, reloads only the file its card describes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cameoguard.detection.base import NotFittedError, create_detector
from cameoguard.detection.face_cnn import FaceCNN
from cameoguard.errors import BadInputError, ModelUnavailableError
from tests.consent.conftest import astronaut


def _faces(n: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """Real: jittered crops of a real face. Fake: the same with a blended, re-scaled inner face
    (what a face swap's warp and blend leave: a softer, re-sampled region with a seam)."""
    rng = np.random.default_rng(seed)
    base = astronaut()[20:260, 130:370]
    pictures, labels = [], []
    for i in range(n):
        dy, dx = rng.integers(0, 40, 2)
        crop = np.ascontiguousarray(base[dy : dy + 200, dx : dx + 200])
        crop = np.clip(crop.astype(np.int16) + rng.integers(-20, 20), 0, 255).astype(np.uint8)
        if i % 2:
            inner = crop[50:150, 50:150]
            soft = cv2.resize(
                cv2.resize(inner, (40, 40)), (100, 100), interpolation=cv2.INTER_LINEAR
            )
            crop = crop.copy()
            crop[50:150, 50:150] = soft
        pictures.append(crop)
        labels.append(i % 2)
    return pictures, labels


@pytest.fixture(scope="module")
def trained() -> FaceCNN:
    x, y = _faces(96, 1)
    return FaceCNN(epochs=20, batch_size=16, lr=3e-3, seed=3).fit(x, y)  # about 12 s


def test_learns_and_generalises_to_new_crops(trained: FaceCNN) -> None:
    from sklearn.metrics import roc_auc_score

    x, y = _faces(40, 2)
    proba = trained.predict_proba(x)
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y, proba[:, 1]) > 0.9


def test_save_load_round_trip_and_refuse_other_files(trained: FaceCNN, tmp_path: Path) -> None:
    x, _ = _faces(6, 4)
    card = trained.save(tmp_path / "face_cnn.onnx")
    assert card.weights_sha256 and card.input.size == (128, 128)
    loaded = FaceCNN.load(tmp_path / "face_cnn.onnx")
    assert np.allclose(loaded.fake_scores(x), trained.fake_scores(x), atol=1e-6)
    (tmp_path / "face_cnn.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelUnavailableError, match="not the face_cnn"):
        FaceCNN.load(tmp_path / "face_cnn.onnx")
    with pytest.raises(ModelUnavailableError, match="detect train"):
        FaceCNN.load(tmp_path / "none.onnx")


def test_contract() -> None:
    detector = create_detector("face_cnn", epochs=1)
    with pytest.raises(NotFittedError):
        detector.predict_proba([astronaut()])
    with pytest.raises(BadInputError, match="both real"):
        detector.fit([astronaut()] * 2, [1, 1])
