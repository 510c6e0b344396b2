"""MesoNet (Afchar et al., WIFS 2018): Meso4 and MesoInception4, ported to torch.

What flows through: face crops (RGB uint8, any size) are resized to 256 x 256, scaled to
[0, 1] and scored by the network, whose sigmoid output is near 1 for *real* faces (the
published convention); :meth:`MesoNetDetector.predict_proba` turns it into ``[real, fake]``.

The weights are the authors' published Keras files (Apache-2.0; ``Meso4_DF.h5``,
``Meso4_F2F.h5``, ``MesoInception_DF.h5``, ``MesoInception_F2F.h5``), read with h5py from
the folder ``CAMEOGUARD_MESONET_WEIGHTS`` (nothing is downloaded). Keras layers are matched to
ours by their creation order (the numeric suffix of their names), kernels transposed from
Keras' (H, W, in, out) to torch's (out, in, H, W), and the flatten done in Keras'
channels-last order so the first dense layer sees the same vector.

This is the pretrained *baseline*: ``fit`` learns nothing (the weights are fixed) and scores are
not calibrated; the calibration stage handles that.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import cv2
import numpy as np
import torch
from torch import nn

from cameoguard.detection.base import (
    Detector,
    Image,
    Probabilities,
    check_pictures,
    register_detector,
)
from cameoguard.detection.card import InputSpec, ModelCard
from cameoguard.errors import ModelUnavailableError
from cameoguard.fsutil import sha256_file

__all__ = ["Meso4", "MesoInception4", "MesoNetDetector", "load_keras_weights"]

Variant = Literal["meso4", "mesoinception4"]
_FILES = {("meso4", "DF"): "Meso4_DF.h5", ("meso4", "F2F"): "Meso4_F2F.h5",
          ("mesoinception4", "DF"): "MesoInception_DF.h5",
          ("mesoinception4", "F2F"): "MesoInception_F2F.h5"}  # fmt: skip
SIZE = 256
_BN_EPS = 1e-3  # Keras' BatchNormalization default


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS)


class _Head(nn.Module):
    """Flatten (channels last, like Keras), Dense(16), LeakyReLU(0.1), Dense(1), sigmoid."""

    def __init__(self, leaky: bool) -> None:
        super().__init__()
        self.fc1 = nn.Linear(1024, 16)
        self.fc2 = nn.Linear(16, 1)
        self.leaky = leaky

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc1(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))
        if self.leaky:
            y = nn.functional.leaky_relu(y, 0.1)
        return torch.sigmoid(self.fc2(y))[:, 0]


class Meso4(nn.Module):
    def __init__(self, leaky: bool = False) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            [nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 5, padding=2),
             nn.Conv2d(8, 16, 5, padding=2), nn.Conv2d(16, 16, 5, padding=2)]
        )  # fmt: skip
        self.norms = nn.ModuleList([_bn(8), _bn(8), _bn(16), _bn(16)])
        self.pools = (2, 2, 2, 4)
        self.head = _Head(leaky)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, norm, pool in zip(self.convs, self.norms, self.pools, strict=True):
            x = nn.functional.max_pool2d(norm(torch.relu(conv(x))), pool)
        out: torch.Tensor = self.head(x)
        return out

    def keras_convs(self) -> list[nn.Conv2d]:
        return list(self.convs)  # type: ignore[arg-type]


class _Inception(nn.Module):
    """Four branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 dilated 2; 1x1 -> 3x3 dilated 3."""

    def __init__(self, cin: int, a: int, b: int, c: int, d: int) -> None:
        super().__init__()
        self.x1 = nn.Conv2d(cin, a, 1)
        self.x2a, self.x2b = nn.Conv2d(cin, b, 1), nn.Conv2d(b, b, 3, padding=1)
        self.x3a, self.x3b = nn.Conv2d(cin, c, 1), nn.Conv2d(c, c, 3, padding=2, dilation=2)
        self.x4a, self.x4b = nn.Conv2d(cin, d, 1), nn.Conv2d(d, d, 3, padding=3, dilation=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.relu
        return torch.cat(
            [r(self.x1(x)), r(self.x2b(r(self.x2a(x)))), r(self.x3b(r(self.x3a(x)))),
             r(self.x4b(r(self.x4a(x))))], dim=1,
        )  # fmt: skip

    def keras_convs(self) -> list[nn.Conv2d]:  # Keras creation order
        return [self.x1, self.x2a, self.x2b, self.x3a, self.x3b, self.x4a, self.x4b]


class MesoInception4(nn.Module):
    def __init__(self, leaky: bool = True) -> None:
        super().__init__()
        self.inc1, self.bn1 = _Inception(3, 1, 4, 4, 2), _bn(11)
        self.inc2, self.bn2 = _Inception(11, 2, 4, 4, 2), _bn(12)
        self.conv3, self.bn3 = nn.Conv2d(12, 16, 5, padding=2), _bn(16)
        self.conv4, self.bn4 = nn.Conv2d(16, 16, 5, padding=2), _bn(16)
        self.head = _Head(leaky)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = nn.functional.max_pool2d
        x = pool(self.bn1(self.inc1(x)), 2)
        x = pool(self.bn2(self.inc2(x)), 2)
        x = pool(self.bn3(torch.relu(self.conv3(x))), 2)
        x = pool(self.bn4(torch.relu(self.conv4(x))), 4)
        out: torch.Tensor = self.head(x)
        return out

    def keras_convs(self) -> list[nn.Conv2d]:
        return [*self.inc1.keras_convs(), *self.inc2.keras_convs(), self.conv3, self.conv4]

    @property
    def norms(self) -> list[nn.BatchNorm2d]:
        return [self.bn1, self.bn2, self.bn3, self.bn4]


def _layers(h5: Any, prefix: str) -> list[Any]:
    """Keras layers named ``prefix_N``, in creation order (by N)."""
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5.attrs["layer_names"]]
    found = [(int(m.group(1)), n) for n in names if (m := re.fullmatch(rf"{prefix}_(\d+)", n))]
    return [h5[n] for _, n in sorted(found)]


def _weights(group: Any) -> dict[str, np.ndarray]:
    out = {}
    for raw in group.attrs["weight_names"]:
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        out[name.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(group[name])
    return out


def load_keras_weights(model: Meso4 | MesoInception4, path: Path) -> bool:
    """Copy the Keras HDF5 weights at ``path`` into ``model``; True when it has a LeakyReLU."""
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise ModelUnavailableError(f"{path} is not a readable Keras HDF5 file ({exc})") from None
    with h5:
        convs, norms = _layers(h5, "conv2d"), _layers(h5, "batch_normalization")
        dense = _layers(h5, "dense")
        ours = model.keras_convs()
        our_norms = [m for m in model.norms if isinstance(m, nn.BatchNorm2d)]
        if (len(convs), len(norms), len(dense)) != (len(ours), len(our_norms), 2):
            raise ModelUnavailableError(
                f"{path} has {len(convs)} conv, {len(norms)} batch-norm and {len(dense)} dense "
                f"layers; {type(model).__name__} needs {len(ours)}, {len(our_norms)} and 2: "
                "is it the right MesoNet variant?"
            )
        with torch.no_grad():
            for layer, conv in zip(convs, ours, strict=True):
                w = _weights(layer)
                kernel = torch.from_numpy(w["kernel"].transpose(3, 2, 0, 1).copy())
                if kernel.shape != conv.weight.shape:
                    raise ModelUnavailableError(
                        f"{path}: layer {layer.name} has kernel {tuple(kernel.shape)}, expected "
                        f"{tuple(conv.weight.shape)}"
                    )
                conv.weight.copy_(kernel)
                assert conv.bias is not None
                conv.bias.copy_(torch.from_numpy(w["bias"]))
            for layer, norm in zip(norms, our_norms, strict=True):
                w = _weights(layer)
                norm.weight.copy_(torch.from_numpy(w["gamma"]))
                norm.bias.copy_(torch.from_numpy(w["beta"]))
                assert norm.running_mean is not None
                assert norm.running_var is not None
                norm.running_mean.copy_(torch.from_numpy(w["moving_mean"]))
                norm.running_var.copy_(torch.from_numpy(w["moving_variance"]))
            for layer, linear in zip(dense, (model.head.fc1, model.head.fc2), strict=True):
                w = _weights(layer)
                linear.weight.copy_(torch.from_numpy(w["kernel"].T.copy()))
                linear.bias.copy_(torch.from_numpy(w["bias"]))
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5.attrs["layer_names"]]
        return any(n.startswith("leaky_re_lu") for n in names)


@register_detector("mesonet")
class MesoNetDetector(Detector):
    """The published MesoNet weights as a detector (output near 1 = real, inverted here)."""

    name: ClassVar[str] = "mesonet"
    looks_at: ClassVar[str] = "face"

    def __init__(
        self,
        variant: Variant = "mesoinception4",
        trained_on: Literal["DF", "F2F"] = "DF",
        weights_dir: Path | None = None,
        batch_size: int = 32,
    ) -> None:
        self.variant = variant
        self.trained_on = trained_on
        self.weights_dir = weights_dir
        self.batch_size = batch_size
        self._model: Meso4 | MesoInception4 | None = None
        self._card: ModelCard | None = None
        self._lock = threading.Lock()

    def get_params(self) -> dict[str, Any]:
        return {"variant": self.variant, "trained_on": self.trained_on,
                "weights_dir": self.weights_dir}  # fmt: skip

    @property
    def weights_path(self) -> Path:
        if (self.variant, self.trained_on) not in _FILES:
            raise ModelUnavailableError(
                f"no MesoNet weights for variant {self.variant!r} trained on "
                f"{self.trained_on!r}; variants: meso4, mesoinception4; data: DF, F2F"
            )
        if self.weights_dir is None:
            raise ModelUnavailableError(
                "MesoNet weights are not configured: set CAMEOGUARD_MESONET_WEIGHTS to the folder "
                "holding Meso4_DF.h5 ... MesoInception_F2F.h5 (Apache-2.0, from the MesoNet "
                "authors; nothing is downloaded)"
            )
        path = Path(self.weights_dir) / _FILES[(self.variant, self.trained_on)]
        if not path.is_file():
            raise ModelUnavailableError(
                f"MesoNet weights {path} not found; CAMEOGUARD_MESONET_WEIGHTS must name the "
                "folder with the published .h5 files"
            )
        return path

    def _load(self) -> Meso4 | MesoInception4:
        with self._lock:
            if self._model is None:
                path = self.weights_path
                model: Meso4 | MesoInception4 = (
                    Meso4() if self.variant == "meso4" else MesoInception4()
                )
                model.head.leaky = load_keras_weights(model, path)
                model.eval()
                self._card = ModelCard(
                    name=f"mesonet-{self.variant}",
                    version=f"published-{self.trained_on}",
                    input=self.input_spec,
                    training_data=f"the MesoNet authors' {self.trained_on} face set "
                    "(Afchar et al. 2018)",
                    license="Apache-2.0",
                    weights_sha256=sha256_file(path),
                    notes="pretrained baseline; scores are not calibrated",
                )
                self._model = model
            return self._model

    @property
    def fitted(self) -> bool:
        try:
            return self.weights_path.is_file()
        except ModelUnavailableError:
            return False

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec((SIZE, SIZE), looks_at="face", face_margin=0.3)

    def card(self) -> ModelCard | None:
        self._load()
        return self._card

    def fit(self, images: Sequence[Image], labels: Sequence[int]) -> MesoNetDetector:
        """The published weights are fixed: nothing is learned (checks the inputs only)."""
        check_pictures(images)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} pictures but {len(labels)} labels")
        return self

    def predict_proba(self, images: Sequence[Image]) -> Probabilities:
        pictures = check_pictures(images)
        model = self._load()
        real = np.empty(len(pictures), dtype=np.float64)
        with torch.inference_mode():
            for start in range(0, len(pictures), self.batch_size):
                batch = np.stack([
                    cv2.resize(p, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
                    for p in pictures[start : start + self.batch_size]
                ]).astype(np.float32) / 255.0  # fmt: skip
                x = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
                real[start : start + len(batch)] = model(x).numpy()
        return np.stack([real, 1.0 - real], axis=1)
