"""What every watermark scheme is: a keyed modulator of channel bits, and a registry of them.

A scheme knows nothing about payloads. It embeds a vector of channel bits (uint8 0/1 of length
``capacity_bits``) into pixels or samples, and its detector returns :class:`SoftBits`
candidates (positive value = bit 1), best first. :class:`~cameoguard.watermark.payload.
PayloadCodec` turns one payload into channel bits and decides, from the candidates, whether a
payload is there. Schemes that search (shift, scale, time offset) return one candidate per
surviving hypothesis and report how many hypotheses they can return at most
(``max_candidates``), which bounds the false-alarm rate.

Schemes are registered by a stable name, like timm's ``register_model``: a duplicate name is an
error, an unknown name lists the valid ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from cameoguard.errors import ConfigurationError
from cameoguard.media.types import MediaKind
from cameoguard.watermark.keys import WatermarkKey

__all__ = [
    "AudioScheme",
    "ImageScheme",
    "SchemeInfo",
    "SoftBits",
    "available_schemes",
    "create_scheme",
    "register_scheme",
    "scheme_info",
]

Bits = npt.NDArray[np.uint8]
RGB = npt.NDArray[np.uint8]
Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SoftBits:
    """One detection hypothesis: soft values (positive = 1) and how strongly it stood out.

    ``strength`` is scheme-specific but comparable within a scheme (for tiled image schemes the
    synchronisation peak over its noise floor); ``hypothesis`` describes where it was found
    (for example ``scale=0.90 shift=(3, 17)``) for explanations and debugging.
    """

    values: npt.NDArray[np.float64] = field(repr=False)
    strength: float
    hypothesis: str = ""


@runtime_checkable
class ImageScheme(Protocol):
    """Embeds channel bits into RGB images and video frames."""

    name: str
    capacity_bits: int
    max_candidates: int
    min_side: int

    def embed_image(self, rgb: RGB, bits: Bits) -> RGB:
        """A marked copy of ``rgb`` (uint8, H x W x 3); ``rgb`` is not modified."""

    def detect_image(self, rgb: RGB) -> list[SoftBits]:
        """Candidates, best first; an empty list when nothing resembling a mark is there."""

    def video_embedder(
        self, bits: Bits, height: int, width: int, reference: Sequence[RGB] = ()
    ) -> Callable[[RGB], RGB]:
        """A per-frame function for a video of this size (precomputes what frames share).

        ``reference`` is an optional sample of the video's frames for schemes that adapt the
        mark to the content (informed embedding)."""

    def detect_frames(self, frames: Iterable[RGB]) -> list[SoftBits]:
        """Candidates aggregated over many frames of one video."""


@runtime_checkable
class AudioScheme(Protocol):
    """Embeds channel bits into audio samples (float32, channels x n, in [-1, 1])."""

    name: str
    capacity_bits: int
    max_candidates: int
    min_seconds: float

    def embed_audio(self, samples: Samples, sample_rate: int, bits: Bits) -> Samples:
        """A marked copy, same shape and rate; ``samples`` is not modified."""

    def detect_audio(self, samples: Samples, sample_rate: int) -> list[SoftBits]:
        """Candidates, best first; an empty list when nothing resembling a mark is there."""


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    name: str
    kind: MediaKind
    factory: Callable[[WatermarkKey], ImageScheme | AudioScheme] = field(repr=False)
    description: str
    payload: bool
    """True when the scheme carries a full keyed payload (capacity >= the codec's bits)."""


_REGISTRY: dict[str, SchemeInfo] = {}
F = TypeVar("F", bound=Callable[[WatermarkKey], ImageScheme | AudioScheme])


def register_scheme(
    name: str, *, kind: MediaKind, description: str, payload: bool = True
) -> Callable[[F], F]:
    """Class or factory decorator: register a scheme under ``name`` (unique)."""

    def wrap(factory: F) -> F:
        if name in _REGISTRY:
            raise ConfigurationError(f"watermark scheme {name!r} is already registered")
        _REGISTRY[name] = SchemeInfo(name, kind, factory, description, payload)
        return factory

    return wrap


def _load_builtin() -> None:
    # Importing the modules registers the built-in schemes.
    from cameoguard.watermark import audio, baselines, tiled  # noqa: F401


def available_schemes(kind: MediaKind | None = None) -> list[SchemeInfo]:
    _load_builtin()
    return sorted(
        (info for info in _REGISTRY.values() if kind is None or info.kind is kind),
        key=lambda info: info.name,
    )


def scheme_info(name: str) -> SchemeInfo:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY))
        raise ConfigurationError(
            f"unknown watermark scheme {name!r}; valid schemes: {valid}"
        ) from None


def create_scheme(name: str, key: WatermarkKey) -> ImageScheme | AudioScheme:
    return scheme_info(name).factory(key)


def iter_chunks(values: Iterable[RGB], n: int) -> Iterator[list[RGB]]:
    chunk: list[RGB] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
