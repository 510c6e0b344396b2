"""``face_cnn``: a compact CNN on face crops, trained here with torch, served with onnxruntime.

What flows through: face crops (RGB uint8, any size) are resized to 128 x 128 and normalised to
[-1, 1]; four conv blocks (16, 32, 64, 128 channels; batch norm, ReLU, max pool), global
average pooling, dropout and one linear unit give a logit whose sigmoid is the raw fake score.
:meth:`FaceCNN.fit` trains from scratch (no hub weights are reachable here) with horizontal
flips and small brightness jitter, seeded, so a run is reproducible on one machine.

After training the network is exported to ONNX and scored by onnxruntime (2-3x faster per face
than torch on CPU, measured for the face embedder). :meth:`FaceCNN.save` writes the ``.onnx``
file and its model card; :meth:`FaceCNN.load` checks the card's SHA-256 and opens the session.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from cameoguard.detection.base import (
    Detector,
    Image,
    Probabilities,
    check_pictures,
    register_detector,
)
from cameoguard.detection.card import InputSpec, ModelCard, open_card, seal_card
from cameoguard.detection.selfblend import self_blend
from cameoguard.errors import BadInputError, ModelUnavailableError
from cameoguard.fsutil import atomic_output

__all__ = ["FaceCNN"]

SIZE = 128
VERSION = "1"


def _network() -> Any:
    from torch import nn

    def block(cin: int, cout: int) -> list[Any]:
        return [
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]

    return nn.Sequential(
        *block(3, 16),
        *block(16, 32),
        *block(32, 64),
        *block(64, 128),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(128, 1),
    )


def _batch(pictures: Sequence[Image]) -> npt.NDArray[np.float32]:
    resized = [cv2.resize(p, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for p in pictures]
    x = np.stack(resized).astype(np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


@register_detector("face_cnn")
class FaceCNN(Detector):
    name: ClassVar[str] = "face_cnn"
    looks_at: ClassVar[str] = "face"

    def __init__(
        self,
        epochs: int = 20,
        batch_size: int = 16,
        lr: float = 3e-3,
        seed: int = 0,
        self_blend: float = 0.0,
    ) -> None:
        if not 0.0 <= self_blend <= 4.0:
            raise BadInputError(
                f"self_blend must be in [0, 4] (pseudo-fakes per real crop and "
                f"epoch), got {self_blend}"
            )
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.self_blend = float(self_blend)
        self._onnx: bytes | None = None
        self._session: Any = None
        self._card: ModelCard | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "self_blend": self.self_blend,
        }

    @property
    def fitted(self) -> bool:
        return self._session is not None

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec(
            (SIZE, SIZE), scale=1 / 127.5, mean=(1.0, 1.0, 1.0), looks_at="face", face_margin=0.3
        )

    def card(self) -> ModelCard | None:
        return self._card

    def fit(self, images: Sequence[Image], labels: Sequence[int]) -> FaceCNN:
        import torch

        y = np.asarray(labels, dtype=np.float32)
        if len(images) != len(y):
            raise BadInputError(f"{len(images)} pictures but {len(y)} labels")
        if set(np.unique(y).tolist()) != {0.0, 1.0}:
            raise BadInputError("training needs both real (0) and fake (1) face crops")
        small: list[Image] = [
            np.asarray(cv2.resize(p, (SIZE, SIZE), interpolation=cv2.INTER_AREA), np.uint8)
            for p in check_pictures(images, "face crop")
        ]
        reals = [p for p, label in zip(small, y, strict=True) if label == 0]
        extra = round(self.self_blend * len(reals))
        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        model = _network()
        optimiser = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=1e-4)
        per_epoch = len(small) + extra
        steps = max(1, self.epochs * ((per_epoch + self.batch_size - 1) // self.batch_size))
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, self.lr, total_steps=steps)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        model.train()
        for _ in range(self.epochs):
            pictures, labels_now = small, y
            if extra:  # fresh pseudo-fakes from the real crops every epoch
                picks = rng.integers(0, len(reals), extra)
                pictures = small + [self_blend(reals[i], rng) for i in picks]
                labels_now = np.concatenate([y, np.ones(extra, np.float32)])
            x = torch.from_numpy(_batch(pictures))
            target = torch.from_numpy(labels_now)
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), self.batch_size):
                pick = order[start : start + self.batch_size]
                batch = x[pick]
                flip = torch.rand(len(batch), generator=generator) < 0.5
                batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
                shift = (torch.rand(len(batch), 1, 1, 1, generator=generator) - 0.5) * 0.2
                optimiser.zero_grad()
                loss = loss_fn(model(batch + shift)[:, 0], target[pick])
                loss.backward()
                optimiser.step()
                schedule.step()
        model.eval()
        self._use_onnx(_export(model))
        self._card = None
        return self

    def _use_onnx(self, onnx: bytes) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._session = onnxruntime.InferenceSession(onnx, options, providers=providers)
        self._onnx = onnx

    def predict_proba(self, images: Sequence[Image]) -> Probabilities:
        self._require_fitted()
        pictures = check_pictures(images, "face crop")
        fake = np.empty(len(pictures), dtype=np.float64)
        name = self._session.get_inputs()[0].name
        for start in range(0, len(pictures), 64):
            logits = self._session.run(None, {name: _batch(pictures[start : start + 64])})[0]
            fake[start : start + len(logits)] = 1.0 / (1.0 + np.exp(-logits[:, 0]))
        return np.stack([1.0 - fake, fake], axis=1)

    def save(self, path: Path, card: ModelCard | None = None) -> ModelCard:
        """Write ``path`` (ONNX) and ``path.card.json``; return the card."""
        self._require_fitted()
        assert self._onnx is not None
        path = Path(path)
        with atomic_output(path) as tmp:
            tmp.write_bytes(self._onnx)
        self._card = seal_card(path, card or ModelCard("face_cnn", VERSION, self.input_spec))
        return self._card

    @classmethod
    def load(cls, path: Path) -> FaceCNN:
        path = Path(path)
        card = open_card(path, "face_cnn")
        detector = cls()
        try:
            detector._use_onnx(path.read_bytes())
        except Exception as exc:  # onnxruntime raises its own types for a bad graph
            raise ModelUnavailableError(f"{path} is not a usable ONNX model ({exc})") from None
        detector._card = card
        return detector


def _export(model: Any) -> bytes:
    import torch

    buffer = io.BytesIO()
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter warns it is legacy
        torch.onnx.export(
            model,
            (dummy,),
            buffer,  # type: ignore[arg-type]
            dynamo=False,
            input_names=["faces"],
            output_names=["logit"],
            opset_version=17,
            dynamic_axes={"faces": {0: "n"}, "logit": {0: "n"}},
        )
    return buffer.getvalue()
