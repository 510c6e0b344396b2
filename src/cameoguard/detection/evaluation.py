"""Evaluating a trained, calibrated model on labelled files: per-file rows, metrics, breakdowns.

What flows through: :func:`evaluate` takes a :class:`~cameoguard.detection.scorer.CalibratedScorer`
and dataset samples (:class:`~cameoguard.datasets.MediaSample`) and scores each file once,
the way ``cameoguard detect score`` would (an image with a ``crop`` box, such as a
CNNDetection picture with its label border, is cut first and scored as an array by
:func:`score_picture`). The :class:`Evaluation` keeps one :class:`EvaluatedFile` row per
sample (its calibrated fake probability and verdict, or None with the reason) and every
calibrated per-face (or per-picture) score, and from them gives:

* file-level metrics (:func:`cameoguard.detection.training.metrics`: AUC, AP, EER, ECE,
  accuracy at the card's operating point) over the files that got a score; the others are
  counted and listed (``unscored``), never silently dropped. A file that failed to decode is
  ``failed``; a faceless file for a face model is a normal absence, unscored but not failed;
* picture/frame-level metrics over every calibrated per-face score (labelled by its file);
* breakdowns (:meth:`Evaluation.breakdown`): ``by="method"`` scores each manipulation
  method's fakes against all reals (the FaceForensics++ per-method convention);
  ``by="dataset"`` groups files by dataset; ``by="category"`` by the first part of the
  loader's ``category`` (CNNDetection's generator folders, each with its own reals).

:func:`evaluate_raw` is the small variant for uncalibrated detectors (the published MesoNet
weights): ranking metrics only (AUC, AP, EER), with a file's score the mean of its raw
per-face scores, and no probability or verdict claimed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets import MediaSample
from cameoguard.detection.base import Detector
from cameoguard.detection.calibration import OperatingPoints, Verdict
from cameoguard.detection.scorer import CalibratedScorer, FileScore
from cameoguard.detection.training import _eer, metrics
from cameoguard.detection.video import FaceScore, aggregate, confident_span, score_faces
from cameoguard.errors import BadInputError, CameoguardError
from cameoguard.media import Limits, load_image, sample_frames

__all__ = [
    "EvaluatedFile",
    "Evaluation",
    "RawEvaluation",
    "evaluate",
    "evaluate_raw",
    "score_picture",
]

Image = npt.NDArray[np.uint8]
Picture = tuple[Image, int | None, float | None]
Breakdown = Literal["method", "dataset", "category"]
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------ pictures and raw scores


def _cut(rgb: Image, sample: MediaSample) -> Image:
    if sample.crop is None:
        return rgb
    left, top, right, bottom = sample.crop
    h, w = rgb.shape[:2]
    if right > w or bottom > h:
        raise BadInputError(
            f"{sample.path}: crop box {sample.crop} does not fit the {w}x{h} picture; fix the "
            "dataset's crop (CNNDetection's border crop expects 356x356 pictures)",
            code="evaluation.bad_crop",
        )
    return np.ascontiguousarray(rgb[top:bottom, left:right])


def _pictures(sample: MediaSample, limits: Limits, frames: int) -> list[Picture]:
    """The image (cut to its crop box) or ``frames`` evenly spaced video frames."""
    if sample.media == "image":
        return [(_cut(load_image(sample.path, limits), sample), None, None)]
    return [(f.rgb, f.index, f.pts_s) for f in sample_frames(sample.path, frames, limits)]


def _raw_scores(
    detector: Detector, faces: FaceDetector, pictures: list[Picture]
) -> list[FaceScore]:
    """Raw scores the way the scorer makes them: per face, or per whole picture."""
    if detector.looks_at == "face":
        return score_faces(pictures, faces, detector)
    scores = detector.fake_scores([p for p, _, _ in pictures])
    out = []
    for (rgb, index, t_s), score in zip(pictures, scores, strict=True):
        h, w = rgb.shape[:2]
        out.append(FaceScore(index, t_s, (0.0, 0.0, float(w), float(h)), float(score)))
    return out


def score_picture(scorer: CalibratedScorer, rgb: Image, path: str = "<array>") -> FileScore:
    """:meth:`CalibratedScorer.score` for a picture already in memory (one frame)."""
    raw = _raw_scores(scorer.detector, scorer.faces, [(rgb, None, None)])
    if not raw:
        note = "no face found: the face detector had nothing to judge"
        return FileScore(path, scorer.name, None, None, 1, note=note)
    calibrated = scorer.calibrator([s.score for s in raw])
    scored = tuple(
        FaceScore(s.frame_index, s.t_s, s.box, float(p))
        for s, p in zip(raw, calibrated, strict=True)
    )
    probability = aggregate([s.score for s in scored])
    assert probability is not None
    return FileScore(
        path,
        scorer.name,
        probability,
        scorer.points.verdict(probability),
        1,
        scored,
        confident_span(scored, scorer.points.manipulated),
    )


# ------------------------------------------------------------------ calibrated evaluation


@dataclass(frozen=True, slots=True)
class EvaluatedFile:
    """One sample's outcome: a calibrated probability and verdict, or None and why."""

    path: str
    label: str
    target: int
    media: str
    dataset: str
    group: str
    method: str | None
    category: str | None
    fake_probability: float | None
    verdict: Verdict | None
    scores: int = 0
    note: str | None = None
    #: the error code when the file could not be scored at all (corrupt, missing, too large)
    error: str | None = None

    @property
    def scored(self) -> bool:
        return self.fake_probability is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": self.label,
            "media": self.media,
            "dataset": self.dataset,
            "group": self.group,
            "method": self.method,
            "category": self.category,
            "fake_probability": None
            if self.fake_probability is None
            else round(self.fake_probability, 4),
            "verdict": None if self.verdict is None else self.verdict.value,
            "scores": self.scores,
            "note": self.note,
            "error": self.error,
        }


