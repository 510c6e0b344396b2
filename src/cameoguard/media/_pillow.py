"""Pillow plumbing: open an image lazily under cameoguard's pixel limit, with our errors.

A path and its sniffed :class:`MediaType` flow in; a lazily opened Pillow image flows out
(nothing decoded until the caller loads it). Pillow's own decompression-bomb check is not the
authority here: the format's opener is called directly and ``Limits.max_pixels`` is checked on
the header size, so raising ``CAMEOGUARD_MAX_PIXELS`` really raises the limit. Pillow errors
become :class:`CorruptMediaError`; its bomb error or warning becomes :class:`MediaLimitError`.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageFile

from cameoguard.errors import CorruptMediaError, MediaLimitError, UnsupportedMediaError
from cameoguard.media.types import Limits, MediaType

__all__ = ["check_pixels", "open_image", "pillow_format"]

# Pillow plugin name for each sniffed image MIME type.
_PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/tiff": "TIFF",
    "image/x-adobe-dng": "TIFF",
    "image/avif": "AVIF",
    "image/heic": "HEIF",  # only with a plugin such as pillow-heif registered
}

# What Pillow raises for damaged or unparsable data while opening or decoding.
_DECODE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, struct.error, IndexError)


def pillow_format(media_type: MediaType) -> str | None:
    """The Pillow plugin that opens ``media_type``, or None when none is installed."""
    name = _PILLOW_FORMATS.get(media_type.mime)
    if name is None:
        return None
    Image.init()
    return name if name in Image.OPEN else None


def check_pixels(what: str, width: int, height: int, limits: Limits) -> None:
    """Raise MediaLimitError when ``width * height`` exceeds ``limits.max_pixels``.

    ``what`` starts the message with its verb: "photo.jpg: image is".
    """
    pixels = width * height
    if pixels > limits.max_pixels:
        raise MediaLimitError(
            f"{what} {width}×{height} = {pixels:,} pixels, the limit is "
            f"{limits.max_pixels:,}; raise CAMEOGUARD_MAX_PIXELS or downscale it",
        )


@contextmanager
def open_image(path: Path, media_type: MediaType, limits: Limits) -> Iterator[ImageFile.ImageFile]:
    """Open ``path`` lazily with the plugin for ``media_type``; check pixels before decoding.

    Decoding errors raised inside the ``with`` block (``im.load()``) become
    CorruptMediaError too.
    """
    name = pillow_format(media_type)
    if name is None:
        raise UnsupportedMediaError(
            f"{path}: {media_type.format} images are recognised but this installation has no "
            f"decoder for them; convert it to JPEG or PNG (or install pillow-heif for HEIC)"
        )
    factory, _accept = Image.OPEN[name]
    with open(path, "rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = factory(fh, str(path))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _bomb(path, exc, limits) from None
        except (*_DECODE_ERRORS, TypeError) as exc:
            raise CorruptMediaError(
                f"{path}: cannot read the {media_type.format} header ({exc}); the file is "
                "damaged or not really an image, export it again"
            ) from None
        with im:
            check_pixels(f"{path}: image is", im.width, im.height, limits)
            try:
                yield im
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise _bomb(path, exc, limits) from None
            except _DECODE_ERRORS as exc:
                raise CorruptMediaError(
                    f"{path}: the {media_type.format} image data cannot be decoded ({exc}); "
                    "the file is truncated or damaged, export or upload it again"
                ) from None


def _bomb(path: Path, exc: BaseException, limits: Limits) -> MediaLimitError:
    return MediaLimitError(
        f"{path}: image is too large to decode safely ({exc}); cameoguard's limit is "
        f"{limits.max_pixels:,} pixels; raise CAMEOGUARD_MAX_PIXELS or downscale it"
    )
