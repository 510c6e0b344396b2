"""Watermark fixtures: a fixed key, natural-looking test pictures, and sound."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from cameoguard.watermark.keys import WatermarkKey
from cameoguard.watermark.payload import PayloadCodec


@pytest.fixture(scope="session")
def key() -> WatermarkKey:
    return WatermarkKey(bytes(range(32)))


@pytest.fixture(scope="session")
def codec(key: WatermarkKey) -> PayloadCodec:
    return PayloadCodec(key)


def picture(width: int = 512, height: int = 384, seed: int = 0) -> npt.NDArray[np.uint8]:
    """A sample picture from scikit-image (real photographs), resized, or a synthetic scene."""
    import cv2
    import skimage.data

    photos = [skimage.data.astronaut, skimage.data.coffee, skimage.data.chelsea,
              skimage.data.rocket]  # fmt: skip
    rgb = photos[seed % len(photos)]()
    return np.ascontiguousarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))


@pytest.fixture(scope="session")
def photo() -> npt.NDArray[np.uint8]:
    return picture()
