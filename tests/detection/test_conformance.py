"""Every registered detector through one contract: fit, predict_proba, save/load, bad input.

The trainable detectors (spectral, face_cnn) learn a small real/fake set here; MesoNet, which
only loads the published weights, joins when ``../shared/data`` has them. The same checks
then run on each: probabilities of shape (n, 2) whose rows sum to one, deterministic scores,
an unfitted detector refuses to score, a saved model reloads with the same scores and a card
with the file's SHA-256, and bad pictures (wrong dtype, no channels, 4x4 px) get one clear
error while a grey picture is widened and scored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cameoguard.detection.base import (
    Detector,
    NotFittedError,
    available_detectors,
    create_detector,
)
from cameoguard.detection.card import card_path
from cameoguard.errors import BadInputError

from .test_spectral import _crops, _photos, _upsampled


def _data() -> tuple[list[np.ndarray], list[int]]:
    pictures, labels = [], []
    rng = np.random.default_rng(0)
    for photo in _photos()[:4]:
        for crop in _crops(photo, 4, rng):
            pictures += [crop, _upsampled(crop)]
            labels += [0, 1]
    return pictures, labels


DATA = _data()

Make = Callable[[Path], Detector]


def _trained(name: str, **params: object) -> Make:
    def make(_shared: Path) -> Detector:
        return create_detector(name, **params).fit(*DATA)

    return make


def _mesonet(shared: Path) -> Detector:
    weights = shared / "models/deepfake_detector/mesonet"
    if not weights.is_dir():
        pytest.skip("no MesoNet weights in the shared data")
    return create_detector("mesonet", variant="meso4", trained_on="DF", weights_dir=weights)


CASES = {
    "spectral": _trained("spectral"),
    "face_cnn": _trained("face_cnn", epochs=2),
    "mesonet": _mesonet,
}


def test_every_registered_detector_is_covered() -> None:
    assert set(available_detectors()) == set(CASES)


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request: pytest.FixtureRequest) -> Detector:
    from tests.conftest import SHARED_DATA

    if request.param == "mesonet" and not SHARED_DATA.is_dir():
        pytest.skip("MesoNet needs its weights from ../shared/data")
    return CASES[request.param](SHARED_DATA)


def test_probabilities_are_well_formed_and_deterministic(fitted: Detector) -> None:
    pictures = DATA[0][:6]
    proba = fitted.predict_proba(pictures)
    assert proba.shape == (6, 2)
    assert np.all((proba >= 0) & (proba <= 1))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(fitted.fake_scores(pictures), proba[:, 1])
    assert np.array_equal(fitted.fake_scores(pictures), fitted.fake_scores(pictures))
    assert fitted.fitted and isinstance(fitted.get_params(), dict)
    spec = fitted.input_spec
    assert spec.looks_at in ("face", "image")


def test_bad_pictures_get_one_clear_error(fitted: Detector) -> None:
    good = DATA[0][0]
    for bad, says in (
        (good.astype(np.float32), "uint8"),
        (good[:, :, 0:1].reshape(good.shape[0], good.shape[1], 1, 1), "shape"),
        (good[:4, :4], "too small"),
    ):
        with pytest.raises(BadInputError, match=says):
            fitted.predict_proba([bad])
    grey = np.ascontiguousarray(good[:, :, 1])
    assert fitted.predict_proba([grey]).shape == (1, 2)  # widened to three channels


def test_saved_models_reload_with_the_same_scores(fitted: Detector, tmp_path: Path) -> None:
    save = getattr(fitted, "save", None)
    if save is None:
        card = fitted.card()
        assert card is not None and card.weights_sha256  # published weights: hashed, read-only
        return
    path = tmp_path / ("model.onnx" if fitted.name == "face_cnn" else "model.npz")
    card = save(path)
    assert card.weights_sha256 and card_path(path).is_file()
    loaded = type(fitted).load(path)  # type: ignore[attr-defined]
    assert np.allclose(loaded.fake_scores(DATA[0][:6]), fitted.fake_scores(DATA[0][:6]))


@pytest.mark.parametrize("name", ["spectral", "face_cnn"])
def test_unfitted_detectors_refuse_to_score(name: str) -> None:
    with pytest.raises(NotFittedError):
        create_detector(name).predict_proba(DATA[0][:1])


@pytest.mark.parametrize("name", ["spectral", "face_cnn"])
def test_fit_needs_both_classes_and_matching_labels(name: str) -> None:
    with pytest.raises(BadInputError):
        create_detector(name).fit(DATA[0][:4], [0, 0, 0, 0])
    with pytest.raises(BadInputError):
        create_detector(name).fit(DATA[0][:4], [0, 1])
