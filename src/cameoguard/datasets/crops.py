"""Face crops for training and evaluation, extracted once and cached by content hash.

What flows through: a :class:`~cameoguard.datasets.base.MediaSample` is decoded (an image, cut
to its ``crop`` box; or ``frames`` evenly spaced video frames), MTCNN finds the faces, and the
largest face of each picture is cut square with ``margin`` and resized to ``size``
(:func:`cameoguard.detection.video.face_crop`, the same cut the scorer uses). Results are kept
in ``cache_dir`` as ``<sha256 of the file>-<sha256 of the settings>.npz`` (crops, frame
indices, times, boxes), so a second run decodes nothing; a changed file or setting is a new key.

A picture without a face yields no crop and is counted, never replaced by another sample; a
file that cannot be decoded raises (the caller decides whether to skip it, and says so).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cameoguard.consent.faces import FaceDetector
from cameoguard.datasets.base import MediaSample
from cameoguard.detection.video import face_crop
from cameoguard.fsutil import atomic_output, sha256_file
from cameoguard.media import Limits, load_image, sample_frames

__all__ = ["CropSettings", "FaceCrops", "extract_face_crops"]

Image = npt.NDArray[np.uint8]
VERSION = 1


@dataclass(frozen=True, slots=True)
class CropSettings:
    margin: float = 0.3
    size: int = 256
    frames: int = 16

    def key(self) -> str:
        text = json.dumps({"v": VERSION, "margin": self.margin, "size": self.size,
                           "frames": self.frames, "detector": "mtcnn"}, sort_keys=True)  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FaceCrops:
    sample: MediaSample
    crops: npt.NDArray[np.uint8]  # (n, size, size, 3)
    frame_index: npt.NDArray[np.int64]
    t_s: npt.NDArray[np.float64]
    boxes: npt.NDArray[np.float32]
    pictures: int  # pictures looked at (1 for an image)
    cached: bool = False

    @property
    def without_face(self) -> int:
        return self.pictures - len(self.crops)


def _pictures(sample: MediaSample, limits: Limits, frames: int) -> list[tuple[Image, int, float]]:
    if sample.media == "image":
        rgb = load_image(sample.path, limits)
        if sample.crop is not None:
            left, top, right, bottom = sample.crop
            rgb = np.ascontiguousarray(rgb[top:bottom, left:right])
        return [(rgb, 0, 0.0)]
    return [(f.rgb, f.index if f.index is not None else n, f.pts_s)
            for n, f in enumerate(sample_frames(sample.path, frames, limits))]  # fmt: skip


def extract_face_crops(
    sample: MediaSample,
    detector: FaceDetector,
    limits: Limits,
    settings: CropSettings | None = None,
    cache_dir: Path | None = None,
) -> FaceCrops:
    """The largest face of each picture of ``sample`` (from the cache when it is there)."""
    settings = settings or CropSettings()
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{sha256_file(sample.path)}-{settings.key()}.npz"
        if cache.is_file():
            with np.load(cache, allow_pickle=False) as data:
                return FaceCrops(sample, data["crops"], data["frame_index"], data["t_s"],
                                 data["boxes"], int(data["pictures"][0]), cached=True)  # fmt: skip
    crops, index, times, boxes = [], [], [], []
    pictures = _pictures(sample, limits, settings.frames)
    for rgb, frame, t_s in pictures:
        faces = detector.detect(rgb)
        if not faces:
            continue
        crops.append(face_crop(rgb, faces[0], settings.margin, settings.size))
        index.append(frame)
        times.append(t_s)
        boxes.append(faces[0].box)
    result = FaceCrops(
        sample,
        np.stack(crops) if crops else np.zeros((0, settings.size, settings.size, 3), np.uint8),
        np.asarray(index, dtype=np.int64),
        np.asarray(times, dtype=np.float64),
        np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
        len(pictures),
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cache) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, crops=result.crops, frame_index=result.frame_index, t_s=result.t_s,
                     boxes=result.boxes, pictures=np.array([result.pictures]))  # fmt: skip
    return result
