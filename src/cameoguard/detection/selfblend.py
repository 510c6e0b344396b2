"""Self-blended faces: pseudo-fakes made from one real face crop, for training face detectors.

What flows through: a real face crop (RGB uint8, the face centred as
:func:`cameoguard.detection.video.face_crop` cuts it) goes in; a slightly altered copy of the
same face (colour and contrast shifted, sharpened or blurred, moved and scaled by a few per
cent) is blended back over it through a soft, irregular elliptical mask over the face. The
result has the boundary and colour seams every face swap leaves, but no identity change and
none of one generator's fingerprints, so a detector trained on it learns the seams rather than
a method (Shiohara and Yamasaki, "Detecting Deepfakes with Self-Blended Images", CVPR 2022,
which generalises across FaceForensics++ methods and to Celeb-DF; this is a landmark-free
variant of their recipe, from the idea, not their code).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["blend_mask", "self_blend"]

Image = npt.NDArray[np.uint8]


def blend_mask(size: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A soft (0..1) irregular ellipse over the centre of a ``size`` x ``size`` face crop."""
    mask = np.zeros((size, size), np.float32)
    centre = (size / 2 + rng.uniform(-0.03, 0.03) * size, size / 2 + rng.uniform(0.0, 0.06) * size)
    axes = (rng.uniform(0.24, 0.34) * size, rng.uniform(0.30, 0.42) * size)
    angle = rng.uniform(-10, 10)
    centre_px = (round(centre[0]), round(centre[1]))
    axes_px = (round(axes[0]), round(axes[1]))
    outline = cv2.ellipse2Poly(centre_px, axes_px, round(angle), 0, 360, 10)
    points = np.asarray(outline, np.float64)
    jitter = rng.uniform(-0.04, 0.04, points.shape) * size
    cv2.fillPoly(mask, [np.round(points + jitter).astype(np.int32)], (1.0,))
    erode = int(rng.integers(0, max(2, size // 32)))
    if erode:
        mask = np.asarray(cv2.erode(mask, np.ones((erode, erode), np.uint8)), np.float32)
    blur = int(rng.integers(size // 32, size // 8)) * 2 + 1
    soft = np.asarray(cv2.GaussianBlur(mask, (blur, blur), 0), np.float32)
    return np.asarray(soft * rng.uniform(0.5, 1.0), np.float32)


def _altered(rgb: Image, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    size = rgb.shape[0]
    out: npt.NDArray[np.float64] = rgb.astype(np.float64)
    out = out * rng.uniform(0.9, 1.1, 3) + rng.uniform(-12, 12, 3)  # colour cast
    mean = out.mean()
    out = (out - mean) * rng.uniform(0.85, 1.15) + mean  # contrast
    if rng.random() < 0.5:
        k = int(rng.integers(1, 3)) * 2 + 1
        out = np.asarray(cv2.GaussianBlur(out, (k, k), 0), np.float64)
    else:
        soft = np.asarray(cv2.GaussianBlur(out, (0, 0), 1.0), np.float64)
        out = out + rng.uniform(0.3, 1.0) * (out - soft)  # sharpen
    scale = rng.uniform(0.95, 1.05)
    shift = rng.uniform(-0.03, 0.03, 2) * size
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), 0.0, scale)
    matrix[:, 2] += shift
    moved = cv2.warpAffine(out, matrix, (size, size), borderMode=cv2.BORDER_REFLECT)
    return np.asarray(moved, np.float32)


def self_blend(rgb: Image, rng: np.random.Generator) -> Image:
    """``rgb`` (a square face crop) with an altered copy of itself blended over the face."""
    image = np.ascontiguousarray(rgb, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1]:
        raise ValueError(f"self_blend needs a square RGB face crop, got shape {image.shape}")
    mask = blend_mask(image.shape[0], rng)[..., None]
    blended = _altered(image, rng) * mask + image.astype(np.float32) * (1.0 - mask)
    return np.asarray(np.clip(np.rint(blended), 0, 255), np.uint8)