def _metrics(
    labels: Sequence[int], probabilities: Sequence[float], points: OperatingPoints
) -> dict[str, Any]:
    if not labels:
        return {"n": 0, "fake": 0}
    return metrics(labels, probabilities, points)


@dataclass(frozen=True)
class Evaluation:
    detector: str
    points: OperatingPoints
    rows: tuple[EvaluatedFile, ...]
    #: every calibrated per-face (or per-picture) score, with its file's label
    frame_labels: tuple[int, ...] = ()
    frame_probabilities: tuple[float, ...] = ()

    @property
    def scored(self) -> list[EvaluatedFile]:
        return [r for r in self.rows if r.scored]

    @property
    def unscored(self) -> list[EvaluatedFile]:
        return [r for r in self.rows if not r.scored]

    @property
    def failed(self) -> list[EvaluatedFile]:
        return [r for r in self.rows if r.error is not None]

    def _of(self, rows: Sequence[EvaluatedFile]) -> dict[str, Any]:
        scored = [r for r in rows if r.fake_probability is not None]
        out = _metrics(
            [r.target for r in scored],
            [r.fake_probability for r in scored if r.fake_probability is not None],
            self.points,
        )
        return {**out, "unscored": len(rows) - len(scored)}

    def file_metrics(self) -> dict[str, Any]:
        """Metrics over the files with a score; ``unscored`` counts the others."""
        return self._of(self.rows)

    def frame_metrics(self) -> dict[str, Any]:
        """Metrics over every calibrated per-face (per-picture) score."""
        return _metrics(self.frame_labels, self.frame_probabilities, self.points)

    def breakdown(self, by: Breakdown = "method") -> dict[str, dict[str, Any]]:
        """File-level metrics per method (its fakes against all reals), dataset or category."""
        if by == "method":
            reals = [r for r in self.rows if r.target == 0]
            methods = sorted({r.method or "none" for r in self.rows if r.target == 1})
            return {
                m: self._of(
                    reals + [r for r in self.rows if r.target == 1 and (r.method or "none") == m]
                )
                for m in methods
            }
        if by not in ("dataset", "category"):
            raise BadInputError(f"breakdown by {by!r}: use 'method', 'dataset' or 'category'")

        def key(r: EvaluatedFile) -> str:
            if by == "dataset":
                return r.dataset
            return (r.category or "none").split("/")[0]

        keys = sorted({key(r) for r in self.rows})
        return {k: self._of([r for r in self.rows if key(r) == k]) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "operating_points": self.points.to_json(),
            "files": {
                "total": len(self.rows),
                "scored": len(self.scored),
                "unscored": len(self.unscored),
                "failed": len(self.failed),
            },
            "file_metrics": self.file_metrics(),
            "frame_metrics": self.frame_metrics(),
            "by_method": self.breakdown("method"),
            "by_dataset": self.breakdown("dataset"),
            "by_category": self.breakdown("category"),
            "unscored": [r.to_dict() for r in self.unscored],
            "rows": [r.to_dict() for r in self.rows],
        }


