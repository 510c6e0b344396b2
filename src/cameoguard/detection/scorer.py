"""A trained, calibrated detector applied to files: one fake probability, a verdict, the detail.

What flows through: :meth:`CalibratedScorer.load` opens a model file trained here (its card
names the detector and holds the calibrator and operating points; a card without them is
refused: uncalibrated numbers are never shown to a platform). :meth:`CalibratedScorer.score`
takes an image or a video: face detectors score every face on ``frames`` sampled frames (an
image is one frame), each raw score is calibrated, and the clip probability is the
confident-frames aggregate (:func:`cameoguard.detection.video.aggregate`); image detectors
score the whole picture (video: every sampled frame). A file without a face says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cameoguard.consent.faces import FaceDetector
from cameoguard.detection.base import Detector
from cameoguard.detection.calibration import Calibrator, OperatingPoints, Verdict
from cameoguard.detection.card import ModelCard, card_path
from cameoguard.detection.video import FaceScore, aggregate, confident_span, score_faces
from cameoguard.errors import ModelUnavailableError
from cameoguard.media import Limits, load_image, probe, sample_frames
from cameoguard.media.types import MediaKind

__all__ = ["BUILTIN", "BUILTIN_MODEL", "CalibratedScorer", "FileScore", "resolve_model"]

#: The model trained by this project's own command and shipped in the package (see its card).
BUILTIN_MODEL = Path(__file__).resolve().parent / "models" / "face_cnn.onnx"
#: The value of CAMEOGUARD_DETECTOR_MODEL / ``--model`` that names it.
BUILTIN = "builtin"


def resolve_model(path: Path | str) -> Path:
    """``builtin`` is the shipped model; anything else is a path to a trained model file."""
    if str(path) == BUILTIN:
        if not BUILTIN_MODEL.is_file():
            raise ModelUnavailableError(
                f"the built-in detector model is not installed ({BUILTIN_MODEL} is missing); "
                "reinstall cameoguard or train one with `cameoguard detect train`"
            )
        return BUILTIN_MODEL
    return Path(path)


@dataclass(frozen=True)
class FileScore:
    path: str
    detector: str
    fake_probability: float | None
    verdict: Verdict | None
    frames_sampled: int
    faces: tuple[FaceScore, ...] = ()
    span: str | None = None
    note: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "detector": self.detector,
            "fake_probability": None
            if self.fake_probability is None
            else round(self.fake_probability, 4),
            "verdict": None if self.verdict is None else self.verdict.value,
            "frames_sampled": self.frames_sampled,
            "span": self.span,
            "note": self.note,
            "faces": [f.to_dict() for f in self.faces],
        }


class CalibratedScorer:
    def __init__(
        self,
        detector: Detector,
        calibrator: Calibrator,
        points: OperatingPoints,
        faces: FaceDetector,
        limits: Limits,
        frames: int = 16,
    ) -> None:
        self.detector, self.calibrator, self.points = detector, calibrator, points
        self.faces, self.limits, self.frames = faces, limits, frames

    @classmethod
    def load(
        cls, path: Path, faces: FaceDetector, limits: Limits, frames: int = 16
    ) -> CalibratedScorer:
        path = resolve_model(path)
        if not path.is_file():
            raise ModelUnavailableError(
                f"detector model {path} not found; set CAMEOGUARD_DETECTOR_MODEL to a model "
                f"trained with `cameoguard detect train`, or to {BUILTIN!r} for the shipped one"
            )
        card_file = card_path(path)
        if not card_file.is_file():
            raise ModelUnavailableError(
                f"no model card {card_file.name} beside {path}; train a model with "
                "`cameoguard detect train`"
            )
        card = ModelCard.load(card_file)
        if card.calibration is None or card.operating_points is None:
            raise ModelUnavailableError(
                f"{path} has no calibration in its card; only models trained and calibrated "
                "with `cameoguard detect train` can score files"
            )
        detector: Detector
        if card.name == "face_cnn":
            from cameoguard.detection.face_cnn import FaceCNN

            detector = FaceCNN.load(path)
        elif card.name == "spectral":
            from cameoguard.detection.spectral import SpectralDetector

            detector = SpectralDetector.load(path)
        else:
            raise ModelUnavailableError(f"{path}: detector {card.name!r} cannot be loaded here")
        return cls(detector, Calibrator.from_json(card.calibration),
                   OperatingPoints(**card.operating_points), faces, limits, frames)  # fmt: skip

    @property
    def name(self) -> str:
        return self.detector.name

    def score(self, path: Path) -> FileScore:
        info = probe(path, self.limits)
        if info.kind is MediaKind.AUDIO:
            return FileScore(str(path), self.name, None, None, 0, note="audio has no pictures")
        pictures: list[tuple[Any, int | None, float | None]]
        if info.kind is MediaKind.IMAGE:
            pictures = [(load_image(path, self.limits), None, None)]
        else:
            pictures = [(f.rgb, f.index, f.pts_s)
                        for f in sample_frames(path, self.frames, self.limits)]  # fmt: skip
        if self.detector.looks_at == "face":
            raw = score_faces(pictures, self.faces, self.detector)
        else:
            scores = self.detector.fake_scores([p for p, _, _ in pictures])
            h, w = pictures[0][0].shape[:2]
            raw = [FaceScore(i, t, (0.0, 0.0, float(w), float(h)), float(s))
                   for (_, i, t), s in zip(pictures, scores, strict=True)]  # fmt: skip
        if not raw:
            note = "no face found: the face detector had nothing to judge"
            return FileScore(str(path), self.name, None, None, len(pictures), note=note)
        calibrated = self.calibrator([s.score for s in raw])
        scored = tuple(FaceScore(s.frame_index, s.t_s, s.box, float(p))
                       for s, p in zip(raw, calibrated, strict=True))  # fmt: skip
        probability = aggregate([s.score for s in scored])
        assert probability is not None
        return FileScore(str(path), self.name, probability, self.points.verdict(probability),
                         len(pictures), scored,
                         confident_span(scored, self.points.manipulated))  # fmt: skip
