"""Face embedders behind one registry: ``dlib_resnet`` (default) and ``facenet_vggface2``.

See :mod:`cameoguard.consent.embedders.base` for the contract.
"""

from cameoguard.consent.embedders.base import (
    EMBEDDERS,
    FaceEmbedder,
    OperatingPoint,
    available_embedders,
    create_embedder,
    register_embedder,
)

__all__ = [
    "EMBEDDERS",
    "FaceEmbedder",
    "OperatingPoint",
    "available_embedders",
    "create_embedder",
    "register_embedder",
]