def _row(
    sample: MediaSample, score: FileScore | None, error: CameoguardError | None
) -> EvaluatedFile:
    base: dict[str, Any] = {
        "path": str(sample.path),
        "label": str(sample.label),
        "target": sample.label.target,
        "media": sample.media,
        "dataset": sample.dataset,
        "group": sample.group,
        "method": sample.method,
        "category": sample.extra.get("category"),
    }
    if score is None:
        assert error is not None
        return EvaluatedFile(
            **base, fake_probability=None, verdict=None, note=error.message, error=error.code
        )
    return EvaluatedFile(
        **base,
        fake_probability=score.fake_probability,
        verdict=score.verdict,
        scores=len(score.faces),
        note=score.note,
    )


def evaluate(
    scorer: CalibratedScorer, samples: Sequence[MediaSample], *, progress: Progress | None = None
) -> Evaluation:
    """Score every sample once (crop boxes applied) and collect rows and per-face scores.

    A file that cannot be scored (corrupt, missing, over a limit) becomes a failed row with
    the error's message; ``progress(done, total)`` is called after each file.
    """
    rows: list[EvaluatedFile] = []
    frame_labels: list[int] = []
    frame_probabilities: list[float] = []
    for n, sample in enumerate(samples):
        score: FileScore | None = None
        error: CameoguardError | None = None
        try:
            if sample.media == "image" and sample.crop is not None:
                rgb = _pictures(sample, scorer.limits, scorer.frames)[0][0]
                score = score_picture(scorer, rgb, str(sample.path))
            else:
                score = scorer.score(sample.path)
        except CameoguardError as exc:
            error = exc
        rows.append(_row(sample, score, error))
        if score is not None and score.fake_probability is not None:
            frame_labels += [sample.label.target] * len(score.faces)
            frame_probabilities += [f.score for f in score.faces]
        if progress is not None:
            progress(n + 1, len(samples))
    return Evaluation(
        scorer.name, scorer.points, tuple(rows), tuple(frame_labels), tuple(frame_probabilities)
    )


# ------------------------------------------------------------------ raw (uncalibrated)


def _ranking(labels: Sequence[int], scores: Sequence[float]) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    out: dict[str, Any] = {"n": len(y), "fake": int(y.sum())}
    if len(set(y.tolist())) == 2:
        out.update(
            auc=float(roc_auc_score(y, s)), ap=float(average_precision_score(y, s)), eer=_eer(y, s)
        )
    return out


@dataclass(frozen=True)
class RawEvaluation:
    """Ranking metrics of an uncalibrated detector: no probability, ECE or verdict claimed."""

    detector: str
    files: dict[str, Any]
    frames: dict[str, Any]
    unscored: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "calibrated": False,
            "file_metrics": self.files,
            "frame_metrics": self.frames,
            "unscored": [{"path": p, "note": note} for p, note in self.unscored],
        }


def evaluate_raw(
    detector: Detector,
    faces: FaceDetector,
    limits: Limits,
    samples: Sequence[MediaSample],
    frames: int = 16,
) -> RawEvaluation:
    """AUC, AP and EER of raw scores, per file (mean of its per-face scores) and per face."""
    file_y: list[int] = []
    file_s: list[float] = []
    face_y: list[int] = []
    face_s: list[float] = []
    unscored: list[tuple[str, str]] = []
    for sample in samples:
        try:
            raw = _raw_scores(detector, faces, _pictures(sample, limits, frames))
        except CameoguardError as exc:
            unscored.append((str(sample.path), exc.message))
            continue
        mean = aggregate([s.score for s in raw], "mean")
        if mean is None:
            unscored.append((str(sample.path), "no face found"))
            continue
        file_y.append(sample.label.target)
        file_s.append(mean)
        face_y += [sample.label.target] * len(raw)
        face_s += [s.score for s in raw]
    files = {**_ranking(file_y, file_s), "unscored": len(unscored)}
    return RawEvaluation(detector.name, files, _ranking(face_y, face_s), tuple(unscored))
