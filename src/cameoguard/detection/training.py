"""Training a detector end to end: dataset -> leak-free split -> crops -> fit -> calibrate -> card.

What flows through: samples from :func:`cameoguard.datasets.load_dataset` are split by group
(:func:`~cameoguard.datasets.split_by_group`, no video or identity on two sides); face
detectors get cached MTCNN face crops (:mod:`cameoguard.datasets.crops`), image detectors the
whole picture (after the sample's crop box). The detector is fitted on *train*; a calibrator
and the verdict's operating points are fitted on *val*; *test* is scored once for the card's
metrics (per-picture AUC, AP, EER, ECE after calibration, accuracy at the operating point).

The result is saved as the detector's model file with a card that also holds the calibrator
and operating points, so a scorer loading it gives calibrated probabilities and verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import MediaSample, split_by_group
from cameoguard.datasets.crops import CropSettings, extract_face_crops
from cameoguard.detection.base import Detector, create_detector
from cameoguard.detection.calibration import (
    Calibrator,
    OperatingPoints,
    expected_calibration_error,
    operating_points,
)
from cameoguard.detection.card import ModelCard
from cameoguard.errors import BadInputError
from cameoguard.media import Limits, load_image

__all__ = [
    "TEST_FRACTION",
    "VAL_FRACTION",
    "TrainingResult",
    "metrics",
    "picture_weight",
    "pictures_for",
    "save_trained",
    "split_for_training",
    "train_detector",
]

Image = npt.NDArray[np.uint8]

#: Fractions of the groups held out for testing and for calibration.
TEST_FRACTION = 0.2
VAL_FRACTION = 0.2


@dataclass(frozen=True)
class TrainingResult:
    detector: Detector
    calibrator: Calibrator
    points: OperatingPoints
    metrics: dict[str, Any]
    counts: dict[str, dict[str, int]]
    split: dict[str, Any] = field(default_factory=dict)


def pictures_for(
    samples: Sequence[MediaSample],
    detector: Detector,
    limits: Limits,
    faces: FaceDetector,
    crops: CropSettings,
    cache_dir: Path | None,
) -> tuple[list[Image], list[int], list[str]]:
    """Pictures (face crops or whole images), labels (1 = fake) and their sample paths."""
    pictures: list[Image] = []
    labels: list[int] = []
    paths: list[str] = []
    for sample in samples:
        if detector.looks_at == "face":
            found = extract_face_crops(sample, faces, limits, crops, cache_dir)
            batch = list(found.crops)
        elif sample.media == "image":
            rgb = load_image(sample.path, limits)
            if sample.crop is not None:
                left, top, right, bottom = sample.crop
                rgb = np.ascontiguousarray(rgb[top:bottom, left:right])
            batch = [rgb]
        else:
            continue
        pictures += batch
        labels += [sample.label.target] * len(batch)
        paths += [str(sample.path)] * len(batch)
    return pictures, labels, paths


def _eer(labels: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    index = int(np.argmin(np.abs(fpr - (1 - tpr))))
    return float((fpr[index] + 1 - tpr[index]) / 2)


def metrics(labels: Sequence[int], probabilities: Any, points: OperatingPoints) -> dict[str, Any]:
    """AUC, AP, EER, ECE and accuracy at the operating point of calibrated probabilities."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    out: dict[str, Any] = {"n": len(y), "fake": int(y.sum())}
    if len(set(y.tolist())) == 2:
        out.update(auc=float(roc_auc_score(y, p)), ap=float(average_precision_score(y, p)),
                   eer=_eer(y, p))  # fmt: skip
    out["ece"] = expected_calibration_error(p, y)
    out["accuracy_at_threshold"] = float(np.mean((p >= points.manipulated) == (y == 1)))
    return out


def picture_weight(frames: int) -> Callable[[MediaSample], float]:
    """A sample's weight in a split: the pictures it yields (a video's sampled frames)."""

    def weight(sample: MediaSample) -> float:
        return float(frames) if sample.media == "video" else 1.0

    return weight


def split_for_training(
    samples: Sequence[MediaSample], split: dict[str, Any]
) -> dict[str, tuple[MediaSample, ...]]:
    """The split a card's ``split`` record describes (what :func:`train_detector` made)."""
    frames = split.get("weighted_by_frames")
    return split_by_group(
        samples,
        test=float(split.get("test", TEST_FRACTION)),
        val=float(split.get("val", VAL_FRACTION)),
        seed=str(split.get("seed", "cameoguard")),
        weight=None if frames is None else picture_weight(int(frames)),
    )


def train_detector(
    samples: Sequence[MediaSample],
    detector_name: str,
    *,
    limits: Limits,
    faces: FaceDetector,
    crops: CropSettings | None = None,
    cache_dir: Path | None = None,
    fpr: float = 0.01,
    seed: str = "cameoguard",
    params: dict[str, Any] | None = None,
    test: float = TEST_FRACTION,
    val: float = VAL_FRACTION,
) -> TrainingResult:
    """Fit ``detector_name`` on the train split, calibrate on val, measure on test.

    ``test=0`` keeps no test split (cross-validation holds its folds out itself): the
    result's metrics are then empty.
    """
    crops = crops or CropSettings()
    if not 0 < val < 1:
        raise BadInputError(f"val={val}: calibration needs a validation fraction in (0, 1)")
    split: dict[str, Any] = {
        "seed": seed,
        "test": test,
        "val": val,
        "unit": "connected components of group and source ids",
        "weighted_by_frames": crops.frames,
        "crops": {"frames": crops.frames, "margin": crops.margin, "size": crops.size},
    }
    splits = split_for_training(samples, split)
    if test == 0:
        del splits["test"]
    detector = create_detector(detector_name, **(params or {}))
    data = {name: pictures_for(part, detector, limits, faces, crops, cache_dir)
            for name, part in splits.items()}  # fmt: skip
    counts = {name: {"pictures": len(d[1]), "fake": int(sum(d[1]))} for name, d in data.items()}
    for name, (_, labels, _) in data.items():
        if len(set(labels)) < 2:
            raise BadInputError(
                f"the {name} split has {len(labels)} pictures of one class only ({counts}); "
                "training needs real and fake media in every split: add more groups"
            )
    detector.fit(data["train"][0], data["train"][1])
    val_raw = detector.fake_scores(data["val"][0])
    calibrator = Calibrator.fit(val_raw, data["val"][1])
    points = operating_points(calibrator(val_raw), data["val"][1], fpr=fpr)
    measured: dict[str, Any] = {}
    if "test" in data:
        test_p = calibrator(detector.fake_scores(data["test"][0]))
        measured = metrics(data["test"][1], test_p, points)
    return TrainingResult(detector, calibrator, points, measured, counts, split)


def save_trained(result: TrainingResult, path: Path, *, training_data: str) -> ModelCard:
    """Save the detector with a card holding its calibrator, operating points and metrics."""
    detector = result.detector
    save = getattr(detector, "save", None)
    if save is None:
        raise BadInputError(f"detector {detector.name} has no model file to save")
    card = ModelCard(
        name=detector.name,
        version=str(getattr(detector, "VERSION", "1")),
        input=detector.input_spec,
        threshold=result.points.manipulated,
        training_data=training_data,
        metrics={"test": result.metrics, "counts": result.counts},
        calibration=result.calibrator.to_json(),
        operating_points=result.points.to_json(),
        split=result.split or None,
    )
    saved: ModelCard = save(Path(path), card)
    return saved
