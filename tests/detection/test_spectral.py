"""The spectral detector learns up-sampling artefacts; its model files hold only arrays."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from cameoguard.detection.base import NotFittedError, create_detector
from cameoguard.detection.spectral import FEATURES, SpectralDetector, spectral_features
from cameoguard.errors import BadInputError, ModelUnavailableError


def _photos() -> list[np.ndarray]:
    import skimage.data

    names = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")
    return [np.ascontiguousarray(getattr(skimage.data, n)()[..., :3]) for n in names]


def _crops(photo: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = photo.shape[:2]
    out = []
    for _ in range(n):
        y, x = rng.integers(0, h - 128), rng.integers(0, w - 128)
        out.append(np.ascontiguousarray(photo[y : y + 128, x : x + 128]))
    return out


def _upsampled(crop: np.ndarray) -> np.ndarray:
    """What a generator's nearest-neighbour up-convolution leaves: a 2x periodic pattern."""
    small = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (128, 128), interpolation=cv2.INTER_NEAREST)


@pytest.fixture(scope="module")
def data() -> tuple[list[np.ndarray], list[int], list[np.ndarray], list[int]]:
    rng = np.random.default_rng(5)
    photos = _photos()
    split = {"train": photos[:4], "test": photos[4:]}  # test photos are never trained on
    out = []
    for part in ("train", "test"):
        crops = [c for p in split[part] for c in _crops(p, 12, rng)]
        images = crops + [_upsampled(c) for c in crops]
        out += [images, [0] * len(crops) + [1] * len(crops)]
    return out[0], out[1], out[2], out[3]  # type: ignore[return-value]


def test_it_separates_upsampled_pictures_of_unseen_photos(data: tuple) -> None:
    from sklearn.metrics import roc_auc_score

    train_x, train_y, test_x, test_y = data
    detector = create_detector("spectral").fit(train_x, train_y)
    scores = detector.fake_scores(test_x)
    assert roc_auc_score(test_y, scores) > 0.95
    proba = detector.predict_proba(test_x[:3])
    assert proba.shape == (3, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_features_do_not_depend_on_brightness() -> None:
    crop = _photos()[0][100:300, 100:300]
    brighter = np.clip(crop.astype(np.int16) + 30, 0, 255).astype(np.uint8)
    a, b = spectral_features(crop), spectral_features(brighter)
    assert a.shape == (FEATURES,) and np.abs(a[:64] - b[:64]).max() < 0.2


def test_save_and_load_round_trip_and_refuse_tampering(data: tuple, tmp_path: Path) -> None:
    train_x, train_y, test_x, _ = data
    detector = SpectralDetector().fit(train_x, train_y)
    card = detector.save(tmp_path / "spectral.npz")
    assert card.weights_sha256 and (tmp_path / "spectral.npz.card.json").is_file()
    loaded = SpectralDetector.load(tmp_path / "spectral.npz")
    assert np.allclose(loaded.fake_scores(test_x), detector.fake_scores(test_x))
    blob = bytearray((tmp_path / "spectral.npz").read_bytes())
    blob[-10] ^= 0xFF
    (tmp_path / "spectral.npz").write_bytes(bytes(blob))
    with pytest.raises(ModelUnavailableError, match="not the spectral"):
        SpectralDetector.load(tmp_path / "spectral.npz")
    with pytest.raises(ModelUnavailableError, match="detect train"):
        SpectralDetector.load(tmp_path / "missing.npz")


def test_contract_errors(data: tuple) -> None:
    train_x, train_y, _, _ = data
    with pytest.raises(NotFittedError, match="call fit"):
        SpectralDetector().predict_proba(train_x[:1])
    with pytest.raises(BadInputError, match="both real"):
        SpectralDetector().fit(train_x[:4], [0, 0, 0, 0])
    with pytest.raises(BadInputError, match="labels"):
        SpectralDetector().fit(train_x[:4], [0, 1])
    grey = cv2.cvtColor(train_x[0], cv2.COLOR_RGB2GRAY)
    fitted = SpectralDetector().fit(train_x, train_y)
    assert fitted.predict_proba([grey]).shape == (1, 2)
