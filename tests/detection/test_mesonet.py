"""MesoNet ported to torch: the published Keras weights reproduce the authors' outputs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cameoguard.detection.base import available_detectors, create_detector
from cameoguard.detection.mesonet import MesoNetDetector
from cameoguard.errors import BadInputError, ConfigurationError, ModelUnavailableError


@pytest.fixture(scope="module")
def weights(shared_data: Path) -> Path:
    return shared_data / "models" / "deepfake_detector" / "mesonet"


@pytest.fixture(scope="module")
def authors_samples(shared_data: Path) -> tuple[list[np.ndarray], list[int]]:
    """The four face crops that ship with MesoNet's repository (2 real, 2 deepfake)."""
    root = shared_data / "real_fake"
    pictures, labels = [], []
    with (root / "labels.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["path"].startswith("images/mesonet/"):
                pictures.append(np.asarray(Image.open(root / row["path"]).convert("RGB")))
                labels.append(int(row["label"] == "FAKE"))
    assert sorted(labels) == [0, 0, 1, 1]
    return pictures, labels


@pytest.mark.parametrize("variant", ["meso4", "mesoinception4"])
def test_published_weights_separate_the_authors_samples(
    weights: Path, authors_samples: tuple[list[np.ndarray], list[int]], variant: str
) -> None:
    pictures, labels = authors_samples
    detector = MesoNetDetector(variant, "DF", weights)  # type: ignore[arg-type]
    proba = detector.predict_proba(pictures)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(axis=1), 1.0)
    fake = proba[:, 1]
    y = np.array(labels)
    # measured: fakes 0.99, reals 0.00 for both variants
    assert fake[y == 1].min() > 0.9 and fake[y == 0].max() < 0.1
    card = detector.card()
    assert card is not None and card.weights_sha256 and card.license == "Apache-2.0"


def test_contract_and_bad_input(weights: Path, authors_samples: tuple[list, list[int]]) -> None:
    detector = create_detector("mesonet", variant="meso4", weights_dir=weights)
    assert detector.fitted and "mesonet" in available_detectors()
    grey = authors_samples[0][0].mean(axis=2).astype(np.uint8)
    assert detector.predict_proba([grey]).shape == (1, 2)
    assert detector.fit(authors_samples[0], authors_samples[1]) is detector
    with pytest.raises(BadInputError, match="too small"):
        detector.predict_proba([np.zeros((4, 4, 3), np.uint8)])
    with pytest.raises(BadInputError, match="uint8"):
        detector.predict_proba([np.zeros((64, 64, 3), np.float32)])  # type: ignore[list-item]
    assert detector.fake_scores([]).shape == (0,)


def test_missing_or_wrong_weights_say_what_to_do(tmp_path: Path, weights: Path) -> None:
    unset = MesoNetDetector()
    assert not unset.fitted
    with pytest.raises(ModelUnavailableError, match="CAMEOGUARD_MESONET_WEIGHTS"):
        unset.predict_proba([np.zeros((64, 64, 3), np.uint8)])
    with pytest.raises(ModelUnavailableError, match="not found"):
        MesoNetDetector(weights_dir=tmp_path).predict_proba([np.zeros((64, 64, 3), np.uint8)])
    (tmp_path / "MesoInception_DF.h5").write_bytes((weights / "Meso4_DF.h5").read_bytes())
    with pytest.raises(ModelUnavailableError, match="right MesoNet variant"):
        MesoNetDetector(weights_dir=tmp_path).predict_proba([np.zeros((64, 64, 3), np.uint8)])
    (tmp_path / "Meso4_DF.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelUnavailableError, match="not a readable Keras HDF5"):
        MesoNetDetector("meso4", weights_dir=tmp_path).predict_proba(
            [np.zeros((64, 64, 3), np.uint8)]
        )


def test_registry_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown detector 'nope'; choose one of"):
        create_detector("nope")
