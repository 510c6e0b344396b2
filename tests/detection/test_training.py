"""Training end to end: folder dataset -> leak-free split -> fit -> calibrate -> test metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import load_dataset
from cameoguard.detection.training import train_detector
from cameoguard.errors import BadInputError
from cameoguard.media import Limits, save_image

from .test_spectral import _crops, _photos, _upsampled

LIMITS = Limits(512 << 20, 80_000_000, 300.0, 600.0)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """real/<photo>_<n>.png and fake/<photo>_<n>.png (its nearest-neighbour up-sampled twin)."""
    root = tmp_path_factory.mktemp("upsampled")
    rng = np.random.default_rng(11)
    for p, photo in enumerate(_photos()):
        for n, crop in enumerate(_crops(photo, 10, rng)):
            save_image(crop, root / "real" / f"p{p}_{n}.png")
            save_image(_upsampled(crop), root / "fake" / f"p{p}_{n}.png")
    return root


def test_spectral_trains_calibrates_and_reports(tree: Path, detector: FaceDetector) -> None:
    dataset = load_dataset("folder", tree)
    result = train_detector(dataset.samples, "spectral", limits=LIMITS, faces=detector)
    assert set(result.counts) == {"train", "val", "test"}
    assert all(c["pictures"] > c["fake"] > 0 for c in result.counts.values())
    m = result.metrics
    assert m["auc"] > 0.95 and m["ece"] < 0.25 and 0.0 <= m["eer"] <= 0.2
    assert result.points.real <= result.points.manipulated

    from cameoguard.detection.calibration import Calibrator
    from cameoguard.detection.spectral import SpectralDetector
    from cameoguard.detection.training import save_trained

    card = save_trained(result, tree.parent / "spectral.npz", training_data="upsampled crops")
    loaded = SpectralDetector.load(tree.parent / "spectral.npz")
    assert loaded.card() == card and card.calibration and card.operating_points
    calibrator = Calibrator.from_json(card.calibration)
    probe = [np.asarray(_photos()[0][:128, :128])]
    assert 0.0 < float(calibrator(loaded.fake_scores(probe))[0]) < 1.0


def test_one_class_splits_are_refused(tree: Path, detector: FaceDetector) -> None:
    reals = [s for s in load_dataset("folder", tree).samples if s.label.target == 0]
    with pytest.raises(BadInputError, match="one class only"):
        train_detector(reals, "spectral", limits=LIMITS, faces=detector)
