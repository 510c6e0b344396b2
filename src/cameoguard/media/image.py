"""Still images in and out: files become upright RGB arrays, arrays become JPEG/PNG/WebP.

``load_image`` probes first (limits, truncation), then decodes with Pillow, applies the EXIF
orientation and returns an (H, W, 3) uint8 array; transparency is composited onto white and
only the first frame of an animation is read. ``encode_image`` turns such an array into bytes
and ``save_image`` writes them atomically (the destination is complete or untouched).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from cameoguard.errors import BadInputError, UnsupportedMediaError
from cameoguard.fsutil import atomic_output
from cameoguard.media import _pillow
from cameoguard.media.probe import probe
from cameoguard.media.types import Limits, MediaKind

__all__ = ["IMAGE_WRITE_FORMATS", "check_rgb", "encode_image", "load_image", "save_image"]

#: Formats ``save_image``/``encode_image`` write, keyed by lower-case file suffix.
IMAGE_WRITE_FORMATS: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
}


def load_image(path: str | os.PathLike[str], limits: Limits) -> npt.NDArray[np.uint8]:
    """Decode ``path`` to an upright RGB uint8 array of shape (height, width, 3)."""
    info = probe(path, limits)
    if info.kind is not MediaKind.IMAGE:
        raise UnsupportedMediaError(
            f"{info.path}: this is a {info.type.format} {info.kind}, not an image; pass a still "
            "image (JPEG, PNG, WebP, ...) or sample frames from the video instead"
        )
    with _pillow.open_image(info.path, info.type, limits) as im:
        im.load()
        return _to_rgb_array(ImageOps.exif_transpose(im))


def _to_rgb_array(im: Image.Image) -> npt.NDArray[np.uint8]:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        wide = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or wide.max(initial=0) > 255 else 255.0
        gray = np.clip(wide / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.array(im, dtype=np.uint8)  # a writable copy (np.asarray would be read-only)


def check_rgb(rgb: Any, what: str = "image") -> npt.NDArray[np.uint8]:
    """``rgb`` as an (H, W, 3) uint8 array (grayscale is expanded); a clear error otherwise."""
    array = np.asarray(rgb)
    if array.dtype != np.uint8:
        raise BadInputError(
            f"{what} array has dtype {array.dtype}, expected uint8; convert with "
            "np.clip(a, 0, 255).astype(np.uint8)"
        )
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] == 0 or array.shape[1] == 0:
        raise BadInputError(
            f"{what} array has shape {array.shape}, expected (height, width, 3) RGB; drop an "
            "alpha channel with a[..., :3]"
        )
    return np.ascontiguousarray(array)


def _format_from_suffix(path: Path) -> str:
    try:
        return IMAGE_WRITE_FORMATS[path.suffix.lower()]
    except KeyError:
        raise BadInputError(
            f"{path}: cannot tell the image format from the suffix {path.suffix!r}; use one of "
            f"{', '.join(IMAGE_WRITE_FORMATS)} or pass format="
        ) from None


def _normalise_format(image_format: str) -> str:
    name = image_format.upper().lstrip(".")
    name = {"JPG": "JPEG"}.get(name, name)
    if name not in set(IMAGE_WRITE_FORMATS.values()):
        raise BadInputError(
            f"cannot write images as {image_format!r}; use JPEG, PNG or WEBP",
        )
    return name


def encode_image(rgb: npt.NDArray[np.uint8], format: str, quality: int = 92) -> bytes:
    """Encode an (H, W, 3) uint8 array as JPEG, PNG or WEBP bytes.

    ``quality`` (1-100) applies to JPEG and WebP; PNG is lossless.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    name = _normalise_format(format)
    im = Image.fromarray(check_rgb(rgb))
    buffer = io.BytesIO()
    if name == "JPEG":
        im.save(buffer, format="JPEG", quality=quality, optimize=True)
    elif name == "WEBP":
        im.save(buffer, format="WEBP", quality=quality, method=4)
    else:
        im.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def save_image(
    rgb: npt.NDArray[np.uint8],
    path: str | os.PathLike[str],
    format: str | None = None,
    quality: int = 92,
) -> Path:
    """Write ``rgb`` to ``path`` atomically; the format comes from the suffix unless given.

    Returns the destination path.
    """
    dest = Path(path)
    data = encode_image(rgb, format or _format_from_suffix(dest), quality)
    with atomic_output(dest) as tmp:
        tmp.write_bytes(data)
    return dest
