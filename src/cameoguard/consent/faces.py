"""Face detection, pose and crop quality: the first stage of enrollment and identification.

What flows through here: an RGB image (``(h, w, 3)`` uint8) goes into :class:`FaceDetector`
(facenet-pytorch's MTCNN, whose weights ship inside its wheel) and comes back as a list of
:class:`DetectedFace` values: box, detector probability and the five MTCNN landmarks (eye
centres, nose tip, mouth corners), in the image's own pixel coordinates, largest face first.
From the landmarks come the head pose (:attr:`DetectedFace.yaw_deg`, :attr:`~DetectedFace.roll_deg`)
and an aligned crop (:func:`aligned_crop`, a similarity transform onto a canonical five-point
template) on which sharpness is measured (:func:`sharpness`). Embedders
(:mod:`cameoguard.consent.embedders`) turn faces into vectors.

Two things MTCNN needs help with, both measured on ``../shared/data/faces``:

* tightly cropped faces (the 150 x 150 face-api.js stills): MTCNN misses two of 40 unless the
  image is padded, so images whose short side is under :data:`PAD_BELOW` px are padded with a
  black border of half their long side before detection (then all 56 faces are found);
* very large photos: detection time grows with pixels (650 ms for a 1434 x 2333 photo), so
  images are scaled down to :data:`DETECT_MAX_SIDE` for detection and the results scaled back.

No face is a normal result (an empty list), not an error. Nothing is loaded at import time.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.errors import ModelUnavailableError
from cameoguard.media.image import check_rgb

__all__ = [
    "DETECT_MAX_SIDE",
    "MIN_DETECTION_SCORE",
    "PAD_BELOW",
    "DetectedFace",
    "FaceDetector",
    "aligned_crop",
    "sharpness",
]

#: Faces the detector is less sure of than this are not reported at all.
MIN_DETECTION_SCORE = 0.90
#: Images with a short side below this are padded before detection (tight face crops).
PAD_BELOW = 400
#: Images are scaled so their long side is at most this for detection.
DETECT_MAX_SIDE = 1600
#: Ratio of nose protrusion to inter-ocular distance used to turn the nose offset into degrees.
_NOSE_DEPTH_RATIO = 0.5

#: Canonical landmark positions (left eye, right eye, nose, left and right mouth corner) in a
#: 112 x 112 crop: the widely used ArcFace template. Scaled for other crop sizes.
_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


@dataclass(frozen=True, slots=True, eq=False)
class DetectedFace:
    """One face: ``box`` (x0, y0, x1, y1), detector ``score`` in [0, 1], five ``landmarks``."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: npt.NDArray[np.float32] = field(repr=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def size(self) -> float:
        """The shorter side of the box, in pixels (what minimum-size rules compare)."""
        return min(self.width, self.height)

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def roll_deg(self) -> float:
        """In-plane rotation: the angle of the line from the left to the right eye."""
        dx, dy = self.landmarks[1] - self.landmarks[0]
        return math.degrees(math.atan2(float(dy), float(dx)))

    @property
    def yaw_deg(self) -> float:
        """Approximate left-right head turn (0 = frontal; sign follows the image's x axis).

        The nose tip's offset from the midpoint of the eyes, measured along the eye line and
        divided by the eye distance, is ``r * tan(yaw)`` for a nose protruding ``r`` eye
        distances; ``r = 0.5`` is typical of adult faces. Good to a few degrees near frontal,
        which is what the pose-spread and liveness rules need.
        """
        left, right, nose = self.landmarks[0], self.landmarks[1], self.landmarks[2]
        axis = right - left
        distance = float(np.linalg.norm(axis))
        if distance < 1e-6:
            return 0.0
        offset = float(np.dot(nose - (left + right) / 2, axis / distance)) / distance
        return math.degrees(math.atan(offset / _NOSE_DEPTH_RATIO))

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 4),
            "yaw_deg": round(self.yaw_deg, 1),
        }


class FaceDetector:
    """MTCNN face detection on the CPU; thread-safe; the model loads on first use.

    ``min_score`` drops detections the network is unsure of. Use it as a context manager or
    call :meth:`close` to release the model.
    """

    def __init__(self, *, min_score: float = MIN_DETECTION_SCORE) -> None:
        self.min_score = min_score
        self._model: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._model = None

    def _mtcnn(self) -> Any:
        if self._model is None:
            try:
                from facenet_pytorch import MTCNN
            except ImportError as error:  # pragma: no cover - installed by scripts/bootstrap.sh
                raise ModelUnavailableError(
                    "face detection needs facenet-pytorch, which is not installed; run "
                    "scripts/bootstrap.sh or: pip install --no-deps facenet-pytorch==2.6.0"
                ) from error
            self._model = MTCNN(keep_all=True, device="cpu", select_largest=False)
        return self._model

    def detect(self, rgb: npt.NDArray[np.uint8]) -> list[DetectedFace]:
        """Every face in ``rgb`` scoring at least ``min_score``, largest first."""
        rgb = check_rgb(rgb, "face detection input")
        height, width = rgb.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
        work: npt.NDArray[Any] = rgb
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        pad = 0
        if min(work.shape[:2]) < PAD_BELOW:
            pad = max(work.shape[:2]) // 2
            work = np.pad(work, ((pad, pad), (pad, pad), (0, 0)), mode="constant")
        import torch

        with self._lock, torch.inference_mode():
            boxes, scores, landmarks = self._mtcnn().detect(work, landmarks=True)
        if boxes is None:
            return []
        boxes = (np.asarray(boxes, dtype=np.float32) - pad) / scale
        landmarks = (np.asarray(landmarks, dtype=np.float32) - pad) / scale
        scores = np.asarray(scores, dtype=np.float32)
        faces = []
        for box, score, marks in zip(boxes, scores, landmarks, strict=True):
            if not math.isfinite(float(score)) or score < self.min_score:
                continue
            x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
            x1, y1 = min(float(width), float(box[2])), min(float(height), float(box[3]))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            faces.append(DetectedFace((x0, y0, x1, y1), float(score), marks.astype(np.float32)))
        faces.sort(key=lambda f: f.width * f.height, reverse=True)
        return faces


def aligned_crop(
    rgb: npt.NDArray[np.uint8], face: DetectedFace, size: int = 112, margin: float = 0.0
) -> npt.NDArray[np.uint8]:
    """The face warped so its landmarks sit on the canonical template, ``size`` x ``size``.

    ``margin`` (a fraction of ``size`` on each side) shrinks the template towards the centre,
    so the crop also shows forehead, jaw and chin (0.2 keeps the whole head for face swaps).
    """
    if not 0.0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    template = (_TEMPLATE_112 / 112.0 * (1.0 - 2.0 * margin) + margin) * size
    matrix, _ = cv2.estimateAffinePartial2D(face.landmarks, template, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks: fall back to the box
        x0, y0, x1, y1 = (round(v) for v in face.box)
        crop = rgb[y0:y1, x0:x1]
        return np.ascontiguousarray(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))
    out = cv2.warpAffine(
        rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(out)


def sharpness(crop: npt.NDArray[np.uint8]) -> float:
    """Variance of the Laplacian of the grey crop, normalised to a 112 px crop.

    The 56 single-face photos of ``../shared/data/faces`` score 79 to 2500; a Gaussian blur of
    sigma 2 px at this scale brings them to 22-41, sigma 3 px to 10-20 (the enrollment minimum
    is 40, see :class:`~cameoguard.consent.enrollment.EnrollmentRules`).
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    if gray.shape[0] != 112:
        gray = cv2.resize(gray, (112, 112), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())
