"""The spectral detector: up-sampling artefacts in the frequency domain, then a linear model.

What flows through: each picture is converted to grey, resized to 256 x 256 (area filter), and
described by (1) the azimuthally averaged log power spectrum in 64 radial bins (Durall et al.
2020, "Watch your up-convolution") and (2) statistics of the 8 x 8 block DCT (the log mean
absolute value of each of the 64 coefficients, and their spread), 192 numbers in all. A
standardised logistic regression (scikit-learn) learns real vs fake from them.

Saving writes plain arrays (``.npz``: scaler mean and scale, coefficients, intercept) and a
model card; loading never unpickles anything, so a model file cannot run code.
"""

from __future__ import annotations

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
from cameoguard.errors import BadInputError, ModelUnavailableError
from cameoguard.fsutil import atomic_output

__all__ = ["SpectralDetector", "spectral_features"]

SIZE = 256
BINS = 64
FEATURES = BINS + 64 + 64
VERSION = "1"
Features = npt.NDArray[np.float64]


def _radial_index(size: int, bins: int) -> npt.NDArray[np.int64]:
    y, x = np.indices((size, size)) - size / 2.0
    radius = np.sqrt(x * x + y * y) / (size / 2.0)
    index: npt.NDArray[np.int64] = np.minimum((radius * bins).astype(np.int64), bins)
    return index  # corners go to the last bin, which is dropped


_RADIAL = _radial_index(SIZE, BINS)
_COUNTS = np.bincount(_RADIAL.ravel(), minlength=BINS + 1)[:BINS]


def spectral_features(rgb: Image) -> Features:
    """The 192 numbers the spectral detector looks at (see the module docstring)."""
    small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), (SIZE, SIZE),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    grey = np.asarray(small - small.mean(), dtype=np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey))) ** 2
    logp = np.log1p(power).ravel()
    radial = np.bincount(_RADIAL.ravel(), weights=logp, minlength=BINS + 1)[:BINS] / _COUNTS
    radial = radial - radial[:4].mean()  # brightness and contrast cancel out
    blocks = grey.reshape(SIZE // 8, 8, SIZE // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    dct = np.stack([cv2.dct(np.ascontiguousarray(b)) for b in blocks]).reshape(len(blocks), 64)
    magnitude = np.log1p(np.abs(dct))
    return np.concatenate([radial, magnitude.mean(axis=0), magnitude.std(axis=0)])


@register_detector("spectral")
class SpectralDetector(Detector):
    """Spectrum + DCT statistics -> standardised logistic regression."""

    name: ClassVar[str] = "spectral"
    looks_at: ClassVar[str] = "image"

    def __init__(self, C: float = 1.0, max_iter: int = 2000) -> None:
        self.C = C
        self.max_iter = max_iter
        self._mean: Features | None = None
        self._scale: Features | None = None
        self._coef: Features | None = None
        self._intercept = 0.0
        self._card: ModelCard | None = None

    def get_params(self) -> dict[str, Any]:
        return {"C": self.C, "max_iter": self.max_iter}

    @property
    def fitted(self) -> bool:
        return self._coef is not None

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec((SIZE, SIZE), looks_at="image")

    def card(self) -> ModelCard | None:
        return self._card

    @staticmethod
    def features(images: Sequence[Image]) -> Features:
        pictures = check_pictures(images)
        if not pictures:
            return np.zeros((0, FEATURES))
        return np.stack([spectral_features(p) for p in pictures])

    def fit(self, images: Sequence[Image], labels: Sequence[int]) -> SpectralDetector:
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(labels, dtype=np.int64)
        if len(images) != len(y):
            raise BadInputError(f"{len(images)} pictures but {len(y)} labels")
        if set(np.unique(y).tolist()) != {0, 1}:
            raise BadInputError("training needs both real (0) and fake (1) pictures")
        x = self.features(images)
        self._mean, self._scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        model.fit((x - self._mean) / self._scale, y)
        self._coef = np.asarray(model.coef_[0], dtype=np.float64)
        self._intercept = float(model.intercept_[0])
        return self

    def decision(self, x: Features) -> Features:
        self._require_fitted()
        assert self._mean is not None
        assert self._scale is not None
        assert self._coef is not None
        out: Features = ((x - self._mean) / self._scale) @ self._coef + self._intercept
        return out

    def predict_proba(self, images: Sequence[Image]) -> Probabilities:
        self._require_fitted()
        fake = 1.0 / (1.0 + np.exp(-self.decision(self.features(images))))
        return np.stack([1.0 - fake, fake], axis=1)

    # ------------------------------------------------------------------ files

    def save(self, path: Path, card: ModelCard | None = None) -> ModelCard:
        """Write ``path`` (.npz arrays) and ``path.card.json``; return the card."""
        self._require_fitted()
        path = Path(path)
        assert self._mean is not None
        assert self._scale is not None
        assert self._coef is not None
        with atomic_output(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, mean=self._mean, scale=self._scale, coef=self._coef,
                     intercept=np.array([self._intercept]))  # fmt: skip
        self._card = seal_card(path, card or ModelCard("spectral", VERSION, self.input_spec))
        return self._card

    @classmethod
    def load(cls, path: Path) -> SpectralDetector:
        path = Path(path)
        card = open_card(path, "spectral")
        with np.load(path, allow_pickle=False) as arrays:
            detector = cls()
            detector._mean = np.asarray(arrays["mean"], np.float64)
            detector._scale = np.asarray(arrays["scale"], np.float64)
            detector._coef = np.asarray(arrays["coef"], np.float64)
            detector._intercept = float(arrays["intercept"][0])
        if detector._coef.shape != (FEATURES,):
            raise ModelUnavailableError(
                f"{path} holds {detector._coef.shape} weights, not {FEATURES}"
            )
        detector._card = card
        return detector
