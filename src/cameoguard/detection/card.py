"""Model cards: what a set of detector weights is, how it was made, and how well it did.

A :class:`ModelCard` travels beside every saved detector (``<weights>.card.json``): the
detector name and version, the input it expects (:class:`InputSpec`: size, normalisation,
crop), the decision threshold, the training data, the measured metrics, the licence and the
SHA-256 of the weights file, so a loader can refuse weights that are not the ones described.
Modelled on timm's ``PretrainedCfg``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cameoguard.errors import ModelUnavailableError
from cameoguard.fsutil import sha256_file

__all__ = ["InputSpec", "ModelCard", "card_path", "open_card", "seal_card"]


@dataclass(frozen=True, slots=True)
class InputSpec:
    """``size`` (H, W) after resizing; pixels are scaled by ``scale`` then ``(x - mean) / std``."""

    size: tuple[int, int]
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    looks_at: str = "face"
    face_margin: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    input: InputSpec
    threshold: float = 0.5
    training_data: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    license: str = ""
    weights_sha256: str | None = None
    notes: str = ""
    #: the fitted calibrator (:meth:`Calibrator.to_json`) and verdict thresholds, when trained here
    calibration: dict[str, Any] | None = None
    operating_points: dict[str, float] | None = None
    #: how the training data was split (seed, test and val fractions), to reproduce the test set
    split: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["input"] = self.input.to_json()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelCard:
        spec = dict(data["input"])
        spec["size"] = tuple(spec["size"])
        spec["mean"] = tuple(spec["mean"])
        spec["std"] = tuple(spec["std"])
        return cls(**{**data, "input": InputSpec(**spec)})

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> ModelCard:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelUnavailableError(f"model card {path} is unreadable ({exc})") from None

    def check_weights(self, weights: Path) -> None:
        """Raise unless ``weights`` is the file this card describes (by SHA-256)."""
        if self.weights_sha256 is None:
            return
        digest = sha256_file(weights)
        if digest != self.weights_sha256:
            raise ModelUnavailableError(
                f"{weights} is not the {self.name} {self.version} weights its card describes "
                f"(sha256 {digest[:12]}…, expected {self.weights_sha256[:12]}…); restore the "
                "file or retrain"
            )


def card_path(model: Path) -> Path:
    """Where the card of the model file ``model`` lives: beside it, ``<name>.card.json``."""
    model = Path(model)
    return model.with_suffix(model.suffix + ".card.json")


def seal_card(model: Path, base: ModelCard) -> ModelCard:
    """``base`` with the SHA-256 of the freshly written ``model``, saved beside it."""
    sealed = ModelCard(**{**base.__dict__, "weights_sha256": sha256_file(model)})
    sealed.save(card_path(model))
    return sealed


def open_card(model: Path, detector: str) -> ModelCard:
    """The card of ``model``, checked against the file, or a clear error saying what to do."""
    model, card = Path(model), card_path(model)
    if not model.is_file() or not card.is_file():
        raise ModelUnavailableError(
            f"{detector} model {model} (and its card {card.name}) not found; train one "
            f"with `cameoguard detect train --detector {detector}`"
        )
    loaded = ModelCard.load(card)
    loaded.check_weights(model)
    return loaded
