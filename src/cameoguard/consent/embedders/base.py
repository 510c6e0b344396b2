"""The embedder contract, its registry and the calibrated operating points.

What flows through here: an RGB image and the :class:`~cameoguard.consent.faces.DetectedFace`
values found in it go into :meth:`FaceEmbedder.embed`, which returns one float32 row per face.
Distances between rows are Euclidean (``metric``); an embedder states the distance at which a
probe matches an enrollment template (:class:`OperatingPoint`), calibrated on real photos by
``benchmarks/face_matching.py`` rather than taken from a library's default.

Embedders register by a stable name (``dlib_resnet``, ``facenet_vggface2``); registering a
name twice raises, and asking for an unknown name lists the known ones. Creating one loads no
weights until the first :meth:`~FaceEmbedder.embed`; missing weights raise
:class:`~cameoguard.errors.ModelUnavailableError` with the path and what to do. Embeddings are
biometric data: never log them, never put them in ``repr``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

from cameoguard.errors import ConfigurationError

if TYPE_CHECKING:
    from cameoguard.consent.faces import DetectedFace
    from cameoguard.settings import Settings

__all__ = [
    "EMBEDDERS",
    "FaceEmbedder",
    "OperatingPoint",
    "available_embedders",
    "create_embedder",
    "register_embedder",
]


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """Where decisions are drawn on the distance from a probe face to a template.

    * ``distance <= match``: the same person (``match``);
    * ``match < distance <= possible``: too close to call different (``possible_match``):
      enough to refuse an enrollment or a protected face, not enough to name someone;
    * above ``possible``: ``no_match``.

    ``source`` says where the numbers come from (benchmark run, FAR target).
    """

    match: float
    possible: float
    source: str
    calibrated: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.match <= self.possible:
            raise ValueError(f"need 0 < match <= possible, got {self.match}, {self.possible}")

    def with_match(self, match: float) -> OperatingPoint:
        """This point with ``match`` overridden (the possible band keeps its width)."""
        band = self.possible - self.match
        return OperatingPoint(match, match + band, f"override {match} (setting)", True)


class FaceEmbedder(abc.ABC):
    """Turns detected faces into vectors. Subclasses set the class attributes."""

    name: ClassVar[str]
    dim: ClassVar[int]
    metric: ClassVar[str] = "euclidean"
    operating_point: ClassVar[OperatingPoint]

    def __enter__(self) -> FaceEmbedder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model (it loads again on the next call)."""

    @abc.abstractmethod
    def embed(
        self,
        rgb: npt.NDArray[np.uint8],
        faces: Sequence[DetectedFace],
        *,
        enrollment: bool = False,
    ) -> npt.NDArray[np.float32]:
        """One row per face, shape ``(len(faces), dim)``.

        ``enrollment=True`` spends more time per face (augmentation) for the few samples that
        make a template; probes use the cheaper path.
        """

    def describe(self) -> dict[str, object]:
        """Facts for reports and model cards (no weights, no embeddings)."""
        point = self.operating_point
        return {
            "name": self.name,
            "dim": self.dim,
            "metric": self.metric,
            "match_threshold": point.match,
            "possible_threshold": point.possible,
            "calibration": point.source,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


EmbedderFactory = Callable[["Settings"], FaceEmbedder]

#: name -> factory taking the settings (registered by the embedder modules).
EMBEDDERS: dict[str, EmbedderFactory] = {}


def register_embedder(name: str) -> Callable[[EmbedderFactory], EmbedderFactory]:
    """Register a factory under ``name``; a name registered twice raises ``ValueError``."""

    def decorator(factory: EmbedderFactory) -> EmbedderFactory:
        if name in EMBEDDERS:
            raise ValueError(f"face embedder {name!r} is already registered")
        EMBEDDERS[name] = factory
        return factory

    return decorator


def _load_builtin() -> None:
    from cameoguard.consent.embedders import dlib_resnet, facenet  # noqa: F401


def available_embedders() -> list[str]:
    _load_builtin()
    return sorted(EMBEDDERS)


def create_embedder(name: str, settings: Settings) -> FaceEmbedder:
    """The embedder registered as ``name``, configured from ``settings`` (weights load lazily)."""
    _load_builtin()
    factory = EMBEDDERS.get(name)
    if factory is None:
        raise ConfigurationError(
            f"unknown face embedder {name!r}; choose one of {', '.join(sorted(EMBEDDERS))} "
            "(CAMEOGUARD_FACE_EMBEDDER)",
            code="consent.embedder_unknown",
        )
    return factory(settings)


def l2_normalise(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    out: npt.NDArray[np.float32] = (rows / np.maximum(norms, 1e-12)).astype(np.float32)
    return out
