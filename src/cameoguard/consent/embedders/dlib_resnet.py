"""``dlib_resnet``: dlib's 128-d ResNet face descriptor, the default embedder (works offline).

What flows through: each MTCNN face box goes to dlib's five-point shape predictor, which places
the landmarks the ResNet was trained with; :func:`dlib.get_face_chip` cuts the aligned 150 x 150
chip (padding 0.25) and the network returns 128 numbers. Both model files ship inside the
``face-recognition-models`` package, found with :func:`importlib.util.find_spec` (importing it
would need ``pkg_resources``). dlib is already native code, so there is no ONNX path here.

Enrollment samples use dlib's own augmentation (``num_jitters`` = 10); probes average the chip
and its mirror image (2 passes). On ``../shared/data/faces`` that pair separated every
leave-one-out probe from every other identity's template (see ``benchmarks/face_matching.py``
and docs/consent.md); unjittered probes did not.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cameoguard.consent.embedders.base import FaceEmbedder, OperatingPoint, register_embedder
from cameoguard.errors import ModelUnavailableError

if TYPE_CHECKING:
    from cameoguard.consent.faces import DetectedFace
    from cameoguard.settings import Settings

__all__ = ["DlibResnetEmbedder", "dlib_models_dir"]

ENROLL_JITTERS = 10
CHIP_SIZE = 150
CHIP_PADDING = 0.25
_PREDICTOR = "shape_predictor_5_face_landmarks.dat"
_NETWORK = "dlib_face_recognition_resnet_model_v1.dat"


def dlib_models_dir() -> Path:
    """The ``models`` folder of the installed ``face-recognition-models`` package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise ModelUnavailableError(
            "the dlib_resnet face embedder needs the face-recognition-models package (its "
            "weights ship inside it); install it with: pip install face-recognition-models"
        )
    return Path(spec.origin).parent / "models"


class DlibResnetEmbedder(FaceEmbedder):
    name = "dlib_resnet"
    dim = 128
    # Calibrated on ../shared/data/faces (56 photos, 13 people) by benchmarks/face_matching.py:
    # leave-one-out templates, 52 genuine trials (max distance 0.509) and 624 impostor trials
    # (min 0.524); a normal fit of the impostor distances puts FAR at 0.52 at 6.5e-4.
    operating_point = OperatingPoint(
        match=0.52,
        possible=0.58,
        source="benchmarks/face_matching.py on shared/data/faces: templates, TAR 52/52, "
        "FAR 0/624 at 0.52 (normal fit 6.5e-4)",
    )

    def __init__(self, models_dir: Path | None = None) -> None:
        self._models_dir = models_dir
        self._predictor: Any = None
        self._network: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._predictor = self._network = None

    def _load(self) -> tuple[Any, Any]:
        if self._network is None:
            try:
                import dlib
            except ImportError as error:
                raise ModelUnavailableError(
                    "the dlib_resnet face embedder needs dlib; install it with: "
                    "pip install dlib-bin"
                ) from error
            folder = self._models_dir or dlib_models_dir()
            for name in (_PREDICTOR, _NETWORK):
                if not (folder / name).is_file():
                    raise ModelUnavailableError(
                        f"dlib model file {folder / name} is missing; reinstall "
                        "face-recognition-models (pip install --force-reinstall "
                        "face-recognition-models)"
                    )
            self._predictor = dlib.shape_predictor(str(folder / _PREDICTOR))
            self._network = dlib.face_recognition_model_v1(str(folder / _NETWORK))
        return self._predictor, self._network

    def chips(
        self, rgb: npt.NDArray[np.uint8], faces: Sequence[DetectedFace]
    ) -> list[npt.NDArray[np.uint8]]:
        """The aligned 150 x 150 chips dlib's network sees, one per face."""
        import dlib

        predictor, _ = self._load()
        image = np.ascontiguousarray(rgb)
        out = []
        for face in faces:
            x0, y0, x1, y1 = (round(v) for v in face.box)
            shape = predictor(image, dlib.rectangle(x0, y0, x1, y1))
            out.append(np.asarray(dlib.get_face_chip(image, shape, CHIP_SIZE, CHIP_PADDING)))
        return out

    def embed(
        self,
        rgb: npt.NDArray[np.uint8],
        faces: Sequence[DetectedFace],
        *,
        enrollment: bool = False,
    ) -> npt.NDArray[np.float32]:
        if not faces:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            _, network = self._load()
            chips = self.chips(rgb, faces)
            if enrollment:
                rows = [network.compute_face_descriptor(chip, ENROLL_JITTERS) for chip in chips]
                return np.asarray(rows, dtype=np.float32)
            mirrored = [np.ascontiguousarray(chip[:, ::-1]) for chip in chips]
            both = np.asarray(network.compute_face_descriptor(chips + mirrored), np.float32)
        n = len(chips)
        return ((both[:n] + both[n:]) / 2).astype(np.float32)


@register_embedder(DlibResnetEmbedder.name)
def _factory(_settings: Settings) -> FaceEmbedder:
    return DlibResnetEmbedder()
