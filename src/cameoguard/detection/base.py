"""The detector contract and registry: every passive detector looks the same from outside.

Follows scikit-learn's contract: the constructor only stores parameters; :meth:`fit` learns
from pictures and labels; :meth:`predict_proba` returns an ``(n, 2)`` array of class
probabilities, column 0 *real* and column 1 *fake* (manipulated or generated); a detector used
before it is fitted (or loaded) raises :class:`NotFittedError` with what to do. Inputs are RGB
``uint8`` pictures (face crops or whole images, as the detector's :class:`InputSpec` says);
each detector resizes and normalises them itself, so callers never need to know how.

Detectors are registered by a stable name (``mesonet``, ``spectral``, ``face_cnn``); a name
registered twice raises, an unknown name lists the known ones. Saved detectors carry a
:class:`~cameoguard.detection.card.ModelCard`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from cameoguard.detection.card import InputSpec, ModelCard
from cameoguard.errors import BadInputError, ConfigurationError

__all__ = [
    "DETECTORS",
    "Detector",
    "NotFittedError",
    "available_detectors",
    "check_pictures",
    "create_detector",
    "register_detector",
]

Image = npt.NDArray[np.uint8]
Probabilities = npt.NDArray[np.float64]


class NotFittedError(ConfigurationError):
    """A detector was asked to score before it was trained or loaded."""

    code = "detection.not_fitted"


def check_pictures(images: Sequence[Image], what: str = "picture") -> list[Image]:
    """RGB uint8 pictures, or a clear error (grey pictures are widened to three channels)."""
    out: list[Image] = []
    for n, image in enumerate(images):
        array = np.asarray(image)
        if array.dtype != np.uint8:
            raise BadInputError(f"{what} {n} is {array.dtype}, expected uint8 RGB pixels")
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise BadInputError(f"{what} {n} has shape {array.shape}, expected (H, W, 3)")
        if min(array.shape[:2]) < 8:
            raise BadInputError(
                f"{what} {n} is {array.shape[1]}x{array.shape[0]} px, too small to judge "
                "(at least 8x8)"
            )
        out.append(np.ascontiguousarray(array[:, :, :3]))
    return out


class Detector(abc.ABC):
    """A passive detector. Subclasses set the class attributes and implement the methods."""

    name: ClassVar[str]
    #: What the detector looks at: "face" crops or whole "image"s.
    looks_at: ClassVar[str] = "face"

    @abc.abstractmethod
    def fit(self, images: Sequence[Image], labels: Sequence[int]) -> Detector:
        """Learn from pictures and labels (1 = fake); return self."""

    @abc.abstractmethod
    def predict_proba(self, images: Sequence[Image]) -> Probabilities:
        """``(n, 2)`` probabilities: column 0 real, column 1 fake."""

    @property
    @abc.abstractmethod
    def fitted(self) -> bool:
        """Whether the detector can score."""

    @property
    @abc.abstractmethod
    def input_spec(self) -> InputSpec:
        """Size, normalisation and crop the detector expects."""

    def card(self) -> ModelCard | None:
        """The model card of the loaded weights, if any."""
        return None

    def fake_scores(self, images: Sequence[Image]) -> npt.NDArray[np.float64]:
        """Column 1 of :meth:`predict_proba` (uncalibrated unless the detector says so)."""
        if len(images) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.predict_proba(images)[:, 1], dtype=np.float64)

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise NotFittedError(
                f"detector {self.name} is not trained: call fit() or load saved weights first"
            )

    def get_params(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


DetectorFactory = Callable[..., Detector]

#: name -> factory (keyword parameters of the detector).
DETECTORS: dict[str, DetectorFactory] = {}


def register_detector(name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Register a factory under ``name``; a name registered twice raises ``ValueError``."""

    def decorator(factory: DetectorFactory) -> DetectorFactory:
        if name in DETECTORS:
            raise ValueError(f"detector {name!r} is already registered")
        DETECTORS[name] = factory
        return factory

    return decorator


def _load_builtin() -> None:
    from cameoguard.detection import face_cnn, mesonet, spectral  # noqa: F401


def available_detectors() -> list[str]:
    _load_builtin()
    return sorted(DETECTORS)


def create_detector(name: str, **params: Any) -> Detector:
    """The detector registered as ``name`` with ``params`` (weights load lazily)."""
    _load_builtin()
    factory = DETECTORS.get(name)
    if factory is None:
        raise ConfigurationError(
            f"unknown detector {name!r}; choose one of {', '.join(sorted(DETECTORS))}",
            code="detection.unknown",
        )
    return factory(**params)
