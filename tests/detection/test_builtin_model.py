"""The shipped face_cnn model: it still reproduces its card on the shared data, and verify uses it.

The card's test metrics were measured by ``scripts/train_builtin_detector.sh``: synthetic
composites built from the shared faces and FF++ originals (a fresh watermark key each build, so
pixels differ by the mark alone) plus the shared real/fake CSV, split by connected components
with the card's seed. Here the composites are rebuilt the same way, the card's test split is
re-created, and the model must give the same per-picture metrics (within what a different
watermark key can move: a few pictures, a few hundredths of AUC).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import MediaSample, combine_datasets, load_dataset
from cameoguard.datasets.crops import CropSettings
from cameoguard.datasets.synthetic import SynthSettings, build_composites, people_from_folders
from cameoguard.detection.card import ModelCard, card_path
from cameoguard.detection.fusion import AuthenticityLabel
from cameoguard.detection.scorer import BUILTIN, BUILTIN_MODEL, CalibratedScorer
from cameoguard.detection.training import metrics, pictures_for, split_for_training
from cameoguard.media import Limits
from cameoguard.provenance.trust import TrustPolicy
from cameoguard.settings import Settings, get_settings
from cameoguard.verification import Verifier
from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.marker import Watermarker

CARD = card_path(BUILTIN_MODEL)

pytestmark = pytest.mark.skipif(
    not BUILTIN_MODEL.is_file(), reason="no built-in model in this checkout"
)


def test_the_card_is_complete_and_the_file_small() -> None:
    card = ModelCard.load(CARD)
    assert card.name == "face_cnn" and card.weights_sha256
    assert card.calibration and card.operating_points and card.split
    assert {"auc", "ap", "eer", "ece", "n"} <= set(card.metrics["test"])
    assert BUILTIN_MODEL.stat().st_size <= 20 * 1024 * 1024


@pytest.fixture(scope="module")
def shipped_test_split(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[MediaSample]:
    limits = Limits.from_settings(get_settings())
    out = tmp_path_factory.mktemp("builtin") / "synthetic"
    people = people_from_folders(
        [
            shared_data / "faces/face_recognition",
            shared_data / "faces/faceapi_js",
            shared_data / "real_fake/videos/ffpp/original",
        ],
        exclude=["multi_face"],
    )
    with FaceDetector() as faces:
        build_composites(
            people,
            out,
            marker=Watermarker(WatermarkKey.generate()),
            faces=faces,
            limits=limits,
            settings=SynthSettings(fakes_per_target=2, video_seconds=6),
        )
    dataset = combine_datasets(
        [load_dataset("csv", out), load_dataset("csv", shared_data / "real_fake/labels.csv")]
    )
    return list(split_for_training(dataset.samples, ModelCard.load(CARD).split or {})["test"])


@pytest.mark.slow
def test_it_reproduces_its_card_metrics(
    shipped_test_split: list[MediaSample], detector: FaceDetector
) -> None:
    card = ModelCard.load(CARD)
    limits = Limits.from_settings(get_settings())
    scorer = CalibratedScorer.load(Path(BUILTIN), detector, limits)
    crops = CropSettings(**(card.split or {})["crops"])
    pictures, labels, _ = pictures_for(
        shipped_test_split, scorer.detector, limits, detector, crops, None
    )
    measured = metrics(
        labels, scorer.calibrator(scorer.detector.fake_scores(pictures)), scorer.points
    )
    expected = card.metrics["test"]
    assert abs(measured["n"] - expected["n"]) <= 3
    assert abs(measured["fake"] - expected["fake"]) <= 3
    for name in ("auc", "ap", "eer"):
        assert measured[name] == pytest.approx(expected[name], abs=0.03), name
    assert measured["ece"] == pytest.approx(expected["ece"], abs=0.03)


def test_verify_reports_the_builtin_detector(
    shared_data: Path, tmp_path: Path, settings: Settings
) -> None:
    configured = settings.model_copy(update={"detector_model": Path(BUILTIN)})
    fake = shared_data / "real_fake/videos/ffpp/FaceSwap/634_660.mp4"
    with Verifier.from_settings(configured) as verifier:
        assert verifier.scorer is not None and verifier.scorer.name == "face_cnn"
        report = verifier.verify(fake).authenticity
    item = next(e for e in report.evidence if e.source == "detector")
    assert item.sentence.startswith("face_cnn: ") and "probability of manipulation" in item.sentence
    assert report.label in {
        AuthenticityLabel.LIKELY_MANIPULATED,
        AuthenticityLabel.UNCERTAIN,
        AuthenticityLabel.NO_EVIDENCE,
    }


def test_a_missing_model_makes_detection_unavailable(settings: Settings, tmp_path: Path) -> None:
    configured = settings.model_copy(update={"detector_model": tmp_path / "nope.onnx"})
    with Verifier.from_settings(configured) as verifier:
        assert verifier.scorer is None
        assert "could not be used" in verifier.scorer_problem
        assert "not found" in verifier.scorer_problem
    assert isinstance(TrustPolicy.from_settings(settings), TrustPolicy)
