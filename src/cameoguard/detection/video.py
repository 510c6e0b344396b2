"""Scoring faces in pictures and videos: crops, per-frame scores, and one clip score.

What flows through: evenly spaced frames of a video (or the one picture of an image) go to the
MTCNN face detector; each face is cut with a margin, squared, and scored by a face detector
(:class:`~cameoguard.detection.base.Detector` with ``looks_at == "face"``); every score is kept
with its frame index, time and box. :func:`aggregate` turns a clip's scores into one number:

* ``mean``: the average over all faces and frames;
* ``confident`` (the DFDC winner's rule, Seferbekov 2020): when more than 40 % of the scores
  (and at least ``min_confident``) are above 0.8, average only those; when more than 90 % are
  below 0.2, average only those; otherwise the mean. A few manipulated frames are not
  diluted by many unsure ones.

:func:`confident_span` names where the confident fake frames are ("27 of 32 frames between
00:03 and 00:09"), the sentence a moderator reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.consent.faces import DetectedFace, FaceDetector

__all__ = ["FaceScore", "aggregate", "confident_span", "face_crop", "score_faces"]

Image = npt.NDArray[np.uint8]
HIGH, LOW = 0.8, 0.2


@dataclass(frozen=True, slots=True)
class FaceScore:
    frame_index: int | None
    t_s: float | None
    box: tuple[float, float, float, float]
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame_index": self.frame_index,
            "t_s": None if self.t_s is None else round(self.t_s, 3),
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
        }


def face_crop(rgb: Image, face: DetectedFace, margin: float, size: int) -> Image:
    """A square crop around the face box grown by ``margin`` on each side, ``size`` px."""
    x0, y0, x1, y1 = face.box
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    left, top = round(cx - side / 2), round(cy - side / 2)
    right, bottom = left + round(side), top + round(side)
    h, w = rgb.shape[:2]
    pad = max(0, -left, -top, right - w, bottom - h)
    if pad:
        rgb = np.asarray(cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REFLECT), np.uint8)
        left, top, right, bottom = left + pad, top + pad, right + pad, bottom + pad
    crop = rgb[top:bottom, left:right]
    return np.ascontiguousarray(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))


def score_faces(
    frames: Sequence[tuple[Image, int | None, float | None]],
    faces: FaceDetector,
    detector: Any,
    *,
    margin: float = 0.3,
    size: int = 256,
    max_faces: int = 4,
) -> list[FaceScore]:
    """Every face (up to ``max_faces`` per frame, largest first) of ``(rgb, index, t)`` frames."""
    crops: list[Image] = []
    where: list[tuple[int | None, float | None, DetectedFace]] = []
    for rgb, index, t_s in frames:
        for face in faces.detect(rgb)[:max_faces]:
            crops.append(face_crop(rgb, face, margin, size))
            where.append((index, t_s, face))
    if not crops:
        return []
    scores = detector.fake_scores(crops)
    return [
        FaceScore(index, t_s, face.box, float(score))
        for (index, t_s, face), score in zip(where, scores, strict=True)
    ]


def aggregate(
    scores: Sequence[float], method: Literal["mean", "confident"] = "confident", *,
    min_confident: int = 3,
) -> float | None:  # fmt: skip
    """One clip score from per-face scores (None when there are none)."""
    s = np.asarray(scores, dtype=np.float64)
    if len(s) == 0:
        return None
    if method == "mean":
        return float(s.mean())
    high = s[s > HIGH]
    if len(high) > len(s) / 2.5 and len(high) >= min(min_confident, len(s)):
        return float(high.mean())
    low = s[s < LOW]
    if len(low) > 0.9 * len(s):
        return float(low.mean())
    return float(s.mean())


def confident_span(scores: Sequence[FaceScore], threshold: float = HIGH) -> str | None:
    """ "27 of 32 frames between 00:03 and 00:09" for the frames scored above ``threshold``."""
    frames = {s.frame_index for s in scores}
    hits = sorted({(s.frame_index, s.t_s) for s in scores if s.score > threshold},
                  key=lambda v: (v[1] or 0.0))  # fmt: skip
    if not hits:
        return None
    times = [t for _, t in hits if t is not None]

    def mmss(t: float) -> str:
        return f"{int(t // 60):02d}:{int(t % 60):02d}"

    span = f" between {mmss(times[0])} and {mmss(times[-1])}" if times else ""
    return f"{len(hits)} of {len(frames)} frames{span}"
