"""``facenet_vggface2``: facenet-pytorch's InceptionResnetV1 trained on VGGFace2, 512-d.

What flows through: each MTCNN face is cropped from its box, resized to 160 x 160 and
standardised as facenet-pytorch does (``(x - 127.5) / 128``); the network returns unit-length
512-d vectors. Probes and enrollment samples both average the crop and its mirror image.

Weights: the standard checkpoint ``20180402-114759-vggface2.pt``, never downloaded here. It is
read from ``CAMEOGUARD_FACENET_CHECKPOINT`` or, as facenet-pytorch itself does, from
``$TORCH_HOME/checkpoints/`` (``~/.cache/torch/checkpoints/`` by default); when absent,
:class:`~cameoguard.errors.ModelUnavailableError` says where to put it. The classifier head
(``logits.*``) is dropped; every other tensor must match the architecture exactly.

Serving: on first use the loaded network is exported to ONNX once (cached under
``data_dir/models/``, named by the checkpoint's SHA-256) and run with onnxruntime, 2 to 3
times faster per face than torch on 2 CPU cores (``benchmarks/face_matching.py`` prints both);
``runtime="torch"`` keeps the torch module.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.consent.embedders.base import (
    FaceEmbedder,
    OperatingPoint,
    l2_normalise,
    register_embedder,
)
from cameoguard.errors import ModelUnavailableError
from cameoguard.fsutil import atomic_output, sha256_file

if TYPE_CHECKING:
    from cameoguard.consent.faces import DetectedFace
    from cameoguard.settings import Settings

__all__ = ["CHECKPOINT_NAME", "FacenetEmbedder", "default_checkpoint_path"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "20180402-114759-vggface2.pt"
CROP_SIZE = 160
RUNTIMES = ("onnxruntime", "torch")


def default_checkpoint_path() -> Path:
    """Where facenet-pytorch caches the checkpoint: ``$TORCH_HOME/checkpoints/``."""
    torch_home = os.environ.get(
        "TORCH_HOME", os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    )
    return Path(torch_home).expanduser() / "checkpoints" / CHECKPOINT_NAME


class FacenetEmbedder(FaceEmbedder):
    name = "facenet_vggface2"
    dim = 512
    # Not calibrated here: the checkpoint cannot be downloaded on our machines. 1.10 is the
    # usual unit-vector L2 distance for this model on LFW-style pairs; run
    # benchmarks/face_matching.py where the checkpoint is present and set
    # CAMEOGUARD_FACE_MATCH_THRESHOLD to the threshold it prints.
    operating_point = OperatingPoint(
        match=1.10,
        possible=1.20,
        source="uncalibrated default (no checkpoint on the calibration machine)",
        calibrated=False,
    )

    def __init__(
        self,
        checkpoint: Path | None = None,
        *,
        cache_dir: Path | None = None,
        runtime: str = "onnxruntime",
        threads: int | None = None,
    ) -> None:
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        self.checkpoint = checkpoint or default_checkpoint_path()
        self.cache_dir = cache_dir
        self.runtime = runtime
        self.threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self._torch_model: Any = None
        self._session: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._torch_model = self._session = None

    # ----------------------------------------------------------------- loading

    def _require_checkpoint(self) -> None:
        if not self.checkpoint.is_file():
            raise ModelUnavailableError(
                f"the facenet_vggface2 embedder needs the checkpoint {CHECKPOINT_NAME}, not "
                f"found at {self.checkpoint}; weights are never downloaded at run time: copy "
                "the file there or set CAMEOGUARD_FACENET_CHECKPOINT to its path (or use the "
                "default embedder, CAMEOGUARD_FACE_EMBEDDER=dlib_resnet)"
            )

    def _module(self) -> Any:
        if self._torch_model is not None:
            return self._torch_model
        self._require_checkpoint()
        import torch
        from facenet_pytorch import InceptionResnetV1

        try:
            state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as error:
            raise ModelUnavailableError(
                f"the facenet checkpoint {self.checkpoint} could not be read ({error}); "
                "replace it with the original 20180402-114759-vggface2.pt"
            ) from error
        if not isinstance(state, dict):
            raise ModelUnavailableError(
                f"the facenet checkpoint {self.checkpoint} is not a state dict; replace it "
                "with the original 20180402-114759-vggface2.pt"
            )
        state = {k: v for k, v in state.items() if not str(k).startswith("logits.")}
        model = InceptionResnetV1(classify=False)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as error:  # tensors of the wrong shape
            first = str(error).strip().splitlines()[-1].strip()
            raise ModelUnavailableError(
                f"the facenet checkpoint {self.checkpoint} does not fit InceptionResnetV1 "
                f"({first}); replace it with the original 20180402-114759-vggface2.pt"
            ) from error
        if missing or unexpected:
            shown = ", ".join([*missing[:3], *unexpected[:3]])
            raise ModelUnavailableError(
                f"the facenet checkpoint {self.checkpoint} does not fit InceptionResnetV1 "
                f"({len(missing)} missing and {len(unexpected)} unexpected tensors, e.g. "
                f"{shown}); replace it with the original 20180402-114759-vggface2.pt"
            )
        self._torch_model = model.eval()
        return self._torch_model

    def _onnx_session(self) -> Any:
        if self._session is not None:
            return self._session
        import onnxruntime as ort

        self._require_checkpoint()
        path = self._onnx_path()
        if not path.is_file():
            self._export(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return self._session

    def _onnx_path(self) -> Path:
        folder = self.cache_dir or self.checkpoint.parent
        return folder / f"facenet_vggface2-{sha256_file(self.checkpoint)[:16]}.onnx"

    def _export(self, path: Path) -> None:
        import io

        import torch

        model = self._module()
        buffer = io.BytesIO()
        sample = torch.zeros(1, 3, CROP_SIZE, CROP_SIZE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter warns it is legacy
            torch.onnx.export(
                model,
                (sample,),
                buffer,  # type: ignore[arg-type]
                dynamo=False,
                input_names=["faces"],
                output_names=["embeddings"],
                opset_version=17,
                dynamic_axes={"faces": {0: "n"}, "embeddings": {0: "n"}},
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_bytes(buffer.getvalue())
        log.info("exported the facenet embedder to ONNX at %s", path)

    # ----------------------------------------------------------------- embedding

    @staticmethod
    def crops(rgb: npt.NDArray[np.uint8], faces: Sequence[DetectedFace]) -> npt.NDArray[np.float32]:
        """Standardised 160 x 160 crops, ``(n, 3, 160, 160)``, as facenet-pytorch makes them."""
        height, width = rgb.shape[:2]
        out = np.empty((len(faces), 3, CROP_SIZE, CROP_SIZE), dtype=np.float32)
        for i, face in enumerate(faces):
            x0, y0, x1, y1 = face.box
            x0, y0 = max(0, int(x0)), max(0, int(y0))
            x1, y1 = min(width, round(x1)), min(height, round(y1))
            crop = cv2.resize(
                rgb[y0:y1, x0:x1], (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA
            )
            out[i] = (crop.astype(np.float32).transpose(2, 0, 1) - 127.5) / 128.0
        return out

    def _run(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        if self.runtime == "onnxruntime":
            session = self._onnx_session()
            return np.asarray(session.run(None, {"faces": batch})[0], dtype=np.float32)
        import torch

        model = self._module()
        with torch.inference_mode():
            return np.asarray(model(torch.from_numpy(batch)).numpy(), dtype=np.float32)

    def embed(
        self,
        rgb: npt.NDArray[np.uint8],
        faces: Sequence[DetectedFace],
        *,
        enrollment: bool = False,
    ) -> npt.NDArray[np.float32]:
        if not faces:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = self.crops(rgb, faces)
        both = np.concatenate([batch, batch[:, :, :, ::-1]])
        with self._lock:
            rows = self._run(np.ascontiguousarray(both))
        n = len(faces)
        return l2_normalise(rows[:n] + rows[n:])


@register_embedder(FacenetEmbedder.name)
def _factory(settings: Settings) -> FaceEmbedder:
    return FacenetEmbedder(settings.facenet_checkpoint, cache_dir=settings.data_dir / "models")
